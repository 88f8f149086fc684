"""bench/entitlements.py: the measured stages (prepare, approve, payment
batches + export, reconciliation), each the set-based path, the per-record
ORM path on a sample and a hand-written SQL floor."""
import csv
import datetime as dt
import io
from decimal import Decimal

from entitlements_setup import (
    BATCH_SIZE, PLAIN_FLOOR, SAME_TABLE_FLOOR, create_like, cursor,
    drop_floor, timed)

# The bench rules written by hand: (amount) of a party_party row `p`.
FLOOR_AMOUNT = (
    'CROSS JOIN LATERAL (SELECT ROUND(LEAST('
    '60.00 + CASE WHEN p.female_head THEN 20.00 ELSE 0 END '
    '+ CASE WHEN p.child_count >= 1 THEN 25.50 * LEAST('
    'GREATEST(COALESCE(p.child_count, 0), 0), 3) ELSE 0 END, '
    '150.00), 2) AS amount) t ')


def stage_prepare(database, cycle_id, sample):
    from trytond.pool import Pool
    pool = Pool(database)
    Entitlement = pool.get('spp.entitlement')
    Cycle = pool.get('spp.cycle')
    CycleMembership = pool.get('spp.cycle.membership')
    preview_s, (count, total, fee) = timed(database,
        lambda: Entitlement.preview(Cycle(cycle_id)))

    def orm():
        "Per record: the Python rules, one create per beneficiary."
        cycle = Cycle(cycle_id)
        program = cycle.program
        members = CycleMembership.search([('cycle', '=', cycle_id)],
            limit=sample, order=[('id', 'ASC')])
        for member in members:
            amount, fee = program.compute_entitlement(member.registrant)
            if amount > 0:
                Entitlement.create([{'cycle': cycle_id,
                            'cycle_membership': member.id,
                            'amount': amount, 'fee': fee}])
        return len(members)
    orm_s, orm_rows = timed(database, orm, commit=False)
    seconds, rows = timed(database,
        lambda: Entitlement.prepare(Cycle(cycle_id)))

    def floor():
        cur = cursor()
        cur.execute('CREATE TABLE bench_floor_entitlement ('
            'id SERIAL PRIMARY KEY, cycle INTEGER, cycle_membership INTEGER, '
            'registrant INTEGER, kind VARCHAR, amount NUMERIC, fee NUMERIC, '
            'state VARCHAR, approved_by INTEGER, approved_at TIMESTAMP, '
            'create_uid INTEGER, create_date TIMESTAMP)')
        cur.execute(
            'INSERT INTO bench_floor_entitlement (cycle, cycle_membership, '
            'registrant, kind, amount, fee, state, create_uid, create_date) '
            'SELECT %(cycle)s, m.id, m.registrant, \'cash\', t.amount, '
            'ROUND(t.amount * 1.5 / 100, 2), \'draft\', 0, NOW() '
            'FROM spp_cycle_membership m JOIN party_party p '
            'ON p.id = m.registrant ' + FLOOR_AMOUNT +
            'WHERE m.cycle = %(cycle)s AND t.amount > 0', {'cycle': cycle_id})
        return cur.rowcount

    def floor_same_table():
        "The columns the set-based INSERT writes, into the same definition."
        cur = cursor()
        cur.execute(
            'INSERT INTO bench_floor_entitlement_same (cycle, '
            'cycle_membership, registrant, kind, item_key, slot, amount, '
            'fee, valid_from, valid_until, state, create_uid, create_date) '
            'SELECT m.cycle, m.id, m.registrant, \'cash\', 0, 1, t.amount, '
            'ROUND(t.amount * 1.5 / 100, 2), c.start_date, c.end_date, '
            '\'draft\', 0, NOW() '
            'FROM spp_cycle_membership m JOIN spp_cycle c ON c.id = m.cycle '
            'JOIN party_party p ON p.id = m.registrant ' + FLOOR_AMOUNT +
            'WHERE m.cycle = %(cycle)s AND t.amount > 0', {'cycle': cycle_id})
        return cur.rowcount
    timed(database, drop_floor)
    timed(database, lambda: create_like(
            'bench_floor_entitlement_same', 'spp_entitlement'))
    floor_s, floor_rows = timed(database, floor)
    same_s, same_rows = timed(database, floor_same_table)
    return {
        'rows': rows, 'seconds': seconds,
        'preview': {'seconds': round(preview_s, 2), 'count': count,
            'total': str(total), 'fee': str(fee)},
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(orm_s * rows / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2),
            'definition': PLAIN_FLOOR},
        'floor_same_table': {'rows': same_rows, 'seconds': round(same_s, 2),
            'definition': SAME_TABLE_FLOOR},
        }


def stage_approve(database, cycle_id, sample):
    from trytond.pool import Pool
    pool = Pool(database)
    Entitlement = pool.get('spp.entitlement')
    Cycle = pool.get('spp.cycle')
    timed(database, lambda: Cycle.submit_entitlements([Cycle(cycle_id)]))

    def orm():
        "Per record: one approval (with its fund check) per entitlement."
        ids = [e.id for e in Entitlement.search([('cycle', '=', cycle_id)],
                limit=sample, order=[('id', 'ASC')])]
        for id_ in ids:
            # A fresh instance: no prefetch of the whole list after each
            # approval clears the cache.
            Entitlement.approve([Entitlement(id_)])
        return len(ids)
    orm_s, orm_rows = timed(database, orm, commit=False)
    seconds, rows = timed(database,
        lambda: Entitlement._approve(Cycle(cycle_id)))

    def floor():
        cur = cursor()
        cur.execute('SELECT SUM(amount + fee) FROM '
            'bench_floor_entitlement WHERE state = \'draft\'')
        cur.execute('UPDATE bench_floor_entitlement SET '
            'state = \'approved\', approved_by = 0, approved_at = NOW() '
            'WHERE state = \'draft\'')
        return cur.rowcount

    def floor_same_table():
        "The columns the set-based UPDATE writes, in the same definition."
        cur = cursor()
        cur.execute('SELECT SUM(amount + fee) FROM '
            'bench_floor_entitlement_same WHERE cycle = %s '
            'AND state = \'draft\'', (cycle_id,))
        cur.execute('UPDATE bench_floor_entitlement_same SET '
            'state = \'approved\', approved_by = 0, '
            'approved_at = LOCALTIMESTAMP(0), write_uid = 0, '
            'write_date = NOW() WHERE cycle = %s AND state = \'draft\'',
            (cycle_id,))
        return cur.rowcount
    floor_s, floor_rows = timed(database, floor)
    same_s, same_rows = timed(database, floor_same_table)
    return {
        'rows': rows, 'seconds': seconds,
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(orm_s * rows / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2),
            'definition': PLAIN_FLOOR},
        'floor_same_table': {'rows': same_rows, 'seconds': round(same_s, 2),
            'definition': SAME_TABLE_FLOOR},
        }


def give_heads_wallets():
    """Give every head without an account a Mobile Wallet identifier (the
    number of their mobile, else a made-up one), in one INSERT."""
    cur = cursor()
    cur.execute("INSERT INTO party_identifier (party, type, code, "
        "code_compact, active, create_uid, create_date) "
        "SELECT DISTINCT m.individual, 'mobile_wallet', "
        "'63' || (900000000 + m.individual), "
        "'63' || (900000000 + m.individual), TRUE, 0, NOW() "
        "FROM spp_group_membership m "
        "JOIN \"spp_group_membership-role\" r ON r.membership = m.id "
        "JOIN spp_group_membership_role o ON o.id = r.role "
        "AND o.code = 'head' "
        "WHERE NOT EXISTS (SELECT 1 FROM party_identifier i "
        "WHERE i.party = m.individual "
        "AND i.type IN ('bank_account', 'mobile_wallet'))")
    return cur.rowcount


def stage_batches(database, cycle_id, sample, directory):
    from trytond.modules.spp_payment.export import export_csv
    from trytond.pool import Pool
    pool = Pool(database)
    Batch = pool.get('spp.payment.batch')
    Payment = pool.get('spp.payment')
    Entitlement = pool.get('spp.entitlement')
    Cycle = pool.get('spp.cycle')

    def orm():
        "Per record: one create per payment, the CSV from ORM reads."
        batch, = Batch.create([{'cycle': cycle_id, 'number': 10 ** 6}])
        entitlements = Entitlement.search([('cycle', '=', cycle_id),
                ('state', '=', 'approved')], limit=sample,
            order=[('id', 'ASC')])
        payments = []
        for entitlement in entitlements:
            payments += Payment.create([{'batch': batch.id,
                        'entitlement': entitlement.id, 'cycle': cycle_id,
                        'registrant': entitlement.registrant.id,
                        'amount': entitlement.amount, 'attempt': 1,
                        'slot': 1,
                        'reference': f'ORM-{entitlement.id}'}])
        output = io.StringIO()
        writer = csv.writer(output)
        for payment in Payment.browse([p.id for p in payments]):
            writer.writerow([payment.reference, payment.registrant.name,
                    payment.payee_phone, payment.amount])
        return len(payments)
    orm_s, orm_rows = timed(database, orm, commit=False)

    # A payment without an account is blocked and its batch never
    # exported: the generated heads get a mobile wallet first.
    wallets_s, _ = timed(database, give_heads_wallets)

    def set_based():
        batches = Batch.create_for_cycle(Cycle(cycle_id), size=BATCH_SIZE)
        Batch.approve(batches)
        size = 0
        for batch in batches:
            data = export_csv(batch)
            (directory / f'batch_{batch.number}.csv').write_bytes(data)
            size += len(data)
        return len(batches), size
    seconds, (batches, size) = timed(database, set_based)
    _, rows = timed(database, lambda: Payment.search_count(
            [('cycle', '=', cycle_id)]))

    def floor():
        cur = cursor()
        cur.execute('CREATE TABLE bench_floor_payment ('
            'id SERIAL PRIMARY KEY, batch INTEGER, entitlement INTEGER, '
            'registrant INTEGER, amount NUMERIC, reference VARCHAR, '
            'state VARCHAR, paid_amount NUMERIC, paid_date DATE, '
            'provider_reference VARCHAR, create_uid INTEGER, '
            'create_date TIMESTAMP)')
        cur.execute('INSERT INTO bench_floor_payment (batch, '
            'entitlement, registrant, amount, reference, state, create_uid, '
            'create_date) SELECT (ROW_NUMBER() OVER (ORDER BY id) - 1) '
            '/ %s, id, registrant, amount, \'PAY-\' || id || \'-1\', '
            '\'issued\', 0, NOW() FROM spp_entitlement '
            'WHERE cycle = %s AND state = \'approved\'',
            (BATCH_SIZE, cycle_id))
        count = cur.rowcount
        output = io.BytesIO()
        with cur.copy('COPY (SELECT f.reference, p.name, f.amount '
                'FROM bench_floor_payment f JOIN party_party p '
                'ON p.id = f.registrant ORDER BY f.id) TO STDOUT '
                'WITH (FORMAT csv, HEADER)') as copy:
            for data in copy:
                output.write(data)
        (directory / 'floor.csv').write_bytes(output.getvalue())
        return count
    floor_s, floor_rows = timed(database, floor)
    return {
        'rows': rows, 'seconds': seconds, 'batches': batches,
        'wallets_seconds': round(wallets_s, 2),
        'csv_bytes': size,
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(orm_s * rows / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2)},
        }


def reconciliation_file(cycle_id, path):
    "Every payment of the cycle paid, as the provider would send it."
    from trytond.pool import Pool
    Payment = Pool().get('spp.payment')
    table = Payment.__table__()
    cur = cursor()
    cur.execute(*table.select(table.reference, table.amount,
            where=table.cycle == cycle_id, order_by=[table.id.asc]))
    today = dt.date.today().isoformat()
    with path.open('w', newline='') as file:
        writer = csv.writer(file, lineterminator='\n')
        writer.writerow(['reference', 'status', 'paid_amount', 'date',
                'provider_reference'])
        count = 0
        for reference, amount in cur:
            writer.writerow([reference, 'paid', amount, today,
                    f'PRV-{reference}'])
            count += 1
    return count


def stage_reconcile(database, cycle_id, sample, directory):
    from trytond.modules.spp_payment.reconcile import import_reconciliation
    from trytond.pool import Pool
    Payment = Pool(database).get('spp.payment')
    path = directory / 'reconciliation.csv'
    timed(database, lambda: reconciliation_file(cycle_id, path))

    def orm():
        "Per line: search the payment by reference, check, write."
        lines = 0
        with path.open() as file:
            reader = csv.DictReader(file)
            for line in reader:
                if lines >= sample:
                    break
                payment, = Payment.search(
                    [('reference', '=', line['reference'])])
                if payment.amount != Decimal(line['paid_amount']):
                    continue
                Payment.write([payment], {'state': 'paid',
                        'paid_amount': Decimal(line['paid_amount']),
                        'paid_date': dt.date.fromisoformat(line['date']),
                        'provider_reference': line['provider_reference']})
                lines += 1
        return lines
    orm_s, orm_rows = timed(database, orm, commit=False)
    seconds, report = timed(database,
        lambda: import_reconciliation(path.read_bytes()))
    again_s, again = timed(database,
        lambda: import_reconciliation(path.read_bytes()))

    def floor():
        cur = cursor()
        cur.execute('CREATE TABLE bench_floor_reconciliation ('
            'reference VARCHAR, status VARCHAR, paid_amount NUMERIC, '
            'paid_date DATE, provider_reference VARCHAR)')
        with path.open('rb') as file, cur.copy(
                'COPY bench_floor_reconciliation FROM STDIN '
                'WITH (FORMAT csv, HEADER)') as copy:
            while data := file.read(1 << 20):
                copy.write(data)
        cur.execute('UPDATE bench_floor_payment f SET state = r.status, '
            'paid_amount = r.paid_amount, paid_date = r.paid_date, '
            'provider_reference = r.provider_reference '
            'FROM bench_floor_reconciliation r '
            'WHERE r.reference = f.reference')
        return cur.rowcount
    floor_s, floor_rows = timed(database, floor)
    return {
        'rows': report.paid, 'seconds': seconds,
        'refused': len(report.errors),
        'reimport': {'seconds': round(again_s, 2),
            'unchanged': again.unchanged, 'paid': again.paid},
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(
                orm_s * report.paid / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2)},
        }
