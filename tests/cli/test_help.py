"""``--help`` of every command as a terminal shows it: prose paragraphs wrap at the
terminal's width, never at the docstring's line breaks, and examples keep their lines."""

from __future__ import annotations

import inspect
import itertools
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from streamlearn.cli.help import reflow_help
from streamlearn.cli.main import app

WIDTH = 100
runner = CliRunner()


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        out += _paths(sub, (*prefix, name))
    return out


ROOT = typer.main.get_command(app)
COMMANDS = _paths(ROOT)


def _command(path: tuple[str, ...]) -> Any:
    cmd = ROOT
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    return cmd


def _help(path: tuple[str, ...], width: int = WIDTH) -> list[str]:
    """The lines of the help text proper: after ``Usage:``, before the first panel."""
    done = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(width)})
    assert done.exit_code == 0, done.output
    lines = [line.rstrip() for line in done.output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("Usage:")) + 1
    end = next((i for i, line in enumerate(lines) if line.startswith("╭")), len(lines))
    return lines[start:end]


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def test_every_command_is_checked():
    names = {" ".join(p) for p in COMMANDS}
    for name in ("", "train", "run", "models push", "dashboard", "broker start", "demo"):
        assert name in names, name
    assert {"produce", "compare", "models", "broker"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "streamlearn")
def test_prose_wraps_at_the_terminal_and_examples_stay_verbatim(path):
    blocks = _blocks(_help(path))
    assert blocks, "no help text"
    source = inspect.cleandoc(_command(path).help or "")
    examples = [line for line in source.splitlines() if line[:1].isspace()]
    shown_examples = []
    for block in blocks:
        if all(line.startswith("  ") for line in block):  # indented beyond the margin
            shown_examples += [line[1:] for line in block]
            continue
        assert all(not line.startswith("  ") for line in block), block
        for line, following in itertools.pairwise(block):
            next_word = following.split()[0]
            # a line ends early only when the next word would not have fitted
            assert len(line) + 1 + len(next_word) > WIDTH - 4, (line, following)
    assert shown_examples == examples


def test_the_produce_sentence_reads_on_one_line():
    text = _help(("produce",), width=200)
    assert (
        " Prints the exact number of records the broker acknowledged; exits 1 with the "
        "reason when any record was not delivered." in text
    )
    assert "     streamlearn produce trades --generator trades --records 200000" in text


@pytest.mark.parametrize("group", [(), ("models",), ("broker",)], ids=" ".join)
def test_command_lists_show_each_summary_on_one_line(group):
    done = runner.invoke(app, [*group, "--help"], env={"COLUMNS": "200"})
    rows = [line for line in done.output.splitlines() if line.startswith("│ ")]
    for name, sub in (_command(group).commands or {}).items():
        summary = reflow_help(sub.help or "").split("\n\n")[0]
        row = next(r for r in rows if r.split()[1] == name)
        assert summary in row, (summary, row)


def test_reflow_keeps_indented_paragraphs_and_joins_the_others():
    text = """First line
    goes on.

    A paragraph
    on three
    lines.

    Examples:

        streamlearn a --x 1

        streamlearn b
          --y 2
    """
    assert reflow_help(text).split("\n\n") == [
        "First line goes on.",
        "A paragraph on three lines.",
        "Examples:",
        "    streamlearn a --x 1",
        "    streamlearn b\n      --y 2",
    ]
