"""Every Python accelerator equals its strategy's dbt model on every bundled bar.

Parametrised over :data:`hermes.signals.accelerators.ACCELERATORS`: a strategy that gains an
accelerator is covered here with no test of its own. Both the one-pass path backtests use
and the chunked path of ``hermes signals`` are compared with the model's table.
"""

from __future__ import annotations

import numpy as np
import pytest

from hermes.config import Settings
from hermes.features.store import FEATURE_STORE
from hermes.lake import connect
from hermes.signals.accelerators import ACCELERATORS
from hermes.signals.chunked import generate_in_chunks, read_chunks
from hermes.signals.models import read_signals
from hermes.signals.registry import load_strategy
from hermes.signals.source import ACCELERATOR, SignalSource


@pytest.mark.parametrize("strategy_id", sorted(ACCELERATORS))
def test_accelerators_equal_their_models(built_lake: Settings, strategy_id: str) -> None:
    conn = connect(built_lake)
    try:
        strategy = load_strategy(strategy_id, conn=conn)
        source = SignalSource(conn, strategy, FEATURE_STORE)
        series = conn.execute(
            f"select distinct symbol, interval from {strategy.signal_model} order by all"  # noqa: S608
        ).fetchall()
        assert len(series) == 4
        compared = 0
        for symbol, interval in series:
            prices = conn.execute(
                "select * from gold_feature_store where symbol = ? and interval = ? "
                "order by open_time",
                [symbol, interval],
            ).fetchnumpy()
            times = prices["open_time"].astype("datetime64[us]")
            table = read_signals(conn, source.model, times, symbol, interval)
            ohlc = {
                k: np.asarray(prices[k], dtype=float)
                for k in ("open", "high", "low", "close", "volume")
            }
            (fast,) = source._accelerated(
                ohlc, times, symbol, interval, [strategy.parameters], None
            )
            chunks = read_chunks(conn, strategy, symbol, interval, 997)
            chunked = list(generate_in_chunks(chunks, strategy))
            for name, values in table.items():
                np.testing.assert_array_equal(fast[name], values, err_msg=f"{symbol} {name}")
                if values.dtype == bool:
                    joined = np.concatenate([part[name] for part in chunked])
                    np.testing.assert_array_equal(joined, values, err_msg=f"chunked {name}")
            assert table["buy_signal"].sum() > 0 and table["sell_signal"].sum() > 0
            compared += len(times)
        assert compared > 40_000
        other = strategy.with_parameters({"ema_fast": 10})
        assert source.source_for(other.parameters) == ACCELERATOR
    finally:
        conn.close()
