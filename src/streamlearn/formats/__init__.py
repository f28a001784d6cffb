"""Bytes <-> columns, as pure functions: no operator, no Kafka (``json``, ``times``).

Operators (``sl.decode``, ``sl.write``) and the learners' label decoding build on these.
"""

from __future__ import annotations

from streamlearn.formats.json import decode_values, encode_json
from streamlearn.formats.times import fast_iso_times, parse_times

__all__ = ["decode_values", "encode_json", "fast_iso_times", "parse_times"]
