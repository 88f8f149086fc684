"""Read-only SQL views for analysts and BI tools (Superset, Metabase, a
statistics office), meant to be read from a read replica: `spp_report_*`
aggregates by area, program, cycle and month, with codes and names of
areas and programs but no registrant's name, ID number or contact
(docs/reporting.md). Each is (re)created when the addon whose tables it
reads is updated; `spp_report_area` is the dimension the others join to
(area_id) to roll areas up along parent_id."""
from trytond import backend
from trytond.transaction import Transaction


def year_of(column):
    if backend.name == 'postgresql':
        return 'CAST(EXTRACT(YEAR FROM %s) AS INTEGER)' % column
    return "CAST(strftime('%%Y', %s) AS INTEGER)" % column


def replace_view(name, select):
    "Create or replace the view `name` as `select` (plain SQL)."
    cursor = Transaction().connection.cursor()
    if backend.name == 'postgresql':
        # Replaced, not dropped: the grants of the BI role stay.
        cursor.execute('CREATE OR REPLACE VIEW "%s" AS %s' % (name, select))
    else:
        cursor.execute('DROP VIEW IF EXISTS "%s"' % name)
        cursor.execute('CREATE VIEW "%s" AS %s' % (name, select))


REGISTRY = {
    'spp_report_area': """
        SELECT a.id AS area_id, a.code AS area_code, a.name AS area_name,
            a.parent AS parent_id, k.name AS area_kind
        FROM spp_area AS a LEFT JOIN spp_area_kind AS k ON k.id = a.kind""",
    'spp_report_registry_area': """
        SELECT p.area AS area_id,
            SUM(CASE WHEN p.registrant_type = 'group' THEN 1 ELSE 0 END)
                AS households,
            SUM(CASE WHEN p.registrant_type = 'individual' THEN 1 ELSE 0
                END) AS individuals
        FROM party_party AS p
        WHERE p.registrant_type IS NOT NULL AND p.active = TRUE
        GROUP BY p.area""",
    'spp_report_individual': """
        SELECT p.area AS area_id, g.code AS sex,
            {birth_year} AS birth_year, COUNT(*) AS individuals
        FROM party_party AS p LEFT JOIN spp_gender AS g ON g.id = p.gender
        WHERE p.registrant_type = 'individual' AND p.active = TRUE
        GROUP BY p.area, g.code, {birth_year}""",
    'spp_report_indicator_month': """
        SELECT s.month, s.indicator, s.program AS program_id,
            s.area AS area_id, s.value
        FROM spp_report_snapshot AS s""",
    }
PROGRAMS = {
    'spp_report_program': """
        SELECT p.id AS program_id, p.code AS program_code,
            p.name AS program_name, p.state
        FROM spp_program AS p""",
    'spp_report_program_area': """
        SELECT m.program AS program_id, m.area AS area_id, m.state,
            COUNT(*) AS beneficiaries
        FROM spp_program_membership AS m
        GROUP BY m.program, m.area, m.state""",
    }
ENTITLEMENTS = {
    'spp_report_cycle_area': """
        SELECT c.program AS program_id, c.id AS cycle_id,
            c.sequence AS cycle_number, c.start_date AS cycle_start,
            c.state AS cycle_state, b.area AS area_id,
            e.state AS entitlement_state, COUNT(*) AS entitlements,
            SUM(e.amount) AS amount, SUM(COALESCE(e.fee, 0)) AS fees
        FROM spp_entitlement AS e
        JOIN spp_cycle_membership AS b ON b.id = e.cycle_membership
        JOIN spp_cycle AS c ON c.id = e.cycle
        GROUP BY c.program, c.id, c.sequence, c.start_date, c.state,
            b.area, e.state""",
    }
PAYMENTS = {
    'spp_report_payment': """
        SELECT c.program AS program_id, y.cycle AS cycle_id,
            b.area AS area_id, y.state, y.failure_reason,
            COUNT(*) AS payments, SUM(y.amount) AS amount,
            SUM(COALESCE(y.paid_amount, 0)) AS paid_amount
        FROM spp_payment AS y
        JOIN spp_entitlement AS e ON e.id = y.entitlement
        JOIN spp_cycle_membership AS b ON b.id = e.cycle_membership
        JOIN spp_cycle AS c ON c.id = y.cycle
        GROUP BY c.program, y.cycle, b.area, y.state, y.failure_reason""",
    }
GRIEVANCES = {
    'spp_report_grievance': """
        SELECT c.code AS category_code, g.area AS area_id, g.state,
            g.sla_status, {received_year} AS received_year,
            COUNT(*) AS grievances
        FROM spp_grievance AS g
        LEFT JOIN spp_grievance_category AS c ON c.id = g.category
        WHERE g.sensitive IS NOT TRUE
        GROUP BY c.code, g.area, g.state, g.sla_status, {received_year}""",
    }


def create_views(views):
    for name, select in views.items():
        replace_view(name, select.format(
                birth_year=year_of('p.birth_date'),
                received_year=year_of('g.received_on')))
