"""SQL-text expressions: the same types and values as PySpark's Column API, on a real Spark session."""

from __future__ import annotations

import math

import pytest

from analytics import sqltext as S


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5D"),  # a double, not SQL's decimal 1.5
        (1e-05, "1E-05D"),
        (-0.25, "(-0.25D)"),
        (7, "7"),
        (-3, "(-3)"),
        (2**40, "1099511627776L"),
        (True, "TRUE"),
        (None, "NULL"),
        ("it's", "'it\\'s'"),
        (float("inf"), "CAST('Infinity' AS DOUBLE)"),
        (float("-inf"), "CAST('-Infinity' AS DOUBLE)"),
    ],
)
def test_literals_keep_pysparks_types(value, text):
    assert S.lit(value).sql == text


def test_every_operation_is_parenthesised_so_python_precedence_holds():
    a, b, c = S.col("a"), S.col("b"), S.col("c")
    assert ((a + b) * c).sql == "((`a` + `b`) * `c`)"
    assert (a + b * c).sql == "(`a` + (`b` * `c`))"
    assert (~(a > 1) & b.isNull()).sql == "((NOT (`a` > 1)) AND (`b` IS NULL))"
    assert (2 - a).sql == "(2 - `a`)"
    assert S.col("odd`name").sql == "`odd``name`"
    assert S.col("a.b").sql == "`a.b`"  # one name, not a struct path


def test_windows_render_pysparks_frame_bounds():
    w = S.Window.partitionBy("h").orderBy("t")
    assert w.rowsBetween(S.Window.unboundedPreceding, 0).sql == (
        "PARTITION BY `h` ORDER BY `t` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    )
    assert w.rowsBetween(-4, -1).sql.endswith("ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING")
    assert w.rangeBetween(1, 1800).sql.endswith("RANGE BETWEEN 1 FOLLOWING AND 1800 FOLLOWING")


def test_an_expression_has_no_truth_value():
    with pytest.raises(TypeError, match=r"& \| ~"):
        bool(S.col("a") == 1)


def test_plus_is_flat_and_refuses_nothing():
    assert S.plus([S.col("a"), S.lit(1), S.col("b")]).sql == "(`a` + 1 + `b`)"
    with pytest.raises(ValueError, match="nothing"):
        S.plus([])


@pytest.mark.spark
def test_same_types_and_values_as_the_column_api(spark):
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    frame = spark.createDataFrame(
        [("a", 1, 2.0, None), ("a", 2, -1.5, 3.0), ("a", 3, float("nan"), 4.0), ("b", 1, 100.5, 0.0)],
        "h string, t long, x double, y double",
    )
    w, sw = Window.partitionBy("h").orderBy("t"), S.Window.partitionBy("h").orderBy("t")
    running, srunning = (
        w.rowsBetween(Window.unboundedPreceding, 0),
        sw.rowsBetween(S.Window.unboundedPreceding, 0),
    )
    pairs = {
        "scaled": (
            F.floor(F.col("x") * F.lit(1e4) + F.lit(0.5)).cast("long"),
            S.floor(S.col("x") * S.lit(1e4) + S.lit(0.5)).cast("long"),
        ),
        "ratio": (F.try_divide(F.col("x"), F.col("y")), S.try_divide(S.col("x"), S.col("y"))),
        "case": (
            F.when(F.col("x") > 50, F.lit(1))
            .when(F.col("y").isNull(), F.lit(2))
            .otherwise(F.lit(0))
            .cast("byte"),
            S.when(S.col("x") > 50, S.lit(1))
            .when(S.col("y").isNull(), S.lit(2))
            .otherwise(S.lit(0))
            .cast("byte"),
        ),
        "bad": (
            F.isnan(F.col("x")) | (F.abs(F.col("x")) == F.lit(float("inf"))),
            S.isnan(S.col("x")) | (S.abs(S.col("x")) == S.lit(float("inf"))),
        ),
        "count": (F.count(F.col("y")).over(running), S.count(S.col("y")).over(srunning)),
        "sum": (F.sum(F.col("t") * 3).over(running), S.sum(S.col("t") * 3).over(srunning)),
        "lag": (F.lag("y", 1).over(w), S.lag("y", 1).over(sw)),
        "last": (
            F.last(F.col("y"), True).over(w.rowsBetween(Window.unboundedPreceding, -1)),
            S.last(S.col("y"), ignorenulls=True).over(sw.rowsBetween(S.Window.unboundedPreceding, -1)),
        ),
        "trig": (
            F.sin(F.pmod(F.col("t").cast("double"), F.lit(7.0))),
            S.sin(S.pmod(S.col("t").cast("double"), 7.0)),
        ),
        "misc": (
            F.greatest(F.col("x"), F.lit(0.0)) - F.least(F.sqrt(F.col("y")), F.log1p(F.col("y"))),
            S.greatest(S.col("x"), 0.0) - S.least(S.sqrt(S.col("y")), S.log1p(S.col("y"))),
        ),
    }
    columns = frame.select("h", "t", *[c.alias(name) for name, (c, _) in pairs.items()]).orderBy("h", "t")
    texts = S.select(frame, "h", "t", *[e.alias(name) for name, (_, e) in pairs.items()]).orderBy("h", "t")
    assert texts.schema == columns.schema
    for want, got in zip(columns.collect(), texts.collect(), strict=True):
        for name in want.asDict():
            a, b = want[name], got[name]
            assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), name
