"""Decoders: record bytes -> columns (``sl.decode.json()``, ``sl.decode.raw()``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streamlearn.decode.json_codec import DecodeJson, DecodeRaw


def json(schema: Mapping[str, Any] | None = None, *, required: Sequence[str] | None = None,
         time_format: str | None = None, name: str | None = None) -> DecodeJson:
    """Decode JSON object records; see :class:`~streamlearn.decode.json_codec.DecodeJson`."""
    return DecodeJson(schema=schema, required=required, time_format=time_format, name=name)


def raw(*, name: str | None = None) -> DecodeRaw:
    """Expose record keys and values as ``key``/``value`` binary columns."""
    return DecodeRaw(name=name)


__all__ = ["json", "raw"]
