"""Synthetic record generators, named for the data they make.

- :mod:`~streamlearn.datasets.synth.trades`: JSON trades whose bid/ask come from three
  Gaussian clusters (something true for online k-means to find).
- :mod:`~streamlearn.datasets.synth.late_labels`: events and their labels, each label
  arriving a random number of records after its event (delayed feedback).
- :mod:`~streamlearn.datasets.synth.susy`: a SUSY-like binary classification set (18
  features) whose Bayes accuracy is known exactly.
- :mod:`~streamlearn.datasets.synth.temperature`: a machine's temperature readings, from
  work regimes that follow a Markov chain (scenario S2).
"""

from __future__ import annotations

from streamlearn.datasets.synth.late_labels import LateLabels
from streamlearn.datasets.synth.susy import (
    SUSY_BAYES_ACCURACY,
    SUSY_FEATURES,
    SUSY_SCHEMA,
    generate_susy,
    generate_susy_frame,
    susy_posterior,
)
from streamlearn.datasets.synth.temperature import (
    REGIME_LEVELS,
    TEMPERATURE_SCHEMA,
    generate_temperature,
    generate_temperature_frame,
)
from streamlearn.datasets.synth.trades import (
    TRADE_CENTERS,
    TRADES_SCHEMA,
    generate_trades,
    generate_trades_frame,
)

__all__ = [
    "REGIME_LEVELS",
    "SUSY_BAYES_ACCURACY",
    "SUSY_FEATURES",
    "SUSY_SCHEMA",
    "TEMPERATURE_SCHEMA",
    "TRADES_SCHEMA",
    "TRADE_CENTERS",
    "LateLabels",
    "generate_susy",
    "generate_susy_frame",
    "generate_temperature",
    "generate_temperature_frame",
    "generate_trades",
    "generate_trades_frame",
    "susy_posterior",
]
