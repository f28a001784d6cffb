"""``ds.torch(features, label)``: a bounded Kafka dataset as a PyTorch ``IterableDataset``.

Each ``iter()`` is one epoch: it reads its share of the dataset's slice from the topic
and yields float32 ``(x, y)`` batches of ``batch_size`` rows. The share comes from
:meth:`~streamlearn.datasets.slice.DatasetSlice.shard`, indexed by the DataLoader worker
(``torch.utils.data.get_worker_info``) and the rank (``torch.distributed``, when it is
initialised): whole partitions when there are enough, else runs of offsets, so nothing is
read twice within an epoch and every worker has work. The dataset holds no client, so
forked or spawned workers each open their own consumer.

The items are already batches: give the DataLoader ``batch_size=None``, or let
:meth:`KafkaIterableDataset.loader` make it::

    loader = ds.torch(features, "label", batch_size=256).loader(num_workers=2)

Workers must not be *forked* from a process that has used Polars: its thread pool does
not survive a fork, and the decoder in the child hangs (Polars' guide to multiprocessing
says so; the S3 test hung this way). ``loader()`` starts them with ``forkserver`` and keeps them
for all epochs; with your own ``DataLoader`` pass ``multiprocessing_context="spawn"`` or
``"forkserver"``. The dataset pickles (no client inside) as long as the operators of
``ds.pipe`` do (a ``lambda`` in ``sl.map`` does not: use a ``def``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.core.extras import require

if TYPE_CHECKING:
    from streamlearn.datasets.kafka import KafkaDataset

torch = require("torch", extra="torch", feature="ds.torch()")

__all__ = ["KafkaIterableDataset", "current_shard", "torch_dataset"]


def current_shard() -> tuple[int, int]:
    """``(index, count)`` of the reader this process is: rank x DataLoader worker."""
    rank, world = 0, 1
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    info = torch.utils.data.get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world * workers


_IterableDataset: Any = torch.utils.data.IterableDataset


class KafkaIterableDataset(_IterableDataset):
    """See the module docstring; made by :meth:`KafkaDataset.torch`.

    ``with_offsets=True`` adds a third tensor per batch: ``(partition, offset)`` of each
    row (int64), to check what an epoch read.
    """

    def __init__(
        self,
        dataset: KafkaDataset,
        features: Sequence[str],
        label: str | None,
        *,
        batch_size: int,
        shuffle: bool,
        seed: int,
        with_offsets: bool = False,
    ) -> None:
        super().__init__()
        if with_offsets and not dataset.opts.meta:
            dataset = dataset.only(dataset.slice)  # a copy that adds the meta columns
            dataset.opts = _with_meta(dataset.opts)
        self.dataset = dataset
        self.features = list(features)
        self.label = label
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.with_offsets = with_offsets
        self.epoch = 0

    def loader(self, num_workers: int = 0, **kwargs: Any) -> Any:
        """A ``DataLoader`` over this dataset: ``batch_size=None`` (items are batches),
        workers started with ``forkserver`` and kept across epochs (each copy counts
        its own epochs, so the shuffle changes every epoch)."""
        if num_workers > 0:
            kwargs.setdefault("multiprocessing_context", "forkserver")
            kwargs.setdefault("persistent_workers", True)
        return torch.utils.data.DataLoader(self, batch_size=None, num_workers=num_workers, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        """The shuffle seed of the next epoch (as ``DistributedSampler.set_epoch``;
        needed with workers, whose copies do not see each other's epochs)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        index, count = current_shard()
        share = self.dataset.slice.shard(index, count)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        self.epoch += 1
        if not share.ranges:
            return
        held: list[tuple[np.ndarray, ...]] = []
        size = 0
        for frame in self.dataset.only(share).frames():
            arrays = self._arrays(frame)
            if self.shuffle:
                order = rng.permutation(len(arrays[0]))
                arrays = tuple(a[order] for a in arrays)
            held.append(arrays)
            size += len(arrays[0])
            if size < self.batch_size:
                continue
            joined = tuple(np.concatenate(parts) for parts in zip(*held, strict=True))
            cut = (size // self.batch_size) * self.batch_size
            for lo in range(0, cut, self.batch_size):
                yield tuple(torch.from_numpy(a[lo : lo + self.batch_size]) for a in joined)
            rest = tuple(a[cut:] for a in joined)
            held, size = ([rest], len(rest[0])) if len(rest[0]) else ([], 0)
        if size:
            joined = tuple(np.concatenate(parts) for parts in zip(*held, strict=True))
            yield tuple(torch.from_numpy(a) for a in joined)

    def _arrays(self, frame: Any) -> tuple[np.ndarray, ...]:
        from streamlearn.datasets.arrays import frame_to_numpy

        out = frame_to_numpy(frame, self.features, self.label, dtype=np.float32)
        arrays = (out[0], out[1].astype(np.float32)) if self.label is not None else (out,)
        if self.with_offsets:
            where = frame.select("_partition", "_offset").to_numpy().astype(np.int64)
            arrays = (*arrays, where)
        return tuple(np.ascontiguousarray(a) for a in arrays)


def _with_meta(opts: Any) -> Any:
    from dataclasses import replace

    return replace(opts, meta=True)


def torch_dataset(
    dataset: KafkaDataset,
    features: Sequence[str],
    label: str | None,
    *,
    batch_size: int = 256,
    shuffle: bool = False,
    seed: int = 0,
    with_offsets: bool = False,
) -> KafkaIterableDataset:
    """:class:`KafkaIterableDataset` of a bounded dataset (one line for a group one)."""
    if not dataset.bounded:
        raise ConfigError(
            "ds.torch() needs a bounded dataset (start/end): a group dataset has no "
            "fixed records to share among workers"
        )
    if batch_size < 1:
        raise ConfigError("batch_size must be >= 1")
    return KafkaIterableDataset(
        dataset,
        features,
        label,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        with_offsets=with_offsets,
    )
