"""Machine-learning operators and learners.

Examples
--------
>>> import streamlearn as sl
>>> sl.ml.sequential_k_means(["bid", "ask"], k=3).kind
'ml.sequential_k_means'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streamlearn.ml.kmeans import SequentialKMeans


def sequential_k_means(features: Sequence[str], **kwargs: Any) -> SequentialKMeans:
    """Online k-means of kdb Insights; see :class:`~streamlearn.ml.kmeans.SequentialKMeans`."""
    return SequentialKMeans(features=tuple(features), **kwargs)


__all__ = ["SequentialKMeans", "sequential_k_means"]
