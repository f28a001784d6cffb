"""The PNGs of a training job: the elbow curve and the confusion matrix.

matplotlib is the ``plot`` extra, drawn with the Agg backend (files only, no display:
the job runs on servers and in CI). Each function writes one PNG and returns its path.

Examples
--------
::

    elbow_png({2: 90.0, 3: 12.0, 4: 10.0}, chosen=3, path="out/elbow.png")
    confusion_png([[50, 1], [0, 49]], path="out/confusion.png", accuracy=0.99)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from streamlearn.core.extras import require

__all__ = ["confusion_png", "elbow_png"]


def _pyplot() -> Any:
    matplotlib = require("matplotlib", extra="plot", feature="the training plots")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def elbow_png(
    costs: Mapping[int, float], *, chosen: int, path: str | Path, title: str = "Elbow method"
) -> Path:
    """The k-means cost against k, with the chosen k marked."""
    plt = _pyplot()
    ks = sorted(costs)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    try:
        ax.plot(ks, [costs[k] for k in ks], "o-", color="#1f77b4", label="k-means cost")
        if chosen in costs:
            ax.plot([chosen], [costs[chosen]], "o", ms=14, mfc="none", mec="#d62728", mew=2)
            ax.annotate(
                f"k = {chosen}",
                (chosen, costs[chosen]),
                xytext=(18, 18),
                textcoords="offset points",
                color="#d62728",
                fontweight="bold",
            )
        ax.set_xticks(ks)
        ax.set_xlabel("number of clusters k")
        ax.set_ylabel("cost (sum of squared distances)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return out


def confusion_png(
    matrix: Sequence[Sequence[int]] | np.ndarray,
    *,
    path: str | Path,
    accuracy: float | None = None,
    labels: Sequence[Any] | None = None,
) -> Path:
    """A confusion matrix (rows: true label, columns: predicted) with the counts."""
    plt = _pyplot()
    m = np.asarray(matrix)
    names = list(labels) if labels is not None else list(range(len(m)))
    fig, ax = plt.subplots(figsize=(5.5, 4.8), dpi=100)
    try:
        im = ax.imshow(m, cmap="Blues")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        high = m.max() / 2 if m.size else 0
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(
                    j,
                    i,
                    f"{m[i, j]:,}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if m[i, j] > high else "black",
                )
        ax.set_xticks(range(len(names)), [str(n) for n in names])
        ax.set_yticks(range(len(names)), [str(n) for n in names])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true (k-means label)")
        title = "Confusion matrix (test set)"
        ax.set_title(title if accuracy is None else f"{title}: accuracy {accuracy:.4f}")
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return out
