"""Run the ``streamlearn`` command in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli(
    *args: str, timeout: float = 120, cwd: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "200", **(env or {})}
    full_env.pop("STREAMLEARN_DEBUG", None) if "STREAMLEARN_DEBUG" not in (env or {}) else None
    return subprocess.run(
        [sys.executable, "-m", "streamlearn.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=full_env,
    )


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]
