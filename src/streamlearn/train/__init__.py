"""Offline training jobs: ``sl.train``.

A job reads a bounded input (a DataFrame, a file, or a topic through
``sl.datasets.from_kafka``), trains, writes its figures and model to a directory, and
pushes the model to the registry for the stream to score with. ``streamlearn train`` is
the same job on the command line.

- :func:`regimes`: scenario S2. Work regimes of a signal by the elbow method and k-means,
  then a small perceptron that tells them apart, exported to ONNX.
- :mod:`~streamlearn.train.elbow`: the elbow curve and its bend, usable alone.

Examples
--------
>>> import streamlearn as sl
>>> sl.train.knee([2, 3, 4, 5], [50.0, 10.0, 8.0, 7.0])
3

The whole job (see :func:`regimes`)::

    report = sl.train.regimes("temperature.csv", column="Temperature", out="s2-model",
                              name="s2-regimes", kafka="127.0.0.1:9092")
    print(report.summary())
"""

from __future__ import annotations

from streamlearn.train.elbow import elbow_costs, knee
from streamlearn.train.regimes import RegimesReport, regimes

__all__ = ["RegimesReport", "elbow_costs", "knee", "regimes"]
