"""bench/run_all.py stage of spp_grievance: a thin hook over
bench/grievances.py (the SLA and escalation pass, the reports under the
record rules, REST intake), on one ticket per household of the run."""
from run_all_stages import NotBuilt, bench_module


def stage_grievances(context):
    module = bench_module('grievances')
    if module is None:
        raise NotBuilt("bench/grievances.py is missing")
    return module.stage(context)


STAGES = {
    'grievances': stage_grievances,
    }
