"""hermes.indicators against TA-Lib on the bundled real data, and resumption from state."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from feature_reference import SERIES, assert_matches, load, supertrend_reference

import hermes.indicators as ind

OHLC = tuple[str, np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(scope="module", params=SERIES)
def ohlc(request: pytest.FixtureRequest) -> OHLC:
    frame = load(request.param)
    return (
        request.param,
        frame["high"].to_numpy(float),
        frame["low"].to_numpy(float),
        frame["close"].to_numpy(float),
    )


@pytest.mark.parametrize("period", [12, 26, 50, 200])
def test_ema_and_sma_equal_talib(ohlc: OHLC, period: int) -> None:
    name, _, _, close = ohlc
    assert_matches(ind.ema(close, period), talib.EMA(close, period), f"{name} ema_{period}")
    assert_matches(ind.sma(close, period), talib.SMA(close, period), f"{name} sma_{period}")


@pytest.mark.parametrize("period", [2, 14, 30])
def test_rsi_and_atr_equal_talib(ohlc: OHLC, period: int) -> None:
    name, high, low, close = ohlc
    assert_matches(ind.rsi(close, period), talib.RSI(close, period), f"{name} rsi_{period}")
    assert_matches(
        ind.atr(high, low, close, period), talib.ATR(high, low, close, period), f"{name} atr"
    )
    assert_matches(ind.true_range(high, low, close), talib.TRANGE(high, low, close), name)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (26, 12, 1)])
def test_macd_equals_talib(ohlc: OHLC, fast: int, slow: int, signal: int) -> None:
    name, _, _, close = ohlc
    expected = talib.MACD(close, fast, slow, signal)
    for label, actual, reference in zip(
        ("line", "signal", "hist"), ind.macd(close, fast, slow, signal), expected, strict=True
    ):
        assert_matches(actual, reference, f"{name} macd {label} {fast}/{slow}/{signal}")


@pytest.mark.parametrize(("period", "multiplier"), [(10, 3.0), (7, 2.5)])
def test_supertrend_on_wilder_atr(ohlc: OHLC, period: int, multiplier: float) -> None:
    name, high, low, close = ohlc
    line, direction = ind.supertrend(high, low, close, period, multiplier)
    expected_line, expected_direction = supertrend_reference(high, low, close, period, multiplier)
    assert_matches(line, expected_line, f"{name} supertrend line")
    np.testing.assert_array_equal(direction, expected_direction)
    # both directions occur on real data, and the line sits on the side the direction says
    assert set(np.unique(direction[~np.isnan(direction)])) == {-1.0, 1.0}
    assert np.all((line < close)[direction == 1.0])


def test_leading_nans_are_skipped_like_talib() -> None:
    close = load("BTCUSDT_1d")["close"].to_numpy(float)[:300].copy()
    close[:5] = np.nan
    assert_matches(ind.ema(close, 20), talib.EMA(close, 20), "ema with leading NaN")
    assert_matches(ind.rsi(close, 14), talib.RSI(close, 14), "rsi with leading NaN")
    assert_matches(ind.macd(close)[2], talib.MACD(close)[2], "macd with leading NaN")


def test_bad_parameters_are_named() -> None:
    close = np.arange(50.0)
    with pytest.raises(ValueError, match="period must be an integer >= 2"):
        ind.ema(close, 1)
    with pytest.raises(ValueError, match="multiplier must be > 0"):
        ind.supertrend(close, close, close, 10, 0.0)
    with pytest.raises(ValueError, match="differ in length"):
        ind.atr(close, close[:-1], close, 14)


def test_continuing_from_stored_state_equals_one_pass() -> None:
    frame = load("ETHUSDT_4h")
    high, low, close = (frame[c].to_numpy(float) for c in ("high", "low", "close"))
    cut = 5_000  # state of bar cut - 1, then the rest
    rest = slice(cut, None)
    prev = cut - 1

    full_ema = ind.ema(close, 26)
    np.testing.assert_array_equal(ind.ema_continue(close[rest], 26, full_ema[prev]), full_ema[rest])

    full_rsi, gain, loss = ind.rsi_wilder(close, 14)
    cont = ind.rsi_continue(close[rest], 14, close[prev], gain[prev], loss[prev])
    np.testing.assert_array_equal(cont[0], full_rsi[rest])

    full_atr = ind.atr(high, low, close, 14)
    cont_atr = ind.atr_continue(high[rest], low[rest], close[rest], 14, close[prev], full_atr[prev])
    np.testing.assert_array_equal(cont_atr, full_atr[rest])

    st = ind.supertrend_state(high, low, close, 10, 3.0)
    cont_st = ind.supertrend_continue(
        high[rest],
        low[rest],
        close[rest],
        10,
        3.0,
        close[prev],
        st.atr[prev],
        st.upper[prev],
        st.lower[prev],
        st.direction[prev],
    )
    for full, resumed in zip(st, cont_st, strict=True):
        np.testing.assert_array_equal(resumed, full[rest])

    md = ind.macd_state(close, 12, 26, 9)
    cont_md = ind.macd_continue(
        close[rest], 12, 26, 9, md.fast_ema[prev], md.slow_ema[prev], md.signal[prev]
    )
    for full, resumed in zip(md, cont_md, strict=True):
        np.testing.assert_array_equal(resumed, full[rest])


@pytest.mark.parametrize("cut", [250, 5_000, 18_000])
def test_model_resumes_every_column_from_any_bar(cut: int) -> None:
    """The feature set the dbt model stores, resumed from a stored row, equals one pass."""
    from hermes.indicators.recursive_features import (
        RecursiveParams,
        compute,
        is_resumable,
        resume,
    )

    frame = load("BTCUSDT_4h")
    high, low, close = (frame[c].to_numpy(float) for c in ("high", "low", "close"))
    params = RecursiveParams.from_config({"ema_periods": "[12, 26]"}.get)
    assert params.ema == (12, 26) and params.rsi == (14,)
    full = compute(high, low, close, params)
    prev = cut - 1
    last = {name: values[prev] for name, values in full.items()} | {"close": close[prev]}
    assert is_resumable(last, params)
    assert not is_resumable({**last, "ema_12": float("nan")}, params)
    resumed = resume(high[cut:], low[cut:], close[cut:], params, last)
    for column in params.feature_columns() + params.state_columns():
        np.testing.assert_array_equal(resumed[column], full[column][cut:], err_msg=column)
