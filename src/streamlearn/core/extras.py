"""Optional dependencies: imported when a feature is used, with the install hint if absent.

Heavy or special-purpose libraries (DuckDB for ``sl.sql``, the local broker, River,
ONNX Runtime...) are extras, so ``pip install streamlearn`` stays lean; using a feature
whose extra is missing is one clear line, not an ``ImportError`` traceback from deep inside.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from streamlearn.core.errors import ConfigError


class MissingExtraError(ConfigError, ImportError):
    """A feature needs an optional package that is not installed."""


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install.

    Examples
    --------
    >>> require("json", extra="none", feature="JSON").__name__
    'json'
    >>> try:
    ...     require("no_such_module_xyz", extra="sql", feature="sl.sql")
    ... except MissingExtraError as exc:
    ...     print(exc)
    sl.sql needs the optional package 'no_such_module_xyz': pip install 'streamlearn[sql]'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{feature} needs the optional package {module!r}: pip install 'streamlearn[{extra}]'"
        ) from exc
