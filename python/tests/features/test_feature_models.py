"""gold_features (built by dbt on the bundled real data) against TA-Lib, series by series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from feature_reference import assert_matches, supertrend_reference

from hermes.config import Settings
from hermes.lake import connect

SERIES = [("BTCUSDT", "4h"), ("BTCUSDT", "1d"), ("ETHUSDT", "4h"), ("ETHUSDT", "1d")]


@pytest.fixture(scope="module")
def gold(built_lake: Settings) -> pd.DataFrame:
    conn = connect(built_lake)
    try:
        return conn.execute(
            "select * from gold_feature_store order by symbol, interval, open_time"
        ).df()
    finally:
        conn.close()


def _references(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    o, h, lo, c, v = (frame[k].to_numpy(float) for k in ("open", "high", "low", "close", "volume"))
    bb_upper, bb_middle, bb_lower = talib.BBANDS(c, 20, 2.0, 2.0, talib.MA_Type.SMA)
    macd, signal, hist = talib.MACD(c, 12, 26, 9)
    line, direction = supertrend_reference(h, lo, c, 10, 3.0)
    log_return = np.log(talib.ROCR(c, 1))
    return {
        **{f"ema_{n}": talib.EMA(c, n) for n in (12, 26, 50, 200)},
        **{f"sma_{n}": talib.SMA(c, n) for n in (20, 50, 200)},
        "rsi_14": talib.RSI(c, 14),
        "atr_14": talib.ATR(h, lo, c, 14),
        "supertrend_10_3": line,
        "supertrend_dir_10_3": direction,
        "macd_12_26_9": macd,
        "macd_signal_12_26_9": signal,
        "macd_hist_12_26_9": hist,
        "bb_upper_20_2": bb_upper,
        "bb_middle_20_2": bb_middle,
        "bb_lower_20_2": bb_lower,
        "return_1": talib.ROCR(c, 1) - 1,
        "log_return_1": log_return,
        "volatility_20": talib.STDDEV(log_return, 20, 1.0),
        "volume_zscore_20": (v - talib.SMA(v, 20)) / talib.STDDEV(v, 20, 1.0),
        "true_range": talib.TRANGE(h, lo, c),
        "donchian_upper_20": talib.MAX(h, 20),
        "donchian_lower_20": talib.MIN(lo, 20),
        "open": o,
    }


@pytest.mark.parametrize(("symbol", "interval"), SERIES)
def test_every_feature_equals_talib(gold: pd.DataFrame, symbol: str, interval: str) -> None:
    frame = gold[(gold.symbol == symbol) & (gold.interval == interval)].reset_index(drop=True)
    assert len(frame) > 3000
    np.testing.assert_array_equal(frame["warmup_bars"], np.arange(len(frame)))
    references = _references(frame)
    feature_columns = [
        c
        for c in frame.columns
        if c not in ("symbol", "interval", "open_time", "close_time", "ingested_at", "is_valid")
        and c not in ("high", "low", "close", "volume", "quote_asset_volume", "number_of_trades")
        and c != "warmup_bars"
    ]
    # every feature column of the store has a reference here, and the reverse
    assert sorted(feature_columns) == sorted(references)
    for column, expected in references.items():
        actual = frame[column].to_numpy(dtype=float, na_value=np.nan)
        assert_matches(actual, expected, f"{symbol} {interval} {column}")
