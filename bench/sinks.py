"""Sinks benchmark: rows/s into PostgreSQL and points/s into InfluxDB, streamlearn's sinks
against what users write by hand, in one run.

PostgreSQL (the machine's server at 127.0.0.1:5432, user postgres; each variant gets a
fresh table with a primary key on ``sl_id``):

* ``streamlearn``: ``sl.write.to_postgres`` -- the Sink's ``write`` for every batch of
  ``--batch`` rows, a ``flush`` (CSV COPY into a staging table + INSERT ... ON CONFLICT,
  one transaction) every ``--flush-every`` batches, as the checkpoint calls it;
* ``per_record``: ``cursor.execute(INSERT ...)`` per row, a commit per batch (run on
  ``--per-record-rows`` rows: it is slow, the rate is what matters);
* ``executemany``: ``cursor.executemany(INSERT ..., df.rows())`` per batch (psycopg 3
  pipelines it), a commit per batch;
* ``copy_binary``: binary ``COPY`` with psycopg's ``write_row`` per row, per batch --
  the hand-written COPY, and the reason the sink sends CSV made by Polars instead.

InfluxDB 1.6 (started here on a free port, ``influxd`` from Debian's ``influxdb``):

* ``streamlearn``: ``sl.write.to_influxdb`` write + flush as above;
* ``influx_client``: the ``influxdb`` Python client (PyPI ``influxdb`` 5.3),
  ``write_points(dicts, batch_size=10000)`` per flush, points built from the rows.

The last line printed with ``--json`` is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import streamlearn as sl  # noqa: E402

DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
COLS = "sl_id text PRIMARY KEY, a double precision, n bigint, s text, ts timestamp"
INSERT = "INSERT INTO {} (sl_id, a, n, s, ts) VALUES (%s, %s, %s, %s, %s)"


def frame(n: int) -> pl.DataFrame:
    start = datetime(2024, 1, 1)
    return pl.DataFrame(
        {
            "a": [i / 7 for i in range(n)],
            "n": list(range(n)),
            "s": [f"sensor {i % 100}" for i in range(n)],
            "ts": pl.datetime_range(
                start, start + timedelta(milliseconds=n - 1), "1ms", eager=True
            ),
        }
    )


def batches(df: pl.DataFrame, size: int) -> list[sl.Batch]:
    return [
        sl.Batch.from_frame(df.slice(i, size), topic="bench", first_offset=i)
        for i in range(0, df.height, size)
    ]


def with_ids(b: sl.Batch) -> pl.DataFrame:
    ids = [r.decode() for r in b.record_ids()]
    return b.data.select(pl.Series("sl_id", ids), pl.all())


def fresh_table(conn, name: str) -> str:
    conn.execute(f"DROP TABLE IF EXISTS {name}")
    conn.execute(f"CREATE TABLE {name} ({COLS})")
    return name


def timed(fn: Callable[[], int]) -> float:
    t0 = time.perf_counter()
    rows = fn()
    return rows / (time.perf_counter() - t0)


def bench_postgres(df: pl.DataFrame, args: argparse.Namespace) -> dict[str, float]:
    import psycopg

    bs = batches(df, args.batch)
    conn = psycopg.connect(DSN, autocommit=True)
    out: dict[str, float] = {}

    def streamlearn() -> int:
        table = fresh_table(conn, "sl_bench_streamlearn")
        sink = sl.write.to_postgres(table, dsn=DSN).open(sl.Context())
        for i, b in enumerate(bs, 1):
            sink.write(b)
            if i % args.flush_every == 0:
                sink.flush()
        sink.flush()
        sink.close()
        return df.height

    def per_record() -> int:
        table = fresh_table(conn, "sl_bench_per_record")
        sql = INSERT.format(table)
        n = 0
        with psycopg.connect(DSN) as c, c.cursor() as cur:
            for b in bs:
                if n >= args.per_record_rows:
                    break
                for row in with_ids(b).iter_rows():
                    cur.execute(sql, row)
                c.commit()
                n += b.height
        return n

    def executemany() -> int:
        table = fresh_table(conn, "sl_bench_executemany")
        sql = INSERT.format(table)
        with psycopg.connect(DSN) as c, c.cursor() as cur:
            for b in bs:
                cur.executemany(sql, with_ids(b).rows())
                c.commit()
        return df.height

    def copy_binary() -> int:
        table = fresh_table(conn, "sl_bench_copy_binary")
        with psycopg.connect(DSN) as c, c.cursor() as cur:
            for b in bs:
                with cur.copy(
                    f"COPY {table} (sl_id, a, n, s, ts) FROM STDIN (FORMAT BINARY)"
                ) as cp:
                    cp.set_types(["text", "float8", "int8", "text", "timestamp"])
                    for row in with_ids(b).iter_rows():
                        cp.write_row(row)
                c.commit()
        return df.height

    for name, fn in (
        ("streamlearn", streamlearn),
        ("per_record", per_record),
        ("executemany", executemany),
        ("copy_binary", copy_binary),
    ):
        out[name] = timed(fn)
        count = conn.execute(f"SELECT count(*) FROM sl_bench_{name}").fetchone()[0]
        expect = df.height if name != "per_record" else min(df.height, args.per_record_rows)
        assert count >= expect, (name, count)
        print(f"postgres {name:<12} {out[name]:>12,.0f} rows/s", file=sys.stderr)
        conn.execute(f"DROP TABLE sl_bench_{name}")
    conn.close()
    return out


def bench_influx(df: pl.DataFrame, args: argparse.Namespace) -> dict[str, float]:
    from tests.write.servers import Influxd

    points = df.select(
        site=pl.col("s"), prediction=pl.col("n") % 4, Temperature=pl.col("a"), at=pl.col("ts")
    )
    bs = batches(points, args.batch)
    server = Influxd().start()
    out: dict[str, float] = {}
    try:
        for db in ("sl", "client"):
            server.query(f"CREATE DATABASE {db}")

        def streamlearn() -> int:
            sink = sl.write.to_influxdb(
                "reading", url=server.url, database="sl", tags=["site"], time="at"
            ).open(sl.Context())
            for i, b in enumerate(bs, 1):
                sink.write(b)
                if i % args.flush_every == 0:
                    sink.flush()
            sink.flush()
            return points.height

        def influx_client() -> int:
            from influxdb import InfluxDBClient

            client = InfluxDBClient("127.0.0.1", server.port, database="client")
            for i in range(0, len(bs), args.flush_every):
                dicts = [
                    {
                        "measurement": "reading",
                        "tags": {"site": r["site"]},
                        "fields": {"prediction": r["prediction"], "Temperature": r["Temperature"]},
                        "time": int(r["at"].timestamp() * 1000),
                    }
                    for b in bs[i : i + args.flush_every]
                    for r in b.data.iter_rows(named=True)
                ]
                client.write_points(dicts, time_precision="ms", batch_size=10_000)
            client.close()
            return points.height

        peers: list[tuple[str, Callable[[], int]]] = [("streamlearn", streamlearn)]
        try:
            import influxdb  # noqa: F401

            peers.append(("influx_client", influx_client))
        except ImportError:
            print("influxdb client not installed (pip install influxdb): no peer", file=sys.stderr)
        for name, fn in peers:
            out[name] = timed(fn)
            print(f"influxdb {name:<13} {out[name]:>12,.0f} points/s", file=sys.stderr)
        for db in ("sl", "client"):
            got = server.query('SELECT count("prediction") FROM "reading"', db=db)
            series = got["results"][0].get("series")
            if series:
                assert series[0]["values"][0][1] == points.height, (db, series)
    finally:
        server.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=10_000, help="rows per Batch")
    ap.add_argument("--flush-every", type=int, default=5, help="batches per flush")
    ap.add_argument(
        "--per-record-rows",
        type=int,
        default=20_000,
        help="rows the per-record INSERT loop runs on (it is slow)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    df = frame(args.records)
    pg = bench_postgres(df, args)
    influx = bench_influx(df, args)
    result = {
        "records": args.records,
        "batch": args.batch,
        "flush_every": args.flush_every,
        "postgres_rps": round(pg["streamlearn"]),
        "per_record_rps": round(pg["per_record"]),
        "per_record_rows": min(args.records, args.per_record_rows),
        "executemany_rps": round(pg["executemany"]),
        "copy_binary_rps": round(pg["copy_binary"]),
        "ratio_vs_per_record": round(pg["streamlearn"] / pg["per_record"], 2),
        "ratio_vs_executemany": round(pg["streamlearn"] / pg["executemany"], 2),
        "ratio_vs_copy_binary": round(pg["streamlearn"] / pg["copy_binary"], 2),
        "influx_pps": round(influx["streamlearn"]),
        "influx_client_pps": round(influx["influx_client"]) if "influx_client" in influx else None,
    }
    if result["influx_client_pps"]:
        result["influx_ratio_vs_client"] = round(influx["streamlearn"] / influx["influx_client"], 2)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:<24} {v}")


if __name__ == "__main__":
    main()
