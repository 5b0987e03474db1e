"""The lookahead verdict of each compiled signal model, kept in the lake so the check runs once
per change.

``hermes_lookahead_checks`` holds one row per check: strategy, model, the model's compiled
SQL hash (the hash backtests record as ``signal_model_hash``), pass or fail, the verdict's
line, what was compared and how long it took. :func:`ensure_checked` runs before the first
backtest, grid, walk-forward or paper step of a model whose hash has no verdict yet, and
records it; :func:`require_passed` (called when a signal source opens) refuses a model whose
verdict failed, with the verdict's one line.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from hermes.config import Settings
from hermes.lake import connect, table_exists
from hermes.signals.errors import StrategyError
from hermes.signals.lookahead import CUTS, SHIFTS, Verdict, check_model
from hermes.signals.models import SignalModel, open_model
from hermes.signals.registry import Strategy, load_strategy

CHECKS_TABLE = "hermes_lookahead_checks"
CHECKS_DDL = f"""
create table if not exists {CHECKS_TABLE} (
    strategy_id varchar not null,
    model varchar not null,
    sql_hash varchar not null,
    passed boolean not null,
    verdict varchar not null,
    cuts integer not null,
    shifts integer not null,
    bars_compared bigint not null,
    seconds double not null,
    checked_at timestamp not null
)
"""
_KNOWN: dict[str, Verdict] = {}
"""Verdicts this process has computed or read, by compiled SQL hash."""


class LookaheadError(StrategyError):
    """A signal model whose decisions change once later bars are removed (or that depend on
    how much history precedes its warm-up); the message is the verdict's one line."""


def stored_verdict(conn: duckdb.DuckDBPyConnection, sql_hash: str) -> Verdict | None:
    """The latest recorded verdict of a compiled model (at the connection's snapshot)."""
    if sql_hash in _KNOWN:
        return _KNOWN[sql_hash]
    if not sql_hash or not table_exists(conn, CHECKS_TABLE):
        return None
    row = conn.execute(  # constant table name, bound values
        "select strategy_id, model, sql_hash, passed, verdict, cuts, shifts, bars_compared, "  # noqa: S608
        f"seconds from {CHECKS_TABLE} where sql_hash = ? order by checked_at desc limit 1",
        [sql_hash],
    ).fetchone()
    if row is None:
        return None
    verdict = Verdict(*row)
    _KNOWN[sql_hash] = verdict
    return verdict


def record(conn: duckdb.DuckDBPyConnection, verdict: Verdict) -> None:
    """Append ``verdict`` to the lake's checks table (created on first use)."""
    conn.execute(CHECKS_DDL)
    conn.execute(  # constant table name, bound values
        f"insert into {CHECKS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, now()::timestamp)",  # noqa: S608
        [
            verdict.strategy_id,
            verdict.model,
            verdict.sql_hash,
            verdict.passed,
            verdict.line,
            verdict.cuts,
            verdict.shifts,
            verdict.compared,
            verdict.seconds,
        ],  # fmt: skip
    )
    _KNOWN[verdict.sql_hash] = verdict


def verify(
    conn: duckdb.DuckDBPyConnection,
    strategy: Strategy,
    model: SignalModel,
    *,
    cuts: int = CUTS,
    shifts: int = SHIFTS,
) -> Verdict:
    """Check the model on ``conn`` (a writable lake connection) and record the verdict."""
    verdict = check_model(conn, strategy, model, cuts=cuts, shifts=shifts)
    record(conn, verdict)
    return verdict


def check_each(settings: Settings, strategy_ids: Iterable[str]) -> dict[str, str]:
    """:func:`check_each_on` on a connection of its own."""
    with connect(settings) as conn:
        return check_each_on(conn, strategy_ids)


def check_each_on(conn: duckdb.DuckDBPyConnection, strategy_ids: Iterable[str]) -> dict[str, str]:
    """Check each strategy's current model unless its hash has a verdict; record new verdicts
    on ``conn`` (a writable lake connection the caller already holds).

    Returns the refusal line of each strategy whose verdict failed (the others carry on). A
    strategy that is unknown or not built is left to the caller's own checks (they name it).
    """
    refused = {}
    for strategy_id in strategy_ids:
        try:
            strategy = load_strategy(strategy_id, conn=conn)
            model = open_model(conn, strategy)
        except ValueError:
            continue
        if not model.sql_hash:
            continue
        verdict = stored_verdict(conn, model.sql_hash) or verify(conn, strategy, model)
        if not verdict.passed:
            refused[strategy_id] = verdict.line
    return refused


def ensure_checked(settings: Settings, strategy_id: str) -> None:
    """:func:`check_each` for one strategy, raising :class:`LookaheadError` when refused."""
    refused = check_each(settings, [strategy_id])
    if refused:
        raise LookaheadError(refused[strategy_id])


def require_passed(conn: duckdb.DuckDBPyConnection, model: SignalModel) -> None:
    """Refuse a model whose recorded verdict failed (:class:`LookaheadError`, its one line)."""
    verdict = stored_verdict(conn, model.sql_hash)
    if verdict is not None and not verdict.passed:
        raise LookaheadError(verdict.line)
