"""Tables a tearsheet derives from a run's equity and trades (pandas, no plotting).

Conventions match :mod:`hermes.stats.metrics`: a period's return is its last equity over
the previous period's last equity, minus 1, the first period starting from the initial cash.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from hermes.stats import metrics

ROLLING_DAYS = 182


UNITS = {"M": "datetime64[M]", "Y": "datetime64[Y]", "D": "datetime64[D]"}


def _period_ends(times: np.ndarray, freq: str) -> tuple[np.ndarray, np.ndarray]:
    """(each period's label, the position of its last bar) of bars in time order."""
    labels = np.asarray(times).astype("datetime64[ns]").astype(UNITS[freq])
    if not len(labels):
        return labels, np.empty(0, dtype=np.int64)
    ends = np.flatnonzero(np.append(labels[1:] != labels[:-1], True))
    return labels[ends], ends


def _returns(equity: np.ndarray, ends: np.ndarray, init_cash: float) -> np.ndarray:
    """Each period's last equity over the previous period's (the first over the cash) - 1."""
    last = np.asarray(equity, dtype=float)[ends]
    previous = np.append(init_cash, last[:-1]) if len(last) else last
    return last / previous - 1


def monthly_table(times: np.ndarray, equity: np.ndarray, init_cash: float) -> pd.DataFrame:
    """Monthly returns pivoted: one row per year, columns 1..12 (NaN where no bar)."""
    labels, ends = _period_ends(times, "M")
    months = labels.astype(np.int64)  # months since 1970-01
    years, month = months // 12 + 1970, months % 12
    index = np.unique(years)
    table = np.full((len(index), 12), np.nan)
    table[np.searchsorted(index, years), month] = _returns(equity, ends, init_cash)
    return pd.DataFrame(
        table,
        index=pd.Index(index, name="year"),
        columns=pd.Index(range(1, 13), name="month"),
    )


def yearly_rows(equity: pd.DataFrame, init_cash: float) -> list[dict[str, Any]]:
    """Per calendar year: strategy and buy-and-hold return, their difference, max drawdown."""
    labels, ends = _period_ends(equity["open_time"].to_numpy(), "Y")
    strategy = _returns(equity["equity"].to_numpy(), ends, init_cash)
    benchmark = _returns(equity["buy_and_hold_equity"].to_numpy(), ends, init_cash)
    if not len(ends):
        return []
    starts = np.append(0, ends[:-1] + 1)
    worst = np.maximum.reduceat(equity["drawdown"].to_numpy(dtype=float), starts)
    return [
        {
            "year": str(labels[k].astype(object).year),
            "strategy": float(strategy[k]),
            "benchmark": float(benchmark[k]),
            "excess": float(strategy[k] - benchmark[k]),
            "max_drawdown": float(worst[k]),
            "bars": int(ends[k] - starts[k] + 1),
        }
        for k in range(len(ends))
    ]


def rolling_sharpe(
    returns: np.ndarray, bar_seconds: int, days: int = ROLLING_DAYS
) -> tuple[int, np.ndarray]:
    """(window in bars, annualised Sharpe ratio over the trailing window; NaN before it)."""
    window = max(2, round(days * 86_400 / bar_seconds))
    series = pd.Series(np.asarray(returns, dtype=float))
    roll = series.rolling(window)
    std = roll.std(ddof=1)
    values = (roll.mean() / std.where(std > 0)) * math.sqrt(metrics.SECONDS_PER_YEAR / bar_seconds)
    return window, values.to_numpy()


def daily_returns(times: np.ndarray, equity: np.ndarray, init_cash: float) -> np.ndarray:
    """Returns per UTC day of the equity curve (the last equity of each day)."""
    _, ends = _period_ends(times, "D")
    return _returns(equity, ends, init_cash)


def duration(delta: timedelta | pd.Timedelta | None) -> str:
    if delta is None or pd.isna(delta):
        return "n/a"
    hours = pd.Timedelta(delta).total_seconds() / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.0f} h"


def exit_reason(trade: dict[str, Any], sell_signal: bool, fill: str, stops: dict[str, Any]) -> str:
    """Why a trade ended: its sell signal, a stop, or not at all (still open at the end).

    ``sell_signal``: whether the bar the exit was decided on had a sell signal. With
    ``next_open`` fills a sell signal on bar t exits at bar t+1's open, so that is the bar
    before the exit; with ``same_close`` the exit bar itself.
    """
    if trade["status"] != "closed":
        return "open at the end"
    if sell_signal:
        return "sell signal"
    if stops.get("sl_stop") and trade["return"] < 0:
        return "stop-loss"
    if stops.get("tp_stop") and trade["return"] > 0:
        return "take-profit"
    return "stop" if fill == "next_open" else "sell signal"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict("records")``, built column by column (the same Python values:
    ``Timestamp``, ``int``, ``float``, ``str``) without pandas' cost per row."""
    columns = list(frame.columns)
    values = [frame[c].tolist() for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def trade_rows(trades: pd.DataFrame, equity: pd.DataFrame, config: dict[str, Any]) -> list[dict]:
    """The trades as display rows: times, prices, return, pnl, duration and exit reason."""
    times = pd.DatetimeIndex(equity["open_time"]).to_numpy()
    sells = equity["sell_signal"].to_numpy(dtype=bool)
    fill = str(config.get("fill", "next_open"))
    last_time = pd.Timestamp(times[-1]) if len(times) else None
    out = []
    for record in _records(trades):
        exit_time = record["exit_time"] if record["status"] == "closed" else None
        sell_signal = False
        if exit_time is not None:  # the bar the exit was decided on
            position = int(times.searchsorted(pd.Timestamp(exit_time).to_datetime64()))
            bar = position - 1 if fill == "next_open" and position > 0 else position
            sell_signal = bool(sells[min(bar, len(times) - 1)])
        end = exit_time if exit_time is not None else last_time
        out.append(
            {
                "trade": int(record["trade_id"]) + 1,
                "symbol": record["symbol"],
                "entry_time": f"{pd.Timestamp(record['entry_time']):%Y-%m-%d %H:%M}",
                "entry_price": f"{record['entry_price']:,.2f}",
                "exit_time": f"{pd.Timestamp(exit_time):%Y-%m-%d %H:%M}" if exit_time else "open",
                "exit_price": f"{record['exit_price']:,.2f}" if exit_time else "n/a",
                "return": float(record["return"]),
                "pnl": float(record["pnl"]),
                "duration": duration(pd.Timestamp(end) - pd.Timestamp(record["entry_time"])),
                "reason": exit_reason(record, sell_signal, fill, config),
            }
        )
    return out


def contributions(trades: pd.DataFrame, init_cash: float) -> list[dict[str, Any]]:
    """Per symbol of a portfolio: trades, win rate, pnl and its share of the total pnl."""
    total = float(trades["pnl"].sum()) if len(trades) else 0.0
    out = []
    for symbol, group in trades.groupby("symbol", sort=True):
        closed = group[group["status"] == "closed"]
        pnl = float(group["pnl"].sum())
        out.append(
            {
                "symbol": symbol,
                "trades": int(len(closed)),
                "open_trades": int((group["status"] == "open").sum()),
                "win_rate": float((closed["pnl"] > 0).mean()) if len(closed) else None,
                "pnl": pnl,
                "return_on_cash": pnl / init_cash,
                "share": pnl / total if total else None,
            }
        )
    return out
