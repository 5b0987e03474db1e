"""Performance metrics of a run, computed from its equity curve and trades (numpy only).

Notation: ``E_0..E_{n-1}`` is the equity at each bar's close, ``C`` the initial cash,
``r_t = E_t / E_{t-1} - 1`` the bar returns with ``E_{-1} = C`` (n returns), ``P`` the
periods per year (``365 * 86400 / bar_seconds``; crypto trades every day) and ``Y`` the
years covered (calendar span of the period, first open to last close, / 365.25 days).

* total_return   = E_{n-1} / C - 1
* cagr           = (E_{n-1} / C) ** (1 / Y) - 1  (-1 when equity ends at or below 0)
* sharpe         = mean(r) / std(r, ddof=1) * sqrt(P)  (risk-free rate 0; NULL if std = 0)
* sortino        = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(P)  (target 0; NULL if no loss)
* drawdown_t     = 1 - E_t / max(C, E_0..E_t);  max_drawdown = max_t drawdown_t (>= 0)
* max_drawdown_duration_bars = longest run of consecutive bars with drawdown_t > 0
  (``..._days`` = bars * bar_seconds / 86400)
* calmar         = cagr / max_drawdown  (NULL if max_drawdown = 0)
* win_rate       = closed trades with pnl > 0 / closed trades  (NULL without closed trades)
* profit_factor  = sum of positive pnl / -(sum of negative pnl), closed trades (NULL if no loss)
* trades         = closed trades; ``open_trades`` = positions still open at the end
* exposure       = share of bars that end holding a position
* var_95         = 5% quantile of r (linear interpolation, numpy's default): a return, < 0
* cvar_95        = mean of the returns <= var_95
* buy_and_hold_return = close_{n-1} / close_0 - 1 over the same bars (no costs)

Every function accepts one column ``(n,)`` or many ``(n, k)`` (a parameter grid) and works
along the time axis. Sums are exactly rounded (``math.fsum``), so a metric does not depend
on how numpy happens to split a reduction: a recomputed run gives the same bits.
"""

from __future__ import annotations

import math

import numpy as np

SECONDS_PER_YEAR = 365 * 86_400
DAYS_PER_YEAR = 365.25

METRIC_NAMES = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "max_drawdown_duration_days",
    "win_rate",
    "profit_factor",
    "trades",
    "open_trades",
    "exposure",
    "var_95",
    "cvar_95",
    "buy_and_hold_return",
)


def bar_returns(equity: np.ndarray, init_cash: float) -> np.ndarray:
    equity = np.asarray(equity, dtype=float)
    previous = np.concatenate([np.full((1, *equity.shape[1:]), init_cash), equity[:-1]])
    return equity / previous - 1.0


def total_return(equity: np.ndarray, init_cash: float) -> np.ndarray:
    return np.asarray(equity, dtype=float)[-1] / init_cash - 1.0


def cagr(equity: np.ndarray, init_cash: float, years: float) -> np.ndarray:
    growth = np.asarray(equity, dtype=float)[-1] / init_cash
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(growth > 0, np.power(np.maximum(growth, 1e-300), 1.0 / years) - 1.0, -1.0)


def exact_sum(values: np.ndarray) -> np.ndarray:
    """Column sums, exactly rounded (independent of summation order).

    Zeros are skipped (they do not change an exact sum): a strategy is flat on most bars, so
    most returns are 0 and a large grid sums a fraction of its values.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        return np.asarray(math.fsum(values[values != 0]))
    columns = np.ascontiguousarray(values.T)
    return np.array([math.fsum(column[column != 0]) for column in columns])


def exact_mean(values: np.ndarray) -> np.ndarray:
    return exact_sum(values) / np.asarray(values).shape[0]


def sharpe(returns: np.ndarray, periods_per_year: float) -> np.ndarray:
    mean = exact_mean(returns)
    std = np.sqrt(exact_sum((returns - mean) ** 2) / (returns.shape[0] - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(std > 0, mean / std * math.sqrt(periods_per_year), np.nan)


def sortino(returns: np.ndarray, periods_per_year: float) -> np.ndarray:
    downside = np.sqrt(exact_mean(np.minimum(returns, 0.0) ** 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            downside > 0, exact_mean(returns) / downside * math.sqrt(periods_per_year), np.nan
        )


def drawdown(equity: np.ndarray, init_cash: float) -> np.ndarray:
    equity = np.asarray(equity, dtype=float)
    peak = np.maximum(np.maximum.accumulate(equity, axis=0), init_cash)
    return 1.0 - equity / peak


def longest_underwater(dd: np.ndarray) -> np.ndarray:
    """Longest run of consecutive bars with drawdown > 0, per column.

    Bar ``t`` of a run that started after the last bar ``k`` at its peak is ``t - k`` bars
    under water (``t + 1`` when the curve was never at its peak): the longest run is the
    largest such count, found without a Python loop over the bars.
    """
    under = np.asarray(dd) > 0
    flat = under.reshape(under.shape[0], -1)
    bars = np.arange(flat.shape[0], dtype=np.int64)[:, None]
    at_peak = np.maximum.accumulate(np.where(flat, -1, bars), axis=0)
    best = (bars - at_peak).max(axis=0)
    return best.reshape(under.shape[1:]) if under.ndim > 1 else best[0]


def trade_stats(pnl: np.ndarray) -> tuple[float, float, int]:
    """(win_rate, profit_factor, closed trades) for one column's closed-trade pnl."""
    pnl = np.asarray(pnl, dtype=float)
    if len(pnl) == 0:
        return math.nan, math.nan, 0
    gains = math.fsum(pnl[pnl > 0])
    losses = -math.fsum(pnl[pnl < 0])
    return float((pnl > 0).mean()), float(gains / losses) if losses > 0 else math.nan, len(pnl)


def value_at_risk(returns: np.ndarray, level: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(VaR, CVaR) at ``level``: the quantile of returns and the mean of returns at or below it."""
    var = np.quantile(returns, level, axis=0)
    tail = returns <= var
    cvar = exact_sum(np.where(tail, returns, 0.0)) / tail.sum(axis=0)
    return var, cvar


def compute(
    equity: np.ndarray,
    position: np.ndarray,
    closed_pnl: list[np.ndarray],
    open_trades: np.ndarray,
    close: np.ndarray,
    init_cash: float,
    bar_seconds: int,
    years: float,
) -> list[dict[str, float | int | None]]:
    """All metrics, one dict per column (``closed_pnl[j]`` = closed-trade pnl of column j)."""
    equity = np.asarray(equity, dtype=float)
    two_d = equity.reshape(equity.shape[0], -1)
    pos = np.asarray(position, dtype=float).reshape(equity.shape[0], -1)
    periods = SECONDS_PER_YEAR / bar_seconds
    returns = bar_returns(two_d, init_cash)
    dd = drawdown(two_d, init_cash)
    total = total_return(two_d, init_cash)
    growth = cagr(two_d, init_cash, years)
    mdd = dd.max(axis=0)
    duration = np.atleast_1d(longest_underwater(dd))
    var, cvar = value_at_risk(returns)
    values = {
        "total_return": total,
        "cagr": growth,
        "sharpe": sharpe(returns, periods),
        "sortino": sortino(returns, periods),
        "max_drawdown": mdd,
        "max_drawdown_duration_bars": duration,
        "exposure": (pos != 0).sum(axis=0) / pos.shape[0],
        "var_95": var,
        "cvar_95": cvar,
    }
    close = np.asarray(close, dtype=float)
    buy_hold = float(close[-1] / close[0] - 1.0)
    out: list[dict[str, float | int | None]] = []
    for j in range(two_d.shape[1]):
        row: dict[str, float | int | None] = {k: float(v[j]) for k, v in values.items()}
        row["max_drawdown_duration_bars"] = int(duration[j])
        row["max_drawdown_duration_days"] = int(duration[j]) * bar_seconds / 86_400
        row["calmar"] = float(growth[j] / mdd[j]) if mdd[j] > 0 else math.nan
        win, factor, closed = trade_stats(closed_pnl[j])
        row.update(win_rate=win, profit_factor=factor, trades=closed)
        row["open_trades"] = int(open_trades[j])
        row["buy_and_hold_return"] = buy_hold
        out.append({k: _clean(row[k]) for k in METRIC_NAMES})
    return out


def _clean(value: float | int | None) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
