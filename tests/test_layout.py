"""The package's shape, checked: what the root exports, what the engine-free layers
import, how big modules grow (docs/architecture.md explains the rules)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import streamlearn as sl

SRC = Path(sl.__file__).parent


def test_root_all_is_sorted_and_resolves():
    assert sl.__all__ == sorted(sl.__all__)
    for name in sl.__all__:
        assert getattr(sl, name) is not None, name


def test_building_and_applying_a_pipeline_loads_no_kafka_client():
    code = (
        "import sys, polars as pl, streamlearn as sl\n"
        "p = (sl.decode.json({'x': 'float'}) | sl.filter(pl.col('x') > 0)\n"
        "     | sl.ml.sequential_k_means(['x'], k=1, buffer_size=2)\n"
        "     | sl.write.to_kafka('out'))\n"
        "sl.read.from_kafka('in') | p\n"
        "p.apply(pl.DataFrame({'value': [b'{\"x\": 1}', b'{\"x\": 2}', b'{\"x\": 3}']}))\n"
        "print(sorted(m for m in ('confluent_kafka', 'duckdb') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _sources(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in (SRC / pkg).rglob("*.py")]


def test_engine_free_layers_import_no_kafka_client():
    for path in _sources("core", "ops", "ml", "read", "decode", "window"):
        assert "confluent_kafka" not in path.read_text(), path


def test_runtime_does_not_special_case_io_classes():
    pattern = re.compile(r"isinstance\([^)]*(ToKafka|FromKafka)")
    for path in _sources("runtime"):
        assert not pattern.search(path.read_text()), path


def test_no_source_module_over_400_lines():
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long
