"""Writing rows to a PostgreSQL table, exactly once by key (``sl.write.to_postgres``).

Built on the Sink contract (:mod:`streamlearn.write.base`): ``write`` only buffers the
batch (a Polars frame); the checkpoint's ``flush``, before the input offsets are
committed, writes the whole buffer in **one transaction**. While no row is a replay it is
one ``COPY`` of CSV made by Polars in one call straight into the table (faster than
binary ``COPY`` through psycopg's per-row ``write_row``: BENCHMARKS.md, "Sinks"), in a
savepoint; a key already in the table (the replay after a crash) aborts that whole COPY,
and the flush goes the idempotent way, until a flush meets no replayed row again:

1. ``CREATE TEMP TABLE ... ON COMMIT DROP AS SELECT <columns> FROM <table> WITH NO DATA``
   (a staging table with the target's column types and no constraints);
2. ``COPY`` the rows into it;
3. ``INSERT INTO <table> SELECT ... FROM <staging> ON CONFLICT (<key>) DO NOTHING`` (or
   ``DO UPDATE``), then ``COMMIT``.

The key defaults to the row's ``sl-id`` (column ``sl_id``: topic/partition/offset of its
input record), so a crash after the commit and before the offsets are committed replays
rows that the table already has, and they change nothing: one row per input record.

A refused connection, a server restart or a login turned away for now (too many
connections, the server starting up or shutting down) makes ``flush`` raise
:class:`~streamlearn.core.errors.SinkUnavailable` after one attempt, the buffer kept: a
run pauses its partitions, keeps polling (so it stays in its group) and flushes again
with back-off for ``retry_for`` seconds, then resumes
(:mod:`streamlearn.runtime.backpressure`); when that runs out the run stops and nothing
is committed. Offline, ``Context.flush_sinks`` waits in place the same way. A login the
server refuses (wrong password or user, unknown database, no right to connect or to
write the table) is not waited for: a one-line
:class:`~streamlearn.core.errors.ConfigError` naming the database stops the run at once
(:mod:`streamlearn.write._pgerrors`). So is a table whose column types do not take the
stream's, naming the column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError, OperatorError, SinkUnavailable
from streamlearn.core.extras import require
from streamlearn.core.operator import Context
from streamlearn.write._pgdsn import _first_line, _where, mask_dsn
from streamlearn.write._pgerrors import connect, refusal, refused, retriable
from streamlearn.write._pgtypes import accepts, pg_type, to_csv
from streamlearn.write.base import Sink, SinkOperator

ID_COLUMN = "sl_id"


@dataclass(frozen=True, repr=False)
class ToPostgres(SinkOperator):
    """Write each batch's rows to a PostgreSQL table at the checkpoint, and pass it on.

    Parameters
    ----------
    table
        Target table, optionally ``schema.table``.
    dsn
        libpq connection string or URL; empty: libpq's defaults and ``PG*`` variables.
        Its password never appears in reprs, logs or errors.
    key
        Columns of the table's primary key or a unique constraint, for ``ON CONFLICT``.
        Default: ``("sl_id",)``, the input record's id, added as a text column.
    columns
        Columns to write; default: all.
    create
        Create the table from the first batch's schema when it is missing, with a
        primary key on ``key``.
    on_conflict
        ``"nothing"`` (a replayed row changes nothing) or ``"update"`` (the last write
        of a key wins: an upsert).
    retry_for
        Seconds a run stays paused, retrying, while the database is away, before it
        stops (nothing committed; a restart reads the rows again).

    Examples
    --------
    The rows are buffered by ``write`` and go to the table at the flush:

    >>> import polars as pl, streamlearn as sl
    >>> sink = sl.write.to_postgres("readings", dsn="postgresql://app:s3cret@db/iot")
    >>> sink
    ToPostgres(table='readings', dsn='postgresql://app:***@db/iot', key=('sl_id',))

    With a server (see docs/operators.md)::

        ctx = sl.Context()
        (sl.map(lambda df: df) | sink).apply(pl.DataFrame({"t": [21.5]}), ctx=ctx)
        ctx.flush_sinks()   # one COPY + INSERT ... ON CONFLICT, one transaction
    """

    table: str = ""
    _: KW_ONLY
    dsn: str = ""
    key: str | Sequence[str] | None = None
    columns: Sequence[str] | None = None
    create: bool = False
    on_conflict: str = "nothing"
    retry_for: float = 60.0
    kind: str = field(default="write.to_postgres", init=False, repr=False)

    def __post_init__(self) -> None:
        key = self.key
        object.__setattr__(
            self,
            "key",
            (key,) if isinstance(key, str) else (tuple(key) if key is not None else None),
        )
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(self.columns) or None)
        if not self.table or not re.fullmatch(r"[^.\s]+(\.[^.\s]+)?", self.table):
            raise ConfigError(
                f"to_postgres: table must be 'name' or 'schema.name', got {self.table!r}"
            )
        if self.on_conflict not in ("nothing", "update"):
            raise ConfigError(
                f"to_postgres({self.table!r}): on_conflict must be "
                f"'nothing' or 'update', got {self.on_conflict!r}"
            )
        if self.key is not None and not self.key:
            raise ConfigError(f"to_postgres({self.table!r}): key must name a column")
        if self.retry_for < 0:
            raise ConfigError(f"to_postgres({self.table!r}): retry_for must be >= 0")

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(self.key) if self.key else (ID_COLUMN,)

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={getattr(self, k)!r}"
            for k in ("columns", "name")
            if getattr(self, k) is not None
        )
        if self.create:
            extra += ", create=True"
        if self.on_conflict != "nothing":
            extra += f", on_conflict={self.on_conflict!r}"
        return (
            f"ToPostgres(table={self.table!r}, dsn={mask_dsn(self.dsn)!r}, "
            f"key={self.key_columns!r}{extra})"
        )

    def open(self, ctx: Context) -> Sink:
        return PostgresSink(self)


def _id_series(batch: Batch) -> pl.Series:
    """``Batch.record_ids()`` as a text column, built without a Python step per row."""
    offs = batch.offsets()
    if batch.origin is None or offs is None:
        return pl.Series(ID_COLUMN, [r.decode() for r in batch.record_ids()], pl.String)
    prefix = f"{batch.origin.topic}/{batch.origin.partition}/"
    return (
        pl.DataFrame({"o": offs})
        .select(pl.concat_str(pl.lit(prefix), pl.col("o").cast(pl.String)).alias(ID_COLUMN))
        .to_series()
    )


class PostgresSink(Sink):
    """Buffers frames; each flush is one transaction of COPY + INSERT ... ON CONFLICT."""

    def __init__(self, spec: ToPostgres) -> None:
        self.psycopg: Any = require("psycopg", extra="postgres", feature="sl.write.to_postgres")
        self.spec = spec
        self.step = spec.name or spec.kind
        self.target = f"postgres table {spec.table!r} at {_where(self.psycopg, spec.dsn)}"
        self._buffer: list[pl.DataFrame] = []
        self._conn: Any = None
        self._checked: dict[str, pl.DataType] | None = None
        self._direct = True  # COPY straight into the table until a row is a replay
        self.rows_written = 0

    def __repr__(self) -> str:
        return f"PostgresSink({self.target}, buffered={self.buffered})"

    @property
    def buffered(self) -> int:
        """Rows written since the last successful flush."""
        return sum(df.height for df in self._buffer)

    def write(self, batch: Batch) -> None:
        if not batch.height:
            return
        spec, df = self.spec, batch.data
        if spec.columns is not None:
            missing = [c for c in spec.columns if c not in df.columns]
            if missing:
                raise ConfigError(
                    f"to_postgres({spec.table!r}): no column {missing[0]!r} "
                    f"in the stream (its columns: {', '.join(df.columns)})"
                )
            df = df.select(list(spec.columns))
        if spec.key is None:
            if ID_COLUMN in df.columns:
                raise ConfigError(
                    f"to_postgres({spec.table!r}): the stream has its own "
                    f"{ID_COLUMN!r} column; pass key= or drop it"
                )
            # (not insert_column: it changes the frame in place, the batch's own data)
            df = pl.concat([_id_series(batch).to_frame(), df], how="horizontal")
        else:
            missing = [c for c in spec.key if c not in df.columns]
            if missing:
                raise ConfigError(
                    f"to_postgres({spec.table!r}): key column {missing[0]!r} "
                    f"is not in the stream (its columns: "
                    f"{', '.join(df.columns)})"
                )
        self._buffer.append(df)

    def flush(self) -> None:
        if not self._buffer:
            return
        df = (
            pl.concat(self._buffer, how="vertical_relaxed")
            if len(self._buffer) > 1
            else self._buffer[0]
        )
        if self.spec.on_conflict == "update":
            df = df.unique(subset=list(self.spec.key_columns), keep="last", maintain_order=True)
        self._buffer = [df]  # concatenated once, not again at every retry
        self._attempt(df.schema, to_csv(df), df.height)
        self._buffer = []
        self.rows_written += df.height

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- one attempt: connect, check, stage, insert, commit -------------------------
    def _copy_direct(self, conn: Any, table: Any, cols: Any, payload: bytes) -> bool:
        """COPY straight into the table, in a savepoint: the fast path while no row is a
        replay. A key already there aborts the whole COPY (nothing half-written); the
        flush then goes through the staging table with ON CONFLICT."""
        sql = self.psycopg.sql
        try:
            with (
                conn.transaction(),
                conn.cursor().copy(
                    sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(table, cols)
                ) as cp,
            ):
                cp.write(payload)
        except self.psycopg.errors.UniqueViolation:
            self._direct = False
            return False
        return True

    def _attempt(self, schema: pl.Schema, payload: bytes, height: int) -> None:
        psycopg, spec = self.psycopg, self.spec
        sql = psycopg.sql
        try:
            if self._conn is None or self._conn.closed:
                self._checked = None
                self._conn = connect(
                    psycopg,
                    spec.dsn,
                    target=self.target,
                    autocommit=True,
                    application_name="streamlearn",
                )
            conn = self._conn
            table = sql.SQL(".").join(sql.Identifier(p) for p in spec.table.split("."))
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in schema)
            with conn.transaction():
                if self._checked != dict(schema):
                    self._check(conn, table, schema)
                if not (self._direct and self._copy_direct(conn, table, cols, payload)):
                    conn.execute(
                        sql.SQL(
                            "CREATE TEMP TABLE sl_stage ON COMMIT DROP AS "
                            "SELECT {} FROM {} WITH NO DATA"
                        ).format(cols, table)
                    )
                    with conn.cursor().copy(
                        sql.SQL("COPY sl_stage ({}) FROM STDIN (FORMAT csv)").format(cols)
                    ) as copy:
                        copy.write(payload)
                    inserted = conn.execute(self._insert(sql, table, list(schema))).rowcount
                    # back to the direct path once a flush meets no replayed row
                    self._direct = inserted == height
            self._checked = dict(schema)
        except psycopg.Error as exc:
            if refusal(exc):  # a role without the right to write the table
                raise refused(self.target, exc, spec.dsn) from None
            if not retriable(psycopg, exc):
                raise OperatorError(
                    f"{self.target}: {_first_line(exc, spec.dsn)}", operator=self.step
                ) from None
            self.close()
            raise SinkUnavailable(
                _first_line(exc, spec.dsn),
                operator=self.step,
                target=self.target,
                retry_for=spec.retry_for,
            ) from None

    def _insert(self, sql: Any, table: Any, names: list[str]) -> Any:
        key = self.spec.key_columns
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in names)
        keys = sql.SQL(", ").join(sql.Identifier(c) for c in key)
        rest = [c for c in names if c not in key]
        if self.spec.on_conflict == "update" and rest:
            action = sql.SQL("UPDATE SET ") + sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in rest
            )
        else:
            action = sql.SQL("NOTHING")
        return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM sl_stage ON CONFLICT ({}) DO {}").format(
            table, cols, cols, keys, action
        )

    def _check(self, conn: Any, table: Any, schema: pl.Schema) -> None:
        """The table takes these columns as they are (or is created, if asked)."""
        spec, sql = self.spec, self.psycopg.sql
        found = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typtype "
            "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (table.as_string(conn),),
        ).fetchall()
        if not found:
            if not spec.create:
                raise ConfigError(
                    f"to_postgres: table {spec.table!r} does not exist "
                    f"(create it, or pass create=True)"
                )
            defs = [
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(pg_type(d)))
                for c, d in schema.items()
            ]
            defs.append(
                sql.SQL("PRIMARY KEY ({})").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in spec.key_columns)
                )
            )
            conn.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
                    table, sql.SQL(", ").join(defs)
                )
            )
            return
        types = {name: (pg, typtype) for name, pg, typtype in found}
        for name, dtype in schema.items():
            if name not in types:
                raise ConfigError(
                    f"to_postgres: column {name!r} is not in table "
                    f"{spec.table!r} (its columns: {', '.join(types)})"
                )
            pg, typtype = types[name]
            if not accepts(dtype, pg, typtype):
                raise ConfigError(
                    f"to_postgres: column {name!r} is {dtype} in the stream "
                    f"but {pg} in table {spec.table!r} (cast it in the "
                    f"pipeline, or change the table)"
                )
        unique = conn.execute(
            "SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass(%s) AND i.indisunique "
            "AND i.indpred IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname) "
            "FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))"
            " = %s",
            (table.as_string(conn), sorted(spec.key_columns)),
        ).fetchone()
        if unique is None:  # without one, a replay would add rows a second time
            raise ConfigError(
                f"to_postgres({spec.table!r}): the table has no primary key "
                f"or unique constraint on ({', '.join(spec.key_columns)})"
            )


#: the verb: ``sl.write.to_postgres("readings", dsn=..., key="id")`` (the class's signature)
to_postgres = ToPostgres


__all__ = ["ID_COLUMN", "PostgresSink", "ToPostgres", "mask_dsn", "to_postgres"]
