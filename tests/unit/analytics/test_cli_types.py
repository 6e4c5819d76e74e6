"""Numeric options out of range are refused by the command line itself, before any job starts."""

from __future__ import annotations

import pytest

from analytics.cli import main

# (job and its required options, option, bad value, what the error says)
REFUSED = [
    (["generate", "--out", "LAKE"], "--interval", "0", "a whole number of 1 or more"),
    (["generate", "--out", "LAKE"], "--hosts", "-5", "a whole number of 1 or more"),
    (["generate", "--out", "LAKE"], "--days", "0", "a number above 0"),
    (["generate", "--out", "LAKE"], "--days", "nan", "a number above 0"),
    (["generate", "--out", "LAKE"], "--workers", "0", "a whole number of 1 or more"),
    (["generate", "--out", "LAKE"], "--hosts-per-part", "0", "a whole number of 1 or more"),
    (["generate", "--out", "LAKE"], "--seed", "-1", "a whole number of 0 or more"),
    (["etl", "--input", "IN", "--output", "OUT"], "--step", "0", "a whole number of 1 or more"),
    (["etl", "--input", "IN", "--output", "OUT"], "--fill-seconds", "-60", "a whole number of 0 or more"),
    (
        ["etl", "--input", "IN", "--output", "OUT"],
        "--max-future-seconds",
        "-1",
        "a whole number of 0 or more",
    ),
    (["train", "--features", "F"], "--trials", "0", "a whole number of 1 or more"),
    (["train", "--features", "F"], "--trials", "2.5", "a whole number of 1 or more"),
    (["train", "--features", "F"], "--timeout", "-5", "a number above 0"),
    (["train", "--features", "F"], "--seed", "-1", "a whole number of 0 or more"),
    (["train", "--features", "F"], "--repeats", "0", "a whole number of 1 or more"),
    (["backtest", "--dataset", "D"], "--trials", "-3", "a whole number of 1 or more"),
    (["backtest", "--dataset", "D"], "--timeout", "inf", "a number above 0"),
    (["backtest", "--dataset", "D"], "--seed", "x", "a whole number of 0 or more"),
    (["backtest", "--dataset", "D"], "--step", "-300", "a whole number of 1 or more"),
]


@pytest.mark.parametrize(
    ("job", "option", "value", "says"), REFUSED, ids=[f"{r[0][0]} {r[1]} {r[2]}" for r in REFUSED]
)
def test_out_of_range_options_are_refused_with_exit_code_2(job, option, value, says, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*job, option, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected {says}, got '{value}'" in err


def test_counts_are_read_as_people_write_them():
    from analytics.cli_types import non_negative_int, positive_float, positive_int

    assert positive_int("10,000") == positive_int("10_000") == 10_000
    assert non_negative_int("0") == 0 and non_negative_int("7") == 7
    assert positive_float("0.5") == 0.5 and positive_float("1e3") == 1000.0
