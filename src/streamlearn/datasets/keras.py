"""``ds.keras(features, label)``: a bounded Kafka dataset as a Keras 3 ``PyDataset``.

``model.fit(ds.keras(...), epochs=5)`` reads the dataset's slice from the topic at the
start of every epoch (the same records every time: the slice is fixed), shuffled per
epoch with a seeded permutation; ``cache=True`` reads it once and keeps it in memory.
Keras needs the number of batches up front, so an epoch's rows are read when it starts
(a ``PyDataset`` is indexed, not streamed).

Keras 3 picks its backend when first imported; if it is not imported yet, this module
asks for ``KERAS_BACKEND=torch`` (the backend streamlearn's extra installs).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.core.extras import require

if TYPE_CHECKING:
    from streamlearn.datasets.kafka import KafkaDataset

if "keras" not in sys.modules:
    os.environ.setdefault("KERAS_BACKEND", "torch")
keras = require("keras", extra="keras", feature="ds.keras()")

__all__ = ["KafkaPyDataset", "keras_dataset"]


_PyDataset: Any = keras.utils.PyDataset


class KafkaPyDataset(_PyDataset):
    """See the module docstring; made by :meth:`KafkaDataset.keras`."""

    def __init__(
        self,
        dataset: KafkaDataset,
        features: Sequence[str],
        label: str | None,
        *,
        batch_size: int,
        shuffle: bool,
        seed: int,
        cache: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset
        self.features = list(features)
        self.label = label
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.cache = cache
        #: epochs read from the topic so far
        self.reads = 0
        #: True while the rows held were read for the epoch about to start
        self._fresh = False
        self._data: tuple[np.ndarray, ...] = ()
        self._order: np.ndarray | None = None
        self._load()

    def _load(self) -> None:
        if self.cache and self._data:
            pass
        else:
            out = self.dataset.to_numpy(self.features, self.label, dtype=np.float32)
            self._data = (out[0], out[1].astype(np.float32)) if self.label is not None else (out,)
            self.reads += 1
        n = len(self._data[0])
        self._order = (
            np.random.default_rng([self.seed, self.reads]).permutation(n) if self.shuffle else None
        )
        self._fresh = True

    def __len__(self) -> int:
        return math.ceil(len(self._data[0]) / self.batch_size)

    def __getitem__(self, index: int) -> Any:
        lo = index * self.batch_size
        hi = lo + self.batch_size
        if self._order is not None:
            rows = self._order[lo:hi]
            parts = tuple(a[rows] for a in self._data)
        else:
            parts = tuple(a[lo:hi] for a in self._data)
        return parts if len(parts) > 1 else parts[0]

    def on_epoch_begin(self) -> None:
        # every epoch but the first (read to know the length) reads the topic again, or
        # reshuffles the cache
        if not self._fresh:
            self._load()
        self._fresh = False


def keras_dataset(
    dataset: KafkaDataset,
    features: Sequence[str],
    label: str | None,
    *,
    batch_size: int = 256,
    shuffle: bool = True,
    seed: int = 0,
    cache: bool = False,
) -> KafkaPyDataset:
    """:class:`KafkaPyDataset` of a bounded dataset (one line for a group one)."""
    if not dataset.bounded:
        raise ConfigError("ds.keras() needs a bounded dataset (start/end)")
    if batch_size < 1:
        raise ConfigError("batch_size must be >= 1")
    return KafkaPyDataset(
        dataset, features, label, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache
    )
