"""Events and labels that arrive later: online classification with delayed feedback.

Events ``{event_id, f0..fN}`` are drawn from one Gaussian blob per class (centres drawn
with standard deviation ``separation``, unit noise); the label ``{event_id, y}`` of each
event arrives a random 0..``max_delay`` records after it, as feedback from the real world
would. Both are keyed by the event id, so topics filled with them are co-partitioned.

One :class:`LateLabels` is one stream: successive :meth:`LateLabels.take` calls continue
it (ids keep counting, the same class centres), so a live feeder can draw it chunk by
chunk. The demo, the benchmarks and the tests draw from it.

Examples
--------
>>> stream = LateLabels(n_features=2, classes=("a", "b"), seed=1)
>>> recs = stream.take(3)
>>> len(recs), sorted({kind for kind, _, _ in recs})
(6, ['event', 'label'])
>>> [kind for kind, _, _ in recs][0], recs[0][1]
('event', b'e0')
>>> stream.take(1)[0][1]      # the stream goes on where it stopped
b'e3'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

__all__ = ["LateLabels"]


class LateLabels:
    """A stream of events and their late labels, drawn chunk by chunk.

    Parameters
    ----------
    n_features
        Features ``f0..f{n-1}`` of each event.
    classes
        The label values (strings, ints or bools: written to JSON as they are).
    separation
        Standard deviation of the class centres around 0 (the noise is 1): larger is
        easier.
    max_delay
        Each label arrives right after the event ``0..max_delay`` records later.
    seed
        One generator draws the centres, then every chunk: the same seed gives the same
        stream.
    kinds
        The ``kind`` names of events and labels in the records :meth:`take` returns.
    """

    def __init__(
        self,
        *,
        n_features: int = 8,
        classes: Sequence[Any] = ("buy", "hold", "sell"),
        separation: float = 1.6,
        max_delay: int = 200,
        seed: int = 0,
        kinds: tuple[str, str] = ("event", "label"),
    ) -> None:
        self.features = [f"f{j}" for j in range(n_features)]
        self.classes = list(classes)
        self.separation = separation
        self.max_delay = max_delay
        self.seed = seed
        self.kinds = kinds
        self._rng = np.random.default_rng(seed)
        self.centres = self._rng.normal(0.0, separation, (len(self.classes), n_features))
        self.produced = 0
        self._nearest_right = 0

    def take(self, n: int) -> list[tuple[str, bytes, bytes]]:
        """The next ``n`` events and their labels as ``(kind, key, value)`` in arrival order.

        Event ``i`` arrives at slot ``i``, its label at ``i + delay + 0.5`` (right after
        event ``i + delay``); the labels of a chunk's last events come at its end.
        """
        rng = self._rng
        y = rng.integers(0, len(self.classes), n)
        X = np.round(self.centres[y] + rng.normal(0.0, 1.0, (n, len(self.features))), 4)
        dist = ((X[:, None, :] - self.centres[None]) ** 2).sum(axis=2)
        self._nearest_right += int((dist.argmin(axis=1) == y).sum())
        ids = [f"e{self.produced + i}" for i in range(n)]
        ev_kind, lab_kind = self.kinds
        events = [
            (
                ev_kind,
                k.encode(),
                orjson.dumps({"event_id": k, **dict(zip(self.features, row, strict=True))}),
            )
            for k, row in zip(ids, X.tolist(), strict=True)
        ]
        labels = [
            (lab_kind, k.encode(), orjson.dumps({"event_id": k, "y": self.classes[c]}))
            for k, c in zip(ids, y.tolist(), strict=True)
        ]
        delay = rng.integers(0, self.max_delay + 1, n)
        at = np.concatenate([np.arange(n, dtype=np.float64), np.arange(n) + delay + 0.5])
        both = events + labels
        self.produced += n
        return [both[i] for i in np.argsort(at, kind="stable").tolist()]

    def facts(self) -> dict[str, Any]:
        """What the data is, with the accuracy of the nearest-centre rule (Bayes-optimal
        here) over everything taken so far.

        >>> s = LateLabels(seed=3); _ = s.take(500); 0.5 < s.facts()["bayes_accuracy"] <= 1
        True
        """
        return {
            "features": len(self.features),
            "classes": len(self.classes),
            "max_label_delay": self.max_delay,
            "separation": self.separation,
            "seed": self.seed,
            "bayes_accuracy": round(self._nearest_right / max(self.produced, 1), 4),
        }
