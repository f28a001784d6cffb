"""What a training job reads: a DataFrame, a file (CSV, Parquet, NDJSON) or a dataset.

A dataset is anything with ``frames()`` (``sl.datasets.from_kafka(...)``: a bounded
slice of a topic, read frame by frame so a progress bar can follow it, its length known
from its slice), ``batches(n)`` or ``to_polars()``; the records it could not decode are
counted in its ``report`` and in the job's. The columns the job learns from must be
numeric; rows where one is null (or NaN) are dropped and counted (reported, never
silently).

>>> import polars as pl
>>> frame, dropped = feature_frame(pl.DataFrame({"T": [1, None, 3]}), ["T"])
>>> frame["T"].to_list(), dropped
([1, 3], 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from streamlearn.core.errors import ConfigError

__all__ = ["bad_records", "feature_frame", "read_frame"]

_READERS: dict[str, Callable[[Path], pl.DataFrame]] = {
    ".csv": pl.read_csv,
    ".parquet": pl.read_parquet,
    ".pq": pl.read_parquet,
    ".json": pl.read_ndjson,
    ".ndjson": pl.read_ndjson,
    ".jsonl": pl.read_ndjson,
}


def read_frame(
    data: Any,
    *,
    on_rows: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """The whole input as one DataFrame (``on_rows(n)`` as rows arrive; ``on_total(n)``
    once the number of records to read is known)."""
    if isinstance(data, pl.DataFrame):
        frame = data
    elif isinstance(data, (str, Path)):
        frame = _read_file(Path(data))
    elif hasattr(data, "frames") or hasattr(data, "batches"):
        total = _records(data)
        if total is not None and on_total is not None:
            on_total(total)
        parts = []
        for part in data.frames() if hasattr(data, "frames") else data.batches(10_000):
            part = part if isinstance(part, pl.DataFrame) else pl.DataFrame(part)
            parts.append(part)
            if on_rows is not None:
                on_rows(part.height)
        return pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
    elif hasattr(data, "to_polars"):
        frame = data.to_polars()
    else:
        raise ConfigError(
            f"cannot train from a {type(data).__name__}: give a polars DataFrame, a "
            "CSV/Parquet/NDJSON file or a dataset (sl.datasets.from_kafka(...))"
        )
    if on_total is not None:
        on_total(frame.height)
    if on_rows is not None:
        on_rows(frame.height)
    return frame


def _records(data: Any) -> int | None:
    """The records a bounded dataset will read (its slice), or None when unknown."""
    try:
        return int(data.slice.records)
    except Exception:  # a group dataset has no slice; other datasets may not say
        return None


def bad_records(data: Any) -> int:
    """Records of a dataset's last read that could not be decoded (0 for frames, files)."""
    report = getattr(data, "report", None)
    return int(getattr(report, "dead_lettered", 0) or 0)


def _read_file(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ConfigError(
            f"cannot tell the format of {path.name!r}: use .csv, .parquet or .ndjson/.json "
            "(one JSON object a line)"
        )
    try:
        return reader(path)
    except Exception as exc:  # polars' errors are many; one line names the file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot read {path}: {first}") from None


def feature_frame(frame: pl.DataFrame, columns: Sequence[str]) -> tuple[pl.DataFrame, int]:
    """``(rows with every column set, rows dropped for a null or NaN)``; the columns must exist
    and be numeric."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        shown = ", ".join(frame.columns) or "none"
        raise ConfigError(f"no column {missing[0]!r} in the data (its columns: {shown})")
    for c in columns:
        dtype = frame.schema[c]
        if not dtype.is_numeric():
            raise ConfigError(f"column {c!r} is {dtype}, not numeric: cannot cluster it")
    picked = frame.select(columns)
    finite = [pl.col(c).is_finite() for c in columns if picked.schema[c].is_float()]
    kept = picked.drop_nulls()
    kept = kept.filter(*finite) if finite else kept
    if kept.height == 0:
        raise ConfigError(f"no rows to train on: column(s) {', '.join(columns)} are empty")
    return kept, picked.height - kept.height
