"""DCI `expression` and `predicate` queries, compiled to Tryton domains.

Callers name attributes from a whitelist per collection (Member: the
individuals, Group: the groups); each maps onto a field of party.party
and a value type. Operators map onto domain operators; the ORM turns the
domain into SQL with bound parameters, so nothing the caller sends reaches
SQL as text. An unknown attribute, operator or a value of the wrong type
is refused with `rjct.filter.invalid`, a badly shaped query with
`rjct.search_criteria.invalid`, a bad sort with `rjct.sort.invalid`.

expression (MongoDB-like, the spec's example):
    {"type": "ns:org:QueryType:NoSql", "value": {"expression": {
        "collection": "Group", "query": {"$and": [
            {"group_size": {"$gte": 3}}, {"location": {"$eq": "TL-N"}}]}}}}
predicate (the spec's array): items ANDed in seq_num order, each
    expression1 [condition expression2] with condition and | or | not
    (`not`: expression1 and not expression2).
"""
import datetime as dt

MAX_TERMS = 50
MAX_DEPTH = 8
MAX_IN = 100
MAX_TEXT = 200

# attribute -> (domain field, value type, sortable column or None)
MEMBER_ATTRIBUTES = {
    'given_name': ('given_name', 'text', 'given_name'),
    'family_name': ('family_name', 'text', 'family_name'),
    'surname': ('family_name', 'text', 'family_name'),
    'name': ('name', 'text', 'name'),
    'birth_date': ('birth_date', 'date', 'birth_date'),
    'age': ('age', 'integer', None),
    'sex': ('gender.code', 'text', None),
    'gender': ('gender.code', 'text', None),
    'marital_status': ('civil_status', 'text', 'civil_status'),
    'civil_status': ('civil_status', 'text', 'civil_status'),
    'occupation': ('occupation', 'text', 'occupation'),
    'income': ('income', 'number', 'income'),
    'is_disabled': ('disability', 'boolean', None),
    'disability': ('disability', 'boolean', None),
    'registration_date': ('registration_date', 'date', 'registration_date'),
    'location': ('area.code', 'text', None),
    'area': ('area.code', 'text', None),
    }
GROUP_ATTRIBUTES = {
    'name': ('name', 'text', 'name'),
    'group_type': ('group_kind.code', 'text', None),
    'kind': ('group_kind.code', 'text', None),
    'group_size': ('member_count', 'integer', 'member_count'),
    'member_count': ('member_count', 'integer', 'member_count'),
    'child_count': ('child_count', 'integer', 'child_count'),
    'elderly_count': ('elderly_count', 'integer', 'elderly_count'),
    'disabled_member_count': (
        'disabled_member_count', 'integer', 'disabled_member_count'),
    'female_head': ('female_head', 'boolean', None),
    'registration_date': ('registration_date', 'date', 'registration_date'),
    'location': ('area.code', 'text', None),
    'area': ('area.code', 'text', None),
    }
ATTRIBUTES = {'Member': MEMBER_ATTRIBUTES, 'Group': GROUP_ATTRIBUTES}
COLLECTIONS = {'Member': 'Member', 'Individual': 'Member',
    'Person': 'Member', 'Group': 'Group'}

PREDICATE_OPERATORS = {
    'eq': '=', 'gt': '>', 'lt': '<', 'ge': '>=', 'le': '<=', 'in': 'in'}
EXPRESSION_OPERATORS = {
    '$eq': '=', '$ne': '!=', '$gt': '>', '$gte': '>=', '$lt': '<',
    '$lte': '<=', '$in': 'in', '$nin': 'not in'}
NEGATION = {'=': '!=', '!=': '=', '>': '<=', '<=': '>', '<': '>=',
    '>=': '<', 'in': 'not in', 'not in': 'in'}


class QueryFault(Exception):
    "A query the registry refuses: the item's status reason code."

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def criteria_fault(message):
    return QueryFault('rjct.search_criteria.invalid', message)


def filter_fault(message):
    return QueryFault('rjct.filter.invalid', message)


def _scalar(kind, value, attribute):
    "The value as the field wants it, or a QueryFault."
    if kind == 'text':
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and len(value) <= MAX_TEXT:
            return value
    elif kind == 'integer':
        if isinstance(value, (int, float)) and not isinstance(
                value, bool) and int(value) == value and abs(value) < 10**9:
            return int(value)
    elif kind == 'number':
        if isinstance(value, (int, float)) and not isinstance(
                value, bool) and abs(value) < 10**12:
            return value
    elif kind == 'boolean':
        if isinstance(value, bool):
            return value
    elif kind == 'date':
        if isinstance(value, str) and len(value) <= 40:
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                pass
    raise filter_fault(f"{attribute}: expects a {kind} value.")


def condition(attributes, attribute, operator, value):
    "One domain clause for attribute operator value."
    if not isinstance(attribute, str) or attribute not in attributes:
        raise filter_fault(
            f"Unknown attribute {str(attribute)[:64]!r}; "
            f"allowed: {', '.join(sorted(attributes))}.")
    field, kind, _ = attributes[attribute]
    if operator in {'in', 'not in'}:
        if isinstance(value, str):
            # The spec's attribute_value has no array: "a,b,c" also works.
            value = [v.strip() for v in value.split(',')]
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IN:
            raise filter_fault(
                f"{attribute}: 'in' takes a list of 1 to {MAX_IN} values.")
        value = [_scalar(kind, v, attribute) for v in value]
    else:
        value = _scalar(kind, value, attribute)
        if kind == 'boolean' and operator not in {'=', '!='}:
            raise filter_fault(f"{attribute}: compare booleans with eq.")
    return (field, operator, value)


def negate(domain):
    "NOT domain, pushed down to its clauses (De Morgan)."
    if isinstance(domain, tuple):
        field, operator, value = domain
        return (field, NEGATION[operator], value)
    if domain and domain[0] == 'OR':
        return [negate(d) for d in domain[1:]]
    return ['OR', *[negate(d) for d in domain]]


class Compiler:
    "Counts terms so that a huge query is refused, not executed."

    def __init__(self, attributes):
        self.attributes = attributes
        self.terms = 0

    def clause(self, attribute, operator, value):
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise criteria_fault(f"At most {MAX_TERMS} conditions.")
        return condition(self.attributes, attribute, operator, value)

    # -- expression ------------------------------------------------------
    def expression(self, node, depth=0):
        if depth > MAX_DEPTH:
            raise criteria_fault(f"Nested deeper than {MAX_DEPTH} levels.")
        if not isinstance(node, dict) or not node:
            raise criteria_fault("Each query node must be a non-empty "
                "object.")
        domain = []
        for key, value in node.items():
            if key in {'$and', '$or'}:
                if not isinstance(value, list) or not value:
                    raise criteria_fault(f"{key} takes a non-empty list.")
                parts = [self.expression(v, depth + 1) for v in value]
                domain.append(parts if key == '$and' else ['OR', *parts])
            elif key == '$not':
                domain.append(negate(self.expression(value, depth + 1)))
            elif isinstance(key, str) and key.startswith('$'):
                raise filter_fault(f"Unknown operator {key[:32]!r}.")
            elif isinstance(value, dict):
                if not value:
                    raise criteria_fault(f"{key[:64]}: no operator.")
                for operator, operand in value.items():
                    if operator not in EXPRESSION_OPERATORS:
                        raise filter_fault(
                            f"Unknown operator {str(operator)[:32]!r}; "
                            f"allowed: {', '.join(EXPRESSION_OPERATORS)}.")
                    domain.append(self.clause(key,
                            EXPRESSION_OPERATORS[operator], operand))
            else:
                domain.append(self.clause(key, '=', value))
        return domain

    # -- predicate -------------------------------------------------------
    def predicate_expression(self, node):
        if not isinstance(node, dict):
            raise criteria_fault("expression1/expression2 must be objects.")
        missing = {'attribute_name', 'operator', 'attribute_value'} - set(
            node)
        if missing:
            raise criteria_fault(
                f"An expression needs {', '.join(sorted(missing))}.")
        operator = node['operator']
        if operator not in PREDICATE_OPERATORS:
            raise filter_fault(f"Unknown operator {str(operator)[:32]!r}; "
                f"allowed: {', '.join(PREDICATE_OPERATORS)}.")
        return self.clause(node['attribute_name'],
            PREDICATE_OPERATORS[operator], node['attribute_value'])

    def predicate(self, items):
        if not isinstance(items, list) or not items:
            raise criteria_fault("A predicate query is a non-empty list.")
        if any(not isinstance(i, dict) for i in items):
            raise criteria_fault("Each predicate must be an object.")

        def sequence(item):
            number = item.get('seq_num', 0)
            if isinstance(number, bool) or not isinstance(
                    number, (int, float)):
                raise criteria_fault("seq_num must be a number.")
            return number
        domain = []
        for item in sorted(items, key=sequence):
            if 'expression1' not in item:
                raise criteria_fault("Each predicate needs expression1.")
            first = self.predicate_expression(item['expression1'])
            kind = item.get('condition')
            if 'expression2' not in item:
                if kind == 'not':
                    first = negate(first)
                elif kind not in {None, 'and', 'or'}:
                    raise criteria_fault("condition: and, or or not.")
                domain.append(first)
                continue
            second = self.predicate_expression(item['expression2'])
            if kind in {None, 'and'}:
                domain.append([first, second])
            elif kind == 'or':
                domain.append(['OR', first, second])
            elif kind == 'not':
                domain.append([first, negate(second)])
            else:
                raise criteria_fault("condition: and, or or not.")
        return domain


def compile_query(query_type, query, response_entity):
    "(collection 'Member' or 'Group', domain) of an expression/predicate."
    if query_type == 'expression':
        if not isinstance(query, dict) or not isinstance(
                query.get('value'), dict):
            raise criteria_fault("An expression query is {type, value: "
                "{expression: {collection, query}}}.")
        expression = query['value'].get('expression')
        if not isinstance(expression, dict) or 'query' not in expression:
            raise criteria_fault("value.expression needs a query.")
        collection = expression.get('collection', response_entity or 'Member')
        if collection not in COLLECTIONS:
            raise criteria_fault("collection: Group or Member.")
        collection = COLLECTIONS[collection]
        return collection, Compiler(ATTRIBUTES[collection]).expression(
            expression['query'])
    collection = response_entity or 'Member'
    return collection, Compiler(ATTRIBUTES[collection]).predicate(query)


def compile_sort(sort, collection):
    "An ORM order for the spec's sort list; id last, for stable pages."
    order = []
    if sort is None:
        sort = []
    if not isinstance(sort, list) or len(sort) > 5:
        raise QueryFault('rjct.sort.invalid', "sort: a list of at most 5.")
    attributes = ATTRIBUTES[collection]
    for item in sort:
        if not isinstance(item, dict):
            raise QueryFault('rjct.sort.invalid', "sort: objects.")
        attribute = item.get('attribute_name')
        column = attributes.get(attribute, (None, None, None))[2] if (
            isinstance(attribute, str)) else None
        direction = item.get('sort_order', 'asc')
        if column is None or direction not in {'asc', 'desc'}:
            raise QueryFault('rjct.sort.invalid',
                f"Cannot sort by {str(attribute)[:64]!r} {direction!r}; "
                "sortable: " + ', '.join(sorted(
                        a for a, v in attributes.items() if v[2])) + '.')
        order.append((column, direction.upper()))
    order.append(('id', 'ASC'))
    return order
