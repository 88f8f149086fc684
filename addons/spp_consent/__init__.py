# This file is part of the SP-MIS addons. The classes are registered in
# tryton.cfg.
