"""Per-partition tasks: one built chain of steps per input partition this member owns.

A task is created when its partition is assigned (fresh steps, then the partition's
snapshot restored *before* its first batch), fed batches in offset order, given its
timer calls, and retired when the partition is revoked or lost. The tasks know which
partitions changed since the last checkpoint (``dirty``) and where each would resume
(:meth:`Tasks.resume_offsets`); the checkpoint (:mod:`streamlearn.runtime.checkpoint`)
makes that durable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from streamlearn.core.batch import Batch
from streamlearn.core.errors import StateError
from streamlearn.core.operator import Context
from streamlearn.core.pipeline import Chain, Pipeline
from streamlearn.kafka.records import batch_from_messages
from streamlearn.runtime.state_store import Snapshot
from streamlearn.runtime.stats import RunStats

log = logging.getLogger("streamlearn.runtime")
Group = tuple[str, int, list[Any]]


class Tasks:
    """The chains of the partitions assigned to this member, and their progress."""

    def __init__(
        self, pipeline: Pipeline, stats: RunStats, *, reset_state: Iterable[str] = ()
    ) -> None:
        self.pipeline = pipeline
        self.stats = stats
        self.routes = pipeline.routes()
        self.stateful = pipeline.stateful_steps()
        #: saved step states to drop at restore (renamed, removed or reset steps)
        self.reset_state = set(reset_state)
        self.chains: dict[int, Chain] = {}
        #: next offset to read per (topic, partition): after the last record processed
        self.next_offsets: dict[tuple[str, int], int] = {}
        #: partitions whose state or offsets changed since the last checkpoint
        self.dirty: set[int] = set()
        self._retired_removed = 0
        #: rows of broadcast inputs pushed into each chain: a chain counts them as taken
        #: in and not passed on, but they are no input records (``records_in`` leaves
        #: them out), so they are not "filtered" either
        self._broadcast_in: dict[int, int] = {}

    # -- assignment ---------------------------------------------------------------------
    def assign(
        self,
        partitions: Iterable[int],
        snapshots: dict[int, Snapshot],
        ctx: Context,
        broadcast_history: Sequence[Group] = (),
    ) -> None:
        """Build a chain per partition and restore its snapshot (checked against the
        pipeline's stateful steps, so an edited pipeline never silently starts over);
        then replay what the broadcast inputs delivered so far into it."""
        history = [(topic, _batch(topic, part, msgs)) for topic, part, msgs in broadcast_history]
        for p in partitions:
            chain = self.pipeline.build()
            snap = snapshots.get(p)
            if snap is not None:
                chain.restore(self._checked(p, snap.steps))
                self.stats.restored_partitions.append(p)
            self.chains[p] = chain
            self._broadcast_in[p] = 0
            for topic, batch in history:
                self._push_broadcast(p, chain, topic, batch, ctx)
        self.stats.partitions = sorted(self.chains)

    def _checked(self, partition: int, steps: dict[str, bytes]) -> dict[str, bytes]:
        keep = {n: b for n, b in steps.items() if n not in self.reset_state}
        wanted = set(self.stateful) - self.reset_state
        orphans, missing = sorted(set(keep) - wanted), sorted(wanted - set(keep))
        if orphans:
            raise StateError(
                f"the saved state of partition {partition} has steps {orphans} that are not "
                f"in the pipeline (its stateful steps: {self.stateful}). If a step was "
                "renamed, give it its old name with name=...; to drop the saved state, run "
                f"with --reset-state {' '.join(orphans)} (RunOptions(reset_state=...))"
            )
        if missing:  # a stateful step added to the pipeline: it starts from nothing
            log.warning(
                "partition %s: steps %s have no saved state and start fresh", partition, missing
            )
        return keep

    def retire(self, partition: int) -> None:
        """Forget a partition's chain, keeping its counts (its state is in the state topic)."""
        chain = self.chains.pop(partition, None)
        if chain is not None:
            self._retired_removed += (
                chain.rows_removed - chain.rows_held - self._broadcast_in.pop(partition, 0)
            )
        self.dirty.discard(partition)
        for key in [k for k in self.next_offsets if k[1] == partition]:
            del self.next_offsets[key]
        self.stats.partitions = sorted(self.chains)

    # -- records and time -------------------------------------------------------------
    def process(self, groups: list[Group], ctx: Context) -> None:
        """Push each topic partition's records through its chain (side-input topics
        through their own operators to the step that declared them)."""
        stats = self.stats
        routes = self.routes
        for topic, partition, msgs in groups:
            chain = self.chains.get(partition)
            if chain is None:  # not ours any more (revoked during the fetch)
                continue
            batch = _batch(topic, partition, msgs)
            n = len(msgs)
            if topic in routes:
                chain.push_side(topic, batch, ctx)
            else:
                chain.push(batch, ctx)
            self.next_offsets[(topic, partition)] = int(msgs[-1].offset()) + 1
            self.dirty.add(partition)
            stats.records_in += n
            stats.batches += 1
            stats.max_batch_rows = max(stats.max_batch_rows, n)

    def broadcast(self, groups: list[Group], ctx: Context) -> None:
        """Records of broadcast inputs: to the declaring step of every partition's chain.
        They are read in full at every start, so they move no offset and dirty nothing."""
        for topic, partition, msgs in groups:
            batch = _batch(topic, partition, msgs)  # batches are values: one for all chains
            for p, chain in self.chains.items():
                self._push_broadcast(p, chain, topic, batch, ctx)
            self.stats.broadcast_records += len(msgs)

    def _push_broadcast(self, p: int, chain: Chain, topic: str, batch: Batch, ctx: Context) -> None:
        # every step that declared the topic counts the batch as taken in
        self._broadcast_in[p] = self._broadcast_in.get(p, 0) + batch.height * len(
            chain.sides.get(topic, ())
        )
        chain.push_side(topic, batch, ctx)

    def tick(self, ctx: Context) -> None:
        """Timer calls. A chain that released buffered rows (a window closing) has
        moved its resume offset, so it is dirty even without new input: otherwise a
        clean stop right after would not commit, and a restart would emit them again."""
        for p, chain in self.chains.items():
            held = chain.rows_held
            chain.tick(ctx)
            if chain.rows_held != held:
                self.dirty.add(p)

    def drain(self, ctx: Context) -> None:
        """Flush every buffer (the end of a bounded run)."""
        for p, chain in self.chains.items():
            chain.flush(ctx)
            self.dirty.add(p)

    # -- progress -----------------------------------------------------------------------
    def resume_offsets(self, partition: int) -> dict[tuple[str, int], int]:
        """Where partition ``partition`` resumes: after the last record processed, or at
        the oldest record still held in a buffer (it is read again after a restart)."""
        chain = self.chains.get(partition)
        held = chain.oldest_held() if chain is not None else {}
        return {
            k: min(o, held.get(k, o)) for k, o in self.next_offsets.items() if k[1] == partition
        }

    @property
    def rows_held(self) -> int:
        return sum(c.rows_held for c in self.chains.values())

    @property
    def rows_removed(self) -> int:
        """Input rows taken in and not passed on, over every chain this run has had
        (broadcast rows, which are not input records, left out)."""
        live = sum(c.rows_removed - self._broadcast_in.get(p, 0) for p, c in self.chains.items())
        return live + self._retired_removed


def _batch(topic: str, partition: int, msgs: list[Any]) -> Batch:
    """The records of one topic partition as a batch with no columns yet (decoders add
    them from the values)."""
    return batch_from_messages(topic, partition, msgs)
