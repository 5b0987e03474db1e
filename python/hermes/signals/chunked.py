"""Signals over any history in chunks of N rows, identical to a one-pass run.

Chunks are read by time range on the ordered series (boundaries come from the ordered
``open_time`` index, never LIMIT/OFFSET). Between chunks the generator carries a context
buffer of the strategy's look-back (``rule.LOOKBACK`` rows of inputs): each chunk is computed
on ``buffer + chunk`` and the buffer rows' outputs are dropped, so every row sees exactly the
history a one-pass run gives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import duckdb
import numpy as np

from hermes.features.store import FEATURE_STORE, read_rows
from hermes.lake import DataError, identifier, table_columns
from hermes.signals.accelerators import Accelerator, accelerator_for
from hermes.signals.errors import StrategyError
from hermes.signals.registry import Strategy


def generate_in_chunks(
    chunks: Iterable[dict[str, np.ndarray]], strategy: Strategy
) -> Iterator[dict[str, np.ndarray]]:
    """Signal rows for each chunk of inputs, carrying the look-back buffer between chunks."""
    rule = require_accelerator(strategy)
    lookback = int(rule.LOOKBACK)
    buffer: dict[str, np.ndarray] | None = None
    for chunk in chunks:
        size = len(chunk["open_time"])
        if size == 0:
            continue
        window = (
            chunk if buffer is None else {k: np.concatenate([buffer[k], chunk[k]]) for k in chunk}
        )
        flags = rule.generate(window, strategy.parameters)
        skip = len(window["open_time"]) - size
        yield {"open_time": chunk["open_time"], **{k: v[skip:] for k, v in flags.items()}}
        buffer = {k: v[len(v) - lookback :] if lookback else v[:0] for k, v in window.items()}


def require_accelerator(strategy: Strategy) -> Accelerator:
    """Chunked generation runs a strategy's accelerator: :class:`StrategyError` without one."""
    rule = accelerator_for(strategy.strategy_id)
    if rule is None:
        raise StrategyError(
            f"strategy {strategy.strategy_id} has no Python accelerator for chunked signals; "
            f"its signals are the table {strategy.signal_model} (`dbt build`)"
        )
    return rule


def chunk_bounds(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    interval: str,
    chunk_rows: int,
    *,
    table: str = FEATURE_STORE,
) -> list[tuple[datetime, datetime | None]]:
    """``[start, end)`` time ranges holding ``chunk_rows`` consecutive rows each."""
    if chunk_rows < 1:
        raise DataError(f"chunk size must be >= 1, got {chunk_rows}")
    times = read_rows(conn, table, symbol, interval, [])["open_time"]
    if len(times) == 0:
        raise DataError(f"no rows for {symbol} {interval} in {table}")
    starts = [t.astype(datetime) for t in times[::chunk_rows]]
    ends: list[datetime | None] = [*starts[1:], None]
    return list(zip(starts, ends, strict=True))


def read_chunks(
    conn: duckdb.DuckDBPyConnection,
    strategy: Strategy,
    symbol: str,
    interval: str,
    chunk_rows: int,
    *,
    table: str = FEATURE_STORE,
) -> Iterator[dict[str, np.ndarray]]:
    """The strategy's inputs for one series, chunk by chunk (store columns renamed to inputs)."""
    rule = require_accelerator(strategy)
    mapping = rule.feature_columns(strategy.parameters)
    missing = sorted(set(mapping.values()) - set(table_columns(conn, table)))
    if missing:
        raise DataError(f"{table} has no column(s) {', '.join(missing)} for {strategy.strategy_id}")
    columns = [identifier(c) for c in mapping.values()]
    for start, end in chunk_bounds(conn, symbol, interval, chunk_rows, table=table):
        rows = read_rows(conn, table, symbol, interval, columns, start=start, end=end)
        yield {"open_time": rows["open_time"], **{k: rows[c] for k, c in mapping.items()}}
