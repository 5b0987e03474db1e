"""``hermes signals``: a strategy's signals, chunk by chunk, into ``gold_strategy_signals``.

Runs the strategy's accelerator over any history in bounded memory (for strategies that
have one); the dbt signal model ``gold_signals_<id>`` stays the definition, and the test
suite proves both equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from rich.progress import Progress

from hermes.config import Settings
from hermes.features.store import FEATURE_STORE, select_series
from hermes.lake import DataError, connect, pinned, transaction
from hermes.signals.chunked import generate_in_chunks, read_chunks, require_accelerator
from hermes.signals.registry import load_strategy

SIGNALS_TABLE = "gold_strategy_signals"
SIGNALS_DDL = f"""
create table if not exists {SIGNALS_TABLE} (
    strategy_id varchar not null,
    strategy_version varchar not null,
    parameters_hash varchar not null,
    parameters varchar not null,
    symbol varchar not null,
    interval varchar not null,
    open_time timestamp not null,
    buy_signal boolean not null,
    sell_signal boolean not null,
    snapshot_id bigint not null
)
"""


@dataclass(frozen=True)
class SignalSummary:
    symbol: str
    interval: str
    rows: int
    chunks: int
    buy_signals: int
    sell_signals: int


def generate_signals(
    settings: Settings,
    strategy_id: str,
    *,
    symbols: list[str] | None = None,
    intervals: list[str] | None = None,
    chunk_rows: int = 5000,
    overrides: dict[str, Any] | None = None,
    show_progress: bool = False,
) -> list[SignalSummary]:
    """Replace the strategy's rows in ``gold_strategy_signals`` for each (symbol, interval).

    The lake is read as of one snapshot (recorded in each row). Strategy, parameters,
    symbols, intervals and chunk size are validated before anything is computed, and all
    series are written in one transaction.
    """
    if chunk_rows < 1:
        raise DataError(f"chunk size must be >= 1, got {chunk_rows}")
    tables: list[tuple[str, str, pa.Table]] = []
    summaries: list[SignalSummary] = []
    with pinned(settings) as (reader, snapshot):
        strategy = load_strategy(strategy_id, overrides, reader)
        require_accelerator(strategy)
        series = select_series(reader, symbols, intervals, FEATURE_STORE)
        with Progress(disable=not show_progress) as progress:
            task = progress.add_task(f"signals ({chunk_rows} rows a chunk)", total=len(series))
            for symbol, interval in series:
                chunks = read_chunks(reader, strategy, symbol, interval, chunk_rows)
                parts = list(generate_in_chunks(chunks, strategy))
                table = pa.concat_tables(
                    pa.table({k: p[k] for k in ("open_time", "buy_signal", "sell_signal")})
                    for p in parts
                )
                tables.append((symbol, interval, table))
                summaries.append(
                    SignalSummary(
                        symbol,
                        interval,
                        table.num_rows,
                        len(parts),
                        int(table.column("buy_signal").to_numpy().sum()),
                        int(table.column("sell_signal").to_numpy().sum()),
                    )
                )
                progress.advance(task)
    with connect(settings) as conn:
        conn.execute(SIGNALS_DDL)
        with transaction(conn):
            for symbol, interval, table in tables:
                conn.execute(  # constant table name, bound values
                    f"delete from {SIGNALS_TABLE} where strategy_id = ? and parameters_hash = ? "  # noqa: S608
                    "and symbol = ? and interval = ?",
                    [strategy.strategy_id, strategy.parameters_hash, symbol, interval],
                )
                conn.register("new_signals", table)
                conn.execute(  # constant table name, bound values
                    f"insert into {SIGNALS_TABLE} select ?, ?, ?, ?, ?, ?, open_time, "  # noqa: S608
                    "buy_signal, sell_signal, ? from new_signals",
                    [
                        strategy.strategy_id,
                        strategy.version,
                        strategy.parameters_hash,
                        strategy.parameters_json,
                        symbol,
                        interval,
                        snapshot,
                    ],
                )
                conn.unregister("new_signals")
    return summaries
