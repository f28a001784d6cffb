"""Data sets: Kafka topics as training sets, and the synthetic generators.

- :func:`from_kafka` / :func:`from_slice`: a topic (or a saved slice of one) as a
  dataset for scikit-learn, PyTorch and Keras (:mod:`streamlearn.datasets.kafka`);
  bounded datasets read the same records every epoch, group datasets read what is new.
- ``streamlearn.datasets.synth``: generators that write records as they would arrive on
  a topic; the demo, ``streamlearn produce --generator``, the tests and the benchmarks
  all draw from them, so they see the same data.

Importing this package loads no Kafka client (each read makes its own).
"""

from __future__ import annotations

from streamlearn.datasets import synth
from streamlearn.datasets.kafka import KafkaDataset, from_kafka, from_slice
from streamlearn.datasets.report import ReadReport
from streamlearn.datasets.slice import DatasetSlice, PartitionRange

__all__ = [
    "DatasetSlice",
    "KafkaDataset",
    "PartitionRange",
    "ReadReport",
    "from_kafka",
    "from_slice",
    "synth",
]
