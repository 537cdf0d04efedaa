"""The SOQL subset the pipeline uses, parsed and evaluated against the sandbox store.

    SELECT f1, f2 FROM Obj [WHERE cond {AND|OR} cond ...] [ORDER BY f [ASC|DESC], ...] [LIMIT n]

with `Field op literal` (= != <> < <= > >=), `Field [NOT] IN (...)`, NOT and parentheses, and
literals as simple_salesforce.format_soql writes them. Top-level AND conditions on
SystemModstamp, Id and IsDeleted become SQL over the store's indexes; the rest is evaluated in
Python on the rows the indexes return. Errors carry Salesforce's error codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from aeglobal_pipeline.sandbox.fields import Column, parse_date, to_stamp
from aeglobal_pipeline.sandbox.store import Filter, KeyOrder
from aeglobal_pipeline.sources.ids import to_18

Predicate = Callable[[list], bool]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_COMPARE = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


class SoqlError(ValueError):
    def __init__(self, error_code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.fields = fields or []


@dataclass
class Literal:
    kind: str  # string | datetime | date | number | boolean | null
    value: object


@dataclass
class Comparison:
    field: str
    op: str
    value: Literal | list[Literal]  # a list for IN / NOT IN


@dataclass
class Logical:
    op: str  # AND | OR | NOT
    parts: list


@dataclass
class Query:
    object_name: str
    select: list[tuple[str, int]]  # canonical field name, index into the row's values
    count_only: bool
    filters: list[Filter]
    residual: Predicate | None
    order: KeyOrder | None  # None: sort in Python by `sort_keys`
    sort_keys: list[tuple[int, bool]] = field(default_factory=list)  # (index, descending)
    limit: int | None = None


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at: {text[position:position + 30]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def keyword(self, *words: str) -> bool:
        """Consume the keyword sequence if it comes next."""
        for i, word in enumerate(words):
            kind, value = self.peek(i)
            if kind != "word" or value.upper() != word:
                return False
        self.at += len(words)
        return True

    def expect_keyword(self, *words: str) -> None:
        if not self.keyword(*words):
            raise SoqlError("MALFORMED_QUERY", f"expected {' '.join(words)} near {self.peek()[1]!r}")

    def take(self, kind: str, value: str | None = None) -> str:
        got_kind, got = self.peek()
        if got_kind != kind or (value is not None and got != value):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {got or 'end of query'!r}")
        self.at += 1
        return got

    def parse(self) -> tuple[list[str], str, object, list[tuple[str, bool]], int | None]:
        self.expect_keyword("SELECT")
        fields = [self.take("word")]
        if fields[0].upper() == "COUNT" and self.peek() == ("punct", "("):
            self.take("punct", "(")
            self.take("punct", ")")
            fields = []
        while self.peek() == ("punct", ","):
            self.at += 1
            fields.append(self.take("word"))
        self.expect_keyword("FROM")
        object_name = self.take("word")
        where = self.expression() if self.keyword("WHERE") else None
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDER", "BY"):
            while True:
                name = self.take("word")
                descending = self.keyword("DESC")
                if not descending:
                    self.keyword("ASC")
                if self.keyword("NULLS"):
                    self.keyword("FIRST") or self.expect_keyword("LAST")
                order.append((name, descending))
                if self.peek() != ("punct", ","):
                    break
                self.at += 1
        limit = None
        if self.keyword("LIMIT"):
            limit = int(self.take("number"))
        if self.peek()[0] != "end":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {self.peek()[1]!r}")
        return fields, object_name, where, order, limit

    def expression(self) -> object:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Logical("OR", parts)

    def conjunction(self) -> object:
        parts = [self.factor()]
        while self.keyword("AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Logical("AND", parts)

    def factor(self) -> object:
        if self.keyword("NOT"):
            return Logical("NOT", [self.factor()])
        if self.peek() == ("punct", "("):
            self.at += 1
            inner = self.expression()
            self.take("punct", ")")
            return inner
        name = self.take("word")
        if self.keyword("NOT", "IN"):
            return Comparison(name, "NOT IN", self.literal_list())
        if self.keyword("IN"):
            return Comparison(name, "IN", self.literal_list())
        op = self.take("op")
        return Comparison(name, "!=" if op == "<>" else op, self.literal())

    def literal_list(self) -> list[Literal]:
        self.take("punct", "(")
        values = [self.literal()]
        while self.peek() == ("punct", ","):
            self.at += 1
            values.append(self.literal())
        self.take("punct", ")")
        return values

    def literal(self) -> Literal:
        kind, text = self.peek()
        self.at += 1
        if kind == "string":
            return Literal("string", re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), text[1:-1]))
        if kind in ("datetime", "date"):
            return Literal(kind, text)
        if kind == "number":
            return Literal("number", float(text) if "." in text else int(text))
        if kind == "word" and text.lower() in ("true", "false"):
            return Literal("boolean", text.lower() == "true")
        if kind == "word" and text.lower() == "null":
            return Literal("null", None)
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: {text or 'end of query'!r}")


ObjectLookup = Callable[[str], tuple[str, list[Column]] | None]


def parse_query(text: str, object_columns: ObjectLookup) -> Query:
    """Parse and resolve a query; `object_columns(name)` gives (canonical name, columns) or None."""
    fields, object_name, where, order, limit = _Parser(text).parse()
    found = object_columns(object_name)
    if found is None:
        raise SoqlError("INVALID_TYPE", f"sObject type '{object_name}' is not supported.")
    object_name, columns = found
    by_name = {c.name.lower(): (i, c) for i, c in enumerate(columns)}

    def resolve(name: str) -> tuple[int, Column]:
        found = by_name.get(name.lower())
        if found is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{object_name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name.",
                [name],
            )
        return found

    select = [(resolve(n)[1].name, resolve(n)[0]) for n in fields]
    filters, residual_parts = [], []
    conjuncts = where.parts if isinstance(where, Logical) and where.op == "AND" else [where]
    for part in conjuncts:
        if part is None:
            continue
        pushed = _push_down(part, resolve)
        if pushed is not None:
            filters.append(pushed)
        else:
            residual_parts.append(_compile(part, resolve))
    residual = None
    if residual_parts:
        residual = residual_parts[0] if len(residual_parts) == 1 else (
            lambda values: all(p(values) for p in residual_parts)
        )
    key_order = _key_order([(resolve(n)[1].name, d) for n, d in order])
    sort_keys = [] if key_order else [(resolve(n)[0], d) for n, d in order]
    return Query(object_name, select, not fields, filters, residual, key_order, sort_keys, limit)


def _key_order(order: list[tuple[str, bool]]) -> KeyOrder | None:
    """A keyset order when ORDER BY is (nothing | Id | SystemModstamp [, Id]) in one direction."""
    names = [n for n, _ in order]
    directions = {d for _, d in order}
    if len(directions) > 1:
        return None
    descending = directions == {True}
    if names in ([], ["Id"]):
        return KeyOrder(by_modstamp=False, descending=descending)
    if names in (["SystemModstamp"], ["SystemModstamp", "Id"]):
        return KeyOrder(by_modstamp=True, descending=descending)
    return None


def _push_down(node: object, resolve: Callable) -> Filter | None:
    if not isinstance(node, Comparison):
        return None
    name = resolve(node.field)[1].name
    value = node.value
    if name == "SystemModstamp" and isinstance(value, Literal) and node.op != "!=":
        return (f"modstamp {node.op} ?", (_typed(value, resolve(node.field)[1]),))
    if name == "IsDeleted" and isinstance(value, Literal) and node.op in ("=", "!="):
        flag = _typed(value, resolve(node.field)[1])
        return ("is_deleted = ?", (int(flag if node.op == "=" else not flag),))
    if name == "Id":
        if isinstance(value, list):
            if any(v.kind != "string" for v in value):
                return None
            ids = [to_18(v.value) for v in value]
            marks = ",".join("?" * len(ids))
            return (f"rid {'NOT IN' if node.op == 'NOT IN' else 'IN'} ({marks})", ids)
        if value.kind == "string":
            return (f"rid {node.op} ?", (to_18(value.value),))
    return None


def _typed(literal: Literal, column: Column) -> object:
    """The literal as a stored value of the column's type, or Salesforce's complaint."""
    if literal.kind == "null":
        return None
    kind = column.type
    expected = {
        "datetime": ("datetime",), "date": ("date",), "boolean": ("boolean",), "int": ("number",),
    }.get(kind, ("string",))
    if literal.kind not in expected:
        quoted = "should be enclosed in quotes" if expected == ("string",) else \
            "should not be enclosed in quotes"
        raise SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR" if kind == "boolean" else "MALFORMED_QUERY",
            f"value of filter criterion for field '{column.name}' must be of type {kind} and "
            f"{quoted}",
            [column.name],
        )
    if kind == "datetime":
        return to_stamp(str(literal.value))
    if kind == "date":
        return parse_date(str(literal.value))
    if kind in ("id", "reference"):
        # A 15-character id filter matches the record's 18-character id, as in Salesforce.
        return str(to_18(str(literal.value))).lower()
    if kind == "string":
        return str(literal.value).lower()
    return literal.value


def _compile(node: object, resolve: Callable) -> Predicate:
    if isinstance(node, Logical):
        parts = [_compile(p, resolve) for p in node.parts]
        if node.op == "AND":
            return lambda values: all(p(values) for p in parts)
        if node.op == "OR":
            return lambda values: any(p(values) for p in parts)
        return lambda values: not parts[0](values)
    index, column = resolve(node.field)
    folds = column.type in ("string", "id", "reference")

    def current(values: list) -> object:
        value = values[index]
        return value.lower() if folds and isinstance(value, str) else value

    if isinstance(node.value, list):
        wanted = {_typed(v, column) for v in node.value}
        if node.op == "IN":
            return lambda values: current(values) in wanted
        return lambda values: current(values) not in wanted
    target = _typed(node.value, column)
    compare = _COMPARE[node.op]
    if target is None:
        if node.op not in ("=", "!="):
            return lambda values: False
        return lambda values: (values[index] is None) == (node.op == "=")

    def test(values: list) -> bool:
        value = current(values)
        if value is None:
            return node.op == "!="
        return compare(value, target)

    return test
