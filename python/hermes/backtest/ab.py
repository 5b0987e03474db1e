"""A/B: a strategy on the production features against a variant using an experimental one.

* **A** runs the strategy's signals (its signal model) on ``gold_features`` (production
  features only).
* **B** runs the same signals on ``gold_feature_store`` built with
  ``--vars '{use_test_features: true}'``, its entries additionally required to pass one
  experimental feature's filter (see :data:`FILTERS`); exits are unchanged.

Both read the lake at the same snapshot and must cover exactly the same bars. Each variant is
stored as a run (``run_kind = 'ab'``; B's parameters include ``entry_filter``), and
``gold_backtest_ab`` holds the two side by side: one row per (comparison, symbol, interval,
variant) with the metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from hermes.backtest.inputs import MarketSlice, load_slice
from hermes.backtest.request import BacktestRequest, open_request
from hermes.backtest.runs import RunResult, execute, new_id, now, save
from hermes.config import Settings
from hermes.features.store import BASE_FEATURES, FEATURE_STORE, read_rows, select_series
from hermes.lake import DataError, table_columns
from hermes.signals.errors import StrategyError
from hermes.signals.smart_momentum import in_rsi_band
from hermes.signals.source import SignalSource
from hermes.stats.metrics import METRIC_NAMES


@dataclass(frozen=True)
class EntryFilter:
    """An experimental feature column and the condition an entry bar must meet."""

    column: str
    description: str
    passes: Callable[[np.ndarray, dict[str, Any]], np.ndarray]
    needs: tuple[str, ...] = ()
    """Strategy parameters the filter reads."""


FILTERS: dict[str, EntryFilter] = {
    "vol_adjusted_rsi": EntryFilter(
        "rsi_vol_adjusted_14_20",
        "the volatility-adjusted RSI is also inside the strategy's RSI band",
        in_rsi_band,
        ("rsi_low", "rsi_high"),
    ),
    "mtf_confluence": EntryFilter(
        "mtf_confluence",
        "the multi-timeframe confluence is positive (trend agrees with the higher interval)",
        lambda values, _params: values > 0,
    ),
}


def entry_filter(name: str) -> EntryFilter:
    if name not in FILTERS:
        raise StrategyError(f"unknown A/B entry filter {name!r} (known: {', '.join(FILTERS)})")
    return FILTERS[name]


@dataclass
class Comparison:
    ab_id: str
    a: list[RunResult]
    b: list[RunResult]


def filtered(
    data: MarketSlice, values: np.ndarray, rule: EntryFilter, params: dict[str, Any]
) -> MarketSlice:
    """``data`` with entries only where the filter passes (a missing value never passes)."""
    with np.errstate(invalid="ignore"):
        ok = rule.passes(np.asarray(values, dtype=float), params) & ~np.isnan(values)
    return replace(data, entries=data.entries & ok)


def run_ab(
    settings: Settings,
    request: BacktestRequest,
    *,
    filter_name: str = "mtf_confluence",
) -> Comparison:
    """Run A and B on each of the request's series; write both runs and the side-by-side rows."""
    rule = entry_filter(filter_name)
    start, end = request.start, request.end
    ab_id = new_id("ab")
    pairs_a: list[tuple[MarketSlice, MarketSlice]] = []
    base = replace(request, features_table=BASE_FEATURES)
    with open_request(settings, base) as opened:
        strategy, reader = opened.strategy, opened.reader
        missing = [p for p in rule.needs if p not in strategy.parameters]
        if missing:
            raise StrategyError(
                f"A/B filter {filter_name} reads parameter(s) {', '.join(missing)}, "
                f"which {strategy.strategy_id} does not have"
            )
        if rule.column not in table_columns(reader, FEATURE_STORE):
            raise DataError(
                f"{FEATURE_STORE} has no column {rule.column!r}: build it with the test "
                "features (dbt run --vars '{use_test_features: true}')"
            )
        select_series(
            reader, [s for s, _ in opened.pairs], [i for _, i in opened.pairs], FEATURE_STORE
        )
        with_tests = SignalSource(reader, strategy, FEATURE_STORE)
        for symbol, interval in opened.pairs:
            a = load_slice(opened.signals, symbol, interval, start=start, end=end)
            b = load_slice(with_tests, symbol, interval, start=start, end=end)
            if not np.array_equal(a.open_time, b.open_time):
                raise DataError(
                    f"{BASE_FEATURES} and {FEATURE_STORE} hold different {symbol} {interval} bars"
                )
            extra = read_rows(
                reader, FEATURE_STORE, symbol, interval, [rule.column], start=start, end=end
            )
            if not np.array_equal(extra["open_time"], b.open_time):
                raise DataError(f"{rule.column} is not aligned with the {symbol} {interval} bars")
            pairs_a.append((a, filtered(b, extra[rule.column], rule, strategy.parameters)))
        context = opened.context.but(run_kind="ab")
    variant_b = replace(strategy, parameters={**strategy.parameters, "entry_filter": filter_name})
    out = Comparison(ab_id, [], [])
    rows: list[dict[str, Any]] = []
    for a, b in pairs_a:
        for variant, strat, data, table, flt in (
            ("A", strategy, a, BASE_FEATURES, None),
            ("B", variant_b, b, FEATURE_STORE, filter_name),
        ):
            result = execute(context.but(strategy=strat, features_table=table), data)
            (out.a if variant == "A" else out.b).append(result)
            rows.append(_ab_row(ab_id, variant, flt, data, result))
    save(settings, out.a + out.b, [("gold_backtest_ab", pa.Table.from_pylist(rows))])
    return out


def _ab_row(
    ab_id: str, variant: str, flt: str | None, data: MarketSlice, result: RunResult
) -> dict[str, Any]:
    run = result.run
    return {
        "ab_id": ab_id,
        "created_at": now(),
        "symbol": run["symbol"],
        "interval": run["interval"],
        "variant": variant,
        "entry_filter": flt,
        "features_table": run["features_table"],
        "strategy_id": run["strategy_id"],
        "parameters": run["parameters"],
        "first_open_time": run["first_open_time"],
        "last_open_time": run["last_open_time"],
        "rows": run["rows"],
        "buy_signals": int(data.entries.sum()),
        "snapshot_id": run["snapshot_id"],
        "run_id": run["run_id"],
        **{name: run[name] for name in METRIC_NAMES},
    }
