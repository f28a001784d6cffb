"""``streamlearn run``: finding the pipeline, banner and summary (issue 8, items 12, 13)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cli._run import SRC, lines
from tests.kafka_helpers import produce

pytestmark = pytest.mark.broker


def test_run_finds_a_module_in_the_current_directory_and_prints_banner_and_summary(
    kafka, topic_factory, tmp_path
):
    topic = topic_factory()
    produce(kafka, topic, [b'{"x": 1.0}', b'{"x": 2.0}', b"not json"])
    work = tmp_path / "work"
    work.mkdir()
    (work / "my_pipelines.py").write_text(
        "import streamlearn as sl\n"
        f"pipeline = sl.read.from_kafka({topic!r}) | sl.decode.json({{'x': 'float'}}) "
        f"| sl.write.to_kafka({topic + '-out'!r})\n"
    )
    # the installed `streamlearn` script: its own folder, not the current one, is on sys.path
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "streamlearn").write_text(
        "import sys\nfrom streamlearn.cli.main import main\nsys.exit(main())\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            str(bin_dir / "streamlearn"),
            "run",
            "my_pipelines:pipeline",
            "--name",
            f"run-{topic}",
            "--max-records",
            "3",
            "-b",
            kafka.bootstrap_servers,
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SRC, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    out = lines(done.stdout)
    assert out[0].startswith(f"run-{topic}: {topic} on {kafka.bootstrap_servers}")
    assert f"group run-{topic}" in out[0]
    assert out[-1].startswith("done: 3 in, 2 out, 0 filtered, 1 dead-lettered")
