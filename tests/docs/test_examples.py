"""Every ```python block of README.md and docs/*.md runs, and every file they cite exists.

Blocks of one page run in order in one namespace (later blocks use names from earlier
ones). A block after a ``<!-- needs-broker -->`` comment runs against the session broker:
``127.0.0.1:9092`` is replaced by its address and the topics the examples read are filled
first. No block is skipped: a page without a runnable block fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(<!--\s*needs-broker\s*-->\s*\n)?```python\n(.*?)```", re.S)
#: a path in the repository as the docs write it: `src/...`, `tests/...`, `docs/...`
_PATH = re.compile(r"(?<![\w/.-])((?:src|tests|docs|bench)/[\w./-]+\.(?:py|md|toml)|"
                   r"[A-Z][A-Z_]+\.md)")


def _blocks(page: Path) -> list[tuple[bool, str]]:
    return [(bool(m.group(1)), m.group(2)) for m in _BLOCK.finditer(page.read_text())]


def _fill_topics(kafka) -> None:
    from streamlearn.datasets.synth.late_labels import LateLabels
    from streamlearn.datasets.synth.trades import generate_trades
    from streamlearn.kafka.admin import ensure_topics, partition_count
    from tests.kafka_helpers import produce

    if partition_count(kafka, "trades") is not None:
        return  # filled by an earlier page
    ensure_topics(kafka, {"trades": 1, "events": 1, "labels": 1, "scores": 1})
    produce(kafka, "trades", generate_trades(2_000))
    stream = LateLabels(n_features=2, classes=(0, 1), seed=5).take(100)
    for kind, topic in (("event", "events"), ("label", "labels")):
        recs = [(k, v) for kind_, k, v in stream if kind_ == kind]
        produce(kafka, topic, [v for _, v in recs], [k for k, _ in recs])
    scores = [(k, v.replace(b'"y":0', b'"y":0.5').replace(b'"y":1', b'"y":1.5'))
              for kind_, k, v in stream if kind_ == "label"]
    produce(kafka, "scores", [v for _, v in scores], [k for k, _ in scores])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_runs(page, request, monkeypatch):
    import streamlearn

    blocks = _blocks(page)
    assert blocks or page.name == "architecture.md", f"{page.name} has no python block"
    real_run = streamlearn.run

    def bounded(*args, **kwargs):  # the README's examples run until stopped: stop them
        if "max_records" not in kwargs:
            kwargs.setdefault("idle_timeout", 5.0)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(streamlearn, "run", bounded)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, (needs_broker, code) in enumerate(blocks):
        if needs_broker or "sl.run(" in code:
            assert needs_broker, f"{page.name} block {i + 1} calls sl.run: mark it needs-broker"
            kafka = request.getfixturevalue("kafka")
            _fill_topics(kafka)
            code = code.replace('"127.0.0.1:9092"', repr(kafka.bootstrap_servers))
        try:
            exec(compile(code, f"{page.name} block {i + 1}", "exec"), namespace)
        except Exception as exc:  # the failure message is the point
            pytest.fail(f"{page.name} block {i + 1} failed: {type(exc).__name__}: {exc}\n{code}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_cite_only_files_in_the_repository(page):
    cited = set(_PATH.findall(page.read_text()))
    missing = sorted(p for p in cited if not (ROOT / p).exists())
    assert not missing, f"{page.name} cites files that are not in the repository: {missing}"
