"""scikit-learn as a compute kernel: its warnings silenced where they are noise."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_sklearn() -> Iterator[None]:
    """Silence scikit-learn's FutureWarning / DeprecationWarning noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield
