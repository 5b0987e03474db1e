"""Equity curves stored as what changed: a run extending an earlier run keeps only the new part.

A whole-series single run (``run_kind = 'single'``, no period) of a strategy, version,
parameters and execution config (``run_hash``) and signal model on a series usually repeats
the latest stored run of the same on that series bar for bar, plus the bars that landed
since. Such a run names that run as its base (``gold_backtest_runs.equity_base_run_id``)
and stores in ``gold_backtest_equity`` only its rows from the first bar whose values
(open time, close, equity, position, drawdown, buy-and-hold equity, signals) differ from the
base's curve, bit for bit (``equity_from``: that bar's open time): the new bars normally, from
an older bar when a re-landed candle or changed signals changed it. A run whose first bar
differs, or without an earlier run, stores its whole curve (no base); one with the same curve
as its base stores no row (and no ``equity_from``: all of the base's rows are its own); a
shorter one stores at least its last row, so its curve never ends on its base's later bars.

A run's curve is its base's curve before ``equity_from`` then its own rows, the base's in
turn its own base's and so on (at most :data:`MAX_CHAIN` runs): :func:`equity_query` is
the one reader of curves (statistics, reproduction, pages), and reconstructs them bit for
bit equal to the whole curve the run computed. Runs are never deleted from the lake
(maintenance expires snapshots, not rows), so a base stays while runs depend on it; a missing
base is an error that names it, never a truncated curve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hermes.config import LAKE_ALIAS
from hermes.lake import table_columns

BASE, FROM = "equity_base_run_id", "equity_from"
"""The columns of ``gold_backtest_runs`` naming a run's base and its first stored bar."""

COMPARED = (
    "open_time",
    "close",
    "equity",
    "position",
    "drawdown",
    "buy_and_hold_equity",
    "buy_signal",
    "sell_signal",
)
"""The columns of ``gold_backtest_equity`` besides ``run_id`` (all of a bar's values)."""

LINEAGE = (
    "strategy_id",
    "strategy_version",
    "run_hash",
    "signal_model_hash",
    "symbol",
    "interval",
)
"""What a run and its base share: the same strategy, parameters, config and model, on the
same series (the data and signals may differ: that is what the base saves storing again)."""

MAX_CHAIN = 32
"""The most runs a curve is read from (the run and its bases): a run whose base's curve
already reads from this many stores its whole curve again, so reading a curve extended every
day for years still joins at most this many runs' rows."""

CURVES_VIEW = "gold_backtest_curves"
"""The lake view of every run's whole equity curve, for SQL readers (``hermes sql``, dbt):
the same rows :func:`read_equity` returns, reconstructed in SQL from the same chains."""


def _chain(anchor: str, schema: str = "") -> str:
    """The recursive CTE ``chain`` (run id, a run its curve reads rows of, that run's base, its
    first stored bar, the open time the rows read end before or NULL) of the runs
    ``gold_backtest_runs`` (in ``schema``: ``catalog.schema.`` or empty) selects with the
    ``anchor`` clause."""
    return f"""
        with recursive chain (run_id, source_id, base_id, from_time, until) as (
            select run_id, run_id, {BASE}, {FROM}, null::timestamp
            from {schema}gold_backtest_runs
            {anchor}
            union all
            select
                chain.run_id,
                runs.run_id,
                runs.{BASE},
                runs.{FROM},
                least(chain.until, chain.from_time)
            from chain
            inner join {schema}gold_backtest_runs as runs on runs.run_id = chain.base_id
        )
        """  # noqa: S608 (constant names; the anchor is one of this module's clauses)


def create_curves_view(conn: duckdb.DuckDBPyConnection) -> None:
    """Create :data:`CURVES_VIEW` if the lake has none (the tables and their columns exist:
    :func:`hermes.backtest.tables.ensure_tables` calls it). Its tables are named with the
    lake's catalog, which the lake stores as its own: the ``published`` database recreates
    the view over the published tables (:mod:`hermes.publication`)."""
    schema = f"{LAKE_ALIAS}.main."
    rows = (
        f"select chain.run_id, rows.* exclude (run_id) "  # noqa: S608 (constant names)
        f"from chain inner join {schema}gold_backtest_equity as rows "
        "on rows.run_id = chain.source_id "
        "where chain.until is null or rows.open_time < chain.until"
    )
    conn.execute(f"create view if not exists {CURVES_VIEW} as {_chain('', schema)} {rows}")


BATCH = 64
"""Base curves read and compared at a time (bounds the memory of a large daily run)."""


def chains(conn: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[tuple[str, str, Any]]:
    """(run id, a run its curve reads rows of, the open time those rows end before or None)
    for each of ``run_ids``: the run itself (no end), its base up to the run's first stored
    bar, the base's base up to the earliest such bar, and so on. ``LookupError`` naming a run
    whose base the lake does not hold."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return []
    if BASE not in table_columns(conn, "gold_backtest_runs"):  # a lake from before bases
        return [(run_id, run_id, None) for run_id in ids]
    sql = _chain("where list_contains(?, run_id)") + "select run_id, source_id, base_id, until"
    rows = conn.execute(f"{sql} from chain", [ids]).fetchall()  # noqa: S608 (constants)
    held = {(run_id, source) for run_id, source, _, _ in rows}
    for run_id, source, base, _ in rows:
        if base is not None and (run_id, base) not in held:
            raise LookupError(
                f"backtest run {source} stores its equity as a change of run {base}, "
                "which the lake does not hold"
            )
    return [(run_id, source, until) for run_id, source, _, until in rows]


def equity_query(conn: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> tuple[str, list[Any]]:
    """A subquery (SQL, its parameters) of the ``gold_backtest_equity`` rows of ``run_ids``'
    whole curves, each row under the run it belongs to, in no order: a reader selects from
    it as from the table (``select ... from ({sql}) as e``, the parameters first)."""
    return _links_query(chains(conn, run_ids))


def _links_query(links: Sequence[tuple[str, str, Any]]) -> tuple[str, list[Any]]:
    """:func:`equity_query` of the runs whose :func:`chains` are ``links``."""
    sql = (
        "select links.run_id, rows.* exclude (run_id) "  # noqa: S608 (constant names)
        "from gold_backtest_equity as rows inner join ("
        "select unnest(?::varchar[]) as run_id, unnest(?::varchar[]) as source_id, "
        "unnest(?::timestamp[]) as until) as links on rows.run_id = links.source_id "
        "where list_contains(?, rows.run_id) "
        "and (links.until is null or rows.open_time < links.until)"
    )
    runs, sources, until = (
        (list(column) for column in zip(*links, strict=True)) if links else ([], [], [])
    )
    return sql, [runs, sources, until, sorted(set(sources))]


def read_equity(
    conn: duckdb.DuckDBPyConnection, run_ids: Sequence[str], columns: Sequence[str] = COMPARED
) -> pa.Table:
    """``run_id`` and ``columns`` of the whole curves of ``run_ids``, by run then time."""
    return _read(conn, chains(conn, run_ids), columns)


def _read(
    conn: duckdb.DuckDBPyConnection,
    links: Sequence[tuple[str, str, Any]],
    columns: Sequence[str] = COMPARED,
) -> pa.Table:
    """:func:`read_equity` of the runs whose :func:`chains` are ``links``."""
    sql, params = _links_query(links)
    names = ", ".join(["run_id", *(c for c in columns if c in COMPARED)])
    return conn.execute(
        f"select {names} from ({sql}) as e order by run_id, open_time",  # noqa: S608
        params,
    ).to_arrow_table()


def extends(run: dict[str, Any]) -> bool:
    """Whether a run may extend an earlier one: a whole-series single run."""
    return (
        run.get("run_kind") == "single"
        and run.get("period_start") is None
        and run.get("period_end") is None
    )


def latest_runs(
    conn: duckdb.DuckDBPyConnection, runs: Sequence[dict[str, Any]]
) -> dict[tuple[Any, ...], str]:
    """:data:`LINEAGE` -> the latest stored whole-series single run, for the series of
    ``runs`` (the tables exist: :func:`hermes.backtest.tables.ensure_tables`)."""
    symbols = sorted({str(run["symbol"]) for run in runs})
    if not symbols:
        return {}
    rows = conn.execute(
        f"select {', '.join(LINEAGE)}, run_id from gold_backtest_runs "  # noqa: S608 (constant names)
        "where run_kind = 'single' and period_start is null and period_end is null "
        "and list_contains(?, symbol) order by created_at, run_id",
        [symbols],
    ).fetchall()
    return {tuple(row[:-1]): str(row[-1]) for row in rows}


def first_difference(new: pa.Table, base: pa.Table) -> int:
    """Index of the first bar of ``new`` whose values differ from ``base``'s bit for bit
    (floats compared as bits: -0.0 is not 0.0, a NaN is its own payload); the shorter length
    when one curve starts the other."""
    n = min(new.num_rows, base.num_rows)
    differs = np.zeros(n, dtype=bool)
    for name in COMPARED:
        a, b = (_bits(t.column(name).slice(0, n)) for t in (new, base))
        differs |= a != b
    hits = np.flatnonzero(differs)
    return int(hits[0]) if len(hits) else n


def _bits(column: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("us"))
    values = column.to_numpy()
    if values.dtype.kind in "fM":
        return values.view(np.int64)
    return values


Stored = tuple[dict[str, Any], pa.Table]
"""A run's ``gold_backtest_runs`` row and its ``gold_backtest_equity`` rows."""


def as_changes(conn: duckdb.DuckDBPyConnection, results: Sequence[Stored]) -> list[Stored]:
    """``results`` (each run's row and whole curve) as they are stored: each whole-series
    single run extending the latest stored run of its lineage keeps only its rows from the
    first bar that differs (named by :data:`BASE` and :data:`FROM`); every other run keeps
    its whole curve (both None)."""
    latest = latest_runs(conn, [run for run, _ in results if extends(run)])
    bases = {
        position: latest[key]
        for position, (run, _) in enumerate(results)
        if extends(run) and (key := tuple(run[c] for c in LINEAGE)) in latest
    }
    links = chains(conn, sorted(set(bases.values())))  # read once: the cap, then each batch
    reads = Counter(run_id for run_id, _, _ in links)
    bases = {position: base for position, base in bases.items() if reads[base] < MAX_CHAIN}
    out = [({**run, BASE: None, FROM: None}, equity) for run, equity in results]
    positions = list(bases)
    for start in range(0, len(positions), BATCH):
        batch = positions[start : start + BATCH]
        wanted = {bases[p] for p in batch}
        curves = _split(_read(conn, [link for link in links if link[0] in wanted]))
        for position in batch:
            base_id = bases[position]
            out[position] = _change(*results[position], base_id, curves[base_id])
    return out


def _change(run: dict[str, Any], equity: pa.Table, base_id: str, base: pa.Table) -> Stored:
    """The run storing its rows from the first that differs from ``base`` (at least its
    last row when it is shorter), none when both curves are the same; whole when its first
    bar already differs."""
    rows = equity.num_rows
    first = first_difference(equity, base)
    if first == rows == base.num_rows:  # the same curve: nothing to store
        return {**run, BASE: base_id, FROM: None}, equity.slice(rows)
    first = min(first, rows - 1)
    if first <= 0:
        return {**run, BASE: None, FROM: None}, equity
    start = equity.column("open_time")[first].as_py()
    return {**run, BASE: base_id, FROM: start}, equity.slice(first)


def _split(table: pa.Table) -> dict[str, pa.Table]:
    """A table of several runs' rows (ordered by run) as one table per run."""
    ids = table.column("run_id").to_numpy(zero_copy_only=False)
    if not len(ids):
        return {}
    starts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1]
    ends = np.r_[starts[1:], len(ids)]
    return {str(ids[s]): table.slice(s, e - s) for s, e in zip(starts, ends, strict=True)}
