"""Why a model could not be loaded (the previous version keeps scoring)."""

from __future__ import annotations

from streamlearn.core.errors import ConfigError


class ModelLoadError(ConfigError):
    """A model version could not be loaded or does not fit the stream (one line)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, for one-line reports.

    >>> first_line(ValueError("a\\nb"))
    'a'
    """
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


__all__ = ["ModelLoadError", "first_line"]
