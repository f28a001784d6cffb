"""Command help as a terminal shows it: prose paragraphs reflowed, examples verbatim.

Docstrings are wrapped at the source's line length, and Typer's Rich help keeps those
line breaks inside a paragraph (the text then breaks mid-sentence at the source's width
and again at the terminal's). Joining each prose paragraph into one line lets Rich wrap
it to the terminal; indented paragraphs (examples) keep their lines. Done once for the
whole command tree (:func:`reflow_tree`) so every command, present and future, follows
the same rule and docstrings stay plain, readable Python.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

__all__ = ["reflow_help", "reflow_tree"]

_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def reflow_help(text: str) -> str:
    """``text`` (a docstring) with each unindented paragraph joined into one line.

    A paragraph whose first line is indented (an example, a command line) is kept as
    it is. Paragraphs stay separated by one blank line.

    >>> print(reflow_help('''Summary
    ...     on two lines.
    ...
    ...     Prose that
    ...     wraps here.
    ...
    ...     Example:
    ...
    ...         streamlearn produce t
    ...           --records 10
    ...     '''))
    Summary on two lines.
    <BLANKLINE>
    Prose that wraps here.
    <BLANKLINE>
    Example:
    <BLANKLINE>
        streamlearn produce t
          --records 10
    """
    paragraphs = _BLANK_LINES.split(inspect.cleandoc(text))
    out = []
    for para in paragraphs:
        if not para.strip():
            continue
        if para[:1].isspace():
            out.append(para.rstrip())
        else:
            out.append(" ".join(line.strip() for line in para.splitlines()))
    return "\n\n".join(out)


def reflow_tree(command: Any) -> None:
    """Reflow the help of ``command`` (a Click command or group) and of everything under
    it, in place."""
    if command.help:
        command.help = reflow_help(command.help)
    for sub in (getattr(command, "commands", None) or {}).values():
        reflow_tree(sub)
