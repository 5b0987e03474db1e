"""The lookahead and recursion check of a signal model's compiled SQL (one DuckDB query).

A signal model may only decide a bar on what was known at its close. The check evaluates the
model's compiled SQL (the SQL grids evaluate, :func:`hermes.signals.models.compiled_sql`) on
copies of each series' history and compares the decisions (``buy_signal``, ``sell_signal``)
with those on the full history:

* **lookahead**: copies cut after a sample of bars (the first bar, the first bars after the
  warm-up, the bars around gaps, the last bar, and seeded random ones); each copy must
  decide every one of its bars as the full history does. A model reading a later bar
  (``lead(close)``, a centred window, a whole-series statistic) decides differently once
  the later bars are removed;
* **recursion**: copies whose history starts ``k`` bars later; after the warm-up they must
  decide as the full history does (freqtrade's "recursive" problem: a value that depends on
  how much history precedes it, e.g. a cumulative sum or a hand-written recursive average).

All copies are evaluated in one query: each relation the SQL reads by (``symbol``,
``interval``, ``open_time``) is replaced by a view holding every copy, each under its own
symbol (``BTCUSDT|7``), so the model's own ``partition by symbol, interval`` keeps the copies
apart. ``warmup_bars`` (bars before this one) is counted again inside each copy.

The feature store's indicators are given to the model as stored: their own exactness
(TA-Lib equality, incremental = full rebuild, no lookahead) is proven by the feature store's
tests; this check covers what the model computes itself. A model reading walk-forward
predictions (``train_label_until``, ``block_start``) is also checked to read only
predictions of models trained on labels known before the predicted block.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from hermes.config import LAKE_ALIAS
from hermes.features.store import FEATURE_STORE
from hermes.intervals import interval_seconds
from hermes.lake import identifier, table_columns
from hermes.signals.models import SignalModel, compiled_sql, tables_read
from hermes.signals.registry import Strategy, canonical_json

STORE_WARMUP = 200
"""Bars before every default feature of the store has a value (EMA 200, SMA 200)."""
CUTS, SHIFTS = 8, 2
"""Random cut points and history shifts per series for the automatic check (plus edges)."""
DEEP_CUTS, DEEP_SHIFTS = 40, 6
"""The same for ``hermes check`` on demand."""
KEYS = ("symbol", "interval", "open_time")
_COPY = "hermes_check_copies"


@dataclass(frozen=True)
class Verdict:
    """The check's outcome for one compiled model (``sql_hash``)."""

    strategy_id: str
    model: str
    sql_hash: str
    passed: bool
    line: str
    """``passed: ...`` or the refusal (``lookahead: ...``, ``recursive: ...``)."""
    cuts: int
    shifts: int
    compared: int
    """Bars of the copies compared with the full history."""
    seconds: float


@dataclass(frozen=True)
class Copy:
    """One copy of a series: its bars from ``first`` to ``last``, compared from ``compare_from``."""

    copy_id: int
    kind: str  # full, cut, shift
    symbol: str
    interval: str
    first: datetime
    last: datetime
    skipped: int
    compare_from: datetime
    full_id: int


def warmup(strategy: Strategy) -> int:
    """Bars a model may need before it decides as on the full history: the store's warm-up
    or the strategy's longest period (its largest integer parameter), whichever is larger."""
    periods = [v for v in strategy.parameters.values() if isinstance(v, int)]
    return max([STORE_WARMUP, *periods])


def plan_copies(
    times: dict[tuple[str, str], np.ndarray], bars: int, *, cuts: int, shifts: int, seed: int
) -> list[Copy]:
    """The copies of every series: the full one, cuts (edges plus ``cuts`` random bars) and
    histories starting later by a few ``k`` (1, the warm-up, plus random ones)."""
    rng = np.random.default_rng(seed)
    out: list[Copy] = []
    for (symbol, interval), open_time in sorted(times.items()):
        n = len(open_time)
        if n == 0:
            continue
        stamps = open_time.astype("datetime64[us]").astype(datetime)
        at = stamps.__getitem__
        full_id = len(out)
        out.append(Copy(full_id, "full", symbol, interval, at(0), at(n - 1), 0, at(0), full_id))
        step = np.timedelta64(interval_seconds(interval), "s")
        after_gap = np.flatnonzero(np.diff(open_time) > step) + 1
        edges = {0, 1, bars - 1, bars, bars + 1, n - 1, n - 2}
        edges |= set(after_gap[:4].tolist()) | set((after_gap[:4] - 1).tolist())
        sample = rng.choice(n, size=min(cuts, n), replace=False)
        for i in sorted({int(i) for i in (*edges, *sample) if 0 <= i < n}):
            out.append(Copy(len(out), "cut", symbol, interval, at(0), at(i), 0, at(0), full_id))
        ks = {1, bars, *rng.integers(2, max(3, n // 4), size=shifts).tolist()}
        for k in sorted(int(k) for k in ks):
            if k + bars < n:
                out.append(
                    Copy(
                        len(out),
                        "shift",
                        symbol,
                        interval,
                        at(k),
                        at(n - 1),
                        k,
                        at(k + bars),
                        full_id,
                    )  # fmt: skip
                )
    return out


def check_model(
    conn: duckdb.DuckDBPyConnection,
    strategy: Strategy,
    model: SignalModel,
    *,
    cuts: int = CUTS,
    shifts: int = SHIFTS,
) -> Verdict:
    """Evaluate the model's compiled SQL on every copy in one query and compare decisions."""
    started = time.perf_counter()
    if model.built_parameters:
        strategy = strategy.with_parameters(model.built_parameters)
    sql = compiled_sql(conn, strategy)
    relations = _series_relations(conn, sql)
    bars = warmup(strategy)
    times = _series_times(conn, relations)
    seed = int(model.sql_hash[:8] or "0", 16)
    copies = plan_copies(times, bars, cuts=cuts, shifts=shifts, seed=seed)
    n_cuts = sum(c.kind == "cut" for c in copies)
    n_shifts = sum(c.kind == "shift" for c in copies)

    def verdict(passed: bool, line: str, compared: int) -> Verdict:
        return Verdict(
            strategy.strategy_id, model.table, model.sql_hash, passed, line, n_cuts, n_shifts,
            compared, time.perf_counter() - started,
        )  # fmt: skip

    if not relations:
        return verdict(False, f"lookahead: {model.table} reads no series to check", 0)
    leak = _prediction_leak(conn, model.table, relations)
    if leak:
        return verdict(False, leak, 0)
    checked = _substituted(conn, sql, relations, copies)
    conn.execute("set variable hermes_parameters = ?", [canonical_json(strategy.parameters)])
    try:
        row = conn.execute(_COMPARE.format(model_sql=checked)).fetchone()  # noqa: S608
    finally:
        conn.execute("reset variable hermes_parameters")
        for name in relations:  # validated identifiers
            conn.execute(f"drop view if exists temp.main.hermes_check_{name}")
        conn.execute(f"drop table if exists temp.{_COPY}")
    assert row is not None
    compared, first = int(row[0]), row[1]
    if first is None:
        return verdict(
            True,
            f"passed: {model.table} decides {compared:,} bars of {n_cuts} truncated and "
            f"{n_shifts} later-starting histories as on the full history",
            compared,
        )
    return verdict(False, _refusal(model.table, first), compared)


def _refusal(table: str, first: dict[str, Any]) -> str:
    where = f"{first['symbol']} {first['interval']} {first['open_time']:%Y-%m-%d %H:%M}"
    column = "buy_signal" if first["buy_full"] is not first["buy_copy"] else "sell_signal"
    before, after = (
        (first["buy_full"], first["buy_copy"])
        if column == "buy_signal"
        else (first["sell_full"], first["sell_copy"])
    )
    change = f"{column} {_word(before)} -> {_word(after)}"
    if first["kind"] == "cut":
        return (
            f"lookahead: {table} decides {where} differently once later bars are removed ({change})"
        )
    return (
        f"recursive: {table} decides {where} differently when its history starts "
        f"{first['skipped']} bars later ({change})"
    )


def _word(value: bool | None) -> str:
    return "null" if value is None else str(value).lower()


def _series_relations(conn: duckdb.DuckDBPyConnection, sql: str) -> dict[str, list[str]]:
    """Lake tables the SQL reads that hold series (``symbol``, ``interval``, ``open_time``),
    with their columns."""
    out = {}
    for name in sorted(tables_read(sql)):
        columns = table_columns(conn, name)
        if all(k in columns for k in KEYS):
            out[name] = columns
    return out


def _series_times(
    conn: duckdb.DuckDBPyConnection, relations: dict[str, list[str]]
) -> dict[tuple[str, str], np.ndarray]:
    """Every series' bars, from the feature store when the SQL reads it (else the first)."""
    table = FEATURE_STORE if FEATURE_STORE in relations else next(iter(relations), None)
    if table is None:
        return {}
    arrow = conn.execute(  # validated identifier
        f"select symbol, interval, open_time from {identifier(table)} "  # noqa: S608
        "order by symbol, interval, open_time"
    ).to_arrow_table()
    symbols = arrow.column("symbol").to_numpy(zero_copy_only=False)
    intervals = arrow.column("interval").to_numpy(zero_copy_only=False)
    open_time = arrow.column("open_time").to_numpy().astype("datetime64[us]")
    out: dict[tuple[str, str], np.ndarray] = {}
    keys = np.char.add(np.char.add(symbols.astype(str), " "), intervals.astype(str))
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.array([], int)
    for first, last in zip(starts, [*starts[1:], len(keys)], strict=True):
        out[(str(symbols[first]), str(intervals[first]))] = open_time[first:last]
    return out


def _substituted(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    relations: dict[str, list[str]],
    copies: list[Copy],
) -> str:
    """The model's SQL reading every copy: one temp view per series relation."""
    conn.execute(
        f"create or replace temp table {_COPY} (copy_id integer, kind varchar, symbol varchar, "
        "interval varchar, first_time timestamp, last_time timestamp, skipped integer, "
        "compare_from timestamp, full_id integer)"
    )
    conn.executemany(
        f"insert into temp.{_COPY} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        [
            (
                c.copy_id,
                c.kind,
                c.symbol,
                c.interval,
                c.first,
                c.last,
                c.skipped,
                c.compare_from,
                c.full_id,
            )  # fmt: skip
            for c in copies
        ],
    )
    for name, columns in relations.items():
        replaced = ["r.symbol || '|' || c.copy_id as symbol"]
        if "warmup_bars" in columns:
            replaced.append("r.warmup_bars - c.skipped as warmup_bars")
        conn.execute(  # validated identifiers
            f"create or replace temp view hermes_check_{name} as "  # noqa: S608
            f"select r.* replace ({', '.join(replaced)}) "
            f"from {LAKE_ALIAS}.main.{identifier(name)} as r join temp.{_COPY} as c "
            "on r.symbol = c.symbol and r.interval = c.interval "
            "and r.open_time between c.first_time and c.last_time"
        )
        sql = sql.replace(f'"{LAKE_ALIAS}"."main"."{name}"', f"temp.main.hermes_check_{name}")
    return sql


_COMPARE = """
with decided as (
    select
        split_part(symbol, '|', 1) as symbol,
        cast(split_part(symbol, '|', 2) as integer) as copy_id,
        interval, open_time, buy_signal, sell_signal
    from ({model_sql}) as model
),
compared as (
    select
        copies.kind, copies.skipped, part.symbol, part.interval, part.open_time,
        whole.buy_signal as buy_full, part.buy_signal as buy_copy,
        whole.sell_signal as sell_full, part.sell_signal as sell_copy
    from decided as part
    join temp.hermes_check_copies as copies using (copy_id)
    join decided as whole
        on whole.copy_id = copies.full_id and whole.open_time = part.open_time
    where copies.kind <> 'full' and part.open_time >= copies.compare_from
)
select
    count(*) as compared,
    min_by(
        struct_pack(kind, skipped, symbol, interval, open_time, buy_full, buy_copy,
                    sell_full, sell_copy),
        [(kind = 'shift')::bigint, epoch_us(open_time)]
    ) filter (
        where buy_full is distinct from buy_copy or sell_full is distinct from sell_copy
    ) as first_difference
from compared
"""


def _prediction_leak(
    conn: duckdb.DuckDBPyConnection, table: str, relations: dict[str, list[str]]
) -> str | None:
    """The refusal when a prediction the model reads came from a model trained on labels not
    yet known at its block's start (or a block starting after the bar)."""
    for name, columns in relations.items():
        if not {"train_label_until", "block_start", "probability_up"} <= set(columns):
            continue
        row = conn.execute(  # validated identifier
            f"select symbol, interval, open_time, train_label_until "  # noqa: S608
            f"from {identifier(name)} where probability_up is not null "
            "and not (train_label_until < block_start and block_start <= open_time) "
            "order by open_time limit 1"
        ).fetchone()
        if row:
            return (
                f"lookahead: {table} reads the {row[0]} {row[1]} {row[2]:%Y-%m-%d %H:%M} "
                f"prediction of {name}, from a model trained on labels known only at "
                f"{row[3]:%Y-%m-%d %H:%M}"
            )
    return None
