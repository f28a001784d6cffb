"""ops.sql_mask: the Series path of simple SQL filters keeps the rows the expression keeps.

The comparison with DuckDB over many queries and types is in test_sql_filter.py (the
step takes this path there); these are the cases the Series path handles on its own:
a literal on the left, a literal outside the column's type, in-lists, nulls.
"""

import polars as pl
import pytest

from streamlearn.ops.sql_filter import compile_filter
from streamlearn.ops.sql_mask import SeriesFilter

DF = pl.DataFrame(
    {
        "small": pl.Series([0, 7, 255, None], dtype=pl.UInt8),
        "x": [1.5, float("nan"), None, -2.0],
        "s": ["a", None, "b", "a"],
        "flag": [True, False, None, True],
    }
)


@pytest.mark.parametrize(
    "where",
    [
        "small > -1 and small < 300",
        "-1 < small",
        "7 = small or 2.5 >= x",
        "x > 0",
        "s in ('a', 'c') and not flag",
        "s not in ('a')",
        "small between 1 and 255",
        "not (x <= 1.5) or s is null",
        "flag",
        "x is not null and small <> 0",
        "small = x",
    ],
)
def test_series_mask_equals_the_expression(where):
    simple = compile_filter(f"select * from $1 where {where}")
    expr = simple.expression(DF.schema)
    mask = SeriesFilter(simple).mask(DF)
    assert expr is not None and mask is not None
    assert mask.to_list() == DF.select(expr).to_series().to_list()
    assert mask.null_count() == 0


def test_what_the_expression_cannot_do_the_series_path_leaves_too():
    for query in ("select * from $1 where s = 1", "select * from $1 where missing = 1"):
        simple = compile_filter(query)
        assert simple.expression(DF.schema) is None
        assert SeriesFilter(simple).mask(DF) is None
    assert SeriesFilter(compile_filter("select * from $1")).mask(DF) is None  # no where
