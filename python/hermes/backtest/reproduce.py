"""``hermes reproduce <run_id>``: re-run a recorded backtest on the snapshot it read.

The run is recomputed from its recorded strategy, parameters, execution config, period and
feature table, reading the lake as of the recorded DuckLake snapshot (so data ingested or
features rebuilt since then do not matter). Metrics, trades and equity are compared exactly;
anything that differs is listed with the provenance that changed (package versions, code).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hermes.backtest.config import BacktestConfig
from hermes.backtest.equity import read_equity
from hermes.backtest.inputs import MarketSlice
from hermes.backtest.provenance import git_commit, package_versions
from hermes.backtest.request import BacktestRequest, RunContext
from hermes.backtest.runs import RunResult, execute, load_run, simulate_request
from hermes.config import Settings
from hermes.lake import connect
from hermes.stats.metrics import METRIC_NAMES

REPRODUCIBLE = ("single", "walk_forward")
"""Run kinds recomputed from their row alone (walk-forward out-of-sample runs are single runs
of the chosen parameters on their window)."""


@dataclass
class Reproduction:
    run_id: str
    snapshot_id: int
    identical: bool
    differences: list[str] = field(default_factory=list)
    provenance_changes: list[str] = field(default_factory=list)
    metrics: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def recompute(settings: Settings, run: dict[str, Any]) -> tuple[RunResult, str]:
    """The run recomputed from its record at the recorded snapshot, and the model's SQL hash.

    Signals come from the strategy's signal model as of that snapshot, by the same rule as
    any run (:mod:`hermes.signals.source`), with the recorded parameters.
    """
    request = BacktestRequest(
        run["strategy_id"],
        [run["symbol"]],
        [run["interval"]],
        run["period_start"],
        run["period_end"],
        json.loads(run["parameters"]),
        BacktestConfig.from_json(run["config"]),
        run["features_table"],
    )

    def again(context: RunContext, slices: list[MarketSlice]) -> RunResult:
        (data,) = slices
        return execute(context, data, run_id=run["run_id"])

    (result,) = simulate_request(
        settings, request, again, label="reproduction", snapshot=int(run["snapshot_id"])
    )
    return result, str(result.run["signal_model_hash"])


def reproduce(settings: Settings, run_id: str) -> Reproduction:
    """Recompute ``run_id`` and compare it with what the lake recorded."""
    with connect(settings) as conn:
        run = load_run(conn, run_id)
        if run["run_kind"] not in REPRODUCIBLE:
            raise ValueError(
                f"run {run_id} is a {run['run_kind']} run; only "
                f"{' and '.join(REPRODUCIBLE)} runs reproduce"
            )
        trades = conn.execute(
            "select * exclude (run_id) from gold_backtest_trades "
            "where run_id = ? order by trade_id",
            [run_id],
        ).to_arrow_table()
        equity = read_equity(conn, [run_id]).drop_columns(["run_id"])
    again, model_hash = recompute(settings, run)
    out = Reproduction(run_id=run_id, snapshot_id=int(run["snapshot_id"]), identical=True)
    for name in (
        "data_fingerprint",
        "features_version",
        "signal_source",
        "rows",
        "first_open_time",
        "last_open_time",
    ):
        if run.get(name) is None and name == "signal_source":
            continue  # recorded before runs named their signal source
        if not _same(run[name], again.run[name]):
            out.differences.append(f"{name}: recorded {run[name]!r}, now {again.run[name]!r}")
    for name in (*METRIC_NAMES, "final_equity"):
        out.metrics[name] = (run[name], again.run[name])
        if not _same(run[name], again.run[name]):
            out.differences.append(f"{name}: recorded {run[name]!r}, now {again.run[name]!r}")
    new_trades = again.trades.drop_columns(["run_id"])
    if new_trades.num_rows != trades.num_rows:
        out.differences.append(f"trades: recorded {trades.num_rows}, now {new_trades.num_rows}")
    elif not new_trades.select(trades.column_names).equals(trades):
        rows = [
            i
            for i in range(trades.num_rows)
            if new_trades.slice(i, 1).to_pylist() != trades.slice(i, 1).to_pylist()
        ]
        out.differences.append(f"trades: {len(rows)} differ (first trade_id {rows[0]})")
    new_equity = again.equity.drop_columns(["run_id"]).select(equity.column_names)
    if new_equity.num_rows != equity.num_rows or not np.array_equal(
        new_equity.column("equity").to_numpy(), equity.column("equity").to_numpy()
    ):
        out.differences.append("equity curve differs")
    recorded_versions = json.loads(run["package_versions"])
    for name, now in package_versions().items():
        if recorded_versions.get(name) != now:
            out.provenance_changes.append(f"{name}: {recorded_versions.get(name)} -> {now}")
    recorded_hash = run.get("signal_model_hash")
    if recorded_hash and recorded_hash != model_hash:
        out.provenance_changes.append(f"signal model SQL: {recorded_hash} -> {model_hash}")
    commit, _dirty = git_commit()
    if run["git_commit"] != commit:
        out.provenance_changes.append(f"git commit: {run['git_commit']} -> {commit}")
    out.identical = not out.differences
    return out
