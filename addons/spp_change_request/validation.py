"""Maker-checker: who may decide a request at its stage, what a decision
does, and applying approved requests (sending stale ones back).

Decisions work on batches: approving 10,000 requests writes their stages
with one write per stage reached, their timeline in one create, and
applies them with one call per kind (kinds.py)."""
import datetime as dt

from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .kinds import refuse

DECISIONS = {'approve', 'revision', 'reject'}
# Requests decided together: records browsed together are checked against
# each other's ids (an assert of trytond, quadratic in their number) at
# each related record read, which costs more than a batch's queries above
# a few hundred.
BATCH = 250


def check_decider(requests, stage_of=lambda r: r.stage):
    """Refuse a decision by the requester (whoever they are), by a user
    outside the stage's group, or outside the registrant's area where
    the stage is limited to the validator's areas."""
    pool = Pool()
    User = pool.get('res.user')
    ChangeRequest = pool.get('spp.change_request')
    user = Transaction().user
    for request in requests:
        if request.requested_by and request.requested_by.id == user:
            refuse('msg_own_request', request=request.rec_name)
    if not user:
        return
    groups = set(User.get_groups())
    for request in requests:
        stage = stage_of(request)
        if stage.group.id not in groups:
            refuse('msg_not_stage_group', request=request.rec_name,
                stage=stage.name, group=stage.group.rec_name)
    limited = [r for r in requests if stage_of(r).area_limited]
    if limited:
        areas = User.get_spp_areas()
        allowed = set()
        if areas:
            with without_check_access():
                allowed = set(map(int, ChangeRequest.search([
                                ('id', 'in', [r.id for r in limited]),
                                ('area', 'child_of', areas, 'parent'),
                                ], order=[])))
        for request in limited:
            if request.id not in allowed:
                refuse('msg_not_stage_area', request=request.rec_name,
                    stage=stage_of(request).name)


def decide(ChangeRequest, requests, decision, comment=None):
    """Approve, send back for revision or reject submitted requests.

    Returns {'approved': [ids still waiting at a next stage or approved],
    'applied': [ids], 'sent_back': {id: changes}} (approve only)."""
    if decision not in DECISIONS:
        refuse('msg_unknown_decision', decision=str(decision))
    comment = (comment or '').strip() or None
    if decision != 'approve' and not comment:
        refuse('msg_comment_required')
    # The requests the caller may read: hidden ones are missing.
    ids = [r.id for r in requests]
    result = {'approved': [], 'applied': [], 'sent_back': {}}
    for sub_ids in grouped_slice(ids, BATCH):
        sub_ids = list(map(int, ChangeRequest.search(
                    [('id', 'in', list(sub_ids))], order=[('id', 'ASC')])))
        if not sub_ids:
            continue
        outcome = decide_visible(ChangeRequest,
            ChangeRequest.browse(sub_ids), decision, comment)
        result['approved'] += outcome['approved']
        result['applied'] += outcome['applied']
        result['sent_back'].update(outcome['sent_back'])
    return result


def decide_visible(ChangeRequest, requests, decision, comment):
    for request in requests:
        if request.state != 'submitted':
            refuse('msg_not_waiting', request=request.rec_name,
                state=request.status)
    check_decider(requests)
    with without_check_access():
        if decision == 'approve':
            return approve(ChangeRequest, requests, comment)
        Decision = Pool().get('spp.change_request.decision')
        Decision.add(requests, decision, comment)
        ChangeRequest.write(requests, {
                'state': 'revision' if decision == 'revision' else 'rejected',
                'stage': None,
                })
        if decision == 'revision':
            ChangeRequest.refresh_lines(requests)
    return {'approved': [], 'applied': [], 'sent_back': {}}


def approve(ChangeRequest, requests, comment):
    "Move each request to its next stage, or approve it at the last one."
    Decision = Pool().get('spp.change_request.decision')
    Decision.add(requests, 'approved', comment)
    by_next, last = {}, []
    for request in requests:
        stages = list(request.kind.stages)
        position = stages.index(request.stage)
        if position + 1 < len(stages):
            by_next.setdefault(stages[position + 1], []).append(request)
        else:
            last.append(request)
    for stage, stage_requests in by_next.items():
        ChangeRequest.set_progress(stage_requests, {'stage': stage.id})
    if last:
        ChangeRequest.set_progress(last, {'state': 'approved', 'stage': None})
    requests = ChangeRequest.browse([r.id for r in requests])
    last = ChangeRequest.browse([r.id for r in last])
    result = {'approved': [r.id for r in requests], 'applied': [],
        'sent_back': {}}
    automatic = [r for r in last if r.kind.apply_on_approval]
    if automatic:
        applied, sent_back = apply_approved(ChangeRequest, automatic)
        result['applied'] = [r.id for r in applied]
        result['sent_back'] = {r.id: c for r, c in sent_back.items()}
    return result


def check_applier(requests):
    """Refuse applying by the requester, or by a user who is neither of
    the last stage's group nor a change request administrator."""
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    admin = ModelData.get_id('spp_change_request', 'group_admin')
    if Transaction().user and admin in User.get_groups():
        for request in requests:
            if request.requested_by.id == Transaction().user:
                refuse('msg_own_request', request=request.rec_name)
        return
    check_decider(requests, stage_of=lambda r: r.kind.stages[-1])


def apply_approved(ChangeRequest, requests):
    """Apply approved requests in the caller's transaction; the stale ones
    (their registrant changed since submission) go back to their first
    stage with what changed. Returns (applied, {stale request: changes})."""
    Decision = Pool().get('spp.change_request.decision')
    with without_check_access():
        stale = ChangeRequest.stale_changes(requests)
        if stale:
            send_back(ChangeRequest, stale)
        fresh = [r for r in requests if r not in stale]
        for kind, kind_requests in ChangeRequest.by_kind(fresh).items():
            kind.get_implementation().check(kind_requests)
            kind.get_implementation().apply(kind_requests)
        if fresh:
            ChangeRequest.set_progress(fresh, {'state': 'applied',
                    'applied_on': dt.datetime.now(),
                    'applied_by': Transaction().user})
            fresh = ChangeRequest.browse([r.id for r in fresh])
            Decision.add(fresh, 'applied')
        ChangeRequest.applied(fresh, list(stale))
    return fresh, stale


def stale_comment(changes):
    return '; '.join(f'{field}: {before or "-"} → {after or "-"}'
        for field, before, after in changes)


def send_back(ChangeRequest, stale):
    "Send stale requests back to their first stage, re-showing them."
    Decision = Pool().get('spp.change_request.decision')
    requests = list(stale)
    Decision.add(requests, 'sent_back',
        lambda r: stale_comment(stale[r]))
    for kind, kind_requests in ChangeRequest.by_kind(requests).items():
        ChangeRequest.write(kind_requests, {
                'state': 'submitted', 'stage': kind.stages[0].id})
    ChangeRequest.refresh_lines(requests)
