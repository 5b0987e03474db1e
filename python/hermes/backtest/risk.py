"""Risk rules that depend on the path of a run: the drawdown circuit breaker and the most
positions held at once. Both block *entry signals*; exits and stops are never blocked.

**Drawdown circuit breaker** (``max_drawdown_halt = d``, ``halt_bars = N``). The breaker
trips at the close of the first bar ``t`` whose equity is at or below ``(1 - d)`` times the
peak (the highest equity so far, the initial cash included). No entry then fills on the
bars ``t+1 .. t+N`` (with ``next_open``: entries decided on bars ``t .. t+N-1``; with
``same_close``: decided on ``t+1 .. t+N``); positions already held keep their exits and
stops. **Reset:** at the close of bar ``t+N`` the breaker re-arms and its peak restarts at
that bar's equity; ``halt_bars = None`` blocks entries for the rest of the run. In a
multi-symbol run it watches the total equity and blocks every symbol.

**Most positions at once** (``max_positions = m``, multi-symbol runs). An entry fills only
while fewer than ``m`` other symbols hold a position at that moment; orders of one bar run
in symbol order (the order symbols are given, as listed by the lake: alphabetical), so when
more symbols signal than slots are free, the first symbols in that order get them. A
refused entry signal is dropped; a signal still true on a later bar is taken then if a slot
is free. A slot freed by an exit on a bar can be used by a later symbol on that same bar.

Both are exact: the run is re-simulated with the blocked entries removed until they are the
ones the simulated path blocks (:func:`hermes.backtest.engine.simulate`,
:func:`hermes.backtest.portfolio.simulate_portfolio`).
"""

from __future__ import annotations

import numpy as np

from hermes.backtest.config import BacktestConfig


def _trips(equity: np.ndarray, init_cash: float, d: float, bars: int | None) -> np.ndarray:
    """Fill bars (n,) where entries are blocked, for one equity path (n,)."""
    n = len(equity)
    blocked = np.zeros(n, dtype=bool)
    start, peak = 0, init_cash
    while start < n:
        peaks = np.maximum.accumulate(np.r_[peak, equity[start:]])[1:]
        hit = np.flatnonzero(equity[start:] <= (1 - d) * peaks)
        if not len(hit):
            break
        trip = start + int(hit[0])
        if bars is None:
            blocked[trip + 1 :] = True
            break
        blocked[trip + 1 : trip + 1 + bars] = True
        reset = trip + bars
        if reset >= n:
            break
        start, peak = reset + 1, float(equity[reset])
    return blocked


def halted_entries(equity: np.ndarray, config: BacktestConfig) -> np.ndarray:
    """Entry signals (decision bars, the shape of ``equity``) the breaker blocks."""
    if config.max_drawdown_halt is None:
        return np.zeros(equity.shape, dtype=bool)
    columns = equity.reshape(len(equity), -1)
    blocked = np.column_stack(
        [
            _trips(columns[:, j], config.init_cash, config.max_drawdown_halt, config.halt_bars)
            for j in range(columns.shape[1])
        ]
    )
    if config.fill == "next_open":  # an entry decided on bar t fills on bar t + 1
        blocked = np.vstack([blocked[1:], blocked[-1:]])
    return blocked.reshape(equity.shape)


def others_held(held: np.ndarray) -> np.ndarray:
    """Per (row, symbol): other symbols holding a position when the symbol's order of that
    row runs (earlier symbols after their orders, later ones before theirs)."""
    held = np.asarray(held, dtype=bool).astype(np.int64)
    before = np.vstack([np.zeros((1, held.shape[1]), dtype=np.int64), held[:-1]])
    earlier = np.cumsum(held, axis=1) - held  # sum over j < i, after this row's orders
    later = np.cumsum(before[:, ::-1], axis=1)[:, ::-1] - before  # sum over j > i, before
    return np.asarray(earlier + later)


def first_excess_entry(
    held: np.ndarray, buy_rows: np.ndarray, buy_cols: np.ndarray, slots: int
) -> tuple[int, int] | None:
    """The first (row, symbol) buy filled while ``slots`` other symbols were held, if any."""
    if not len(buy_rows):
        return None
    crowded = others_held(held)[buy_rows, buy_cols] >= slots
    if not crowded.any():
        return None
    order = np.lexsort((buy_cols[crowded], buy_rows[crowded]))
    return int(buy_rows[crowded][order[0]]), int(buy_cols[crowded][order[0]])
