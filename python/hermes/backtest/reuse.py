"""Backtests whose inputs did not change are not run again: the stored run is the result.

A single run over a whole series is decided by its inputs' fingerprint: the strategy and its
version, parameters and execution settings (``run_hash``), the signal model's SQL
(``signal_model_hash``), the series' bars up to the last one (``data_fingerprint``, SHA-256
of times and OHLCV) and the signals and values it decided on (``features_version``). A
stored run with the same fingerprint would be recomputed bar for bar identical (the engine
is deterministic), so the daily job reuses it instead: a partition re-landed with the same
candles (a month's archive replacing its daily archives) costs no simulation, statistics
or page. Only runs whose statistics were recorded are reused (a run a killed job left
half-done is recomputed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb

from hermes.backtest.config import BacktestConfig, run_hash
from hermes.backtest.equity import LINEAGE
from hermes.backtest.inputs import MarketSlice
from hermes.lake import table_exists
from hermes.signals.registry import Strategy

KEY = (*LINEAGE, "data_fingerprint", "features_version")
"""Columns of ``gold_backtest_runs`` that make up a run's inputs' fingerprint: its lineage
(strategy, parameters, config, model, series) and the data and signals it read."""

Key = tuple[str, ...]


def input_key(
    strategy: Strategy, data: MarketSlice, config: BacktestConfig, model_hash: str
) -> Key:
    """The fingerprint of a whole-series single run of ``strategy`` on ``data``."""
    return (
        strategy.strategy_id,
        strategy.version,
        run_hash(strategy.parameters_json, config),
        model_hash,
        data.symbol,
        data.interval,
        data.data_fingerprint,
        data.features_version,
    )


def stored_runs(conn: duckdb.DuckDBPyConnection, strategy_ids: Iterable[str]) -> dict[Key, str]:
    """Fingerprint -> run id of the finished whole-series single runs of ``strategy_ids``."""
    if not table_exists(conn, "gold_backtest_runs") or not table_exists(
        conn, "gold_backtest_overfitting"
    ):
        return {}
    rows = conn.execute(
        f"select {', '.join(KEY)}, run_id from gold_backtest_runs "  # noqa: S608 (constant names)
        "where run_kind = 'single' and period_start is null and period_end is null "
        "and list_contains(?, strategy_id) and run_id in (select study_id from "
        "gold_backtest_overfitting where study_kind = 'run') order by created_at, run_id",
        [sorted(set(strategy_ids))],
    ).fetchall()
    return {tuple(str(v) for v in row[:-1]): str(row[-1]) for row in rows}


def split_reusable(keys: Sequence[Key], stored: dict[Key, str]) -> tuple[list[int], dict[int, str]]:
    """(positions of ``keys`` to simulate, position -> stored run id reused)."""
    todo, reused = [], {}
    for position, key in enumerate(keys):
        if key in stored:
            reused[position] = stored[key]
        else:
            todo.append(position)
    return todo, reused
