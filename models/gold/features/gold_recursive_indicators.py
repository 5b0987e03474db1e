"""Recursive indicators (EMA, Wilder RSI and ATR, SuperTrend, MACD) per symbol and interval.

Computed one (symbol, interval) series at a time with the numba kernels of
``hermes.indicators`` and streamed to the lake as Arrow batches, so memory follows the
largest series, not the number of symbols. Incremental runs resume each series from the
stored state (``state_*`` columns) of its last unchanged bar, and delete the rows of
candles gone from ``silver_klines`` (``hermes.incremental``); see the folder's yml.
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
        for symbol, interval, first_changed in plan:
            batch = _series_batch(session, this, params, schema, (symbol, interval), first_changed)
            # zero-copy slices of one row group each, which DuckDB converts and writes in turn
            for start in range(0, 0 if batch is None else batch.num_rows, BATCH_ROWS):
                yield batch.slice(start, BATCH_ROWS)
            batch = None  # release this series before computing the next one

    return pa.RecordBatchReader.from_batches(schema, batches())


def _series_batch(session, this, params, schema, series, first_changed):
    """One series' rows to write, from its first changed bar on (None when there is none)."""
    from hermes.indicators.recursive_features import compute, is_resumable, resume

    symbol, interval = series
    last = _last_row_before(session, this, symbol, interval, first_changed)
    if last is not None and not is_resumable(last, params):
        last = None
    bars = _bars(session, symbol, interval, None if last is None else last["open_time"])
    rows = len(bars["close"])
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


def _last_row_before(session, this, symbol, interval, first_changed):
    """The stored row just before the first changed bar, as a dict (None when there is none)."""
    if this is None or first_changed is None:
        return None
    cursor = session.execute(
        f"""
        select * from {this}
        where symbol = ? and interval = ? and open_time < ?
        order by open_time desc limit 1
        """,
        [symbol, interval, first_changed],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cursor.description]
    return {n: (np.nan if v is None else v) for n, v in zip(names, row)}


def _bars(session, symbol, interval, after):
    """One series' bars (all of them, or those after ``after``), oldest first, as numpy."""
    return session.execute(
        """
        select open_time, close_time, ingested_at, high, low, close
        from hermes_features_klines
        where symbol = ? and interval = ? and (?::timestamp is null or open_time > ?::timestamp)
        order by open_time
        """,
        [symbol, interval, after, after],
    ).fetchnumpy()
