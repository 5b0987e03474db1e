"""Recursive indicators (EMA, Wilder RSI and ATR, SuperTrend, MACD) per symbol and interval.

Computed one (symbol, interval) series at a time with the numba kernels of
``hermes.indicators`` and streamed to the lake as Arrow batches, so memory follows the
largest series, not the number of symbols. Incremental runs resume each series from the
stored state (``state_*`` columns) of its last unchanged bar, and delete the rows of
candles gone from ``silver_klines`` (``hermes.incremental``); see the folder's yml. The
stored rows they resume from and the bars they resume with are read by one query each for
all series (two queries per series cost more than the whole computation of a new day);
series computed from their first bar are read one at a time.
"""

import numpy as np
import pyarrow as pa

PASSTHROUGH = ["close_time", "ingested_at"]
BATCH_ROWS = 122_880  # one DuckDB row group


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["symbol", "interval", "open_time"],
        on_schema_change="fail",
    )
    from hermes.indicators.recursive_features import RecursiveParams

    params = RecursiveParams.from_config(
        {
            "ema_periods": dbt.config.get("ema_periods"),
            "rsi_periods": dbt.config.get("rsi_periods"),
            "atr_periods": dbt.config.get("atr_periods"),
            "supertrend_params": dbt.config.get("supertrend_params"),
            "macd_params": dbt.config.get("macd_params"),
        }.get
    )
    dbt.ref("silver_klines").create_view("hermes_features_klines", replace=True)
    from hermes.incremental import changed_series, delete_removed_candles

    this = str(dbt.this) if dbt.is_incremental else None
    plan = changed_series(session, "hermes_features_klines", this)
    delete_removed_candles(session, "hermes_features_klines", this)
    columns = params.feature_columns() + params.state_columns()
    schema = pa.schema(
        [("symbol", pa.string()), ("interval", pa.string()), ("open_time", pa.timestamp("us"))]
        + [("close_time", pa.timestamp("us")), ("ingested_at", pa.timestamp("us"))]
        + [("close", pa.float64()), ("warmup_bars", pa.int64())]
        + [(c, pa.int8() if c.startswith("supertrend_dir_") else pa.float64()) for c in columns]
    )

    def batches():
        resumed = _resume_points(session, this, params, plan)
        new_bars = _bars_after(session, resumed)
        for symbol, interval, _first_changed in plan:
            last = resumed.get((symbol, interval))
            bars = new_bars.get((symbol, interval)) if last is not None else None
            batch = _series_batch(session, params, schema, (symbol, interval), last, bars)
            # zero-copy slices of one row group each, which DuckDB converts and writes in turn
            for start in range(0, 0 if batch is None else batch.num_rows, BATCH_ROWS):
                yield batch.slice(start, BATCH_ROWS)
            batch = None  # release this series before computing the next one

    return pa.RecordBatchReader.from_batches(schema, batches())


def _series_batch(session, params, schema, series, last, bars):
    """One series' rows to write, from its first changed bar on (None when there is none):
    resumed from the stored row ``last`` over ``bars``, or computed from its first bar
    (``last`` None: its bars are read here)."""
    from hermes.indicators.recursive_features import compute, resume

    symbol, interval = series
    if last is None:
        bars = _bars(session, symbol, interval)
    rows = 0 if bars is None else len(bars["close"])
    if rows == 0:
        return None
    hlc = (bars["high"], bars["low"], bars["close"])
    if last is None:
        values = compute(*hlc, params)
        warmup = np.arange(rows, dtype=np.int64)
    else:
        values = resume(*hlc, params, last)
        warmup = last["warmup_bars"] + 1 + np.arange(rows, dtype=np.int64)
    arrays = [_constant(symbol, rows), _constant(interval, rows)]
    arrays += [pa.array(bars[k], type=pa.timestamp("us")) for k in ("open_time", *PASSTHROUGH)]
    arrays += [pa.array(bars["close"]), pa.array(warmup)]
    columns = schema.names[len(arrays) :]
    arrays += [pa.array(values[c], from_pandas=True).cast(schema.field(c).type) for c in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _constant(value, rows):
    """A string column repeating ``value`` (built in Arrow, not as Python objects)."""
    return pa.array([value], pa.string()).take(pa.array(np.zeros(rows, dtype=np.int32)))


def _resume_points(session, this, params, plan):
    """(symbol, interval) -> the stored row just before the series' first changed bar, as a
    dict, for the series that can resume from it (one query for all of them); a series
    missing here is computed from its first bar."""
    from hermes.indicators.recursive_features import is_resumable

    wanted = [(s, i, t) for s, i, t in plan if t is not None]
    if this is None or not wanted:
        return {}
    cursor = session.execute(
        f"""
        with plan as (
            select unnest(?::varchar[]) as symbol, unnest(?::varchar[]) as interval,
                unnest(?::timestamp[]) as first_changed
        ),
        last as (
            select built.symbol, built.interval, max(built.open_time) as open_time
            from {this} as built
            inner join plan using (symbol, interval)
            where built.open_time < plan.first_changed
            group by all
        )
        select built.* from {this} as built
        inner join last using (symbol, interval, open_time)
        """,  # noqa: S608 (dbt's relation of this model)
        [list(column) for column in zip(*wanted, strict=True)],
    )
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    out = {}
    for row in rows:
        last = {n: (np.nan if v is None else v) for n, v in zip(names, row, strict=True)}
        if is_resumable(last, params):
            out[(last["symbol"], last["interval"])] = last
    return out


def _bars_after(session, resumed):
    """(symbol, interval) -> the bars after each resumed series' stored row, oldest first,
    as numpy (one query for all of them)."""
    if not resumed:
        return {}
    bars = session.execute(
        """
        with points as (
            select unnest(?::varchar[]) as symbol, unnest(?::varchar[]) as interval,
                unnest(?::timestamp[]) as after
        )
        select klines.symbol, klines.interval, klines.open_time, klines.close_time,
            klines.ingested_at, klines.high, klines.low, klines.close
        from hermes_features_klines as klines
        inner join points using (symbol, interval)
        where klines.open_time > points.after
        order by klines.symbol, klines.interval, klines.open_time
        """,
        [
            [s for s, _ in resumed],
            [i for _, i in resumed],
            [r["open_time"] for r in resumed.values()],
        ],
    ).fetchnumpy()
    out = {}
    for key in resumed:
        rows = np.flatnonzero((bars["symbol"] == key[0]) & (bars["interval"] == key[1]))
        if len(rows):  # ordered by series: one contiguous run of rows (writable arrays)
            part = slice(int(rows[0]), int(rows[-1]) + 1)
            names = ("open_time", *PASSTHROUGH, "high", "low", "close")
            out[key] = {name: np.ascontiguousarray(bars[name][part]) for name in names}
    return out


def _bars(session, symbol, interval):
    """One series' bars, oldest first, as numpy."""
    return session.execute(
        """
        select open_time, close_time, ingested_at, high, low, close
        from hermes_features_klines
        where symbol = ? and interval = ?
        order by open_time
        """,
        [symbol, interval],
    ).fetchnumpy()
