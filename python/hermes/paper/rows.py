"""The paper ledger's rows, from the engine's arrays and records: equity rows, a symbol's
position after the last bar, the orders (with their side and type), closed trades' returns.
Shared by the per-series ledger (:mod:`hermes.paper.ledger`) and the shared-capital one
(:mod:`hermes.paper.portfolio`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from hermes.stats.metrics import drawdown

SIDES = {0: "buy", 1: "sell"}  # vectorbt OrderSide


def equity_table(
    base: dict[str, Any],
    symbol: str,
    times: np.ndarray,
    close: np.ndarray,
    position: np.ndarray,
    cash: np.ndarray,
    equity: np.ndarray,
    init_cash: float,
) -> pa.Table:
    """The ledger's equity rows (``base``: strategy_id, paper_since, interval)."""
    rows = len(times)
    return pa.table(
        {
            "strategy_id": pa.array([base["strategy_id"]] * rows, pa.string()),
            "paper_since": pa.array([base["paper_since"]] * rows, pa.date32()),
            "symbol": pa.array([symbol] * rows, pa.string()),
            "interval": pa.array([base["interval"]] * rows, pa.string()),
            "open_time": pa.array(times),
            "close": pa.array(np.asarray(close, dtype=float)),
            "position": pa.array(np.asarray(position, dtype=float)),
            "cash": pa.array(cash),
            "equity": pa.array(equity),
            "drawdown": pa.array(drawdown(equity, init_cash)),
        }
    )


def position_row(
    base: dict[str, Any],
    symbol: str,
    times: np.ndarray,
    trades: np.ndarray,
    col: int,
    held: float,
    close: float,
    cash: float,
    equity: float,
) -> dict[str, Any]:
    """A symbol's position after the last bar (its open trade is the last one of ``col``)."""
    mine = trades[(trades["col"] == col) & (trades["status"] == 0)] if len(trades) else trades
    entry_time = entry_price = None
    if len(mine):
        entry_time = times[int(mine["entry_idx"][-1])].astype(datetime)
        entry_price = float(mine["entry_price"][-1])
    held, close = float(held), float(close)
    return {
        **base,
        "symbol": symbol,
        "as_of": times[-1].astype(datetime),
        "quantity": held,
        "entry_time": entry_time,
        "entry_price": entry_price,
        "close": close,
        "market_value": held * close,
        "cash": float(cash),
        "equity": float(equity),
        "unrealized_pnl": 0.0 if entry_price is None else held * (close - entry_price),
    }


def closed_returns(trades: np.ndarray) -> np.ndarray:
    closed = trades[trades["status"] == 1] if len(trades) else trades
    return closed["return"].astype(float) if len(closed) else np.array([], float)


def order_rows(
    records: np.ndarray | None,
    times: np.ndarray,
    exits: np.ndarray,
    fill: str,
    sid: str,
    since: date,
    interval: str,
    symbols: list[str],
) -> pa.Table:
    """The engine's order records as ledger rows; ``exits`` (n, k) tells a signal exit from a
    stop, ``symbols[col]`` names each order's symbol."""
    records = records if records is not None else np.array([])
    n = len(records)
    idx = records["idx"].astype(np.int64) if n else np.array([], np.int64)
    col = records["col"].astype(np.int64) if n else np.array([], np.int64)
    side = records["side"] if n else np.array([], np.int64)
    shifted = fill == "next_open"
    decided = np.where(idx > 0, idx - 1, 0) if shifted else idx
    signal_exit = exits[decided, col] if n else np.array([], bool)
    is_stop = (side == 1) & ~signal_exit
    return pa.table(
        {
            "strategy_id": pa.array([sid] * n, pa.string()),
            "paper_since": pa.array([since] * n, pa.date32()),
            "symbol": pa.array([symbols[int(c)] for c in col], pa.string()),
            "interval": pa.array([interval] * n, pa.string()),
            "order_id": pa.array(np.arange(n, dtype=np.int64)),
            "decided_at": pa.array(times[decided] if n else [], pa.timestamp("us")),
            "filled_at": pa.array(times[idx] if n else np.array([], "datetime64[us]")),
            "side": pa.array([SIDES[int(s)] for s in side], pa.string()),
            "order_type": pa.array(["stop" if s else "market" for s in is_stop], pa.string()),
            "quantity": pa.array(records["size"].astype(float) if n else [], pa.float64()),
            "fill_price": pa.array(records["price"].astype(float) if n else [], pa.float64()),
            "fees": pa.array(records["fees"].astype(float) if n else [], pa.float64()),
        }
    )
