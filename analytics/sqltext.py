"""Spark SQL expressions built as text in Python, handed to the JVM once per select.

PySpark's ``Column`` API makes a py4j round trip for every operator, function, literal and alias (and another
to free each Java object later): the ETL's plan of about 230 window, feature and label columns took some
41,000 round trips, 8 s of a warm process, before Spark did any work. The same expressions written as SQL text
cost one call per select (:func:`select`) and are parsed and analysed by Spark into the same plan.

This module mirrors the subset of ``pyspark.sql.functions``, ``Column`` and ``Window`` that the feature and
label plans use, with the same names and semantics, so that their code reads as PySpark does::

    from analytics import sqltext as sql
    from analytics.sqltext import Window

    running = Window.partitionBy("host_id").orderBy("timestamp").rowsBetween(Window.unboundedPreceding, 0)
    frame = sql.select(frame, "*", sql.sum(sql.col("x")).over(running).alias("_s"))

Literals keep PySpark's types: a Python ``float`` is a ``DOUBLE`` (``1.5D``; plain ``1.5`` would be a decimal
in SQL), an ``int`` an ``INT`` or a ``BIGINT`` by size. Every operation is parenthesised, so Python's operator
precedence is the one that holds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyspark.sql import Column, DataFrame

__all__ = [
    "Expr",
    "Named",
    "Window",
    "WindowSpec",
    "abs",
    "coalesce",
    "col",
    "cos",
    "count",
    "explode",
    "floor",
    "greatest",
    "isnan",
    "lag",
    "last",
    "least",
    "length",
    "lit",
    "log1p",
    "max",
    "min",
    "plus",
    "pmod",
    "quote",
    "select",
    "sequence",
    "sin",
    "sqrt",
    "sum",
    "to_column",
    "try_divide",
    "when",
]

Value = Union["Expr", float, int, bool, str, None]
"""What an operand may be: an expression, or a Python value taken as a literal."""

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def quote(name: str) -> str:
    """A column name as a SQL identifier (backticks, doubled inside)."""
    return "`" + name.replace("`", "``") + "`"


class Expr:
    """A SQL expression (immutable); operators and methods build new ones, as ``pyspark.sql.Column``'s do."""

    __slots__ = ("sql",)

    def __init__(self, sql: str):
        self.sql = sql

    def __repr__(self) -> str:
        return f"Expr({self.sql!r})"

    def __bool__(self) -> bool:
        raise TypeError("an expression has no truth value: use & | ~ for and, or, not (as with a Column)")

    # arithmetic
    def __add__(self, other: Value) -> Expr:
        return _binary("+", self, other)

    def __radd__(self, other: Value) -> Expr:
        return _binary("+", other, self)

    def __sub__(self, other: Value) -> Expr:
        return _binary("-", self, other)

    def __rsub__(self, other: Value) -> Expr:
        return _binary("-", other, self)

    def __mul__(self, other: Value) -> Expr:
        return _binary("*", self, other)

    def __rmul__(self, other: Value) -> Expr:
        return _binary("*", other, self)

    def __truediv__(self, other: Value) -> Expr:
        return _binary("/", self, other)

    def __rtruediv__(self, other: Value) -> Expr:
        return _binary("/", other, self)

    def __mod__(self, other: Value) -> Expr:
        return _binary("%", self, other)

    def __neg__(self) -> Expr:
        return Expr(f"(- {self.sql})")

    # comparison (SQL's: null in, null out)
    def __eq__(self, other: Value) -> Expr:  # type: ignore[override]
        return _binary("=", self, other)

    def __ne__(self, other: Value) -> Expr:  # type: ignore[override]
        return _binary("!=", self, other)

    def __lt__(self, other: Value) -> Expr:
        return _binary("<", self, other)

    def __le__(self, other: Value) -> Expr:
        return _binary("<=", self, other)

    def __gt__(self, other: Value) -> Expr:
        return _binary(">", self, other)

    def __ge__(self, other: Value) -> Expr:
        return _binary(">=", self, other)

    __hash__ = None  # type: ignore[assignment]

    # logic
    def __and__(self, other: Value) -> Expr:
        return _binary("AND", self, other)

    def __or__(self, other: Value) -> Expr:
        return _binary("OR", self, other)

    def __invert__(self) -> Expr:
        return Expr(f"(NOT {self.sql})")

    # methods
    def isNull(self) -> Expr:
        return Expr(f"({self.sql} IS NULL)")

    def isNotNull(self) -> Expr:
        return Expr(f"({self.sql} IS NOT NULL)")

    def bitwiseAND(self, other: Value) -> Expr:
        return _binary("&", self, other)

    def cast(self, data_type: str) -> Expr:
        """``CAST(... AS data_type)``, in Spark's SQL type names (``long``, ``double``, ``byte`` ...)."""
        return Expr(f"CAST({self.sql} AS {data_type.upper()})")

    def over(self, window: WindowSpec) -> Expr:
        """This aggregate or window function over ``window``."""
        return Expr(f"{self.sql} OVER ({window.sql})")

    def alias(self, name: str) -> Named:
        """The expression as an output column named ``name``."""
        return Named(self, name)


class Named:
    """An expression with its output name: an item of a select list (as ``Column.alias`` makes)."""

    __slots__ = ("expr", "name")

    def __init__(self, expr: Expr, name: str):
        self.expr, self.name = expr, name

    @property
    def sql(self) -> str:
        return f"{self.expr.sql} AS {quote(self.name)}"

    def __repr__(self) -> str:
        return f"Named({self.sql!r})"


class _Case(Expr):
    """``CASE WHEN ...`` without an ``ELSE`` yet: ``when`` adds a branch, ``otherwise`` closes it."""

    __slots__ = ("arms",)

    def __init__(self, arms: str):
        self.arms = arms
        super().__init__(f"CASE {arms} END")

    def when(self, condition: Expr, value: Value) -> _Case:
        return _Case(f"{self.arms} WHEN {condition.sql} THEN {_expr(value).sql}")

    def otherwise(self, value: Value) -> Expr:
        return Expr(f"CASE {self.arms} ELSE {_expr(value).sql} END")


def _literal(value: float | int | bool | str | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        text = str(value) if _INT_MIN <= value <= _INT_MAX else f"{value}L"
        return f"({text})" if value < 0 else text
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"CAST('{value!r}' AS DOUBLE)".replace("inf", "Infinity").replace("nan", "NaN")
        text = repr(value).upper() + "D"
        return f"({text})" if value < 0 else text
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def _expr(value: Value) -> Expr:
    return value if isinstance(value, Expr) else Expr(_literal(value))


def _binary(op: str, left: Value, right: Value) -> Expr:
    return Expr(f"({_expr(left).sql} {op} {_expr(right).sql})")


def _call(name: str, *args: Value) -> Expr:
    return Expr(f"{name}({', '.join(_expr(a).sql for a in args)})")


def _column(value: Expr | str) -> Expr:
    """A name is a column (as PySpark's functions take names), an expression itself."""
    return col(value) if isinstance(value, str) else value


# ----------------------------------------------------------------------------------------- functions
def col(name: str) -> Expr:
    """The column ``name`` (quoted whole: unlike PySpark's ``col``, a dot is part of the name, not a path into
    a struct)."""
    return Expr(quote(name))


def lit(value: float | int | bool | str | None) -> Expr:
    """A literal, typed as PySpark types it (float DOUBLE, int INT/BIGINT, None NULL)."""
    return Expr(_literal(value))


def when(condition: Expr, value: Value) -> _Case:
    """``CASE WHEN condition THEN value`` (null otherwise, unless ``.otherwise``)."""
    return _Case(f"WHEN {condition.sql} THEN {_expr(value).sql}")


def coalesce(*values: Value) -> Expr:
    return _call("coalesce", *values)


def greatest(*values: Value) -> Expr:
    return _call("greatest", *values)


def least(*values: Value) -> Expr:
    return _call("least", *values)


def try_divide(left: Value, right: Value) -> Expr:
    """``left / right``, null where ``right`` is 0."""
    return _call("try_divide", left, right)


def isnan(value: Expr) -> Expr:
    return _call("isnan", value)


def abs(value: Expr) -> Expr:
    return _call("abs", value)


def length(value: Expr) -> Expr:
    """Characters of a string."""
    return _call("length", value)


def floor(value: Expr) -> Expr:
    return _call("floor", value)


def sqrt(value: Expr) -> Expr:
    return _call("sqrt", value)


def log1p(value: Expr) -> Expr:
    return _call("log1p", value)


def sin(value: Expr) -> Expr:
    return _call("sin", value)


def cos(value: Expr) -> Expr:
    return _call("cos", value)


def pmod(dividend: Value, divisor: Value) -> Expr:
    return _call("pmod", dividend, divisor)


def count(value: Expr | str) -> Expr:
    """Non-null values (an aggregate: use with ``.over``)."""
    return _call("count", _column(value))


def sum(value: Expr | str) -> Expr:
    return _call("sum", _column(value))


def min(value: Expr | str) -> Expr:
    return _call("min", _column(value))


def max(value: Expr | str) -> Expr:
    return _call("max", _column(value))


def last(value: Expr | str, ignorenulls: bool = False) -> Expr:
    """The frame's last value (its last non-null one with ``ignorenulls``)."""
    return _call("last", _column(value), ignorenulls)


def lag(value: Expr | str, offset: int = 1) -> Expr:
    """The value ``offset`` rows back in the window's order (a window function: use with ``.over``)."""
    return _call("lag", _column(value), offset)


def explode(value: Expr) -> Expr:
    """One row per element of an array (a generator: alone in its select item)."""
    return _call("explode", value)


def sequence(start: Value, stop: Value) -> Expr:
    """The array ``start, start + 1, ..., stop``."""
    return _call("sequence", start, stop)


def plus(values: Iterable[Expr]) -> Expr:
    """The sum of ``values`` as one flat ``a + b + c`` (Spark's parser loops over a flat chain; a deeply
    nested one costs a stack frame per level)."""
    terms = [v.sql for v in values]
    if not terms:
        raise ValueError("nothing to add")
    return Expr(terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")")


# ----------------------------------------------------------------------------------------- windows
class WindowSpec:
    """``PARTITION BY ... ORDER BY ... [frame]``, built as ``pyspark.sql.Window``'s specs are."""

    __slots__ = ("_frame", "_order", "_partition")

    def __init__(self, partition: tuple[str, ...] = (), order: tuple[str, ...] = (), frame: str = ""):
        self._partition, self._order, self._frame = partition, order, frame

    def partitionBy(self, *names: str) -> WindowSpec:
        return WindowSpec(names, self._order, self._frame)

    def orderBy(self, *names: str) -> WindowSpec:
        return WindowSpec(self._partition, names, self._frame)

    def rowsBetween(self, start: int, end: int) -> WindowSpec:
        return WindowSpec(self._partition, self._order, f"ROWS BETWEEN {_bound(start)} AND {_bound(end)}")

    def rangeBetween(self, start: int, end: int) -> WindowSpec:
        return WindowSpec(self._partition, self._order, f"RANGE BETWEEN {_bound(start)} AND {_bound(end)}")

    @property
    def sql(self) -> str:
        parts = []
        if self._partition:
            parts.append("PARTITION BY " + ", ".join(quote(n) for n in self._partition))
        if self._order:
            parts.append("ORDER BY " + ", ".join(quote(n) for n in self._order))
        if self._frame:
            parts.append(self._frame)
        return " ".join(parts)


def _bound(offset: int) -> str:
    if offset <= Window.unboundedPreceding:
        return "UNBOUNDED PRECEDING"
    if offset >= Window.unboundedFollowing:
        return "UNBOUNDED FOLLOWING"
    if offset == 0:
        return "CURRENT ROW"
    return f"{-offset} PRECEDING" if offset < 0 else f"{offset} FOLLOWING"


class Window:
    """Entry points of a :class:`WindowSpec`, and the unbounded frame ends (PySpark's values)."""

    unboundedPreceding = -(1 << 63)
    unboundedFollowing = (1 << 63) - 1
    currentRow = 0

    @staticmethod
    def partitionBy(*names: str) -> WindowSpec:
        return WindowSpec().partitionBy(*names)

    @staticmethod
    def orderBy(*names: str) -> WindowSpec:
        return WindowSpec().orderBy(*names)


# ----------------------------------------------------------------------------------------- select
def to_column(item: Expr | Named) -> Column:
    """A PySpark ``Column`` of ``item``, for the APIs that take only those (``agg``, ``observe``)."""
    from pyspark.sql.functions import expr

    return expr(item.sql)


def select(frame: DataFrame, *items: str | Expr | Named) -> DataFrame:
    """``frame.select(*items)`` in one py4j call: a string is a column name (``"*"`` all of them), an
    :class:`Expr` must be a column reference or carry its name (:meth:`Expr.alias`)."""
    return frame.selectExpr(*[_select_item(item) for item in items])


def _select_item(item: str | Expr | Named) -> str:
    if isinstance(item, str):
        return item if item == "*" else quote(item)
    return item.sql
