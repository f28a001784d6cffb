"""The labels input of an online learner, as a pipeline (a source and its decoders).

Examples
--------
>>> import streamlearn as sl
>>> p = feedback_pipeline(sl.read.from_kafka("labels"))
>>> p.source.topics, [op.kind for op in p.operators]
(('labels',), ['decode.json'])
"""

from __future__ import annotations

from typing import Any

from streamlearn.core.errors import ConfigError
from streamlearn.core.pipeline import Pipeline, Source


def feedback_pipeline(feedback: Any) -> Pipeline:
    """The labels input as a pipeline: a source, then its decoders (``decode.json()`` when
    only a source is given)."""
    from streamlearn import decode

    if isinstance(feedback, Source):
        return Pipeline(source=feedback, operators=(decode.json(),))
    if isinstance(feedback, Pipeline) and feedback.source is not None:
        return feedback if feedback.operators else feedback | decode.json()
    raise ConfigError(
        "feedback must be a source such as sl.read.from_kafka('labels'), "
        "optionally followed by its decoder (| sl.decode.json({...}))"
    )


__all__ = ["feedback_pipeline"]
