"""Reading NGSI-LD query parameters, and the `q` query language (ETSI GS CIM 009, 4.9).

The subset of `q` understood here: attribute comparisons `attr==v`, `!=`, `>`, `>=`, `<`, `<=`, the pattern
operators `~=` / `!~=` (a regular expression), ranges `attr==10..20`, value lists `attr==1,2,3`, a bare
`attr` (the entity has it), `attr.observedAt` (the time of its latest value), `;` (and, which binds
tighter), `|` (or) and parentheses. Values are numbers, "quoted strings", true/false, or date-times
(compared with `observedAt`). Anything else is a BadRequestData error naming the problem.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from dothi.sensing.ngsild.errors import bad_request

Q_MAX_LENGTH = 2000
LIMIT_DEFAULT = 20
LIMIT_MAX = 1000
OFFSET_MAX = 1_000_000

OPERATORS = ("==", "!=", ">=", "<=", "!~=", "~=", ">", "<")
ATTRIBUTE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")
NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


# --- Plain parameters --------------------------------------------------------------------------------


def text(params: Mapping[str, Any], name: str, *, max_length: int = 200) -> str:
    value = params.get(name, "")
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > max_length or "\x00" in value:
        raise bad_request(_("The parameter %(name)s is not valid.") % {"name": name})
    return value


def integer(params: Mapping[str, Any], name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = text(params, name, max_length=12)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not minimum <= int(raw) <= maximum:
        raise bad_request(
            _("%(name)s must be a whole number from %(min)s to %(max)s.")
            % {"name": name, "min": minimum, "max": maximum}
        )
    return int(raw)


def flag(params: Mapping[str, Any], name: str) -> bool:
    raw = text(params, name, max_length=10).lower()
    if raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise bad_request(_("%(name)s must be true or false.") % {"name": name})


def names(params: Mapping[str, Any], name: str) -> list[str]:
    """A comma-separated list (type=A,B; attrs=x,y; id=urn:a,urn:b)."""
    raw = text(params, name, max_length=4000)
    return [part.strip() for part in raw.split(",") if part.strip()]


def options(params: Mapping[str, Any]) -> set[str]:
    """`options` (keyValues, temporalValues…), with the newer `format` parameter folded in."""
    chosen = {o.strip() for o in text(params, "options", max_length=200).split(",") if o.strip()}
    form = text(params, "format", max_length=40)
    return chosen | {form} if form else chosen


def datetime_value(raw: str, name: str) -> dt.datetime:
    """An ISO 8601 date-time; a time without a zone is UTC. A "+" that arrived as a space is put back."""
    try:
        value = parse_datetime(raw.strip().replace(" ", "+"))
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise bad_request(
            _("%(name)s must be a date and time such as 2026-05-01T00:00:00Z.") % {"name": name}
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # the year 1 with a positive offset
        raise bad_request(
            _("%(name)s must be a date and time such as 2026-05-01T00:00:00Z.") % {"name": name}
        )


# --- The q language ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    attribute: str
    operator: str | None  # None: the attribute exists
    value: Any = None  # a scalar, a (low, high) range, or a list


@dataclass(frozen=True)
class Logical:
    operator: str  # ";" or "|"
    terms: tuple


Node = Comparison | Logical


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.pos = 0

    def fail(self, what: str):
        raise bad_request(
            _("The query q is not valid near position %(pos)s: %(what)s.")
            % {"pos": self.pos + 1, "what": what}
        )

    def peek(self) -> str:
        return self.source[self.pos] if self.pos < len(self.source) else ""

    def parse(self) -> Node:
        node = self.parse_or()
        if self.pos != len(self.source):
            self.fail(_("unexpected %(char)s") % {"char": repr(self.peek())})
        return node

    def parse_or(self) -> Node:
        terms = [self.parse_and()]
        while self.peek() == "|":
            self.pos += 1
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else Logical("|", tuple(terms))

    def parse_and(self) -> Node:
        terms = [self.parse_term()]
        while self.peek() == ";":
            self.pos += 1
            terms.append(self.parse_term())
        return terms[0] if len(terms) == 1 else Logical(";", tuple(terms))

    def parse_term(self) -> Node:
        if self.peek() == "(":
            self.pos += 1
            node = self.parse_or()
            if self.peek() != ")":
                self.fail(_("a closing parenthesis is missing"))
            self.pos += 1
            return node
        match = ATTRIBUTE_RE.match(self.source, self.pos)
        if not match:
            self.fail(_("an attribute name is expected"))
        self.pos = match.end()
        attribute = match.group(0)
        operator = next((op for op in OPERATORS if self.source.startswith(op, self.pos)), None)
        if operator is None:
            return Comparison(attribute, None)
        self.pos += len(operator)
        return Comparison(attribute, operator, self.parse_value(operator))

    def _raw_value(self) -> str:
        """The text of one value, up to the next ; | ) outside quotes."""
        start = self.pos
        in_quotes = False
        while self.pos < len(self.source):
            char = self.source[self.pos]
            if char == '"':
                in_quotes = not in_quotes
            elif not in_quotes and char in ";|)":
                break
            self.pos += 1
        if in_quotes:
            self.fail(_("a closing quote is missing"))
        raw = self.source[start:self.pos]
        if not raw:
            self.fail(_("a value is expected"))
        return raw

    def parse_value(self, operator: str) -> Any:
        raw = self._raw_value()
        if operator in ("~=", "!~="):
            pattern = _scalar(raw, self)
            if not isinstance(pattern, str):
                self.fail(_("a pattern must be a quoted string"))
            try:
                return re.compile(pattern)
            except re.error:
                self.fail(_("the pattern is not a valid regular expression"))
        if operator in ("==", "!=") and ".." in raw and not raw.startswith('"'):
            low, _sep, high = raw.partition("..")
            return (_scalar(low, self), _scalar(high, self))
        if operator in ("==", "!=") and "," in raw and not (raw.startswith('"') and raw.endswith('"')
                                                            and raw.count('"') == 2):
            return [_scalar(part, self) for part in _split_list(raw)]
        return _scalar(raw, self)


def _split_list(raw: str) -> list[str]:
    parts, current, in_quotes = [], "", False
    for char in raw:
        if char == '"':
            in_quotes = not in_quotes
        if char == "," and not in_quotes:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _scalar(raw: str, parser: _Parser) -> Any:
    raw = raw.strip()
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        return raw[1:-1]
    if raw == "true":
        return True
    if raw == "false":
        return False
    if NUMBER_RE.match(raw):
        return float(raw)
    if raw[:1].isdigit():
        try:
            value = parse_datetime(raw.replace(" ", "+"))
        except (ValueError, OverflowError):
            value = None
        if value is not None:
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parser.fail(_("%(value)s is not a number, a quoted string, true, false or a date and time")
                % {"value": raw})


def parse_q(source: str) -> Node | None:
    source = source.strip()
    if not source:
        return None
    if len(source) > Q_MAX_LENGTH:
        raise bad_request(_("The query q is too long."))
    return _Parser(source).parse()


def attributes_of(node: Node | None) -> set[str]:
    """The attribute names a query refers to (without `.observedAt`)."""
    if node is None:
        return set()
    if isinstance(node, Comparison):
        return {node.attribute.split(".")[0]}
    found: set[str] = set()
    for term in node.terms:
        found |= attributes_of(term)
    return found


def _compare(left: Any, operator: str, right: Any) -> bool:
    if isinstance(right, re.Pattern):
        matched = isinstance(left, str) and right.search(left) is not None
        return matched if operator == "~=" else not matched
    if isinstance(right, tuple):
        low, high = right
        try:
            inside = low <= left <= high
        except (TypeError, OverflowError):
            inside = False
        return inside if operator == "==" else not inside
    if isinstance(right, list):
        inside = any(_equal(left, item) for item in right)
        return inside if operator == "==" else not inside
    if operator == "==":
        return _equal(left, right)
    if operator == "!=":
        return not _equal(left, right)
    if isinstance(left, bool) or isinstance(right, bool):
        return False
    try:
        if operator == ">":
            return left > right
        if operator == ">=":
            return left >= right
        if operator == "<":
            return left < right
        return left <= right
    except (TypeError, OverflowError):
        return False


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return left == right


def matches(node: Node | None, lookup: Callable[[str], Any]) -> bool:
    """Whether an entity matches: `lookup(name)` gives an attribute's value (or `name.observedAt` its
    time), None when the entity has no such attribute. A comparison with a missing attribute is false."""
    if node is None:
        return True
    if isinstance(node, Logical):
        results = (matches(term, lookup) for term in node.terms)
        return all(results) if node.operator == ";" else any(results)
    value = lookup(node.attribute)
    if value is None:
        return False
    if node.operator is None:
        return True
    return _compare(value, node.operator, node.value)
