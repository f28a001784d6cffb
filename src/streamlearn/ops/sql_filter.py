"""``select * from $1 where <predicate>`` without DuckDB: the predicate as a Polars expression.

The most common SQL step is a filter (S1's ``select * from $1 where cluster = 0``). On a
batch of a few hundred rows DuckDB spends ~3.3 ms on it (registering the Arrow table,
planning, converting the result back), more than decoding and k-means together, and a
fixed cost per batch is what a latency-bound stream pays on every batch. A Polars filter
takes ~0.1-0.2 ms; the process also never loads DuckDB (~70 MB) when every SQL step is
such a filter.

Only what has one meaning in both engines is translated; anything else returns ``None``
and the step runs the query with DuckDB, so results are the same either way:

- ``select * from $1`` with an optional ``where`` and ``;``, keywords in any case;
- ``and``, ``or``, ``not``, parentheses; ``=``/``==``, ``<>``/``!=``, ``<``, ``<=``,
  ``>``, ``>=``; ``[not] in (literals)``; ``[not] between a and b``;
  ``is [not] null``; a boolean column alone;
- operands: columns (unquoted or ``"quoted"``, matched case-insensitively as DuckDB
  does) and literals (numbers, ``'strings'``, ``true``/``false``);
- comparisons between numbers (integer or float columns), between strings, or between
  booleans; a ``null`` literal anywhere but ``is [not] null`` falls back.

SQL's three-valued logic is Polars': a comparison with a null is null, ``and``/``or``
are Kleene, a row is kept only where the predicate is true. NaN compares as DuckDB does
(equal to itself, above every number). Batches with a column whose type DuckDB would
not hand back unchanged (categoricals, time-zoned datetimes, durations, nested types)
also go to DuckDB, so the output's types never depend on the path.

Examples
--------
>>> import polars as pl
>>> f = compile_filter("SELECT * FROM $1 WHERE cluster = 0 and sym in ('a', 'b')")
>>> df = pl.DataFrame({"cluster": [0, 1, 0], "sym": ["a", "a", "c"]})
>>> df.filter(f.expression(df.schema)).height
1
>>> compile_filter("select sym, count(*) from $1 group by sym") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = ["SimpleFilter", "compile_filter"]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<str>'(?:[^']|'')*')
    |(?P<qid>"(?:[^"]|"")+")
    |(?P<id>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op><=|>=|<>|!=|==|=|<|>|\(|\)|,|;|\$1\b|\*|-)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "between",
    "is",
    "null",
    "true",
    "false",
}
_COMPARE = {"=": "eq", "==": "eq", "<>": "ne", "!=": "ne", "<": "lt", "<=": "le"}
_COMPARE.update({">": "gt", ">=": "ge"})


class _Unsupported(Exception):
    """The query or the batch is outside the translated subset: DuckDB runs it."""


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, id, kw, op
    text: str


def _tokens(query: str) -> list[_Tok]:
    out, pos, q = [], 0, query.strip()
    while pos < len(q):
        m = _TOKEN.match(q, pos)
        if m is None or m.end() == pos:
            raise _Unsupported(q[pos:])
        pos = m.end()
        kind = m.lastgroup or ""
        text = m.group(kind)
        if kind == "id" and text.lower() in _KEYWORDS:
            kind, text = "kw", text.lower()
        elif kind == "qid":
            kind, text = "id", text[1:-1].replace('""', '"')
        out.append(_Tok(kind, text))
    return out


# the parsed predicate: tuples, evaluated against a schema by _Compiler
Node = tuple[Any, ...]


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks, self.i = toks, 0

    def peek(self, *texts: str) -> bool:
        return self.i < len(self.toks) and self.toks[self.i].text in texts

    def peek_kw(self, *words: str) -> bool:
        return self.i < len(self.toks) and self.toks[self.i].kind == "kw" and self.peek(*words)

    def take(self, text: str) -> None:
        if not self.peek(text) or self.toks[self.i].kind not in ("kw", "op"):
            raise _Unsupported(text)
        self.i += 1

    def query(self) -> Node | None:
        for t in ("select", "*", "from", "$1"):
            self.take(t)
        pred = None
        if self.peek_kw("where"):
            self.i += 1
            pred = self.or_()
        if self.peek(";"):
            self.i += 1
        if self.i != len(self.toks):
            raise _Unsupported(self.toks[self.i].text)
        return pred

    def or_(self) -> Node:
        node = self.and_()
        while self.peek_kw("or"):
            self.i += 1
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek_kw("and"):
            self.i += 1
            node = ("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.peek_kw("not"):
            self.i += 1
            return ("not", self.not_())
        return self.predicate()

    def predicate(self) -> Node:
        if self.peek("("):
            self.i += 1
            inner = self.or_()
            self.take(")")
            return inner
        left = self.operand()
        if self.i < len(self.toks) and self.toks[self.i].text in _COMPARE:
            op = _COMPARE[self.toks[self.i].text]
            self.i += 1
            return ("cmp", op, left, self.operand())
        negate = False
        if self.peek_kw("is"):
            self.i += 1
            if self.peek_kw("not"):
                self.i, negate = self.i + 1, True
            self.take("null")
            return ("notnull" if negate else "isnull", left)
        if self.peek_kw("not"):
            self.i, negate = self.i + 1, True
        if self.peek_kw("in"):
            self.i += 1
            self.take("(")
            items = [self.operand()]
            while self.peek(","):
                self.i += 1
                items.append(self.operand())
            self.take(")")
            if any(it[0] != "lit" for it in items):
                raise _Unsupported("in with columns")
            node: Node = ("in", left, items)
        elif self.peek_kw("between"):
            self.i += 1
            lo = self.operand()
            self.take("and")
            node = ("between", left, lo, self.operand())
        elif negate:
            raise _Unsupported("not")
        else:
            return ("bare", left)
        return ("not", node) if negate else node

    def operand(self) -> Node:
        if self.i >= len(self.toks):
            raise _Unsupported("end of query")
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "id":
            return ("col", tok.text)
        if tok.kind == "num":
            return ("lit", "num", _number(tok.text))
        if tok.text == "-" and self.i < len(self.toks) and self.toks[self.i].kind == "num":
            self.i += 1
            return ("lit", "num", -_number(self.toks[self.i - 1].text))
        if tok.kind == "str":
            return ("lit", "str", tok.text[1:-1].replace("''", "'"))
        if tok.text in ("true", "false"):
            return ("lit", "bool", tok.text == "true")
        raise _Unsupported(tok.text)  # null, keywords, operators


def _number(text: str) -> int | float:
    if re.fullmatch(r"\d+", text):
        value = int(text)
        if value >= 2**63:  # DuckDB makes these HUGEINT/DOUBLE: not worth matching
            raise _Unsupported(text)
        return value
    return float(text)


_INTS = {pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64}
_FLOATS = {pl.Float32, pl.Float64}
#: column types DuckDB hands back unchanged (checked in tests/ops/test_sql_filter.py)
_ROUND_TRIP = _INTS | _FLOATS | {pl.String, pl.Boolean, pl.Binary, pl.Date, pl.Decimal}


def _kind(dtype: pl.DataType) -> str:
    if dtype in _INTS or dtype in _FLOATS:
        return "num"
    if dtype == pl.String:
        return "str"
    if dtype == pl.Boolean:
        return "bool"
    raise _Unsupported(str(dtype))


def _round_trips(dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Datetime):
        return dtype.time_zone is None
    return dtype.base_type() in _ROUND_TRIP


class _Compiler:
    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema
        self.lower: dict[str, list[str]] = {}
        for name in schema:
            self.lower.setdefault(name.lower(), []).append(name)

    def column(self, name: str) -> tuple[pl.Expr, str]:
        found = self.lower.get(name.lower(), [])
        if len(found) != 1:  # missing or ambiguous: DuckDB says what is wrong
            raise _Unsupported(name)
        return pl.col(found[0]), _kind(self.schema[found[0]])

    def operand(self, node: Node) -> tuple[pl.Expr, str, bool]:
        if node[0] == "col":
            expr, kind = self.column(node[1])
            return expr, kind, True
        return pl.lit(node[2]), node[1], False

    def compare(self, op: str, left: Node, right: Node) -> pl.Expr:
        a, ka, col_a = self.operand(left)
        b, kb, col_b = self.operand(right)
        if ka != kb or not (col_a or col_b):
            raise _Unsupported("types")
        return getattr(a, op)(b)

    def expr(self, node: Node) -> pl.Expr:
        tag = node[0]
        if tag in ("and", "or"):
            left, right = self.expr(node[1]), self.expr(node[2])
            return left & right if tag == "and" else left | right
        if tag == "not":
            return ~self.expr(node[1])
        if tag == "cmp":
            return self.compare(node[1], node[2], node[3])
        if tag in ("isnull", "notnull"):
            e, _, _ = self.operand(node[1])
            return e.is_null() if tag == "isnull" else e.is_not_null()
        if tag == "in":  # x in (a, b) is x = a or x = b in SQL, nulls included
            out = self.compare("eq", node[1], node[2][0])
            for item in node[2][1:]:
                out = out | self.compare("eq", node[1], item)
            return out
        if tag == "between":
            return self.compare("ge", node[1], node[2]) & self.compare("le", node[1], node[3])
        # a boolean column on its own
        e, kind, is_col = self.operand(node[1])
        if kind != "bool" or not is_col:
            raise _Unsupported("bare operand")
        return e


class SimpleFilter:
    """A parsed ``select * from $1 [where ...]``; see :func:`compile_filter`."""

    def __init__(self, predicate: Node | None) -> None:
        self.predicate = predicate
        self._cache: dict[tuple[tuple[str, pl.DataType], ...], pl.Expr | None] = {}

    def expression(self, schema: pl.Schema) -> pl.Expr | None:
        """The predicate for a batch of this schema, or ``None`` when DuckDB must run it
        (types outside the subset); a null counts as false. Cached per schema: a
        stream's batches share one."""
        key = tuple(schema.items())
        if key not in self._cache:
            expr = self._compile(schema)
            self._cache[key] = expr.fill_null(False) if expr is not None else None
        return self._cache[key]

    def _compile(self, schema: pl.Schema) -> pl.Expr | None:
        if not all(_round_trips(t) for t in schema.values()):
            return None
        if self.predicate is None:
            return pl.repeat(True, pl.len())
        try:
            return _Compiler(schema).expr(self.predicate)
        except _Unsupported:
            return None


def compile_filter(query: str) -> SimpleFilter | None:
    """Parse ``query`` if it is a ``select * from $1`` filter in the translated subset
    (see the module's docstring), else ``None`` (DuckDB runs it).

    Examples
    --------
    >>> compile_filter("select * from $1 where price between 1 and 2").predicate[0]
    'between'
    >>> compile_filter("select * from $1 where name like 'a%'") is None
    True
    """
    try:
        return SimpleFilter(_Parser(_tokens(query)).query())
    except _Unsupported:
        return None
