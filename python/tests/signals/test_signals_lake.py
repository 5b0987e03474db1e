"""Signals on the real bundled data: the dbt model and the chunked Python rule agree."""

from __future__ import annotations

import numpy as np

from hermes.config import Settings
from hermes.lake import connect
from hermes.signals.chunked import generate_in_chunks, read_chunks
from hermes.signals.registry import load_strategy


def test_chunked_python_equals_dbt_model(built_lake: Settings) -> None:
    conn = connect(built_lake)
    try:
        strategy = load_strategy("smart_momentum", conn=conn)
        series = conn.execute(
            "select distinct symbol, interval from gold_signals_smart_momentum order by all"
        ).fetchall()
        assert len(series) == 4
        for symbol, interval in series:
            parts = list(
                generate_in_chunks(read_chunks(conn, strategy, symbol, interval, 997), strategy)
            )
            sql = conn.execute(
                "select open_time, ema_cross, rsi_neutral, st_bullish, st_exit, buy_signal, "
                "sell_signal from gold_signals_smart_momentum where symbol = ? and interval = ? "
                "order by open_time",
                [symbol, interval],
            ).fetchnumpy()
            for name in (
                "ema_cross",
                "rsi_neutral",
                "st_bullish",
                "st_exit",
                "buy_signal",
                "sell_signal",
            ):
                python = np.concatenate([p[name] for p in parts])
                np.testing.assert_array_equal(
                    python, sql[name], err_msg=f"{symbol} {interval} {name}"
                )
            assert sql["buy_signal"].sum() > 0 and sql["sell_signal"].sum() > 0
    finally:
        conn.close()
