"""Keyed rows waiting for a partner: the state of a delayed join (pure Polars, no Kafka).

Two streams keyed alike (events and their labels, orders and their fills) meet in one
step per partition. Whichever row of a pair comes first waits in a :class:`PendingTable`
(a Polars frame: one vectorised join per batch, not a dict of records) until its partner
comes, its time-to-live runs out, or the table is full and it is the oldest.
:class:`DelayedJoin` is the state machine over two such tables plus a memory of the keys
already matched (:class:`RecentKeys`), which recognises a partner sent twice.

Times are seconds on the wall clock, passed in by the caller (``ctx.wall_time()``), so
ages survive a restart; the tables are part of the step's snapshot.

Examples
--------
>>> import polars as pl
>>> join = DelayedJoin("id", ttl=60.0, max_rows=1000)
>>> join.add_left(pl.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0]}), now=0.0).height
0
>>> join.add_right(pl.DataFrame({"id": ["b", "c"], "y": [1, 0]}), now=1.0).to_dicts()
[{'id': 'b', 'y': 1, 'x': 2.0}]
>>> join.left.height, join.right.height  # "a" waits for its label, "c" for its event
(1, 1)
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl

#: the arrival-time column a pending table adds to its rows (seconds since the epoch)
TIME = "__sl_t"
_NOTHING = pl.DataFrame()  # "no match" (callers test ``.height``)
#: how many matched keys :class:`RecentKeys` remembers by default
RECENT_KEYS = 100_000


class PendingTable:
    """Rows waiting for a partner, keyed by ``key``; bounded in age and in number.

    Parameters
    ----------
    key
        The key column (null keys cannot wait: the caller filters them out).
    ttl
        Seconds a row waits before it expires.
    max_rows
        Most rows kept; the oldest are dropped first.

    Examples
    --------
    >>> t = PendingTable("id", ttl=10.0, max_rows=2)
    >>> t.add(pl.DataFrame({"id": ["a", "b", "c"]}), now=0.0)  # returns how many dropped
    1
    >>> t.take(pl.Series(["c", "z"]))["id"].to_list(), t.height
    (['c'], 1)
    >>> t.expire(now=11.0), t.height
    (1, 0)
    """

    def __init__(self, key: str, *, ttl: float, max_rows: int) -> None:
        self.key = key
        self.ttl = ttl
        self.max_rows = max_rows
        self.frame: pl.DataFrame | None = None

    @property
    def height(self) -> int:
        return self.frame.height if self.frame is not None else 0

    def add(self, rows: pl.DataFrame, now: float | None = None) -> int:
        """Append rows (stamped ``now`` unless they carry their time); returns how many of
        the oldest were dropped to stay within ``max_rows``."""
        if not rows.height:
            return 0
        if TIME not in rows.columns:
            rows = rows.with_columns(pl.lit(now, pl.Float64).alias(TIME))
        self.frame = (
            rows
            if self.frame is None or not self.frame.height
            else pl.concat([self.frame, rows], how="diagonal_relaxed")
        )
        return self.bound()

    def bound(self) -> int:
        """Drop the oldest rows beyond ``max_rows``; returns how many."""
        over = self.height - self.max_rows
        if over > 0:
            self.frame = self.frame.slice(over)  # type: ignore[union-attr]
            return over
        return 0

    def take(self, keys: pl.Series) -> pl.DataFrame:
        """Remove and return the rows whose key is in ``keys`` (in table order)."""
        if not self.height:
            return pl.DataFrame()
        hit = self.frame[self.key].is_in(keys.implode())  # type: ignore[index]
        if not hit.any():
            return self.frame.clear()  # type: ignore[union-attr]
        taken = self.frame.filter(hit)  # type: ignore[union-attr]
        self.frame = self.frame.filter(~hit)  # type: ignore[union-attr]
        return taken

    def drop(self, keys: pl.Series) -> None:
        """Remove the rows whose key is in ``keys``."""
        if self.height:
            self.frame = self.frame.filter(  # type: ignore[union-attr]
                ~pl.col(self.key).is_in(keys.implode())
            )

    def expire(self, now: float) -> int:
        """Remove rows older than ``ttl``; returns how many."""
        if not self.height:
            return 0
        old = self.frame[TIME] < now - self.ttl  # type: ignore[index]
        if not old.any():
            return 0
        self.frame = self.frame.filter(~old)  # type: ignore[union-attr]
        return int(old.sum())

    def snapshot(self) -> np.ndarray | None:
        """The rows as LZ4 Arrow IPC bytes (``None`` when empty)."""
        return _ipc(self.frame) if self.frame is not None and self.frame.height else None

    def restore(self, blob: np.ndarray | None) -> None:
        self.frame = _read_ipc(blob) if blob is not None else None


class RecentKeys:
    """The last ``size`` keys matched, to recognise a partner that comes twice.

    Examples
    --------
    >>> r = RecentKeys(size=2)
    >>> r.remember(pl.Series(["a", "b", "c"]))
    >>> r.seen(pl.Series(["a", "c", "d"])).to_list()
    [False, True, False]
    """

    def __init__(self, size: int = RECENT_KEYS) -> None:
        self.size = size
        self.keys: pl.Series | None = None

    def remember(self, keys: pl.Series) -> None:
        merged = keys if self.keys is None else pl.concat([self.keys, keys])
        self.keys = merged.tail(self.size)

    def seen(self, keys: pl.Series) -> pl.Series:
        """``keys.is_in(remembered)``, hashing whichever side is smaller.

        ``is_in`` hashes its argument: hashing the ~100k remembered keys on every batch
        cost ~7 ms, so a few new keys are hashed instead and the remembered ones scanned
        (~1 ms).
        """
        if self.keys is None:
            return pl.Series(keys.name, [False] * keys.len(), dtype=pl.Boolean)
        learned = self.keys
        if keys.len() * 4 >= learned.len():
            return keys.is_in(learned.implode())
        hits = learned.filter(learned.is_in(keys.implode()))
        return keys.is_in(hits.implode())

    def snapshot(self) -> np.ndarray | None:
        return _ipc(self.keys.to_frame()) if self.keys is not None else None

    def restore(self, blob: np.ndarray | None) -> None:
        self.keys = _read_ipc(blob).to_series() if blob is not None else None


class DelayedJoin:
    """Join two keyed streams whose partners arrive in either order, each key once.

    Left rows (events) wait in :attr:`left`, right rows (labels) in :attr:`right`. A
    right row matches at most one left row; a key is matched once: a second right row
    for it, in the same batch or after the match, is a duplicate (:attr:`counts`).
    The joined frame has the right row's columns, then the left row's (without its time).

    Parameters
    ----------
    key
        The key column of both sides.
    ttl, max_rows
        Limits of each side's :class:`PendingTable`.
    recent
        How many matched keys are remembered to catch duplicates.

    Attributes
    ----------
    counts : dict
        ``expired_left``, ``expired_right``, ``dropped_left``, ``dropped_right``,
        ``duplicates``.
    """

    def __init__(self, key: str, *, ttl: float, max_rows: int, recent: int = RECENT_KEYS) -> None:
        self.key = key
        self.left = PendingTable(key, ttl=ttl, max_rows=max_rows)
        self.right = PendingTable(key, ttl=ttl, max_rows=max_rows)
        self.matched = RecentKeys(recent)
        self.counts = dict.fromkeys(
            ("expired_left", "expired_right", "dropped_left", "dropped_right", "duplicates"), 0
        )

    def expire(self, now: float) -> None:
        self.counts["expired_left"] += self.left.expire(now)
        self.counts["expired_right"] += self.right.expire(now)

    def add_left(self, rows: pl.DataFrame, now: float) -> pl.DataFrame:
        """New left rows; returns those joined with right rows that were waiting (a frame
        of height 0 when none were)."""
        rows = rows.with_columns(pl.lit(now, pl.Float64).alias(TIME))
        left = self.left
        left.frame = (
            rows
            if left.frame is None or not left.height
            else pl.concat([left.frame, rows], how="diagonal_relaxed")
        )
        joined = _NOTHING
        if self.right.height:
            # a waiting right row had no left partner when it came: only these new rows
            # can be its match, so only the right rows for them are taken out and joined
            ready = self.right.take(rows[self.key])
            if ready.height:
                joined = self._match(ready)
        self.counts["dropped_left"] += left.bound()  # after the match, as it frees rows
        return joined

    def add_right(self, rows: pl.DataFrame, now: float) -> pl.DataFrame:
        """New right rows; returns those joined with their waiting left rows (the rest
        wait, or are duplicates)."""
        return self._match(rows.with_columns(pl.lit(now, pl.Float64).alias(TIME)))

    def _match(self, right: pl.DataFrame) -> pl.DataFrame:
        key = self.key
        first = right[key].is_first_distinct() if right.height > 1 else None
        if first is not None and not first.all():  # the same key twice in one batch
            self.counts["duplicates"] += int((~first).sum())
            right = right.filter(first)
        if not self.left.height:
            joined = right.clear().drop(TIME)
        else:
            joined = right.drop(TIME).join(
                self.left.frame.drop(TIME),  # type: ignore[union-attr]
                on=key,
                how="inner",
                maintain_order="left",
            )
        if joined.height:
            ids = joined[key]
            self.left.drop(ids)
            self.matched.remember(ids)
            right = right.filter(~pl.col(key).is_in(ids.implode()))
        if right.height and self.matched.keys is not None:
            # a right row whose left partner was matched already (it is no longer
            # pending, so only the right rows left unmatched can be such repeats)
            again = self.matched.seen(right[key])
            if again.any():
                self.counts["duplicates"] += int(again.sum())
                right = right.filter(~again)
        if right.height:
            self.counts["dropped_right"] += self.right.add(right)
        return joined

    # -- state --------------------------------------------------------------------------
    def snapshot(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The tables and the matched keys as arrays, named ``{prefix}left`` etc."""
        parts = {
            "left": self.left.snapshot(),
            "right": self.right.snapshot(),
            "matched": self.matched.snapshot(),
        }
        return {prefix + k: v for k, v in parts.items() if v is not None}

    def restore(self, arrays: dict[str, np.ndarray], prefix: str = "") -> None:
        self.left.restore(arrays.get(prefix + "left"))
        self.right.restore(arrays.get(prefix + "right"))
        self.matched.restore(arrays.get(prefix + "matched"))


def _ipc(df: pl.DataFrame) -> np.ndarray:
    buf = io.BytesIO()
    df.write_ipc(buf, compression="lz4")
    return np.frombuffer(buf.getvalue(), np.uint8)


def _read_ipc(arr: np.ndarray) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(arr.tobytes()))
