"""``streamlearn produce`` (issue 8, items 7 and 12, and --key from item 13)."""

from __future__ import annotations

import uuid

import pytest

import streamlearn as sl
from streamlearn.datasets.synth.susy import generate_susy
from streamlearn.kafka.admin import partition_count
from tests.cli._run import cli, lines
from tests.kafka_helpers import consume_all

pytestmark = pytest.mark.broker


def test_produce_reports_the_exact_count_and_keys_records(kafka, topic_factory):
    topic = topic_factory()
    done = cli(
        "produce",
        topic,
        "--generator",
        "late-labels-events",
        "--records",
        "25",
        "--key",
        "event_id",
        "-b",
        kafka.bootstrap_servers,
    )
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[-1] == f"produced 25 records to {topic}"
    got = consume_all(kafka, topic, expected=25)
    assert len(got) == 25 and got[0].key() == b"e0"


def test_the_susy_generator_fills_a_topic_with_exactly_the_records_asked(kafka):
    topic = f"susy-test-{uuid.uuid4().hex[:10]}"  # created by the command, 2 partitions
    done = cli(
        "produce",
        topic,
        "--generator",
        "susy",
        "--records",
        "3000",
        "--seed",
        "2",
        "--partitions",
        "2",
        "-b",
        kafka.bootstrap_servers,
    )
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[-1] == f"produced 3,000 records to {topic}"
    assert partition_count(kafka, topic) == 2
    got = consume_all(kafka, topic, expected=3000)
    assert len(got) == 3000  # read back, not the watermarks (wrong on Tansu)
    assert sorted(m.value() for m in got) == sorted(generate_susy(3000, seed=2))


def test_records_not_delivered_fail_the_command_with_the_count(kafka, topic_factory):
    topic = topic_factory()
    # one millisecond to be delivered: most records time out in the local queue
    done = cli(
        "produce",
        topic,
        "--generator",
        "trades",
        "--records",
        "200000",
        "-X",
        "linger.ms=0",
        "-X",
        "message.timeout.ms=1",
        "-b",
        kafka.bootstrap_servers,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    last = lines(done.stderr)[-1]
    assert last.startswith("error: delivered ") and "of 200,000 records" in last, last
    assert "not delivered" in last and "produced" not in done.stdout


def test_a_malformed_csv_is_one_line_naming_the_line(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("a,b\n1,2\n3,4,5\n")
    done = cli("produce", "t", "--file", str(f), "-b", "127.0.0.1:1")
    assert done.returncode == 2
    assert lines(done.stderr) == [f"error: {f} line 3: 3 fields, the header has 2 (a, b)"]


def test_one_bad_cell_dead_letters_one_row_not_the_column(kafka, topic_factory, tmp_path):
    topic = topic_factory()
    f = tmp_path / "trades.csv"
    rows = [f"{100 + i},{101 + i}" for i in range(20)]
    rows[7] = "high,108"
    f.write_text("bid,ask\n" + "\n".join(rows) + "\n")
    done = cli("produce", topic, "--file", str(f), "-b", kafka.bootstrap_servers)
    assert done.returncode == 0, done.stderr
    assert "line 9: column 'bid': 'high' is not a float" in done.stderr
    stats = sl.run(
        sl.read.from_kafka(topic)
        | sl.decode.json({"bid": "float", "ask": "float"})
        | sl.write.to_kafka(f"{topic}-out"),
        kafka=kafka,
        name=f"csv-{topic}",
        max_records=20,
    )
    assert stats.dead_lettered == 1 and stats.records_out == 19
