"""The search of a record's name over several fields, as Tryton's modules
write `search_rec_name`: plain text matches when any field matches, and a
negated operator only when none does."""


def any_field_matches(clause, field_names):
    "The domain of `clause` (a rec_name clause) applied to each field."
    _, operator, operand, *extra = clause
    negated = operator.startswith('!') or operator.startswith('not ')
    return ['AND' if negated else 'OR'] + [
        (name, operator, operand, *extra) for name in field_names]
