"""Side by side: ``hermes.backtest`` against backtesting.py on the same signals.

Both fill at the next bar's open after the signal bar, with no fees, slippage or stops, long
only, all equity per trade; backtesting.py trades whole units, so both start with enough
cash for rounding not to matter. Trades are compared by entry and exit bar; times are warm.
"""

from __future__ import annotations

import statistics
import warnings
from typing import Any

import numpy as np
import pandas as pd

from bench.measure import warm_calls

CASH = 1e9
PRICES = ("open", "high", "low", "close")


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

    columns = {k.title(): data[k] for k in PRICES} | {"Volume": 0.0}
    frame = pd.DataFrame(columns, pd.to_datetime(data["open_time"], unit="ms"))
    return Backtest(frame, PrecomputedSignals, cash=CASH, commission=0.0)


def run(signals_file: str, calls: int = 3) -> dict[str, Any]:
    from hermes.backtest.config import BacktestConfig
    from hermes.backtest.engine import simulate

    data = dict(np.load(signals_file))
    prices = {k: data[k] for k in PRICES}
    config = BacktestConfig(init_cash=CASH, fees=0.0, slippage=0.0, size=1.0, fill="next_open")
    hermes = lambda: simulate(prices, data["entries"], data["exits"], config)  # noqa: E731
    hermes_times, simulation = warm_calls(hermes, calls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt_times, stats = warm_calls(backtesting_py(data).run, calls)
    records = simulation.trades
    closed = records[records["status"] == 1]
    ours = sorted(zip(closed["entry_idx"].tolist(), closed["exit_idx"].tolist(), strict=True))
    ours_open = sorted(records[records["status"] == 0]["entry_idx"].tolist())
    entry, exit_ = (stats["_trades"][c].astype(int).tolist() for c in ("EntryBar", "ExitBar"))
    theirs = sorted(zip(entry, exit_, strict=True))
    # backtesting.py closes a position still open at the end on the last bar: not a signal exit
    last_bar = len(data["close"]) - 1
    theirs_open = sorted(e for e, x in theirs if x >= last_bar)
    theirs = [(e, x) for e, x in theirs if x < last_bar]
    pairs = zip(ours, theirs, strict=False)
    hermes_seconds, bt_seconds = statistics.median(hermes_times), statistics.median(bt_times)
    return {
        "seconds": hermes_seconds, "hermes_seconds": hermes_seconds,
        "backtesting_py_seconds": bt_seconds, "speed_ratio": bt_seconds / hermes_seconds,
        "bars": len(data["close"]), "hermes_closed_trades": len(ours),
        "backtesting_py_closed_trades": len(theirs),
        "same_trades": ours == theirs and ours_open == theirs_open,
        "first_differences": [{"hermes": h, "backtesting_py": b} for h, b in pairs if h != b][:5],
        "hermes_return": float(simulation.equity[-1] / CASH - 1),
        "backtesting_py_return": float(stats["Return [%]"] / 100),
    }  # fmt: skip
