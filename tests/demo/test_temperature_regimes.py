"""``streamlearn demo --scenario temperature-regimes`` (S2): the offline job pushes the
model to the demo broker's registry, the stream is scored with it."""

from __future__ import annotations

import json

from tests.cli._run import cli


def test_the_s2_demo_trains_pushes_and_scores_every_reading():
    done = cli("demo", "--scenario", "s2", "--records", "3000", "--json", timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["records_in"] == 3000
    # every reading scored or, for the few malformed ones mixed in, dead-lettered
    assert result["records_out"] + result["dead_lettered"] == 3000
    assert result["dead_lettered"] < 30
    assert result["model_version"] == 1 and result["k"] == 6 and result["accuracy"] >= 0.97
    assert [round(c) for c in result["centres"]] == [43, 48, 53, 58, 63, 68]
    assert result["topics"] == {"in": "example_1", "out": "example_2"}
    assert "Connection refused" not in done.stderr
