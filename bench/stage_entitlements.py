"""bench/run_all.py stages of spp_entitlement and spp_payment: a thin hook
over the stage functions of bench/entitlements.py, run on the program and
cycle the earlier stages made."""
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

from run_all_stages import NotBuilt, bench_module


def _setup(context):
    "Rules, funds and an approved cycle, once, before the first stage."
    module = bench_module('entitlements')
    if module is None:
        raise NotBuilt("bench/entitlements.py is missing")
    state = context.state
    if 'cycle' not in state:
        raise NotBuilt("needs the cycle preparation stage")
    if not state.get('entitlement_setup'):
        database = context.database
        module.timed(database, lambda: module.add_rules(state['program']))
        module.timed(database, lambda: module.approve_cycle(state['cycle']))
        module.timed(database, lambda: module.post_funds(
                state['program'], Decimal(10 ** 12)))
        module.timed(database, module.drop_floor)
        state['entitlement_setup'] = True
        state['entitlement_files'] = Path(tempfile.mkdtemp(
                prefix='spp-bench-payments-'))
    return module


def stage_entitlements(context):
    module = _setup(context)
    return module.stage_prepare(context.database, context.state['cycle'],
        context.options.sample)


def stage_approval(context):
    module = _setup(context)
    return module.stage_approve(context.database, context.state['cycle'],
        context.options.sample)


def stage_batches(context):
    module = _setup(context)
    return module.stage_batches(context.database, context.state['cycle'],
        context.options.sample, context.state['entitlement_files'])


def stage_reconciliation(context):
    module = _setup(context)
    try:
        result = module.stage_reconcile(context.database,
            context.state['cycle'], context.options.sample,
            context.state['entitlement_files'])
        module.timed(context.database, module.drop_floor)
    finally:
        # The payment and reconciliation files of the run.
        shutil.rmtree(context.state['entitlement_files'], ignore_errors=True)
    return result


STAGES = {
    'entitlements': stage_entitlements,
    'approval': stage_approval,
    'payment_batches_export': stage_batches,
    'reconciliation': stage_reconciliation,
    }
