"""End-to-end latency of the window-free S1 pipeline: streamlearn vs Quix Streams, with
the one-hop floor of the broker measured in the same run.

    python bench/latency.py --rates 10000 30000 50000 --seconds 20 --json
    python bench/latency.py                        # quick: 10k and 50k records/s, 6 s each

Three processes per measurement, all on one local broker and one partition: (1) a paced
producer (bench/peers/latency_producer.py) sends S1 trades at ``--rate`` records/s, each
keyed by its send time; (2) the pipeline, window-free S1 (decode -> sequential k-means ->
SQL filter cluster 0 -> Kafka), streamlearn (bench/peers/streamlearn_latency.py) or Quix
Streams 3.28 with a per-record k-means (bench/peers/quix_latency.py, own venv); (3) a
measuring consumer (bench/peers/latency_measure.py) of the pipeline's output records
now - sent for each output record. The floor is (1) -> (3) with no pipeline: one hop
(produce, broker, fetch). A pipeline is two hops, so its floor is about twice that;
``added_p50_ms``/``added_p99_ms`` = streamlearn minus twice the floor.

Each measurement starts the readers, waits until their consumer groups have their
partitions, then produces for ``--warmup`` + ``--seconds`` seconds; only records sent
after the warm-up count. A variant *holds* a rate when all its output came out within
``--grace`` seconds after the producer stopped and the median latency of the last
quarter of the span is at most 2 x that of the first quarter + 50 ms (no growing lag).

The Quix peer and the measuring consumer get the same librdkafka settings a user tuning
for latency would set (bench/_common.py ``consumer_settings``, ``fetch.wait.max.ms`` =
``--fetch-wait-ms``, producer ``linger.ms`` = ``--linger-ms``); streamlearn runs with its
own defaults unless ``--streamlearn-args`` says otherwise. ``--extra LABEL:ARGS`` adds
streamlearn variants with other settings (e.g. ``fw100:--client-option
fetch.wait.max.ms=100``); ``--baseline-src DIR`` adds ``baseline``, the same peer on the
code under another ``src/`` (before/after in one run). Variants run interleaved,
``--repeat`` times per rate; medians are reported, every run in ``runs``. The last
stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import queue
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import create_topics, machine, quix_python  # noqa: E402
from streamlearn.kafka.local_broker import LocalBroker  # noqa: E402


def tail(f) -> bytes:
    f.seek(0)
    return f.read()[-2000:]


def prime(
    bootstrap: str,
    topic: str,
    lines: queue.Queue,
    pipe: subprocess.Popen | None,
    err,
    timeout: float = 120.0,
) -> None:
    """Send bursts of 1500 trades keyed ``0`` (sent at epoch 0: never measured) until the
    measuring consumer sees output: every reader has joined its group and the k-means has
    made its warm-up fit before the clock starts (Tansu's group descriptions have no
    members, so the group state cannot tell)."""
    from confluent_kafka import Producer

    from streamlearn.datasets.synth.trades import generate_trades

    producer = Producer({"bootstrap.servers": bootstrap, "log.connection.close": False})
    burst = generate_trades(1500, seed=3)
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if pipe is not None and pipe.poll() is not None:
            raise RuntimeError(f"pipeline exited: {tail(err)}")
        for v in burst:
            producer.produce(topic, v, b"0")
        producer.flush(10)
        try:
            if lines.get(timeout=2.0).strip() == b"flowing":
                return
        except queue.Empty:
            pass
    raise RuntimeError(f"no output on the measured topic within {timeout} s")


def measure(
    bootstrap: str, rate: int, args: argparse.Namespace, pipeline: list[str] | None
) -> dict:
    """One measurement: producer -> [pipeline ->] measuring consumer."""
    tag = uuid.uuid4().hex[:6]
    src, out = f"lat-in-{tag}", f"lat-out-{tag}"
    create_topics(bootstrap, {src: 1, out: 1})
    py = sys.executable
    procs: list[subprocess.Popen] = []
    # stderr to files: an unread pipe that fills up would stall the process writing to it
    pipe_err, meter_err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
    try:
        pipe = None
        if pipeline is not None:
            pipe = subprocess.Popen(
                [
                    *pipeline,
                    "--bootstrap",
                    bootstrap,
                    "--input",
                    src,
                    "--output",
                    out,
                    "--group",
                    f"pipe-{tag}",
                ],
                stdout=subprocess.PIPE,
                stderr=pipe_err,
            )
            procs.append(pipe)
        # the measured span is sent on stdin once every reader is in (group joins vary)
        meter = subprocess.Popen(
            [
                py,
                str(HERE / "peers/latency_measure.py"),
                "--bootstrap",
                bootstrap,
                "--topic",
                out if pipeline is not None else src,
                "--group",
                f"meter-{tag}",
                "--fetch-wait-ms",
                str(args.fetch_wait_ms),
                "--grace-s",
                str(args.grace),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=meter_err,
        )
        procs.append(meter)
        if meter.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"measuring consumer failed: {tail(meter_err)}")
        lines: queue.Queue = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(x) for x in iter(meter.stdout.readline, b"")], daemon=True
        ).start()
        prime(bootstrap, src, lines, pipe, pipe_err)
        prod = subprocess.Popen(
            [
                py,
                str(HERE / "peers/latency_producer.py"),
                "--bootstrap",
                bootstrap,
                "--topic",
                src,
                "--rate",
                str(rate),
                "--seconds",
                str(args.warmup + args.seconds),
                "--linger-ms",
                str(args.linger_ms),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        procs.append(prod)
        if prod.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"producer failed: {prod.stderr.read()[-2000:]}")
        start_at = time.time() + 0.2
        lo, hi = start_at + args.warmup, start_at + args.warmup + args.seconds
        meter.stdin.write(f"{lo} {hi}\n".encode())
        meter.stdin.flush()
        pout, perr = prod.communicate(
            f"{start_at}\n".encode(), timeout=args.warmup + args.seconds + 120
        )
        if prod.returncode != 0:
            raise RuntimeError(f"producer failed: {perr.decode()[-2000:]}")
        meter.wait(timeout=args.grace + 60)
        if meter.returncode != 0:
            raise RuntimeError(f"measuring consumer failed: {tail(meter_err)}")
        res = json.loads(lines.get(timeout=10))
        res["producer"] = json.loads(pout.decode().strip().splitlines()[-1])
        if pipe is not None:
            pipe.send_signal(signal.SIGTERM)
            pout, _ = pipe.communicate(timeout=60)
            lines = pout.decode().strip().splitlines()
            if pipe.returncode != 0 or not lines:
                raise RuntimeError(
                    f"pipeline failed ({pipe.returncode}): {tail(pipe_err).decode()}"
                )
            res["pipeline"] = json.loads(lines[-1])
        first, last = res.get("first_quarter_p50_ms"), res.get("last_quarter_p50_ms")
        res["held"] = bool(
            res["complete"] and first is not None and last is not None and last <= 2 * first + 50
        )
        return res
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        pipe_err.close()
        meter_err.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--rates",
        type=int,
        nargs="+",
        default=[10_000, 50_000],
        help="producer rates, records/s (default: 10000 50000)",
    )
    ap.add_argument(
        "--seconds",
        type=float,
        default=6.0,
        help="measured seconds per rate and variant (default 6; 20 for the table)",
    )
    ap.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds produced before the measured span (default 2)",
    )
    ap.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds after the producer stops for the last outputs (default 10)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per rate and variant")
    ap.add_argument(
        "--fetch-wait-ms",
        type=int,
        default=10,
        help="fetch.wait.max.ms of the measuring consumer and of the Quix peer",
    )
    ap.add_argument(
        "--linger-ms",
        type=float,
        default=5.0,
        help="linger.ms of the paced producer and of the Quix peer (default 5, "
        "librdkafka's default)",
    )
    ap.add_argument(
        "--streamlearn-args",
        default="",
        help="extra arguments of the streamlearn peer (default: its defaults)",
    )
    ap.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="LABEL:ARGS",
        help="another streamlearn variant with these peer arguments",
    )
    ap.add_argument(
        "--baseline-src",
        default=None,
        metavar="DIR",
        help="add a variant 'baseline': the streamlearn peer run on the code under this "
        "src/ directory (e.g. an older commit's, from git archive), in the same run",
    )
    ap.add_argument("--skip-quix", action="store_true", help="skip the Quix Streams peer")
    ap.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="LABEL",
        help="run only these variants (e.g. floor)",
    )
    ap.add_argument("--json", action="store_true", help="only the JSON result on stdout")
    args = ap.parse_args()
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    py = sys.executable
    variants: dict[str, list[str] | None] = {
        "floor": None,
        "streamlearn": [
            py,
            str(HERE / "peers/streamlearn_latency.py"),
            *shlex.split(args.streamlearn_args),
        ],
    }
    if args.baseline_src:  # the same peer script, the other code (env sets PYTHONPATH)
        variants["baseline"] = [
            "env",
            f"PYTHONPATH={Path(args.baseline_src).resolve()}",
            *variants["streamlearn"],
        ]
    for spec in args.extra:
        label, _, extra = spec.partition(":")
        variants[label] = [py, str(HERE / "peers/streamlearn_latency.py"), *shlex.split(extra)]
    if not args.skip_quix:
        variants["quix"] = [
            quix_python(),
            str(HERE / "peers/quix_latency.py"),
            "--fetch-wait-ms",
            str(args.fetch_wait_ms),
            "--linger-ms",
            str(args.linger_ms),
        ]
    if args.only:
        variants = {k: v for k, v in variants.items() if k in args.only}
    runs: dict[int, dict[str, list[dict]]] = {}
    with LocalBroker() as broker:
        for rate in args.rates:
            for _ in range(max(1, args.repeat)):
                for label, cmd in variants.items():
                    res = measure(broker.bootstrap, rate, args, cmd)
                    runs.setdefault(rate, {}).setdefault(label, []).append(res)
                    log(
                        f"{rate:>7,}/s {label:14s} p50 {res.get('p50_ms')} ms  p99 "
                        f"{res.get('p99_ms')} ms  max {res.get('max_ms')} ms  "
                        f"n {res['n']:,}  held {res['held']}  "
                        f"(quarters {res.get('first_quarter_p50_ms')} -> "
                        f"{res.get('last_quarter_p50_ms')})"
                    )
                    if "trace" in res.get("pipeline", {}):
                        log(f"    trace {json.dumps(res['pipeline']['trace'])}")

    def med(rs: list[dict], key: str) -> float | None:
        vals = [r[key] for r in rs if r.get(key) is not None]
        return round(statistics.median(vals), 1) if vals else None

    per_rate: dict[str, dict] = {}
    for rate, by in runs.items():
        row: dict = {}
        for label, rs in by.items():
            row[f"{label}_p50_ms"] = med(rs, "p50_ms")
            row[f"{label}_p99_ms"] = med(rs, "p99_ms")
            row[f"{label}_held"] = all(r["held"] for r in rs)
        for label in by:
            if label != "floor" and "floor" in by and row.get(f"{label}_p50_ms") is not None:
                row[f"{'' if label == 'streamlearn' else label + '_'}added_p50_ms"] = round(
                    row[f"{label}_p50_ms"] - 2 * row["floor_p50_ms"], 1
                )
                row[f"{'' if label == 'streamlearn' else label + '_'}added_p99_ms"] = round(
                    row[f"{label}_p99_ms"] - 2 * row["floor_p99_ms"], 1
                )
        row["runs"] = {
            label: [{k: r.get(k) for k in ("p50_ms", "p99_ms", "max_ms", "n", "held")} for r in rs]
            for label, rs in by.items()
        }
        per_rate[str(rate)] = row
    held = {
        label: max([r for r in runs if all(x["held"] for x in runs[r][label])], default=None)
        for label in variants
    }
    print(
        json.dumps(
            {
                "rates": per_rate,
                "max_held_rate": held,
                "settings": {
                    "seconds": args.seconds,
                    "warmup": args.warmup,
                    "repeat": args.repeat,
                    "fetch_wait_ms": args.fetch_wait_ms,
                    "linger_ms": args.linger_ms,
                    "streamlearn_args": args.streamlearn_args,
                    "extra": args.extra,
                    "baseline_src": args.baseline_src,
                },
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
