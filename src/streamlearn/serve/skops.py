"""scikit-learn models saved with skops, loaded with an allow-list of trusted types.

Bytes from a topic are never unpickled: skops reads its own format and refuses any type
it does not trust. :data:`DEFAULT_TRUSTED` adds the scikit-learn internals that skops
does not trust by default but that hold only numbers (tree structures); anything else a
file names (a custom function or class, ``builtins.eval``...) must be listed by the user
in ``trusted=`` or the load is refused, naming the types.

Examples
--------
::

    scorer = SkopsScorer(skops.io.dumps(model), Signature.of(["x1", "x2"]),
                         trusted=("mypackage.MyTransformer",))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from streamlearn.core.extras import require
from streamlearn.registry.records import Signature
from streamlearn.serve.errors import ModelLoadError, first_line

#: scikit-learn types that skops leaves untrusted but that hold only arrays and numbers
DEFAULT_TRUSTED = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


class SkopsScorer:
    """A scikit-learn estimator read from skops bytes; scores with ``predict``."""

    format = "skops"

    def __init__(self, data: bytes, signature: Signature, *, trusted: Sequence[str] = ()) -> None:
        sio = require("skops.io", extra="serve", feature="sl.ml.predict (skops)")
        allowed = set(DEFAULT_TRUSTED) | set(trusted)
        try:
            untrusted = sio.get_untrusted_types(data=data)
        except Exception as exc:
            raise ModelLoadError(f"not a skops file: {first_line(exc)}") from None
        refused = sorted(set(untrusted) - allowed)
        if refused:
            raise ModelLoadError(
                f"skops file names untrusted types {refused}; list them in "
                "trusted=[...] only if you trust their code"
            )
        try:
            self.model = sio.loads(data, trusted=sorted(set(untrusted)))
        except Exception as exc:
            raise ModelLoadError(f"skops file could not be loaded: {first_line(exc)}") from None
        if not hasattr(self.model, "predict"):
            raise ModelLoadError(
                f"skops file holds a {type(self.model).__name__}, which has no predict()"
            )
        n_in = getattr(self.model, "n_features_in_", None)
        if n_in is not None and n_in != len(signature.names):
            raise ModelLoadError(
                f"the model takes {n_in} features, the signature lists "
                f"{len(signature.names)} {list(signature.names)}"
            )
        self.signature = signature
        self.outputs = ("prediction",)
        self._proba = getattr(self.model, "predict_proba", None)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        pred = np.asarray(self.model.predict(X))
        return pred, None


__all__ = ["DEFAULT_TRUSTED", "SkopsScorer"]
