"""Execution costs: the fees and slippage backtests assume by default, and one round trip's cost.

Defined once, as the ``costs`` var of ``dbt_project.yml``: backtests default to it
(:class:`hermes.backtest.config.BacktestConfig`, ``hermes backtest --fees/--slippage``), and
the ML labels read it there (``round_trip_cost()``, ``models/gold/ml/gold_ml_labels.sql``):
a forward move smaller than one round trip (entry and exit, each paying fees and slippage)
cannot pay for itself, so it is labelled neutral, not a signal.
"""

from __future__ import annotations

from hermes.config import project_vars


def default_costs() -> tuple[float, float]:
    """(fees, slippage) as fractions of an order's value, from ``dbt_project.yml``."""
    costs = project_vars()["costs"]
    return float(costs["fees"]), float(costs["slippage"])


def round_trip_cost(fees: float, slippage: float) -> float:
    """What one entry plus one exit cost, as a fraction: both orders pay fees and slippage."""
    return 2 * (fees + slippage)


FEES, SLIPPAGE = default_costs()
