# This file is part of openspp-tryton. See tryton.cfg for what it registers.
