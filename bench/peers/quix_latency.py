"""The window-free S1 pipeline with Quix Streams 3.28, per record, run until SIGTERM.

JSON in, a hand-written sequential k-means per record (buffer the first 1000 points,
a few Lloyd iterations from k spread-out seeds, then assign each point to its nearest
centroid and move that centroid by a running mean: the MacQueen update streamlearn's
``sequential_k_means`` makes), keep cluster 0, JSON out. The key of each record is kept
(Quix's default), so the measuring consumer sees the send time. Runs in its own virtual
environment (bench/_common.py ``quix_python``). The librdkafka consumer and producer
settings are the ones a user tuning for latency would set, the same as streamlearn's:
bench/_common.py ``consumer_settings`` plus ``--fetch-wait-ms`` and ``--linger-ms``.
"""

import argparse
import json
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from quixstreams import Application

from _common import consumer_settings


class SequentialKMeans:
    def __init__(self, k: int = 3, buffer_size: int = 1000) -> None:
        self.k, self.buffer_size = k, buffer_size
        self.buffer: list[tuple[float, float]] = []
        self.centres: list[list[float]] | None = None
        self.counts: list[int] = []

    def _nearest(self, x: float, y: float) -> int:
        best, arg = float("inf"), 0
        for i, (cx, cy) in enumerate(self.centres):  # type: ignore[arg-type]
            d = (x - cx) ** 2 + (y - cy) ** 2
            if d < best:
                best, arg = d, i
        return arg

    def _fit(self) -> None:
        pts = sorted(self.buffer)
        self.centres = [list(pts[(2 * i + 1) * len(pts) // (2 * self.k)]) for i in range(self.k)]
        for _ in range(10):
            sums = [[0.0, 0.0, 0] for _ in range(self.k)]
            for x, y in pts:
                s = sums[self._nearest(x, y)]
                s[0] += x
                s[1] += y
                s[2] += 1
            self.centres = [
                [s[0] / s[2], s[1] / s[2]] if s[2] else c
                for s, c in zip(sums, self.centres, strict=True)
            ]
        self.counts = [0] * self.k
        for x, y in pts:
            self.counts[self._nearest(x, y)] += 1

    def predict_learn(self, x: float, y: float) -> int:
        if self.centres is None:
            self.buffer.append((x, y))
            if len(self.buffer) == self.buffer_size:
                self._fit()
            return -1  # the warm-up records (streamlearn emits them later, after the fit)
        i = self._nearest(x, y)
        self.counts[i] += 1
        c, n = self.centres[i], self.counts[i]
        c[0] += (x - c[0]) / n
        c[1] += (y - c[1]) / n
        return i


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--output", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--fetch-wait-ms", type=int, default=None)
    ap.add_argument("--linger-ms", type=float, default=None)
    args = ap.parse_args()
    extra = {
        k: v
        for k, v in consumer_settings(args.bootstrap, args.group).items()
        if k not in ("bootstrap.servers", "group.id", "auto.offset.reset", "enable.auto.commit")
    }
    if args.fetch_wait_ms is not None:
        extra["fetch.wait.max.ms"] = args.fetch_wait_ms
    producer_extra = {} if args.linger_ms is None else {"linger.ms": args.linger_ms}
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        use_changelog_topics=False,
        consumer_extra_config=extra,
        producer_extra_config=producer_extra,
    )
    source = app.topic(args.input, value_deserializer="json")
    sink = app.topic(args.output, value_serializer="json")
    model = SequentialKMeans()
    counts = {"in": 0, "out": 0}

    def score(row: dict) -> dict:
        counts["in"] += 1
        row["bid"], row["ask"] = float(row["bid"]), float(row["ask"])
        row["cluster"] = model.predict_learn(row["bid"], row["ask"])
        return row

    def keep(row: dict) -> bool:
        if row["cluster"] == 0:
            counts["out"] += 1
            return True
        return False

    sdf = app.dataframe(source).apply(score).filter(keep)
    sdf.to_topic(sink)
    signal.signal(signal.SIGTERM, lambda *_: app.stop())
    app.run()
    print(json.dumps({"records_in": counts["in"], "records_out": counts["out"]}))


if __name__ == "__main__":
    main()
