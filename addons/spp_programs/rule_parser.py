"""The eligibility rule language: reading a rule into a tree.

See rule.py for the language and its compilation to a domain. The parser
refuses, with a message naming the position, what it cannot read, and
what would not run: rules longer, deeper or with more conditions and
values than the limits below."""
import contextlib
import re
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model.exceptions import ValidationError


class RuleError(ValidationError):
    pass


# Limits that keep every rule that saves runnable: a very long or deep rule
# exhausts the parser's stack or the database's planner.
MAX_RULE_LENGTH = 10000
MAX_DEPTH = 20
MAX_CONDITIONS = 200
MAX_VALUES = 1000
MAX_TEXT_LENGTH = 200

_TOKEN = re.compile(r'''
    (?P<space>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>>=|<=|!=|==|=|<|>)
  | (?P<punct>[()\[\],])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    ''', re.VERBOSE)
KEYWORDS = {'and', 'or', 'not', 'in', 'is', 'set', 'true', 'false',
    'contains'}


def _syntax_error(position, reason):
    return RuleError(gettext('spp_programs.msg_rule_syntax',
            position=position + 1, reason=reason))


def tokenize(text):
    "Return the tokens of a rule as (kind, value, position)."
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise _syntax_error(
                position, f'unexpected character "{text[position]}"')
        kind = match.lastgroup
        value = match.group()
        if kind == 'string':
            value = re.sub(r'\\(.)', r'\1', value[1:-1])
        elif kind == 'word' and value.lower() in KEYWORDS:
            kind, value = 'keyword', value.lower()
        elif kind == 'op' and value == '==':
            value = '='
        if kind != 'space':
            tokens.append((kind, value, position))
        position = match.end()
    tokens.append(('end', None, len(text)))
    return tokens


class Parser:
    "Recursive descent parser producing a tree of tuples."

    def __init__(self, text):
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.conditions = 0
        self.values = 0

    @property
    def current(self):
        return self.tokens[self.index]

    def accept(self, kind, value=None):
        token = self.current
        if token[0] == kind and (value is None or token[1] == value):
            self.index += 1
            return token
        return None

    def expect(self, kind, value, what):
        token = self.accept(kind, value)
        if not token:
            raise self.error(f'expected {what}')
        return token

    def error(self, reason):
        kind, value, position = self.current
        found = 'the end of the rule' if kind == 'end' else f'"{value}"'
        return _syntax_error(position, f'{reason}, found {found}')

    def parse(self):
        tree = self.parse_or()
        if self.current[0] != 'end':
            raise self.error('expected "and", "or" or the end of the rule')
        return tree

    def parse_or(self):
        terms = [self.parse_and()]
        while self.accept('keyword', 'or'):
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else ('or', terms)

    def parse_and(self):
        terms = [self.parse_not()]
        while self.accept('keyword', 'and'):
            terms.append(self.parse_not())
        return terms[0] if len(terms) == 1 else ('and', terms)

    def parse_not(self):
        if self.accept('keyword', 'not'):
            with self.nested():
                return ('not', self.parse_not())
        if self.accept('punct', '('):
            with self.nested():
                tree = self.parse_or()
            self.expect('punct', ')', '")"')
            return tree
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise RuleError(gettext('spp_programs.msg_rule_too_many',
                    limit=MAX_CONDITIONS))
        return self.parse_condition()

    @contextlib.contextmanager
    def nested(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleError(gettext('spp_programs.msg_rule_too_deep',
                    limit=MAX_DEPTH))
        yield
        self.depth -= 1

    def parse_condition(self):
        token = self.accept('word')
        if not token:
            raise self.error('expected a field name')
        field, position = token[1], token[2]
        if token := self.accept('op'):
            return ('cond', field, token[1], self.parse_value(), position)
        if self.accept('keyword', 'in'):
            return ('cond', field, 'in', self.parse_values(), position)
        if self.accept('keyword', 'contains'):
            return ('cond', field, 'contains', self.parse_value(), position)
        if self.accept('keyword', 'is'):
            negative = bool(self.accept('keyword', 'not'))
            self.expect('keyword', 'set', '"set"')
            return ('cond', field, 'is not set' if negative else 'is set',
                None, position)
        if (self.current[0] == 'keyword' and self.current[1] == 'not'
                and self.tokens[self.index + 1][1] == 'in'):
            self.index += 2
            return ('cond', field, 'not in', self.parse_values(), position)
        if self.current[0] in {'number', 'string'} or self.current[1] in {
                'true', 'false'}:
            # "age 60": the comparison between the field and the value.
            raise self.error(f'after "{field}" write a comparison '
                '(=, !=, <, <=, >, >=, in, contains) before the value')
        # A bare field: a boolean that must be true.
        return ('cond', field, 'is true', None, position)

    def parse_values(self):
        if self.accept('punct', '['):
            values = [self.parse_value()]
            while self.accept('punct', ','):
                values.append(self.parse_value())
            self.expect('punct', ']', '"]" or ","')
            return values
        return [self.parse_value()]

    def parse_value(self):
        self.values += 1
        if self.values > MAX_VALUES:
            raise RuleError(gettext('spp_programs.msg_rule_too_many_values',
                    limit=MAX_VALUES))
        if token := self.accept('number'):
            return Decimal(token[1]) if '.' in token[1] else int(token[1])
        if token := self.accept('string'):
            if len(token[1]) > MAX_TEXT_LENGTH:
                raise RuleError(gettext('spp_programs.msg_rule_text_too_long',
                        position=token[2] + 1, limit=MAX_TEXT_LENGTH))
            return token[1]
        if self.accept('keyword', 'true'):
            return True
        if self.accept('keyword', 'false'):
            return False
        raise self.error('expected a value (number, "text", true or false)')


def parse(text):
    "Parse a rule into a tree; raise RuleError on a syntax error."
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(gettext('spp_programs.msg_rule_too_long',
                length=len(text), limit=MAX_RULE_LENGTH))
    return Parser(text).parse()
