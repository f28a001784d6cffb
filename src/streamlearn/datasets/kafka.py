"""``sl.datasets.from_kafka``: a topic as a training set, for scikit-learn, PyTorch and Keras.

Two kinds, after TensorFlow I/O's Kafka datasets and what their users asked of them:

* **bounded** (the default): ``start``/``end`` are resolved to offsets per partition when
  the dataset is made (:attr:`KafkaDataset.slice`, serialisable); every read assigns and
  seeks, joins no group and commits nothing, so every epoch reads the same records;
* **group** (``group="..."``): reads as that consumer group and commits as it goes, so a
  second run of the group reads only what is new; ``stream_timeout`` is how long it waits
  for new records at the end (``-1`` for ever, ``0`` not at all); :meth:`lag` per partition.

Records are decoded by the stream's own decoder (``sl.decode.json(schema)``) and can go
through the stream's operators (:meth:`KafkaDataset.pipe`), so training sees the features
the stream computes. No client is held between reads: a dataset can be copied into
DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Operator
from streamlearn.core.pipeline import Pipeline
from streamlearn.datasets.arrays import frame_to_numpy
from streamlearn.datasets.reading import ReadOptions, group_lag, read_bounded, read_group
from streamlearn.datasets.report import ReadReport
from streamlearn.datasets.resolve import Bound, check_bound, resolve_slice
from streamlearn.datasets.slice import DatasetSlice

if TYPE_CHECKING:
    from streamlearn.kafka.config import KafkaConfig

__all__ = ["KafkaDataset", "from_kafka", "from_slice"]


def from_kafka(
    topic: str,
    *,
    decode: Operator | Pipeline | None = None,
    start: Bound = "earliest",
    end: Bound = "now",
    group: str | None = None,
    stream_timeout: float = 0,
    kafka: KafkaConfig | str | None = None,
    dead_letter_topic: str | None = None,
    meta: bool = False,
) -> KafkaDataset:
    """A Kafka topic as a dataset (see the module docstring for bounded vs group).

    Parameters
    ----------
    topic
        The topic to read.
    decode
        The decoder of the record values, as in a pipeline; default
        ``sl.decode.json()`` (types inferred: give a schema).
    start, end
        Bounded datasets: ``"earliest"``, ``"now"`` (the log end when the dataset is
        made), an offset, a time (``datetime`` or ISO 8601 string, looked up with
        ``offsets_for_times``) or a dict of those per partition (a ``start`` dict reads
        only its partitions). Group datasets: ``start`` is where a new group begins
        (``"earliest"`` or ``"latest"``).
    group
        Read as this consumer group, committing as it goes (a group dataset).
    stream_timeout
        Group datasets: seconds to wait at the end for new records before the read
        ends; ``-1`` waits for ever, ``0`` ends at once.
    kafka
        A :class:`~streamlearn.kafka.config.KafkaConfig` or ``host:port``.
    dead_letter_topic
        Where records that fail to decode go (with the runtime's ``sl-*`` headers);
        without one they are counted in :attr:`KafkaDataset.report`. Never a crash in
        the middle of an epoch, never dropped silently.
    meta
        Add ``_partition``, ``_offset`` and ``_timestamp`` columns.

    Examples
    --------
    >>> import streamlearn as sl
    >>> try:
    ...     sl.datasets.from_kafka("t", end="yesterday", kafka="127.0.0.1:1")
    ... except sl.ConfigError as exc:
    ...     print(str(exc).split(":")[0])
    bad dataset bound 'yesterday'

    On a cluster::

        ds = sl.datasets.from_kafka("susy-train", decode=sl.decode.json(schema),
                                    kafka="127.0.0.1:9092")
        X, y = ds.to_numpy(features, "label")
    """
    if not isinstance(topic, str) or not topic:
        raise ConfigError("from_kafka needs a topic name")
    check_bound(start, "start")
    if group is None:
        check_bound(end, "end")
    else:
        if not isinstance(group, str) or not group:
            raise ConfigError("group must be a non-empty group id")
        if start not in ("earliest", "latest"):
            raise ConfigError("a group dataset starts at 'earliest' or 'latest' (offsets: commit)")
        if end != "now":
            raise ConfigError(
                "a group dataset reads until stream_timeout; end= is for bounded ones"
            )
    if isinstance(stream_timeout, bool) or not isinstance(stream_timeout, int | float):
        raise ConfigError(f"stream_timeout must be seconds (-1: for ever), got {stream_timeout!r}")
    config = _config(kafka)
    pipeline = _decoder(decode)
    opts = ReadOptions(pipeline=pipeline, meta=meta, dead_letter_topic=dead_letter_topic)
    _prepare(config, dead_letter_topic)
    if group is not None:
        return KafkaDataset(
            config, topic, opts, group=group, stream_timeout=float(stream_timeout), start=start
        )
    from streamlearn.datasets.reading import BOUNDED_GROUP
    from streamlearn.kafka.clients import make_consumer

    consumer = make_consumer(config, BOUNDED_GROUP)
    try:
        slc = resolve_slice(consumer, topic, start, end)
    finally:
        consumer.close()
    return KafkaDataset(config, topic, opts, slice=slc)


def from_slice(
    slice: DatasetSlice | str,
    *,
    decode: Operator | Pipeline | None = None,
    kafka: KafkaConfig | str | None = None,
    dead_letter_topic: str | None = None,
    meta: bool = False,
) -> KafkaDataset:
    """A bounded dataset of a saved :attr:`KafkaDataset.slice` (or its JSON): the same
    records again, however the topic grew since.

    Examples
    --------
    >>> import streamlearn as sl
    >>> ds = sl.datasets.from_slice('{"topic":"t","ranges":[{"partition":0,"start":0,"end":5}]}',
    ...                             kafka="127.0.0.1:1")
    >>> ds.slice.records
    5
    """
    slc = slice if isinstance(slice, DatasetSlice) else DatasetSlice.from_json(slice)
    config = _config(kafka)
    opts = ReadOptions(pipeline=_decoder(decode), meta=meta, dead_letter_topic=dead_letter_topic)
    return KafkaDataset(config, slc.topic, opts, slice=slc)


def _config(kafka: Any) -> KafkaConfig:
    from streamlearn.kafka.config import KafkaConfig

    if isinstance(kafka, KafkaConfig):
        return kafka
    if isinstance(kafka, str) and kafka:
        return KafkaConfig.resolve(kafka)
    raise ConfigError("a Kafka dataset needs kafka= (a KafkaConfig or 'host:port')")


def _decoder(decode: Any) -> Pipeline:
    if decode is None:
        from streamlearn.decode import json

        decode = json()
    if not isinstance(decode, Operator | Pipeline):
        raise ConfigError(f"decode must be an operator such as sl.decode.json(...), got {decode!r}")
    pipeline = Pipeline.of(decode)
    if pipeline.source is not None:
        raise ConfigError("decode= takes operators, not a source (the dataset is the source)")
    return pipeline


def _prepare(config: KafkaConfig, dead_letter_topic: str | None) -> None:
    from streamlearn.kafka.connect import check_reachable

    check_reachable(config)
    if dead_letter_topic is not None:
        from streamlearn.kafka.admin import ensure_topics

        ensure_topics(config, {dead_letter_topic: 1})


class KafkaDataset:
    """A topic as a dataset; made by :func:`from_kafka` or :func:`from_slice`.

    Every read (:meth:`to_polars`, :meth:`batches`, an epoch of :meth:`torch`) opens its
    own consumer and closes it at the end.
    """

    def __init__(
        self,
        config: KafkaConfig,
        topic: str,
        opts: ReadOptions,
        *,
        slice: DatasetSlice | None = None,
        group: str | None = None,
        stream_timeout: float = 0.0,
        start: Any = "earliest",
    ) -> None:
        self.config = config
        self.topic = topic
        self.opts = opts
        self._slice = slice
        self.group = group
        self.stream_timeout = stream_timeout
        self._start = start
        #: counts of the last read: records, rows, bad records and why
        self.report = ReadReport()

    # -- what it reads ------------------------------------------------------------------
    @property
    def bounded(self) -> bool:
        return self._slice is not None

    @property
    def slice(self) -> DatasetSlice:
        """The offset ranges a bounded dataset reads (resolved once, when it was made)."""
        if self._slice is None:
            raise ConfigError("a group dataset has no fixed slice: it reads what is new")
        return self._slice

    @property
    def dead_lettered(self) -> int:
        """Bad records of the last read (see :attr:`report`)."""
        return self.report.dead_lettered

    def pipe(self, ops: Operator | Pipeline) -> KafkaDataset:
        """The same records, then through ``ops`` (the operators a stream runs, e.g.
        ``sl.map(...) | sl.ml.standard_scaler([...])``), one chain per partition, batch by
        batch as on the stream. Returns a new dataset."""
        extra = Pipeline.of(ops)
        if extra.source is not None:
            raise ConfigError("pipe() takes operators, not a source")
        new = KafkaDataset.__new__(KafkaDataset)
        new.__dict__.update(self.__dict__)
        new.opts = ReadOptions(
            pipeline=self.opts.pipeline | extra,
            meta=self.opts.meta,
            dead_letter_topic=self.opts.dead_letter_topic,
            max_batch=self.opts.max_batch,
            poll_timeout=self.opts.poll_timeout,
        )
        new.report = ReadReport()
        return new

    def only(self, slc: DatasetSlice) -> KafkaDataset:
        """This bounded dataset restricted to ``slc`` (a DataLoader worker's share)."""
        new = KafkaDataset.__new__(KafkaDataset)
        new.__dict__.update(self.__dict__)
        new._slice = slc
        new.report = ReadReport()
        return new

    # -- reading ------------------------------------------------------------------------
    def frames(self) -> Iterator[pl.DataFrame]:
        """The decoded rows, one frame per run of records read (sizes vary)."""
        self.report = ReadReport()
        if self._slice is not None:
            return read_bounded(self.config, self._slice, self.opts, self.report)
        assert self.group is not None
        config = self.config
        if self._start == "latest":
            from dataclasses import replace

            config = replace(
                config, client_options={**config.client_options, "auto.offset.reset": "latest"}
            )
        return read_group(
            config, self.topic, self.group, self.stream_timeout, self.opts, self.report
        )

    def to_polars(self) -> pl.DataFrame:
        """Everything as one Polars DataFrame (a group dataset commits what it read)."""
        frames = list(self.frames())
        if not frames:
            return pl.DataFrame()
        return pl.concat(frames, how="vertical_relaxed", rechunk=True)

    def to_arrow(self) -> Any:
        """Everything as one ``pyarrow.Table``."""
        return self.to_polars().to_arrow()

    def to_numpy(
        self, features: Sequence[str], label: str | None = None, *, dtype: Any = np.float64
    ) -> Any:
        """``X`` (rows x features, ``dtype``) or ``(X, y)`` when ``label`` is given.

        Each frame is converted as it is read (no whole-dataset DataFrame in between:
        one copy less, and half the peak memory)."""
        xs, ys = [], []
        for frame in self.frames():
            out = frame_to_numpy(frame, features, label, dtype=dtype)
            xs.append(out[0] if label is not None else out)
            if label is not None:
                ys.append(out[1])
        if not xs:
            return frame_to_numpy(pl.DataFrame(), features, label, dtype=dtype)
        x = np.concatenate(xs) if len(xs) > 1 else xs[0]
        if label is None:
            return x
        return x, (np.concatenate(ys) if len(ys) > 1 else ys[0])

    def batches(self, n: int) -> Iterator[pl.DataFrame]:
        """Frames of exactly ``n`` rows in read order (the last one may be shorter)."""
        if n < 1:
            raise ConfigError("batches(n) needs n >= 1")
        held: list[pl.DataFrame] = []
        size = 0
        for frame in self.frames():
            held.append(frame)
            size += frame.height
            if size < n:
                continue
            joined = pl.concat(held, how="vertical_relaxed")
            cut = (size // n) * n
            for lo in range(0, cut, n):
                yield joined.slice(lo, n)
            rest = joined.slice(cut)
            held, size = ([rest], rest.height) if rest.height else ([], 0)
        if size:
            yield pl.concat(held, how="vertical_relaxed")

    def lag(self) -> dict[int, int]:
        """Group datasets: records the group has not committed yet, per partition (the
        log end minus the committed offset)."""
        if self.group is None:
            raise ConfigError("lag() is for group datasets (from_kafka(..., group=...))")
        return group_lag(self.config, self.topic, self.group)

    # -- frameworks ---------------------------------------------------------------------
    def torch(
        self,
        features: Sequence[str],
        label: str | None = None,
        *,
        batch_size: int = 256,
        shuffle: bool = False,
        seed: int = 0,
        with_offsets: bool = False,
    ) -> Any:
        """A ``torch.utils.data.IterableDataset`` of float32 ``(x, y)`` batches, its
        partitions shared among DataLoader workers and ranks (see
        :mod:`streamlearn.datasets.torch`); use ``DataLoader(..., batch_size=None)``.
        ``with_offsets`` adds each row's ``(partition, offset)`` as a third tensor."""
        from streamlearn.datasets.torch import torch_dataset

        return torch_dataset(
            self,
            features,
            label,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            with_offsets=with_offsets,
        )

    def keras(
        self,
        features: Sequence[str],
        label: str | None = None,
        *,
        batch_size: int = 256,
        shuffle: bool = True,
        seed: int = 0,
        cache: bool = False,
    ) -> Any:
        """A Keras 3 ``PyDataset`` for ``model.fit``, reading the topic every epoch
        (``cache=True``: once); see :mod:`streamlearn.datasets.keras`."""
        from streamlearn.datasets.keras import keras_dataset

        return keras_dataset(
            self, features, label, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache
        )

    def __repr__(self) -> str:
        what = f"slice={self._slice}" if self._slice is not None else f"group={self.group!r}"
        return f"KafkaDataset({self.topic!r}, {what})"
