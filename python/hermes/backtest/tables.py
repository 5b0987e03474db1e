"""The lake tables backtests write, created idempotently with explicit DDL.

They are documented as dbt sources in ``models/gold/backtest/_backtest__sources.yml``.
"""

from __future__ import annotations

import duckdb

from hermes.backtest.equity import create_curves_view
from hermes.lake import table_types
from hermes.stats.metrics import METRIC_NAMES

_METRIC_TYPES = {
    "max_drawdown_duration_bars": "bigint",
    "trades": "bigint",
    "open_trades": "bigint",
}
METRIC_DDL = ",\n".join(f"    {name} {_METRIC_TYPES.get(name, 'double')}" for name in METRIC_NAMES)

RUNS_DDL = f"""
create table if not exists gold_backtest_runs (
    run_id varchar not null,
    created_at timestamp not null,
    run_kind varchar not null,
    strategy_id varchar not null,
    strategy_version varchar not null,
    parameters varchar not null,
    parameters_hash varchar not null,
    config varchar not null,
    run_hash varchar not null,
    symbol varchar not null,
    interval varchar not null,
    period_start timestamp,
    period_end timestamp,
    first_open_time timestamp not null,
    last_open_time timestamp not null,
    rows bigint not null,
    features_table varchar not null,
    snapshot_id bigint not null,
    data_fingerprint varchar not null,
    features_version varchar not null,
    signal_source varchar,
    signal_model_hash varchar,
    git_commit varchar,
    git_dirty boolean,
    package_versions varchar not null,
    final_equity double not null,
{METRIC_DDL},
    equity_base_run_id varchar,
    equity_from timestamp
)
"""

TRADES_DDL = """
create table if not exists gold_backtest_trades (
    run_id varchar not null,
    trade_id bigint not null,
    symbol varchar not null,
    entry_time timestamp not null,
    entry_price double not null,
    exit_time timestamp,
    exit_price double,
    size double not null,
    entry_fees double not null,
    exit_fees double not null,
    pnl double not null,
    return double not null,
    status varchar not null
)
"""

EQUITY_DDL = """
create table if not exists gold_backtest_equity (
    run_id varchar not null,
    open_time timestamp not null,
    close double not null,
    equity double not null,
    position double not null,
    drawdown double not null,
    buy_and_hold_equity double not null,
    buy_signal boolean not null,
    sell_signal boolean not null
)
"""

GRID_DDL = f"""
create table if not exists gold_backtest_grid (
    grid_id varchar not null,
    created_at timestamp not null,
    strategy_id varchar not null,
    strategy_version varchar not null,
    symbol varchar not null,
    interval varchar not null,
    period_start timestamp,
    period_end timestamp,
    first_open_time timestamp not null,
    last_open_time timestamp not null,
    rows bigint not null,
    features_table varchar not null,
    snapshot_id bigint not null,
    data_fingerprint varchar not null,
    config varchar not null,
    combination bigint not null,
    signal_source varchar,
    parameters varchar not null,
    parameters_hash varchar not null,
    final_equity double not null,
{METRIC_DDL}
)
"""

WALK_FORWARD_DDL = f"""
create table if not exists gold_backtest_walk_forward (
    walk_forward_id varchar not null,
    created_at timestamp not null,
    fold bigint not null,
    strategy_id varchar not null,
    symbol varchar not null,
    interval varchar not null,
    in_sample_start timestamp not null,
    in_sample_end timestamp not null,
    out_of_sample_start timestamp not null,
    out_of_sample_end timestamp not null,
    combinations bigint not null,
    objective varchar not null,
    in_sample_objective double,
    in_sample_total_return double,
    in_sample_sharpe double,
    in_sample_max_drawdown double,
    in_sample_trades bigint,
    parameters varchar not null,
    snapshot_id bigint not null,
    run_id varchar not null,
{METRIC_DDL}
)
"""

AB_DDL = f"""
create table if not exists gold_backtest_ab (
    ab_id varchar not null,
    created_at timestamp not null,
    symbol varchar not null,
    interval varchar not null,
    variant varchar not null,
    entry_filter varchar,
    features_table varchar not null,
    strategy_id varchar not null,
    parameters varchar not null,
    first_open_time timestamp not null,
    last_open_time timestamp not null,
    rows bigint not null,
    buy_signals bigint not null,
    snapshot_id bigint not null,
    run_id varchar not null,
{METRIC_DDL}
)
"""

OVERFITTING_DDL = """
create table if not exists gold_backtest_overfitting (
    study_kind varchar not null,
    study_id varchar not null,
    fold bigint,
    created_at timestamp not null,
    symbol varchar not null,
    interval varchar not null,
    trials bigint not null,
    chosen bigint not null,
    observations bigint not null,
    periods_per_year double not null,
    sharpe double,
    skewness double,
    kurtosis double,
    psr double,
    expected_max_sharpe double,
    dsr double,
    pbo double,
    pbo_partitions bigint not null,
    pbo_splits bigint not null,
    pbo_median_logit double,
    pbo_loss_probability double,
    ci_level double not null,
    bootstrap_samples bigint not null,
    bootstrap_block_bars bigint not null,
    bootstrap_seed bigint not null,
    sharpe_ci_low double,
    sharpe_ci_high double,
    total_return_ci_low double,
    total_return_ci_high double,
    notes varchar
)
"""

TABLES = {
    "gold_backtest_runs": RUNS_DDL,
    "gold_backtest_trades": TRADES_DDL,
    "gold_backtest_equity": EQUITY_DDL,
    "gold_backtest_grid": GRID_DDL,
    "gold_backtest_walk_forward": WALK_FORWARD_DDL,
    "gold_backtest_ab": AB_DDL,
    "gold_backtest_overfitting": OVERFITTING_DDL,
}


MIGRATIONS = (
    # signals come from the strategy's signal model: record from where, and which SQL
    ("gold_backtest_runs", "signal_source", "add column signal_source varchar"),
    ("gold_backtest_runs", "signal_model_hash", "add column signal_model_hash varchar"),
    # a run extending an earlier one stores its equity from the first bar that differs
    # (hermes.backtest.equity)
    ("gold_backtest_runs", "equity_base_run_id", "add column equity_base_run_id varchar"),
    ("gold_backtest_runs", "equity_from", "add column equity_from timestamp"),
    ("gold_backtest_grid", "signal_source", "add column signal_source varchar"),
    # grids are generic over any strategy: their parameters live in the `parameters` JSON
    *(
        ("gold_backtest_grid", f"-{name}", f"drop column {name}")
        for name in ("ema_fast", "ema_slow", "rsi_low", "rsi_high")
    ),
)
"""Schema changes for lakes whose tables predate them: (table, column, change); a column
prefixed with ``-`` is one the change removes. Each runs only where it is still needed."""


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the backtest tables if needed, bring older ones up to date, and create the
    view of whole equity curves (:data:`hermes.backtest.equity.CURVES_VIEW`).

    Recorded metrics read back bit for bit (reproduction compares them exactly) because the
    lake stores every row in parquet, never inlined in the catalog
    (:func:`hermes.lake.ensure_catalog`).
    """
    for ddl in TABLES.values():
        conn.execute(ddl)
    for table, column, change in MIGRATIONS:
        held = table_types(conn, table)
        needed = column[1:] in held if column.startswith("-") else column not in held
        if needed:
            conn.execute(f"alter table {table} {change}")  # constants of MIGRATIONS
    create_curves_view(conn)
