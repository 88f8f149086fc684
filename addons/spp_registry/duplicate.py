"""Registry duplicates: detection, review and merge.

Each finding is a ``spp.registry.duplicate`` row to review, unique per
pair and reason at the database level; a pair decided *not duplicate* is
never listed again. Detection is set-based SQL (``detection.py``); probable
duplicates are individuals with the same birth date (or the same birth year
when either date is approximate) whose normalised names are similar, scored
by pg_trgm's trigram similarity in SQL or the same in Python
(``similarity.py``). Each run is logged (``spp.registry.duplicate.run``).

Confirming a pair merges the two registrants with Tryton's party replace
(extended in ``merge.py``)."""
import datetime as dt

from trytond.model import (
    Check, Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .detection import CHANGE_MARGIN, DuplicateDetection
from .rec_name import any_field_matches
from .similarity import create_trigram_extension

REASONS = [
    ('same_id', "Same ID Number"),
    ('multiple_groups', "In Several Groups"),
    ('probable', "Similar Name and Birth Date"),
    ]
STATES = [
    ('to_review', "To Review"),
    ('duplicate', "Duplicate"),
    ('not_duplicate', "Not Duplicate"),
    ]


class Duplicate(DuplicateDetection, Workflow, ModelSQL, ModelView):
    "Registry Duplicate"
    __string__ = "Registry Duplicate"
    __name__ = 'spp.registry.duplicate'

    individual_a = fields.Many2One(
        'party.party', "Individual", required=True, readonly=True,
        ondelete='CASCADE',
        help="The older record (lower id) of the pair.")
    individual_b = fields.Many2One(
        'party.party', "Possible Duplicate", required=True, readonly=True,
        ondelete='CASCADE',
        help="The newer record of the pair; the same individual when the "
        "reason is \"In Several Groups\".")
    reason = fields.Selection(REASONS, "Reason", required=True, readonly=True)
    score = fields.Float(
        "Score", digits=(1, 2), readonly=True,
        help="Name similarity from 0 to 1 (1 for exact findings).")
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    kept = fields.Many2One(
        'party.party', "Keep", ondelete='CASCADE',
        domain=[('id', 'in', [Eval('individual_a', -1),
                    Eval('individual_b', -1)])],
        states={
            'invisible': Eval('reason') == 'multiple_groups',
            'readonly': Eval('state') != 'to_review',
            },
        help="The registrant that stays when the pair is confirmed: the "
        "other one is merged into it. The older record by default.")
    kept_group = fields.Many2One(
        'party.party', "Keep in Group", ondelete='SET NULL',
        domain=[('id', 'in', Eval('groups_a', []))],
        states={
            'invisible': Eval('reason') != 'multiple_groups',
            'readonly': Eval('state') != 'to_review',
            },
        help="The group the individual stays in when confirmed; the "
        "memberships of the other groups are ended.")
    note = fields.Text("Note",
        states={'readonly': Eval('state') == 'duplicate'})
    reviewed_by = fields.Many2One('res.user', "Reviewed By", readonly=True)
    reviewed_at = fields.DateTime("Reviewed At", readonly=True)
    birth_date_a = fields.Function(
        fields.Date("Birth Date"), 'get_details')
    birth_date_b = fields.Function(
        fields.Date("Birth Date of Duplicate"), 'get_details')
    id_numbers_a = fields.Function(
        fields.Char("ID Numbers"), 'get_details')
    id_numbers_b = fields.Function(
        fields.Char("ID Numbers of Duplicate"), 'get_details')
    groups_a = fields.Function(
        fields.Many2Many('party.party', None, None, "Groups"),
        'get_details')
    groups_b = fields.Function(
        fields.Many2Many('party.party', None, None, "Groups of Duplicate"),
        'get_details')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('pair_reason_unique',
                Unique(t, t.individual_a, t.individual_b, t.reason),
                'spp_registry.msg_duplicate_unique'),
            ('pair_order',
                Check(t, (t.individual_a < t.individual_b)
                    | ((t.reason == 'multiple_groups')
                        & (t.individual_a == t.individual_b))),
                'spp_registry.msg_duplicate_order'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.individual_b, Index.Range())),
                Index(t, (t.state, Index.Equality())),
                })
        cls._order = [('state', 'DESC'), ('score', 'DESC'), ('id', 'ASC')]
        cls._transitions |= {
            ('to_review', 'duplicate'),
            ('to_review', 'not_duplicate'),
            ('not_duplicate', 'to_review'),
            }
        cls._buttons.update({
                'mark_duplicate': {
                    'invisible': Eval('state') != 'to_review',
                    'depends': ['state'],
                    },
                'mark_not_duplicate': {
                    'invisible': Eval('state') != 'to_review',
                    'depends': ['state'],
                    },
                'reopen': {
                    'invisible': Eval('state') != 'not_duplicate',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        create_trigram_extension()

    @classmethod
    def default_state(cls):
        return 'to_review'

    def get_rec_name(self, name):
        if self.individual_a == self.individual_b:
            return self.individual_a.rec_name
        return f'{self.individual_a.rec_name} / {self.individual_b.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return any_field_matches(clause,
            ['individual_a.rec_name', 'individual_b.rec_name'])

    @classmethod
    def get_details(cls, duplicates, names):
        "Birth dates, ID numbers and current groups of both individuals."
        IdType = Pool().get('spp.id.type')
        types = IdType.by_code()
        result = {name: {} for name in names}
        for duplicate in duplicates:
            for side in 'ab':
                person = getattr(duplicate, f'individual_{side}')
                values = {
                    'birth_date': lambda: person.birth_date,
                    'id_numbers': lambda: ', '.join(
                        f'{types[i.type].name if i.type in types else i.type}'
                        f': {i.code}' for i in person.identifiers),
                    'groups': lambda: [m.group.id
                        for m in person.group_memberships if m.current],
                    }
                for field, value in values.items():
                    if f'{field}_{side}' in names:
                        result[f'{field}_{side}'][duplicate.id] = value()
        return result

    # Review

    @classmethod
    def _pair_rows(cls, duplicates, states):
        "Rows in `states` of the same pairs (other reasons), excluding these."
        pairs = [d for d in duplicates if d.individual_a != d.individual_b]
        if not pairs:
            return []
        domain = ['OR'] + [[
                ('individual_a', '=', d.individual_a.id),
                ('individual_b', '=', d.individual_b.id),
                ] for d in pairs]
        return [r for r in cls.search([('state', 'in', states), domain])
            if r not in duplicates]

    @classmethod
    def _review_values(cls):
        return {
            'reviewed_by': Transaction().user,
            'reviewed_at': dt.datetime.now(),
            }

    @classmethod
    @ModelView.button
    def mark_duplicate(cls, duplicates):
        """Confirm: merge each pair into the registrant kept (the older by
        default); for an individual in several groups, end the memberships
        of the groups other than the one kept.

        Rows closed or dropped by an earlier merge of the same batch (the
        same pair for another reason, a registrant merged already) are
        skipped."""
        pool = Pool()
        Replace = pool.get('party.replace', type='wizard')
        Membership = pool.get('spp.group.membership')
        for duplicate in duplicates:
            pending = cls.search([
                    ('id', '=', duplicate.id), ('state', '=', 'to_review')])
            if not pending:
                continue
            duplicate, = pending
            if duplicate.reason == 'multiple_groups':
                person = duplicate.individual_a
                current = sorted(
                    (m for m in person.group_memberships if m.current),
                    key=lambda m: m.id)
                kept = duplicate.kept_group or (
                    current[0].group if current else None)
                Membership.end([m for m in current if m.group != kept])
                values = {'kept_group': kept.id if kept else None}
            else:
                kept = duplicate.kept or duplicate.individual_a
                other = (duplicate.individual_b
                    if kept == duplicate.individual_a
                    else duplicate.individual_a)
                Replace.merge_registrants(other, kept)
                values = {'kept': kept.id}
            cls.write([duplicate], {
                    'state': 'duplicate', **values, **cls._review_values()})
            cls.log([duplicate], 'transition', 'state:duplicate')

    @classmethod
    @ModelView.button
    @Workflow.transition('not_duplicate')
    def mark_not_duplicate(cls, duplicates):
        "Remember the pairs are different people: never listed again."
        siblings = cls._pair_rows(duplicates, ['to_review'])
        values = cls._review_values()
        cls.write(duplicates, values)
        if siblings:
            cls.write(siblings, {**values, 'state': 'not_duplicate'})

    @classmethod
    @ModelView.button
    @Workflow.transition('to_review')
    def reopen(cls, duplicates):
        cls.write(duplicates, {'reviewed_by': None, 'reviewed_at': None})


class DuplicateRun(ModelSQL, ModelView):
    "Duplicate Detection Run"
    __string__ = "Duplicate Detection Run"
    __name__ = 'spp.registry.duplicate.run'
    reasons = fields.Char("Reasons", readonly=True)
    threshold = fields.Float("Threshold", digits=(1, 2), readonly=True)
    approximate_years = fields.Boolean(
        "Same Year if Approximate", readonly=True)
    since = fields.DateTime("Changes Since", readonly=True,
        help="Probable duplicates were compared for the individuals "
        "registered or changed since then; empty for a full run.")
    watermark = fields.DateTime("Last Change", readonly=True,
        help="The latest change of a registrant when the run started.")
    same_id_count = fields.Integer("Same ID Number", readonly=True)
    multiple_groups_count = fields.Integer("In Several Groups", readonly=True)
    probable_count = fields.Integer(
        "Similar Name and Birth Date", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]

    @classmethod
    def changes_since(cls, threshold, approximate_years):
        """Since when probable duplicates may be compared incrementally:
        the last change seen by the last run that compared them with the
        same or a lower threshold and no narrower blocking, less a margin;
        None when a full run is needed."""
        runs = cls.search([('reasons', 'like', '%probable%')], limit=1)
        if not runs:
            return None
        run, = runs
        if (not run.watermark or run.threshold is None
                or run.threshold > threshold
                or (approximate_years and not run.approximate_years)):
            return None
        return run.watermark - CHANGE_MARGIN


class DetectStart(ModelView):
    "Detect Duplicates"
    __string__ = "Detect Duplicates"
    __name__ = 'spp.registry.duplicate.detect.start'
    same_id = fields.Boolean("Same ID Number",
        help="Individuals holding the same number of an ID type that is "
        "not shareable.")
    multiple_groups = fields.Boolean("In Several Groups",
        help="Individuals in force in more than one group.")
    probable = fields.Boolean("Similar Name and Birth Date",
        help="Individuals born the same day with similar names.")
    approximate_years = fields.Boolean("Same Year if Approximate",
        states={'invisible': ~Eval('probable')},
        help="Also compare individuals born the same year when either "
        "birth date is approximate.")
    threshold = fields.Float("Threshold", digits=(1, 2), readonly=True,
        states={'invisible': ~Eval('probable')},
        help="Set in the registry configuration.")
    full = fields.Boolean("Compare Everyone",
        states={'invisible': ~Eval('probable')},
        help="Compare all individuals, not only those registered or "
        "changed since the last run (done anyway when the threshold was "
        "lowered).")

    @classmethod
    def default_same_id(cls):
        return True

    @classmethod
    def default_multiple_groups(cls):
        return True

    @classmethod
    def default_probable(cls):
        return True

    @classmethod
    def default_approximate_years(cls):
        return True

    @classmethod
    def default_threshold(cls):
        Configuration = Pool().get('spp.registry.configuration')
        return Configuration(1).duplicate_threshold


class DetectResult(ModelView):
    "Detect Duplicates"
    __string__ = "Detect Duplicates"
    __name__ = 'spp.registry.duplicate.detect.result'
    same_id = fields.Integer("Same ID Number", readonly=True)
    multiple_groups = fields.Integer("In Several Groups", readonly=True)
    probable = fields.Integer("Similar Name and Birth Date", readonly=True)


class Detect(Wizard):
    "Detect Duplicates"
    __string__ = "Detect Duplicates"
    __name__ = 'spp.registry.duplicate.detect'
    start = StateView('spp.registry.duplicate.detect.start',
        'spp_registry.duplicate_detect_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Detect", 'detect', 'tryton-ok', default=True),
            ])
    detect = StateTransition()
    result = StateView('spp.registry.duplicate.detect.result',
        'spp_registry.duplicate_detect_result_view_form', [
            Button("Close", 'end', 'tryton-close'),
            Button("Review", 'review', 'tryton-forward', default=True),
            ])
    review = StateAction('spp_registry.act_duplicate_form')

    def transition_detect(self):
        Duplicate = Pool().get('spp.registry.duplicate')
        reasons = [r for r, _ in REASONS if getattr(self.start, r)]
        counts = Duplicate.detect(reasons,
            approximate_years=bool(self.start.approximate_years),
            full=bool(self.start.full))
        for reason, _ in REASONS:
            setattr(self.result, reason, counts.get(reason, 0))
        return 'result'

    def default_result(self, fields):
        return {f: getattr(self.result, f, 0) for f in fields}


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # A trigram index on PostgreSQL with pg_trgm, for the same-year
        # block of approximate birth dates.
        cls._sql_indexes.add(Index(t, (t.name_key, Index.Similarity())))


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('spp.registry.duplicate|detect_duplicates_cron',
                "Detect Registry Duplicates"))
