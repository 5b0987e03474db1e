"""``hermes signals``: generate a strategy's signals chunk by chunk into ``gold_strategy_signals``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from rich.progress import Progress

from hermes.config import Settings
from hermes.lake import connect, current_snapshot
from hermes.signals.chunked import read_chunks, generate_in_chunks
from hermes.signals.registry import load_strategy
from hermes.signals.store import FEATURE_STORE, DataError, list_series

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

    Everything is validated (strategy, parameters, symbols, intervals, chunk size) before
    anything is computed; each series is replaced in one transaction.
    """
    if chunk_rows < 1:
        raise DataError(f"chunk size must be >= 1, got {chunk_rows}")
    conn = connect(settings)
    try:
        strategy = load_strategy(strategy_id, overrides, conn)
        snapshot = current_snapshot(conn)
        series = select_series(conn, symbols, intervals, FEATURE_STORE, snapshot)
        conn.execute(SIGNALS_DDL)
        summaries = []
        with Progress(disable=not show_progress) as progress:
            task = progress.add_task("signals", total=len(series))
            for symbol, interval in series:
                parts = list(
                    generate_in_chunks(
                        read_chunks(conn, strategy, symbol, interval, chunk_rows, snapshot=snapshot),
                        strategy,
                    )
                )
                table = pa.concat_tables(
                    pa.table(
                        {
                            "open_time": p["open_time"],
                            "buy_signal": p["buy_signal"],
                            "sell_signal": p["sell_signal"],
                        }
                    )
                    for p in parts
                )
                conn.execute("begin")
                conn.execute(
                    f"delete from {SIGNALS_TABLE} where strategy_id = ? and parameters_hash = ? "
                    "and symbol = ? and interval = ?",
                    [strategy.strategy_id, strategy.parameters_hash, symbol, interval],
                )
                conn.register("new_signals", table)
                conn.execute(
                    f"insert into {SIGNALS_TABLE} select ?, ?, ?, ?, ?, ?, open_time, "
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
                conn.execute("commit")
                conn.unregister("new_signals")
                buys = int(table.column("buy_signal").to_numpy().sum())
                sells = int(table.column("sell_signal").to_numpy().sum())
                summaries.append(SignalSummary(symbol, interval, table.num_rows, len(parts), buys, sells))
                progress.advance(task)
        return summaries
    finally:
        conn.close()


def select_series(
    conn: Any,
    symbols: list[str] | None,
    intervals: list[str] | None,
    table: str,
    snapshot: int | None,
) -> list[tuple[str, str]]:
    """The requested (symbol, interval) pairs, checked against what ``table`` holds."""
    held = {(s.symbol, s.interval) for s in list_series(conn, table, snapshot)}
    held_symbols = sorted({s for s, _ in held})
    held_intervals = sorted({i for _, i in held})
    for symbol in symbols or []:
        if symbol not in held_symbols:
            raise DataError(
                f"symbol {symbol!r} is not in the lake's {table} (has: {', '.join(held_symbols) or 'none'})"
            )
    for interval in intervals or []:
        if interval not in held_intervals:
            raise DataError(
                f"interval {interval!r} is not in the lake's {table} "
                f"(has: {', '.join(held_intervals) or 'none'})"
            )
    pairs = sorted(
        (s, i)
        for s, i in held
        if (not symbols or s in symbols) and (not intervals or i in intervals)
    )
    if not pairs:
        raise DataError(f"no series in {table} for symbols={symbols} intervals={intervals}")
    return pairs
