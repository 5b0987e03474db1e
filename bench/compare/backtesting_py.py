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
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

CASH = 1e9


def _best_of(calls: int, function: Callable[[], Any]) -> tuple[float, Any]:
    """Median seconds of ``calls`` warm calls (after one untimed call) and the last result."""
    result, times = function(), []
    for _ in range(calls):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def backtesting_py(data: dict[str, np.ndarray]) -> Any:
    """backtesting.py set up on the precomputed signals; its ``run`` is what is timed."""
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

    columns = {k.title(): data[k] for k in ("open", "high", "low", "close")}
    frame = pd.DataFrame(columns | {"Volume": 0.0}, pd.to_datetime(data["open_time"], unit="ms"))
    return Backtest(frame, PrecomputedSignals, cash=CASH, commission=0.0)


def run(signals_file: str, calls: int = 3) -> dict[str, Any]:
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.engine import simulate

    data = dict(np.load(signals_file))
    prices = {k: data[k] for k in ("open", "high", "low", "close")}
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, size=1.0, fill="next_open")
    hermes_seconds, simulation = _best_of(
        calls, lambda: simulate(prices, data["entries"], data["exits"], config)
    )
    backtest = backtesting_py(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt_seconds, stats = _best_of(calls, backtest.run)
    records = simulation.trades
    closed = records[records["status"] == 1]
    hermes_trades = sorted(
        zip(closed["entry_idx"].tolist(), closed["exit_idx"].tolist(), strict=True)
    )
    hermes_open = sorted(records[records["status"] == 0]["entry_idx"].tolist())
    bt = stats["_trades"]
    bt_trades = sorted(
        zip(*(bt[c].astype(int).tolist() for c in ("EntryBar", "ExitBar")), strict=True)
    )
    # backtesting.py closes a position still open at the end on the last bar: not a signal exit
    last_bar = len(data["close"]) - 1
    bt_open = sorted(e for e, x in bt_trades if x >= last_bar)
    bt_closed = [(e, x) for e, x in bt_trades if x < last_bar]
    differences = [
        {"hermes": h, "backtesting_py": b} for h, b in zip(hermes_trades, bt_closed, strict=False)
    ]
    return {
        "seconds": hermes_seconds, "hermes_seconds": hermes_seconds,
        "backtesting_py_seconds": bt_seconds, "speed_ratio": bt_seconds / hermes_seconds,
        "bars": len(data["close"]), "hermes_closed_trades": len(hermes_trades),
        "backtesting_py_closed_trades": len(bt_closed),
        "same_trades": hermes_trades == bt_closed and hermes_open == bt_open,
        "first_differences": [d for d in differences if d["hermes"] != d["backtesting_py"]][:5],
        "hermes_return": float(simulation.equity[-1] / CASH - 1),
        "backtesting_py_return": float(stats["Return [%]"] / 100),
    }  # fmt: skip
