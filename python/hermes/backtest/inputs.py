"""The data a backtest reads: one series' prices and its strategy's signals over a period.

Signals come from the strategy's signal model (:mod:`hermes.signals.source`), joined bar for
bar to the prices of the feature table, every bar from the first up to the period's end (so
anything computed from the history sees all of it); the slice is then cut to ``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from hermes.backtest.provenance import fingerprint
from hermes.features.store import OHLCV
from hermes.intervals import interval_seconds
from hermes.lake import DataError
from hermes.signals.source import SeriesSignals, SignalSource


@dataclass
class MarketSlice:
    """Prices, signals and provenance of one (symbol, interval, period)."""

    symbol: str
    interval: str
    open_time: np.ndarray
    prices: dict[str, np.ndarray]
    entries: np.ndarray
    exits: np.ndarray
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    data_fingerprint: str = ""
    features_version: str = ""
    signal_source: str = ""

    @property
    def rows(self) -> int:
        return len(self.open_time)

    @property
    def bar_seconds(self) -> int:
        return interval_seconds(self.interval)

    @property
    def years(self) -> float:
        return years_of(self.open_time, self.bar_seconds)


def years_of(open_time: np.ndarray, bar_seconds: int) -> float:
    """Calendar span, first open to last close, in years."""
    span = (open_time[-1] - open_time[0]).astype("timedelta64[s]").astype(np.int64)
    return (int(span) + bar_seconds) / (365.25 * 86_400)


def period_start(series: SeriesSignals, start: datetime | None, end: datetime | None) -> int:
    """Index of the first bar >= ``start``; :class:`DataError` if the period holds no bar."""
    times = series.open_time
    first = 0 if start is None else int(np.searchsorted(times, np.datetime64(start, "us")))
    if first >= len(times):
        raise DataError(
            f"no {series.symbol} {series.interval} data in the prices for period "
            f"[{start or 'start'}, {end or 'end'})"
        )
    return first


def load_slice(
    signals: SignalSource,
    symbol: str,
    interval: str,
    *,
    start: datetime | None,
    end: datetime | None,
    parameters: dict[str, Any] | None = None,
) -> MarketSlice:
    """Prices and signals of the period for ``parameters`` (default: the source strategy's)."""
    params = signals.strategy.parameters if parameters is None else parameters
    series = signals.series(symbol, interval, end=end, parameters=params)
    return cut(series, period_start(series, start, end))


def whole_series(
    signals: SignalSource,
    pairs: Sequence[tuple[str, str]],
    *,
    parameters: dict[str, Any] | None = None,
) -> list[MarketSlice]:
    """:func:`load_slice` of every bar of each of ``pairs``, in order, read together
    (:meth:`hermes.signals.source.SignalSource.many`: one query for the prices and one for the
    signals, not two per series). A series without a bar raises as :func:`load_slice` does."""
    params = signals.strategy.parameters if parameters is None else parameters
    read = signals.many(pairs, end=None, parameters=params)
    return [
        cut(read[pair], 0)
        if pair in read
        else load_slice(signals, *pair, start=None, end=None, parameters=params)
        for pair in pairs
    ]


def cut(series: SeriesSignals, first: int) -> MarketSlice:
    """The slice ``[first:]`` of one parameter set's series, with its fingerprints."""
    part = slice(first, None)
    times = series.open_time[part]
    prices = {k: v[part] for k, v in series.prices.items()}
    flags = {k: v[part] for k, v in series.flags.items()}
    values = {k: v[part] for k, v in series.values.items()}
    entries, exits = series.entries[part], series.exits[part]
    decided = [
        entries,
        exits,
        *(flags[k] for k in sorted(flags)),
        *(values[k] for k in sorted(values)),
    ]
    return MarketSlice(
        symbol=series.symbol,
        interval=series.interval,
        open_time=times,
        prices=prices,
        entries=entries,
        exits=exits,
        flags=flags,
        values=values,
        data_fingerprint=fingerprint([times, *(prices[k] for k in OHLCV)]),
        features_version=fingerprint(decided),
        signal_source=series.source,
    )
