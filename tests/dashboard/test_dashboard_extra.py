"""Without the dashboard extra the board is one line naming the extra, never a traceback.

``pip install -e ".[demo]" && streamlearn demo`` once ended in ``ModuleNotFoundError:
No module named 'starlette'``: the demo's extra did not hold the board's packages and the
board imported Starlette before it checked for it. A module set to ``None`` in
``sys.modules`` fails to import, as a package that is not installed does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import tomllib
from rich.console import Console

from streamlearn.core.extras import MissingExtraError
from streamlearn.kafka.config import KafkaConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_starlette(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "starlette", None)
    monkeypatch.delitem(sys.modules, "streamlearn.dashboard.app", raising=False)


def test_the_board_names_its_extra(no_starlette: None) -> None:
    from streamlearn.dashboard import Dashboard

    with pytest.raises(MissingExtraError, match=r"pip install 'streamlearn\[dashboard\]'"):
        Dashboard(KafkaConfig(bootstrap_servers="127.0.0.1:9"), "s1")


def test_the_demo_goes_on_without_a_board(no_starlette: None) -> None:
    from streamlearn.cli.demo import _start_board

    console = Console(record=True, width=200)
    config = KafkaConfig(bootstrap_servers="127.0.0.1:9")
    assert _start_board(config, "s1", object(), console, port=0) is None
    said = console.export_text()
    assert "No live board" in said and "streamlearn[dashboard]" in said


def test_the_demo_extra_holds_what_the_demo_uses() -> None:
    """The board (dashboard), the S2 scenario's training (serve: ONNX; plot: the PNGs),
    sl.sql (sql) and the local broker (local)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    demo = extras["demo"][0]
    for extra in ("sql", "local", "dashboard", "serve", "plot"):
        assert extra in demo.split("[")[1].rstrip("]").split(","), extra
