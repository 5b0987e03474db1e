"""The lake tables paper trading writes, created idempotently with explicit DDL.

Documented as dbt sources in ``models/gold/backtest/_paper__sources.yml``.
"""

from __future__ import annotations

import duckdb

FEED_DDL = """
create table if not exists gold_signal_feed (
    strategy_id varchar not null,
    strategy_version varchar not null,
    parameters varchar not null,
    symbol varchar not null,
    interval varchar not null,
    open_time timestamp not null,
    close_time timestamp not null,
    decision varchar not null,
    position_before double not null,
    position double not null,
    price double not null,
    flags varchar not null,
    bar_age_seconds double not null,
    bar_age_intervals double not null,
    stale boolean not null,
    snapshot_id bigint not null,
    computed_at timestamp not null,
    inputs_fingerprint varchar
)
"""
FEED_COLUMNS_ADDED = (
    "alter table gold_signal_feed add column if not exists inputs_fingerprint varchar",
)
"""Columns added since the first release, for lakes whose feed table is older (a no-op,
and no new snapshot, when the column is there)."""

ORDERS_DDL = """
create table if not exists gold_paper_orders (
    strategy_id varchar not null,
    paper_since date not null,
    symbol varchar not null,
    interval varchar not null,
    order_id bigint not null,
    decided_at timestamp,
    filled_at timestamp not null,
    side varchar not null,
    order_type varchar not null,
    quantity double not null,
    fill_price double not null,
    fees double not null,
    snapshot_id bigint not null
)
"""

POSITIONS_DDL = """
create table if not exists gold_paper_positions (
    strategy_id varchar not null,
    paper_since date not null,
    symbol varchar not null,
    interval varchar not null,
    as_of timestamp not null,
    quantity double not null,
    entry_time timestamp,
    entry_price double,
    close double not null,
    market_value double not null,
    cash double not null,
    equity double not null,
    unrealized_pnl double not null,
    config varchar not null,
    parameters varchar not null,
    snapshot_id bigint not null
)
"""

EQUITY_DDL = """
create table if not exists gold_paper_equity (
    strategy_id varchar not null,
    paper_since date not null,
    symbol varchar not null,
    interval varchar not null,
    open_time timestamp not null,
    close double not null,
    position double not null,
    cash double not null,
    equity double not null,
    drawdown double not null,
    snapshot_id bigint not null
)
"""

DRIFT_DDL = """
create table if not exists gold_paper_drift (
    strategy_id varchar not null,
    paper_since date not null,
    symbol varchar not null,
    interval varchar not null,
    as_of timestamp not null,
    live_bars bigint not null,
    reference_bars bigint not null,
    live_return double not null,
    band_low double,
    band_high double,
    live_max_drawdown double not null,
    drawdown_band double,
    status varchar not null,
    reason varchar not null,
    snapshot_id bigint not null
)
"""

TABLES = {
    "gold_signal_feed": FEED_DDL,
    "gold_paper_orders": ORDERS_DDL,
    "gold_paper_positions": POSITIONS_DDL,
    "gold_paper_equity": EQUITY_DDL,
    "gold_paper_drift": DRIFT_DDL,
}


def ensure_paper_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for ddl in (*TABLES.values(), *FEED_COLUMNS_ADDED):
        conn.execute(ddl)
