"""Decoders: record bytes -> columns (``sl.decode.json(schema)``, ``sl.decode.raw()``).

Each verb is defined beside its operator (``json_decoder``, ``raw``); the bytes-level
codecs they use are in :mod:`streamlearn.formats`.
"""

from __future__ import annotations

from streamlearn.decode.json_decoder import DecodeJson, json
from streamlearn.decode.raw import DecodeRaw, raw

__all__ = ["DecodeJson", "DecodeRaw", "json", "raw"]
