"""CSV rows as JSON records for ``streamlearn produce``, parsed column by column.

Each column gets one type, declared (``--type bid=float``) or inferred from its cells
(a column is numeric when at least ``NUMERIC_SHARE`` of its non-empty cells are
numbers). A cell that does not parse as its column's type is written as the text it is
and reported with its line number, so a pipeline decoding the column as a number
dead-letters that row alone, not the whole file. A row with the wrong number of fields
is a one-line ``ConfigError`` naming its line.

Examples
--------
>>> recs, problems = csv_records("a,b\\n1,x\\n2.5,y\\nhigh,z\\n3,w\\n4,v\\n")
>>> recs[0], recs[2]
(b'{"a":1.0,"b":"x"}', b'{"a":"high","b":"z"}')
>>> problems
["line 4: column 'a': 'high' is not a float"]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from streamlearn.core.errors import ConfigError

__all__ = ["NUMERIC_SHARE", "TYPES", "csv_records"]

#: share of non-empty cells that must be numbers for a column to be inferred numeric
NUMERIC_SHARE = 0.8


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise ValueError(text)


TYPES: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "bool": _bool, "string": str}


def _infer(cells: list[str]) -> str:
    filled = [c for c in cells if c != ""]
    if not filled:
        return "string"
    for name in ("int", "float"):
        ok = 0
        for c in filled:
            try:
                TYPES[name](c)
                ok += 1
            except ValueError:
                pass
        if ok == len(filled) or (name == "float" and ok >= NUMERIC_SHARE * len(filled)):
            return name
    return "string"


def csv_records(
    text: str, types: Mapping[str, str] | None = None, *, source: str = "CSV"
) -> tuple[list[bytes], list[str]]:
    """JSON records of the CSV ``text`` (header = field names) and the problems found.

    ``types`` declares column types (``int``, ``float``, ``bool``, ``string``); other
    columns are inferred. Empty cells become ``null``.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    except csv.Error as exc:
        raise ConfigError(f"{source} line 1: {exc}") from None
    header = [h.strip() for h in header]
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise ConfigError(
                    f"{source} line {reader.line_num}: {len(row)} fields, the "
                    f"header has {len(header)} ({', '.join(header)})"
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise ConfigError(f"{source} line {reader.line_num}: {exc}") from None
    declared = dict(types or {})
    unknown = sorted(set(declared) - set(header))
    if unknown:
        raise ConfigError(
            f"--type names column(s) {unknown} that {source} does not have "
            f"(columns: {', '.join(header)})"
        )
    bad_types = sorted({t for t in declared.values() if t not in TYPES})
    if bad_types:
        raise ConfigError(f"unknown type(s) {bad_types}: one of {', '.join(TYPES)}")
    kinds = [declared.get(h) or _infer([r[j] for r in rows]) for j, h in enumerate(header)]
    problems: list[str] = []
    out: list[bytes] = []
    for row, line in zip(rows, lines, strict=True):
        rec: dict[str, Any] = {}
        for name, kind, cell in zip(header, kinds, row, strict=True):
            if cell == "":
                rec[name] = None
                continue
            try:
                rec[name] = TYPES[kind](cell)
            except ValueError:
                rec[name] = cell
                problems.append(f"line {line}: column {name!r}: {cell!r} is not a {kind}")
        out.append(orjson.dumps(rec))
    return out, problems
