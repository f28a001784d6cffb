from dataclasses import dataclass, field

import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import SideInput, Step


def test_pipe_composes_and_names_steps_stably():
    p = sl.read.from_kafka("in") | sl.filter(pl.col("x") > 0) | sl.write.to_kafka("out")
    assert p.source.topics == ("in",)
    assert p.step_names() == ["0-filter", "1-write.to_kafka"]


def test_source_only_at_the_start():
    with pytest.raises(ConfigError):
        sl.filter(pl.col("x") > 0) | sl.read.from_kafka("in")


def test_duplicate_step_names_are_refused():
    p = sl.filter(pl.col("x") > 0, name="f") | sl.filter(pl.col("x") > 1, name="f")
    with pytest.raises(ConfigError):
        p.step_names()


def test_apply_in_batches_equals_apply_whole():
    df = pl.DataFrame({"x": list(range(10))})
    p = sl.map({"y": pl.col("x") * 2}) | sl.filter(pl.col("y") % 3 == 0)
    assert p.apply(df).equals(p.apply(df, batch_size=3))


def test_chain_counts_rows_removed():
    ctx = sl.Context()
    p = sl.decode.json({"x": "int"}) | sl.filter(pl.col("x") > 1)
    chain = p.build()
    raw = pl.DataFrame({"value": [b'{"x": 1}', b'{"x": 2}', b"bad"]})
    out = chain.run_frames([sl.Batch.from_frame(raw)], ctx)
    assert sum(b.height for b in out) == 1
    assert ctx.dead_lettered == 1
    assert chain.rows_removed - ctx.dead_lettered == 1  # the filtered row


@dataclass(frozen=True)
class _Rates(sl.Operator):
    """Adds ``column`` from a ``{"sym", "rate"}`` table read from ``table`` (``mode``)."""

    table: str = "rates"
    column: str = "rate"
    mode: str = "broadcast"
    kind: str = field(default="rates", init=False, repr=False)

    def inputs(self) -> tuple[SideInput, ...]:
        decode = sl.read.from_kafka(self.table) | sl.decode.json({"sym": "string", "rate": "float"})
        return (SideInput("table", decode, mode=self.mode),)

    def build(self) -> Step:
        return _RatesStep(self.column)


class _RatesStep(Step):
    def __init__(self, column: str) -> None:
        self.column, self.rates = column, {}

    def process_side(self, port, batch, ctx):
        self.rates.update(zip(batch.data["sym"], batch.data["rate"], strict=True))

    def process(self, batch, ctx):
        rate = batch.data["sym"].replace_strict(self.rates, default=None, return_dtype=pl.Float64)
        return batch.with_data(batch.data.with_columns(rate.alias(self.column)))


def test_a_broadcast_topic_may_feed_several_steps():
    p = _Rates(column="a") | sl.map({"x": pl.lit(1)}) | _Rates(column="b")
    assert [r.step for r in p.routes()["rates"]] == [0, 2]
    table = pl.DataFrame({"value": [b'{"sym": "AB", "rate": 2.0}']})
    chain = p.build()
    ctx = sl.Context()
    chain.push_side("rates", sl.Batch.from_frame(table), ctx)
    got = chain.push(sl.Batch.from_frame(pl.DataFrame({"sym": ["AB", "CD"]})), ctx)
    assert got.data["a"].to_list() == got.data["b"].to_list() == [2.0, None]
    assert chain.rows_in == [3, 2, 3]  # each reader counted the side record once


def test_a_copartitioned_topic_or_the_input_is_read_by_one_step_only():
    with pytest.raises(ConfigError, match="read twice"):
        (_Rates(mode="copartitioned") | _Rates(column="b")).routes()
    with pytest.raises(ConfigError, match="both the pipeline's input and a side input"):
        (sl.read.from_kafka("rates") | _Rates()).routes()


def test_a_broadcast_topic_may_feed_several_steps_any_other_topic_once():
    from dataclasses import dataclass

    from streamlearn.core.operator import Operator, SideInput, StatelessStep

    class Echo(StatelessStep):
        def process(self, batch, ctx):
            return batch

        def process_side(self, port, batch, ctx):
            ctx.metrics[f"{self.name}.{port}"] = ctx.metrics.get(f"{self.name}.{port}", 0) + 1
            return None

    @dataclass(frozen=True)
    class Reads(Operator):
        mode: str = "broadcast"

        def inputs(self):
            side = sl.read.from_kafka("ctl") | sl.decode.raw()
            return (SideInput("control", side, mode=self.mode),)

        def build(self):
            return Echo()

    two = Reads("broadcast", name="a") | Reads("broadcast", name="b")
    assert [r.step for r in two.routes()["ctl"]] == [0, 1]
    ctx = sl.Context()
    two.apply(pl.DataFrame({"x": [1]}), ctx=ctx, side={"control": pl.DataFrame({"y": [1]})})
    assert ctx.metrics == {"a.control": 1, "b.control": 1}
    with pytest.raises(ConfigError, match="read twice"):
        (Reads("copartitioned", name="a") | Reads("copartitioned", name="b")).routes()
    with pytest.raises(ConfigError, match="read twice"):
        (Reads("broadcast", name="a") | Reads("copartitioned", name="b")).routes()
