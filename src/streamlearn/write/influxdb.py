"""Writing rows to InfluxDB as points (``sl.write.to_influxdb``), 1.x and 2.x alike.

Built on the Sink contract (:mod:`streamlearn.write.base`). ``write`` turns the batch
into line protocol with Polars string expressions, a column at a time (no Python step per
row; escaping per the line-protocol reference); the checkpoint's ``flush`` posts the
buffered lines over HTTP, to ``/write?db=`` (1.x; with HTTP Basic auth when the server has
``auth-enabled``) or ``/api/v2/write?bucket=&org=`` with a token (2.x), before the input
offsets are committed.

A point is identified by its measurement, tag set and timestamp, and writing it again
overwrites its fields. The timestamp is a column of the rows or, by default, the input
record's Kafka timestamp, so a replay after a crash rewrites the same points and never
doubles a series. (With a ``time`` column, two rows with the same tags and time are one
point: add a tag that tells them apart if that can happen.)

A refused connection, a timeout, a server restarting or a 5xx, 408 or 429 answer (a
proxy in front of a server that is down says 502/503/504) make ``flush`` raise
:class:`~streamlearn.core.errors.SinkUnavailable` after one attempt, the lines not yet
written still buffered: a run pauses its partitions and tries again with back-off for
``retry_for`` seconds (:mod:`streamlearn.runtime.backpressure`); ``Context.flush_sinks``
offline waits in place. A refusal does not fix itself and is not waited for: 401 (no or
wrong credentials), 403 (no right to write) and 404 (no such database or bucket) are a
one-line :class:`~streamlearn.core.errors.ConfigError` naming the database at once; so
are the 5xx that say the request itself is wrong (501, 505, 511). Another 4xx (400: a
line the server rejects) is an :class:`~streamlearn.core.errors.OperatorError`.
"""

from __future__ import annotations

import base64
import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field

import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError, OperatorError, SinkUnavailable
from streamlearn.core.operator import Context
from streamlearn.write.base import Sink, SinkOperator

_UNITS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_CHUNK = 50_000  # lines per HTTP request
#: answers worth waiting for: any 5xx but those below, a timeout, "too many requests"
_RETRIABLE = frozenset({408, 429, *range(500, 600)}) - {501, 505, 511}
_REFUSED = frozenset({401, 403, 404, 501, 505, 511})


def _esc(text: str, chars: str) -> str:
    for ch in chars:
        text = text.replace(ch, "\\" + ch)
    return text


def _esc_expr(expr: pl.Expr, chars: str) -> pl.Expr:
    for ch in chars:
        expr = expr.str.replace_all(ch, "\\" + ch, literal=True)
    return expr.str.replace_all("\n", "\\n", literal=True)


def _field_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """``key=value`` for the rows where the field has a value (else null: omitted)."""
    col, key = pl.col(name), _esc(name, ",= ")
    if dtype.is_integer():
        value = pl.concat_str(col.cast(pl.String), pl.lit("i"))
    elif dtype.is_float():
        # InfluxDB takes no NaN or infinity: such a field is left out of its point
        value = pl.when(col.is_finite()).then(col.cast(pl.Float64).cast(pl.String))
    elif isinstance(dtype, pl.Boolean):
        value = pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
    else:
        text = col.cast(pl.String).str.replace_all("\\", "\\\\", literal=True)
        value = pl.concat_str(
            pl.lit('"'), text.str.replace_all('"', '\\"', literal=True), pl.lit('"')
        )
    return pl.when(col.is_not_null()).then(pl.concat_str(pl.lit(key + "="), value))


def _tag_expr(name: str) -> pl.Expr:
    text = pl.col(name).cast(pl.String)
    pair = pl.concat_str(pl.lit(_esc(name, ",= ") + "="), _esc_expr(text, ",= "))
    return pl.when(text.is_not_null() & (text != "")).then(pair)


@dataclass(frozen=True, repr=False)
class ToInfluxDB(SinkOperator):
    """Write each row as a point to InfluxDB at the checkpoint, and pass the batch on.

    Parameters
    ----------
    measurement
        The measurement of every point.
    url
        The server, e.g. ``http://127.0.0.1:8086``.
    database
        InfluxDB 1.x: the database (``/write?db=``).
    username, password
        InfluxDB 1.x with ``auth-enabled = true``: the user, sent as HTTP Basic auth
        rather than 1.x's ``u=``/``p=`` query parameters, so the password never lands in
        a URL (proxy and server access logs); never shown in reprs, logs or errors.
    bucket, org, token
        InfluxDB 2.x: the bucket and organisation (``/api/v2/write``) and the API token
        (never shown in reprs, logs or errors).
    tags
        Columns written as tags (indexed; text). Empty or null tags are left out.
    fields
        Columns written as fields; default: every column that is not a tag or the time.
        Integers get the ``i`` suffix, text is quoted, null, NaN and infinite values are
        left out of their point (a point with no field left is not written).
    time
        A ``Datetime`` column, or an integer column in ``precision`` units. Default: the
        input record's Kafka timestamp (ms) in nanoseconds, plus its offset modulo 1000
        in microseconds and its partition modulo 1000 in nanoseconds, so records of one
        millisecond stay distinct points and a replay writes the very same ones.
    precision
        ``"s"``, ``"ms"``, ``"us"`` or ``"ns"`` (of the ``time`` column).
    retry_for
        Seconds a run stays paused, retrying, while the server is away, before it stops.

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> from datetime import datetime
    >>> sink = sl.write.to_influxdb("weather", database="iot", tags=["site"], time="at")
    >>> df = pl.DataFrame({"site": ["north pole", None], "temp": [-20.5, 3.0],
    ...                    "n": [1, 2], "note": ['say "hi"', None],
    ...                    "at": [datetime(2024, 1, 1), datetime(2024, 1, 1, 0, 0, 1)]})
    >>> print(sink.lines(sl.Batch.from_frame(df)))
    weather,site=north\\ pole temp=-20.5,n=1i,note="say \\"hi\\"" 1704067200000
    weather temp=3.0,n=2i 1704067201000
    """

    measurement: str = ""
    _: KW_ONLY
    url: str = "http://127.0.0.1:8086"
    database: str | None = None
    bucket: str | None = None
    org: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    tags: Sequence[str] = ()
    fields: Sequence[str] | None = None
    time: str | None = None
    precision: str = "ms"
    retry_for: float = 60.0
    timeout: float = 30.0
    kind: str = field(default="write.to_influxdb", init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(self.tags))
        if self.fields is not None:
            object.__setattr__(self, "fields", tuple(self.fields))
        m = self.measurement
        if not m:
            raise ConfigError("to_influxdb needs a measurement")
        if (self.database is None) == (self.bucket is None):
            raise ConfigError(
                f"to_influxdb({m!r}): pass database= (InfluxDB 1.x) or "
                f"bucket= with org= and token= (2.x), not both"
            )
        if (self.username is None) != (self.password is None):
            raise ConfigError(f"to_influxdb({m!r}): username= and password= go together")
        if self.bucket is not None and self.username is not None:
            # /api/v2/write takes a token only: Basic auth is 2.x's 1.x-compatibility API
            raise ConfigError(
                f"to_influxdb({m!r}): username=/password= are for InfluxDB 1.x "
                f"(database=); 2.x takes token="
            )
        if self.bucket is not None and not self.org:
            raise ConfigError(f"to_influxdb({m!r}): bucket= needs org= (InfluxDB 2.x)")
        if self.precision not in _UNITS:
            raise ConfigError(
                f"to_influxdb({m!r}): precision must be one of "
                f"{', '.join(_UNITS)}, got {self.precision!r}"
            )
        if not re.match(r"https?://", self.url):
            raise ConfigError(
                f"to_influxdb({m!r}): url must start with http:// or "
                f"https://, got {_mask_url(self.url)!r}"
            )
        overlap = set(self.tags) & set(self.fields or ())
        if overlap or (self.time is not None and self.time in {*self.tags, *(self.fields or ())}):
            raise ConfigError(
                f"to_influxdb({m!r}): a column is a tag, a field or the time, "
                f"not two of them ({', '.join(sorted(overlap)) or self.time})"
            )

    def __repr__(self) -> str:
        where = (
            f"database={self.database!r}"
            if self.database is not None
            else f"bucket={self.bucket!r}, org={self.org!r}, token=***"
        )
        if self.username is not None:
            where += f", username={self.username!r}, password=***"
        return (
            f"ToInfluxDB(measurement={self.measurement!r}, url={_mask_url(self.url)!r}, "
            f"{where}, tags={self.tags!r}, fields={self.fields!r}, time={self.time!r})"
        )

    def endpoint(self) -> tuple[str, dict[str, str]]:
        """The write URL and its headers (1.x or 2.x)."""
        base = self.url.rstrip("/")
        precision = self.precision if self.time is not None else "ns"
        if self.database is not None:
            unit = "u" if precision == "us" else precision
            query = urllib.parse.urlencode({"db": self.database, "precision": unit})
            headers = {}
            if self.username is not None:
                basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
                headers["Authorization"] = f"Basic {basic}"
            return f"{base}/write?{query}", headers
        query = urllib.parse.urlencode(
            {"bucket": self.bucket, "org": self.org, "precision": precision}
        )
        return f"{base}/api/v2/write?{query}", {"Authorization": f"Token {self.token or ''}"}

    def lines(self, batch: Batch) -> str:
        """The batch's rows as line protocol, one point a line (vectorised)."""
        df = batch.data
        missing = [
            c
            for c in (*self.tags, *(self.fields or ()), *([self.time] if self.time else []))
            if c not in df.columns
        ]
        if missing:
            raise ConfigError(
                f"to_influxdb({self.measurement!r}): no column {missing[0]!r} "
                f"in the stream (its columns: {', '.join(df.columns)})"
            )
        fields = (
            self.fields
            if self.fields is not None
            else tuple(c for c in df.columns if c not in self.tags and c != self.time)
        )
        if not fields:
            raise ConfigError(f"to_influxdb({self.measurement!r}): no field to write")
        head = pl.concat_str(
            [pl.lit(_esc(self.measurement, ", "))] + [_tag_expr(t) for t in sorted(self.tags)],
            separator=",",
            ignore_nulls=True,
        )
        body = pl.concat_str(
            [_field_expr(f, df.schema[f]) for f in fields], separator=",", ignore_nulls=True
        )
        frame = df.select(head.alias("h"), body.alias("b"), self._time_expr(batch, df))
        line = pl.concat_str(
            pl.col("h"), pl.lit(" "), pl.col("b"), pl.lit(" "), pl.col("t").cast(pl.String)
        )
        out = frame.filter((pl.col("b") != "") & pl.col("t").is_not_null()).select(line)
        return out.to_series().str.join("\n").item() if out.height else ""

    def _time_expr(self, batch: Batch, df: pl.DataFrame) -> pl.Expr:
        if self.time is not None:
            dtype = df.schema[self.time]
            if isinstance(dtype, (pl.Datetime, pl.Date)):
                epoch = "us" if self.precision == "us" else self.precision
                return pl.col(self.time).dt.epoch(epoch).alias("t")  # type: ignore[arg-type]
            if not dtype.is_integer():
                raise ConfigError(
                    f"to_influxdb({self.measurement!r}): time column "
                    f"{self.time!r} is {dtype}; it must be a Datetime or an "
                    f"integer in {self.precision}"
                )
            return pl.col(self.time).cast(pl.Int64).alias("t")
        if batch.origin is None or batch.rows is None:
            raise ConfigError(
                f"to_influxdb({self.measurement!r}): these rows have no input "
                f"record timestamp (after an aggregation?): pass time="
            )
        ms = batch.origin.timestamps(batch.rows)
        if (ms < 0).any():
            raise ConfigError(
                f"to_influxdb({self.measurement!r}): input records without a "
                f"timestamp; pass time= to use a column"
            )
        # nanoseconds: the record's millisecond, then its offset and partition, so two
        # records of one millisecond stay two points (and a replay makes the same ones)
        offs = batch.origin.offsets[batch.rows]
        ns = ms * 1_000_000 + (offs % 1000) * 1000 + batch.origin.partition % 1000
        return pl.lit(pl.Series("t", ns)).alias("t")

    def open(self, ctx: Context) -> Sink:
        return InfluxSink(self)


def _mask_url(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


class InfluxSink(Sink):
    """Buffers line protocol per batch; each flush posts it in chunks over HTTP."""

    def __init__(self, spec: ToInfluxDB) -> None:
        self.spec = spec
        self.step = spec.name or spec.kind
        where = (
            f"database {spec.database!r}"
            if spec.database is not None
            else f"bucket {spec.bucket!r} (org {spec.org!r})"
        )
        self.target = f"InfluxDB {where} at {_mask_url(spec.url)}"
        if spec.username is not None:  # whose credentials a 401 refused (not the password)
            self.target += f" (user {spec.username!r})"
        self._buffer: list[str] = []
        self.points_written = 0

    def __repr__(self) -> str:
        return f"InfluxSink({self.target}, buffered={len(self._buffer)} batches)"

    def write(self, batch: Batch) -> None:
        if batch.height:
            text = self.spec.lines(batch)
            if text:
                self._buffer.append(text)

    def flush(self) -> None:
        if not self._buffer:
            return
        lines = "\n".join(self._buffer).split("\n")
        chunks = ["\n".join(lines[i : i + _CHUNK]).encode() for i in range(0, len(lines), _CHUNK)]
        url, headers = self.spec.endpoint()
        headers = {**headers, "Content-Type": "text/plain; charset=utf-8"}
        for done, chunk in enumerate(chunks):
            try:
                self._post(url, headers, chunk)
            except SinkUnavailable:
                # the chunks written are not sent again; the rest stays buffered
                self._buffer = [c.decode() for c in chunks[done:]]
                self.points_written += done * _CHUNK
                raise
        self._buffer = []
        self.points_written += len(lines)

    def _post(self, url: str, headers: dict[str, str], body: bytes) -> None:
        spec = self.spec
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=spec.timeout) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            detail = " ".join(exc.read().decode("utf-8", "replace").split())[:300]
            if exc.code in _RETRIABLE:
                raise self._away(f"HTTP {exc.code} {detail}") from None
            if exc.code in _REFUSED:
                raise ConfigError(
                    f"to_influxdb({spec.measurement!r}): {self.target} refused the write "
                    f"(not retried; check the url, database or bucket, and credentials): "
                    f"HTTP {exc.code} {detail}"
                ) from None
            raise OperatorError(
                f"{self.target} refused the points: HTTP {exc.code} {detail}", operator=self.step
            ) from None
        except (
            urllib.error.URLError,
            ConnectionError,
            TimeoutError,
            http.client.HTTPException,
        ) as exc:
            reason = getattr(exc, "reason", exc)
            raise self._away(str(reason)) from None

    def _away(self, reason: str) -> SinkUnavailable:
        return SinkUnavailable(
            reason, operator=self.step, target=self.target, retry_for=self.spec.retry_for
        )


#: the verb: ``sl.write.to_influxdb("weather", database="iot", tags=["site"])``
to_influxdb = ToInfluxDB


__all__ = ["InfluxSink", "ToInfluxDB", "to_influxdb"]
