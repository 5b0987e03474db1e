"""``hermes check``: a strategy's lookahead and recursion check, on demand, with more cuts.

The same check runs by itself before a new or changed model's first backtest, grid,
walk-forward or paper step (:mod:`hermes.signals.verdicts`); this command runs it again with
more cut points and later starts, records the verdict and prints it with its time.
"""

from __future__ import annotations

from hermes.cli.app import console
from hermes.cli.options import StrategyOption
from hermes.config import Settings


def check(strategy: StrategyOption = "smart_momentum") -> None:
    """Check a strategy's signal model for lookahead and recursion; exit 1 when it fails."""
    from hermes.lake import connect
    from hermes.signals.lookahead import DEEP_CUTS, DEEP_SHIFTS
    from hermes.signals.models import open_model
    from hermes.signals.registry import load_strategy
    from hermes.signals.verdicts import LookaheadError, verify

    conn = connect(Settings.from_env())
    try:
        loaded = load_strategy(strategy, conn=conn)
        model = open_model(conn, loaded)
        verdict = verify(conn, loaded, model, cuts=DEEP_CUTS, shifts=DEEP_SHIFTS)
    finally:
        conn.close()
    if not verdict.passed:
        raise LookaheadError(verdict.line)
    console.print(verdict.line, soft_wrap=True, markup=False, highlight=False)
    console.print(
        f"model {verdict.model} (sql {verdict.sql_hash[:12]}): {verdict.cuts} cuts, "
        f"{verdict.shifts} later starts, {verdict.compared:,} bars compared in "
        f"{verdict.seconds:.1f} s",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
