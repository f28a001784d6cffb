"""What a push sends: a model (file, bytes or fitted estimator) as artifact bytes, its
signature and its training profile, checked by loading it the way a server will.

Examples
--------
>>> fmt, data, sig, prof = to_artifact(b"\\x08\\x07", format="onnx", signature=["x"],
...                                    check=False)
>>> fmt, sig.names, prof
('onnx', ('x',), {})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.core.extras import require
from streamlearn.registry.profile import compute_profile
from streamlearn.registry.records import FORMATS, RecordError, Signature

#: file suffixes that name a format (a ``.river`` file holds
#: :func:`streamlearn.formats.river.dump_river` JSON)
_SUFFIX = {".onnx": "onnx", ".skops": "skops", ".river": "river"}


def to_artifact(
    model: Any,
    *,
    format: str | None = None,
    signature: Any = None,
    profile: Any = None,
    check: bool = True,
) -> tuple[str, bytes, Signature, dict[str, Any]]:
    """``(format, bytes, signature, profile)`` for a push; see :meth:`Registry.push`."""
    if format is not None and format not in FORMATS:
        raise RecordError(f"unknown model format {format!r} (known: {', '.join(FORMATS)})")
    features = _feature_names(signature, profile, model)
    if isinstance(model, (str, Path)):
        path = Path(model)
        if not path.is_file():
            raise ConfigError(f"no model file {str(path)!r}")
        fmt = format or _SUFFIX.get(path.suffix.lower())
        if fmt is None:
            raise ConfigError(
                f"cannot tell the format of {path.name!r}: pass format= ({', '.join(FORMATS)})"
            )
        data = path.read_bytes()
    elif isinstance(model, (bytes, bytearray, memoryview)):
        if format is None:
            raise ConfigError(f"pushing bytes needs format= ({', '.join(FORMATS)})")
        fmt, data = format, bytes(model)
    elif type(model).__module__.split(".")[0] == "river":
        if features is None:
            raise ConfigError("pass signature=[feature names] to push a River model")
        if format not in (None, "river"):
            raise ConfigError(f"a River model is pushed as format 'river', not {format!r}")
        from streamlearn.formats.river import dump_river

        fmt, data = "river", dump_river(model)
    elif hasattr(model, "learn_batch") and hasattr(model, "snapshot"):
        if features is None:
            raise ConfigError("pass signature=[feature names] to push a streamlearn learner")
        fmt, data = learner_artifact(model, format, features)
    elif hasattr(model, "predict") and hasattr(model, "get_params"):
        if features is None:
            raise ConfigError(
                "pass signature=[feature names] (or profile=training frame) "
                "to push a scikit-learn estimator"
            )
        fmt = format or "onnx"
        data = _onnx_bytes(model, len(features)) if fmt == "onnx" else _skops_bytes(model)
    else:
        raise ConfigError(
            f"cannot push a {type(model).__name__}: give a .onnx/.skops path, "
            "bytes with format=, a fitted scikit-learn estimator or a River model"
        )
    if features is None and fmt == "onnx":
        features = _onnx_input_names(data)
    if features is None:
        raise ConfigError("pass signature=[feature names]: the model does not name its inputs")
    sig = (
        signature
        if isinstance(signature, Signature)
        else Signature.of(signature if isinstance(signature, Mapping) else features)
    )
    if check:
        from streamlearn.serve.loader import load_scorer

        scorer = load_scorer(fmt, data, sig)
        if not sig.outputs:
            sig = Signature(sig.features, tuple(scorer.outputs))
    prof = _profile(profile, list(sig.names))
    return fmt, data, sig, prof


def _feature_names(signature: Any, profile: Any, model: Any) -> list[str] | None:
    if isinstance(signature, Signature):
        return list(signature.names)
    if isinstance(signature, Mapping):
        return list(signature)
    if isinstance(signature, Sequence) and not isinstance(signature, str):
        return [str(s) for s in signature]
    if signature is not None:
        raise ConfigError("signature= must be feature names, {name: type} or a Signature")
    cols = getattr(profile, "columns", None)
    if cols is not None:
        return [str(c) for c in cols]
    names = getattr(model, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else None


def _profile(profile: Any, features: list[str]) -> dict[str, Any]:
    if profile is None:
        return {}
    if isinstance(profile, Mapping) and "features" in profile:
        return dict(profile)  # already a profile
    return compute_profile(
        profile,
        features
        if getattr(profile, "columns", None) is not None and set(features) <= set(profile.columns)
        else None,
    )


def _onnx_bytes(model: Any, n: int) -> bytes:
    skl2onnx = require("skl2onnx", extra="serve", feature="sl.registry.push (ONNX)")
    from sklearn.base import is_classifier

    options = {id(model): {"zipmap": False}} if is_classifier(model) else None
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if options is None and is_classifier(final):
        options = {id(final): {"zipmap": False}}
    try:
        onx = skl2onnx.to_onnx(
            model,
            np.zeros((1, n), dtype=np.float32),
            options=options,
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    except Exception as exc:
        raise ConfigError(
            f"skl2onnx cannot convert {type(model).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else exc!r} "
            "(push it with format='skops')"
        ) from None
    return onx.SerializeToString()


def learner_artifact(
    model: Any, format: str | None, features: Sequence[str] | None = None
) -> tuple[str, bytes]:
    """A streamlearn learner as its snapshot (format ``"streamlearn"``); learners that
    wrap a scikit-learn estimator go as ONNX of the fitted estimator, a
    ``RiverAdapter`` of an allow-listed model as ``"river"`` (its column indices written
    as the ``features`` names, which the scorer reads)."""
    from streamlearn.serve.learner import LEARNERS

    if type(model).__name__ in LEARNERS and format in (None, "streamlearn"):
        return "streamlearn", model.snapshot()
    river = getattr(model, "model_", None)
    if type(model).__name__ == "RiverAdapter" and river is not None and format in (None, "river"):
        from streamlearn.formats.river import dump_river

        if features is None or len(features) != model.n_features_in_:
            raise ConfigError(
                f"pushing a RiverAdapter needs its {model.n_features_in_} feature names"
            )
        return "river", dump_river(river, names=list(features))
    estimator = getattr(model, "estimator_", None)
    if estimator is not None and format in (None, "onnx"):
        n = int(model.n_features_in_)
        return "onnx", _onnx_bytes(estimator, n)
    raise ConfigError(
        f"cannot push a {type(model).__name__}: only {', '.join(LEARNERS)} (format "
        "'streamlearn'), fitted scikit-learn partial_fit learners (ONNX) and fitted "
        "RiverAdapters of allow-listed River models ('river') can be pushed"
    )


def _skops_bytes(model: Any) -> bytes:
    sio = require("skops.io", extra="serve", feature="sl.registry.push (skops)")
    return bytes(sio.dumps(model))


def _onnx_input_names(data: bytes) -> list[str] | None:
    """Per-feature inputs name the features; one block input names nothing."""
    onnx = require("onnx", extra="serve", feature="sl.registry.push (ONNX)")
    try:
        graph = onnx.load_from_string(data).graph
    except Exception:
        return None
    inits = {i.name for i in graph.initializer}
    names = [i.name for i in graph.input if i.name not in inits]
    return names if len(names) > 1 else None


__all__ = ["learner_artifact", "to_artifact"]
