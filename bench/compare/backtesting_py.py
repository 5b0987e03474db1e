"""Side by side: ``hermes.backtest`` against backtesting.py on the same signals.

Both are configured alike: fill at the next bar's open after the signal bar, no fees, no
slippage, long only, all equity in each trade, no stops. backtesting.py trades whole units,
so both start with a cash amount large enough for rounding not to matter. The trades are
compared by entry and exit bar; times are warm (one untimed run first).
"""

from __future__ import annotations

import statistics
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

CASH = 1e9


def _frame(data: dict[str, np.ndarray]) -> pd.DataFrame:
    index = pd.to_datetime(data["open_time"], unit="ms")
    return pd.DataFrame(
        {
            "Open": data["open"],
            "High": data["high"],
            "Low": data["low"],
            "Close": data["close"],
            "Volume": np.zeros(len(index)),
        },
        index=index,
    )


def backtesting_py_trades(data: dict[str, np.ndarray]) -> tuple[Any, float]:
    """Run backtesting.py on the precomputed signals; returns (stats, seconds of ``run``)."""
    from backtesting import Backtest, Strategy

    entries, exits = data["entries"], data["exits"]

    class PrecomputedSignals(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            i = len(self.data) - 1
            if entries[i] and not self.position:
                self.buy()
            elif exits[i] and self.position:
                self.position.close()

    backtest = Backtest(
        _frame(data), PrecomputedSignals, cash=CASH, commission=0.0, trade_on_close=False
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = backtest.run()
    return stats, time.perf_counter() - started


def run(signals_file: str, calls: int = 3) -> dict[str, Any]:
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.engine import simulate

    data = dict(np.load(signals_file))
    prices = {k: data[k] for k in ("open", "high", "low", "close")}
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, size=1.0, fill="next_open")
    simulation = simulate(prices, data["entries"], data["exits"], config)  # warm-up
    hermes_times = []
    for _ in range(calls):
        started = time.perf_counter()
        simulation = simulate(prices, data["entries"], data["exits"], config)
        hermes_times.append(time.perf_counter() - started)
    backtesting_py_trades(data)  # warm-up
    bt_times = []
    for _ in range(calls):
        stats, seconds = backtesting_py_trades(data)
        bt_times.append(seconds)

    records = simulation.trades
    closed = records[records["status"] == 1]
    hermes_trades = sorted(
        zip(closed["entry_idx"].tolist(), closed["exit_idx"].tolist(), strict=True)
    )
    bt = stats["_trades"]
    bt_trades = sorted(
        zip(bt["EntryBar"].astype(int).tolist(), bt["ExitBar"].astype(int).tolist(), strict=True)
    )
    hermes_open = sorted(records[records["status"] == 0]["entry_idx"].tolist())
    # backtesting.py closes a position still open at the end on the last bar: not a signal exit
    last_bar = len(data["close"]) - 1
    bt_open = sorted(e for e, x in bt_trades if x >= last_bar)
    bt_closed = [(e, x) for e, x in bt_trades if x < last_bar]
    hermes_seconds = statistics.median(hermes_times)
    bt_seconds = statistics.median(bt_times)
    return {
        "seconds": hermes_seconds,
        "hermes_seconds": hermes_seconds,
        "backtesting_py_seconds": bt_seconds,
        "speed_ratio": bt_seconds / hermes_seconds,
        "bars": len(data["close"]),
        "hermes_closed_trades": len(hermes_trades),
        "backtesting_py_closed_trades": len(bt_closed),
        "same_trades": hermes_trades == bt_closed and hermes_open == bt_open,
        "first_differences": [
            {"hermes": h, "backtesting_py": b}
            for h, b in zip(hermes_trades, bt_closed, strict=False)
            if h != b
        ][:5],
        "hermes_return": float(simulation.equity[-1] / CASH - 1),
        "backtesting_py_return": float(stats["Return [%]"] / 100),
    }
