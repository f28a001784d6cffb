"""``sl.decode.raw``: the record bytes themselves, as columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.operator import Context, Operator, Step


def raw(*, name: str | None = None) -> DecodeRaw:
    """Expose each record's key and value bytes as ``key``/``value`` binary columns.

    For formats streamlearn does not decode itself: follow it with :func:`streamlearn.map`
    and Polars' binary functions, or with a decoder that reads a ``value`` column
    (``sl.decode.json`` does).

    Parameters
    ----------
    name
        Step name (default: derived from the operator kind).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> sl.decode.raw().apply(pl.DataFrame({"x": [1]})).columns
    ['key', 'value']
    """
    return DecodeRaw(name=name)


@dataclass(frozen=True)
class DecodeRaw(Operator):
    """The operator :func:`raw` builds."""

    kind: str = field(default="decode.raw", init=False, repr=False)

    def build(self) -> Step:
        return _DecodeRawStep()


class _DecodeRawStep(Step):
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        df = pl.DataFrame(
            {
                "key": pl.Series(batch.keys(), dtype=pl.Binary),
                "value": pl.Series(batch.values(), dtype=pl.Binary),
            }
        )
        return batch.with_data(df)


__all__ = ["DecodeRaw", "raw"]
