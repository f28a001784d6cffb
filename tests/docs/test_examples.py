"""Every ```python block of README.md and docs/*.md runs, and every file they cite exists.

Blocks of one page run in order in one namespace (later blocks use names from earlier
ones). A block after a ``<!-- needs-broker -->`` comment runs against the session broker:
``127.0.0.1:9092`` is replaced by its address and the topics the examples read are filled
first; ``needs-postgres`` and ``needs-influxdb`` blocks run against the servers the sink
tests use (tests/write/servers.py). No block is skipped silently: a missing server is a
visible skip, a failure under ``CI``; README.md and operators.md must have blocks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?:<!--\s*needs-([a-z]+)\s*-->\s*\n)?```python\n(.*?)```", re.S)
#: what a marked block needs, and how it is given: see _service()
SERVICES = ("broker", "postgres", "influxdb")
#: a path in the repository as the docs write it: `src/...`, `tests/...`, `docs/...`
_PATH = re.compile(
    r"(?<![\w/.-])((?:src|tests|docs|bench)/[\w./-]+\.(?:py|md|toml)|"
    r"[A-Z][A-Z_]+\.md)"
)


def _blocks(page: Path) -> list[tuple[str | None, str]]:
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(page.read_text())]


def _unavailable(reason: str) -> None:
    # as tests/write/conftest.py: in CI a missing server fails; elsewhere a visible skip
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _service(need: str, code: str, request: pytest.FixtureRequest) -> str:
    """Give a marked block its service and return the code pointed at it."""
    if need == "broker":
        kafka = request.getfixturevalue("kafka")
        _fill_topics(kafka)
        # the session broker's own settings (fast group joins, as `streamlearn broker
        # start` users get them): the test puts them in the block's namespace
        return code.replace('"127.0.0.1:9092"', "_docs_kafka")
    if need == "postgres":
        from tests.write.servers import PG_DSN

        try:
            import psycopg

            psycopg.connect(PG_DSN).close()
        except Exception as exc:
            _unavailable(f"PostgreSQL for the docs example: {exc}")
        return code
    if need == "influxdb":
        from tests.write.servers import Influxd

        server = Influxd()
        try:
            server.start()
        except RuntimeError as exc:
            _unavailable(str(exc))
        request.addfinalizer(server.stop)
        server.query('CREATE DATABASE "iot"')
        return code.replace('"http://127.0.0.1:8086"', repr(server.url))
    raise AssertionError(f"unknown marker needs-{need}: one of {SERVICES}")


def _fill_topics(kafka) -> None:
    from streamlearn.datasets.synth.late_labels import LateLabels
    from streamlearn.datasets.synth.temperature import generate_temperature
    from streamlearn.datasets.synth.trades import generate_trades
    from streamlearn.kafka.admin import ensure_topics, partition_count
    from tests.kafka_helpers import produce

    if partition_count(kafka, "trades") is not None:
        return  # filled by an earlier page
    ensure_topics(
        kafka,
        {"trades": 1, "events": 1, "labels": 1, "scores": 1, "houses": 1, "example_1": 1},
    )
    # S2's readings (docs/training.md); the last one alone, so that Tansu's high
    # watermark (BROKERS.md) is the log end and end="now" reads all 50,000
    readings = generate_temperature(50_000)
    produce(kafka, "example_1", readings[:-1])
    produce(kafka, "example_1", readings[-1:])
    produce(
        kafka,
        "houses",
        [
            b'{"id": %d, "rooms": 3, "area": 80.5, "age": 20, "distance": 4.2}' % i
            for i in range(20)
        ],
    )
    produce(kafka, "trades", generate_trades(2_000))
    stream = LateLabels(n_features=2, classes=(0, 1), seed=5).take(100)
    for kind, topic in (("event", "events"), ("label", "labels")):
        recs = [(k, v) for kind_, k, v in stream if kind_ == kind]
        produce(kafka, topic, [v for _, v in recs], [k for k, _ in recs])
    scores = [
        (k, v.replace(b'"y":0', b'"y":0.5').replace(b'"y":1', b'"y":1.5'))
        for kind_, k, v in stream
        if kind_ == "label"
    ]
    produce(kafka, "scores", [v for _, v in scores], [k for k, _ in scores])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_runs(page, request, monkeypatch):
    import streamlearn

    blocks = _blocks(page)
    if page.name in ("README.md", "operators.md"):  # the pages that promise examples
        assert blocks, f"{page.name} has no python block"
    real_run = streamlearn.run

    def bounded(*args, **kwargs):  # the README's examples run until stopped: stop them
        if "max_records" not in kwargs:
            kwargs.setdefault("idle_timeout", 5.0)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(streamlearn, "run", bounded)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, (need, code) in enumerate(blocks):
        if "sl.run(" in code:
            assert need == "broker", f"{page.name} block {i + 1} calls sl.run: mark it needs-broker"
        if need is not None:
            code = _service(need, code, request)
        if need == "broker":
            namespace["_docs_kafka"] = request.getfixturevalue("kafka")
        try:
            exec(compile(code, f"{page.name} block {i + 1}", "exec"), namespace)
        except Exception as exc:  # the failure message is the point
            pytest.fail(f"{page.name} block {i + 1} failed: {type(exc).__name__}: {exc}\n{code}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_cite_only_files_in_the_repository(page):
    cited = set(_PATH.findall(page.read_text()))
    missing = sorted(p for p in cited if not (ROOT / p).exists())
    assert not missing, f"{page.name} cites files that are not in the repository: {missing}"
