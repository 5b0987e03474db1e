"""Readable names, units and formats of the metrics, shared by the pages and the terminal.

One place for what a metric is called and how its value is shown: the tearsheet, the study
pages, the research index and the CLI tables all read :data:`METRICS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Unit = Literal["percent", "ratio", "count", "bars", "days", "money"]


@dataclass(frozen=True)
class Metric:
    label: str
    unit: Unit
    help: str
    higher_is_better: bool = True


METRICS: dict[str, Metric] = {
    "total_return": Metric("Total return", "percent", "Final equity / initial cash - 1."),
    "cagr": Metric("CAGR", "percent", "Compound annual growth rate over the calendar span."),
    "sharpe": Metric("Sharpe ratio", "ratio", "Annualised mean / std of bar returns (rf = 0)."),
    "sortino": Metric(
        "Sortino ratio", "ratio", "Annualised mean / downside deviation of bar returns."
    ),
    "calmar": Metric("Calmar ratio", "ratio", "CAGR / max drawdown."),
    "max_drawdown": Metric(
        "Max drawdown", "percent", "Largest fall from a running peak of equity.", False
    ),
    "max_drawdown_duration_bars": Metric(
        "Longest drawdown (bars)", "bars", "Longest run of bars below a previous peak.", False
    ),
    "max_drawdown_duration_days": Metric(
        "Longest drawdown", "days", "Longest time below a previous peak.", False
    ),
    "win_rate": Metric("Win rate", "percent", "Share of closed trades with a positive pnl."),
    "profit_factor": Metric("Profit factor", "ratio", "Gross profit / gross loss."),
    "trades": Metric("Closed trades", "count", "Trades entered and exited in the period."),
    "open_trades": Metric("Open at the end", "count", "Positions still held at the last bar."),
    "exposure": Metric("Time in market", "percent", "Share of bars ending with a position."),
    "var_95": Metric("VaR 95% (bar)", "percent", "5% quantile of bar returns."),
    "cvar_95": Metric("CVaR 95% (bar)", "percent", "Mean of bar returns at or below VaR 95%."),
    "buy_and_hold_return": Metric(
        "Buy-and-hold return", "percent", "Last close / first close - 1 (no costs)."
    ),
    "final_equity": Metric("Final equity", "money", "Equity at the last bar's close."),
    "psr": Metric(
        "Probabilistic Sharpe", "percent", "Probability that the true Sharpe ratio is above 0."
    ),
    "dsr": Metric(
        "Deflated Sharpe",
        "percent",
        "Probability the Sharpe ratio beats the best of as many "
        "skill-less trials (Bailey & Lopez de Prado 2014).",
    ),
    "expected_max_sharpe": Metric(
        "Best Sharpe by luck",
        "ratio",
        "Expected best annual Sharpe ratio of as many skill-less trials.",
    ),
    "pbo": Metric(
        "Prob. of overfitting",
        "percent",
        "Share of CSCV splits where the in-sample winner is at or below the median out of sample.",
        False,
    ),
    "pbo_loss_probability": Metric(
        "Prob. of OOS loss",
        "percent",
        "Share of CSCV splits where the in-sample winner loses money out of sample.",
        False,
    ),
}

HEADLINE = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_duration_days",
    "exposure",
    "var_95",
    "cvar_95",
)
"""Metrics a strategy and buy-and-hold both have, side by side on the tearsheet."""

TRADE_METRICS = ("trades", "open_trades", "win_rate", "profit_factor")

MISSING = "n/a"


def label(name: str) -> str:
    """Readable name of a metric or column (``ema_fast`` -> ``ema fast`` if unknown)."""
    metric = METRICS.get(name)
    return metric.label if metric else name.replace("_", " ")


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def format_metric(name: str, value: Any) -> str:
    """``value`` of metric ``name`` with its unit (``n/a`` for NULL, NaN or infinity)."""
    if is_missing(value):
        return MISSING
    unit = METRICS[name].unit if name in METRICS else None
    if unit == "percent":
        return f"{value * 100:,.2f}%"
    if unit == "money":
        return f"{value:,.2f}"
    if unit == "days":
        return f"{value:,.1f} d"
    if unit in ("count", "bars"):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def why_missing(name: str, run: dict[str, Any]) -> str:
    """Why a metric of ``run`` is NULL, in a few words (for the pages' footnotes)."""
    trades = run.get("trades") or 0
    reasons = {
        "sharpe": "returns never vary (no position held)",
        "sortino": "no losing bar: downside deviation is 0",
        "calmar": "no drawdown",
        "win_rate": "no closed trade",
        "profit_factor": "no closed trade" if not trades else "no losing trade",
    }
    return reasons.get(name, "not defined for this run")
