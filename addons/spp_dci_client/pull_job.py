"""The job of a registry pull (pull.py): pages fetched from the social
registry's sync search, applied (pull_apply.py), counted and committed one
by one; a refresh's idtype-value queries; the duplicate finder at the end.

Each page is applied and committed on its own (`commit`, the queued
task): a failure keeps the pages before it and writes nothing of its own
page; the pull is then failed with the error after a rollback. Without
`commit` (the unit tests, in one transaction) nothing is committed."""
import logging
import uuid

from sql import Literal
from sql.aggregate import Max
from sql.conditionals import Coalesce

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.spp_registry.registry_import import ImportResult
from trytond.pool import Pool
from trytond.transaction import (
    Transaction, TransactionError, without_check_access)

from .pull_apply import PageApplier
from .transport import RegistryError, now_iso, send

logger = logging.getLogger(__name__)
PATH = '/registry/sync/search'
# Search requests per message of a refresh (our DCI server's limit).
REFRESH_BATCH = 20
# Flagged duplicate pairs listed in a pull's report at most.
MAX_FLAGGED_LINES = 10_000
COUNTS = ('total', 'pages', 'households_read', 'created', 'updated',
    'unchanged', 'refused', 'flagged', 'individuals')


class Job:
    "One run of a pull: pages fetched, applied, counted."

    def __init__(self, pull, action, commit):
        pool = Pool()
        self.Pull = pool.get('spp.dci.pull')
        self.pull = pull
        self.action = action
        self.commit = commit
        Registry = pool.get('spp.dci.registry')
        # The connection's secret is the API administrators' to read; the
        # job uses it without showing it.
        with without_check_access():
            self.registry = Registry(pull.registry.id)
        self.counts = {name: 0 for name in COUNTS}

    def run(self):
        transaction = Transaction()
        if self.pull.state == 'queued':
            self.Pull.set_running([self.pull])
        else:
            # Run again: the report starts again with the counts.
            Line = Pool().get('spp.dci.pull.line')
            with without_check_access():
                Line.delete(Line.search([('pull', '=', self.pull.id)]))
        self.save_point()
        try:
            applier = PageApplier(self.registry)
            if self.action == 'refresh':
                self.refresh(applier)
            else:
                self.pull_pages(applier)
            self.find_duplicates()
        except TransactionError:
            # trytond runs the task again with the lock it needs: the
            # pages applied are found unchanged.
            raise
        except Exception as error:
            if not isinstance(error, (RegistryError, UserError)):
                if not self.commit:
                    raise
                logger.exception("registry pull %s failed", self.pull.id)
            message = (getattr(error, 'message', None) or str(error)
                or type(error).__name__)
            code = getattr(error, 'code', None) if isinstance(
                error, RegistryError) else None
            if self.commit:
                transaction.rollback()
            pull = self.Pull(self.pull.id)
            self.write_counts()
            self.Pull.write([pull], {'error': gettext(
                        'spp_dci_client.msg_pull_failed',
                        registry=self.registry.rec_name,
                        error=message, code=code or '-')})
            self.Pull.set_failed([pull])
            self.save_point()
            return
        self.write_counts()
        self.Pull.set_done([self.Pull(self.pull.id)])
        # One entry of the audit trail for the run, as for an import.
        Pool().get('party.party').registry_imported(ImportResult(
                rows=self.counts['households_read'],
                households=self.counts['created'],
                individuals=self.counts['individuals'],
                skipped=self.counts['refused']),
            f'DCI {self.action}: {self.pull.rec_name}')

    def save_point(self):
        if self.commit:
            Transaction().commit()

    def write_counts(self):
        "The figures so far, with SQL (a progress, not a change)."
        table = self.Pull.__table__()
        cursor = Transaction().connection.cursor()
        names = list(COUNTS)
        cursor.execute(*table.update(
                [getattr(table, n) for n in names],
                [self.counts[n] for n in names],
                where=table.id == self.pull.id))

    def applied(self, result, read):
        "Count a page applied, write its lines, commit it."
        Line = Pool().get('spp.dci.pull.line')
        for name in ('created', 'updated', 'unchanged', 'refused',
                'individuals'):
            self.counts[name] += getattr(result, name)
        self.counts['households_read'] += read
        self.counts['pages'] += 1
        if result.lines:
            with without_check_access():
                Line.create([{'pull': self.pull.id, 'kind': kind,
                            'record': ref[:100], 'party': party,
                            'reason': reason}
                        for kind, ref, party, reason in result.lines])
        self.write_counts()
        self.save_point()

    def pull_pages(self, applier):
        registry = self.registry
        page_size = min(registry.page_size, 200)
        number = 1
        while True:
            message = self.pull.search_message(number, page_size)
            answer = send(registry, PATH, 'search', message,
                asked={'query_type': 'expression', 'entity': 'Group',
                    'page': number, 'page_size': page_size},
                records=count_records)
            item = search_item(answer)
            records = item_records(item)
            total = (item.get('pagination') or {}).get('total_count')
            if isinstance(total, int) and not isinstance(total, bool):
                self.counts['total'] = total
            self.applied(applier.apply(records), len(records))
            if (not records or len(records) < page_size
                    or number * page_size >= (self.counts['total'] or 0)):
                break
            number += 1

    def refresh(self, applier):
        "Re-read the households pulled from the registry (of the area)."
        batch_size = min(self.registry.page_size, 200)
        households = self.pulled_households()
        self.counts['total'] = len(households)
        for start in range(0, len(households), batch_size):
            batch = households[start:start + batch_size]
            records, missing = [], []
            for offset in range(0, len(batch), REFRESH_BATCH):
                part = batch[offset:offset + REFRESH_BATCH]
                found = self.ask_identifiers(part)
                for household, group_id, ref in part:
                    items = found.get(str(group_id))
                    if items:
                        records.extend(items[:1])
                    else:
                        missing.append((ref, group_id))
            result = applier.apply(records)
            for ref, group_id in missing:
                result.lines.append(('missing', ref, group_id,
                        gettext('spp_dci_client.msg_pull_not_found')))
            self.applied(result, len(batch))

    def pulled_households(self):
        """[((their type, value), group id, their ref)] of the households
        pulled from the registry (in the pull's area), each with the
        first identifier of its head (else of a member)."""
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        Identifier = pool.get('party.identifier')
        Area = pool.get('spp.area')
        party = Party.__table__()
        membership = Membership.__table__()
        identifier = Identifier.__table__()
        cursor = Transaction().connection.cursor()
        where = ((party.dci_registry == self.registry.id)
            & (party.registrant_type == 'group')
            & (party.active == Literal(True)))
        if self.pull.area:
            areas = Area.search([('parent', 'child_of', [self.pull.area.id])],
                query=True)
            where &= party.area.in_(areas)
        today = pool.get('ir.date').today()
        cursor.execute(*party
            .join(membership, condition=membership.group == party.id)
            .join(identifier,
                condition=(identifier.party == membership.individual)
                & (identifier.active == Literal(True)))
            .select(party.id, party.dci_ref, identifier.type,
                identifier.code,
                where=where & Membership.active_condition(membership, today),
                order_by=[party.id.asc, membership.id.asc,
                    identifier.id.asc]))
        their = self.registry.reverse_mapping('identifier_type')
        seen, households = set(), []
        for group_id, ref, type_, code in cursor:
            if group_id in seen:
                continue
            seen.add(group_id)
            households.append(((their.get(type_, type_), code), group_id,
                    ref or str(group_id)))
        return households

    def ask_identifiers(self, part):
        "{reference id: group records} of idtype-value queries."
        message = {'transaction_id': str(uuid.uuid4()), 'search_request': [{
                    'reference_id': str(group_id),
                    'timestamp': now_iso(),
                    'search_criteria': {
                        'version': '1.0.0',
                        'reg_type': 'ns:org:RegistryType:Social',
                        'query_type': 'idtype-value',
                        'query': {'type': type_, 'value': value},
                        'response_entity': 'Group',
                        'pagination': {'page_size': 1, 'page_number': 1},
                        },
                    } for (type_, value), group_id, _ in part]}
        answer = send(self.registry, PATH, 'search', message,
            total_count=len(part),
            asked={'query_type': 'idtype-value', 'entity': 'Group',
                'requests': len(part)},
            records=count_records)
        found = {}
        for item in search_items(answer):
            if item.get('status') == 'succ':
                found[str(item.get('reference_id'))] = item_records(item)
        return found

    def find_duplicates(self):
        """Run the registry's duplicate finder; list the pairs of new ones.

        The finder locks its table: in the queued job it runs in a
        transaction of its own that takes the lock when it starts (the
        pages are committed by then)."""
        if not self.pull.detect_duplicates or not self.counts['individuals']:
            return
        Duplicate = Pool().get('spp.registry.duplicate')
        if not self.commit:
            self.counts['flagged'] = self.flag_duplicates()
            return
        with Transaction().new_transaction(
                _lock_tables=[Duplicate._table]) as transaction:
            self.counts['flagged'] = self.flag_duplicates()
            transaction.commit()
        self.write_counts()
        self.save_point()

    def flag_duplicates(self):
        "Detect, then report the new pairs of pulled individuals."
        pool = Pool()
        Duplicate = pool.get('spp.registry.duplicate')
        Party = pool.get('party.party')
        Line = pool.get('spp.dci.pull.line')
        table = Duplicate.__table__()
        party = Party.__table__()
        other = Party.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(Coalesce(Max(table.id), 0)))
        last_id, = cursor.fetchone()
        with without_check_access():
            Duplicate.detect()
        cursor.execute(*table
            .join(party, condition=party.id == table.individual_b)
            .join(other, condition=other.id == table.individual_a)
            .select(party.id, party.dci_ref, other.code, table.reason,
                where=(table.id > last_id)
                & (party.dci_registry == self.registry.id),
                order_by=[table.id.asc], limit=MAX_FLAGGED_LINES))
        reasons = dict(Duplicate.reason.selection)
        lines = [{'pull': self.pull.id, 'kind': 'flagged',
                'record': (ref or '')[:100], 'party': party_id,
                'reason': gettext('spp_dci_client.msg_pull_duplicate',
                    other=code, reason=reasons.get(reason, reason))}
            for party_id, ref, code, reason in cursor]
        if lines:
            with without_check_access():
                Line.create(lines)
        return len(lines)


def search_items(answer):
    items = answer['message'].get('search_response')
    if not isinstance(items, list) or not all(
            isinstance(i, dict) for i in items):
        raise RegistryError('garbage', gettext(
                'spp_dci_client.msg_pull_answer_invalid'))
    return items


def search_item(answer):
    "The one search_response item of a page: RegistryError if refused."
    items = search_items(answer)
    if not items:
        raise RegistryError('garbage', gettext(
                'spp_dci_client.msg_pull_answer_invalid'))
    item = items[0]
    if item.get('status') != 'succ':
        raise RegistryError(
            str(item.get('status_reason_code') or 'rjct')[:100],
            str(item.get('status_reason_message')
                or item.get('status'))[:500])
    return item


def item_records(item):
    data = item.get('data')
    records = data.get('reg_records') if isinstance(data, dict) else None
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise RegistryError('garbage', gettext(
                'spp_dci_client.msg_pull_answer_invalid'))
    return records


def count_records(answer):
    try:
        return sum(len(i['data']['reg_records'])
            for i in answer['message']['search_response'])
    except (KeyError, TypeError, AttributeError):
        return None
