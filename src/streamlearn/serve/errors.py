"""Why a model could not be loaded (the previous version keeps scoring).

The classes live in :mod:`streamlearn.core.errors` (the codecs of
:mod:`streamlearn.formats` raise them too); this module keeps the names serving code and
users import.
"""

from __future__ import annotations

from streamlearn.core.errors import ModelLoadError, first_line

__all__ = ["ModelLoadError", "first_line"]
