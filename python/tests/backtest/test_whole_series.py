"""The daily backtests read a strategy's series together; each slice is the one read alone,
array for array, fingerprints included (so a stored run's reuse and its numbers do not
depend on how its inputs were read). Real bundled data: BTCUSDT and ETHUSDT, 4h and 1d."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from hermes.backtest.inputs import MarketSlice, load_slice, whole_series
from hermes.backtest.request import BacktestRequest, open_request
from hermes.config import Settings
from hermes.lake import DataError


def test_series_read_together_are_each_series_read_alone(built_lake_copy: Settings) -> None:
    request = BacktestRequest("smart_momentum")
    with open_request(built_lake_copy, request) as opened:
        pairs = list(reversed(opened.pairs))
        together = whole_series(opened.signals, pairs)
        alone = [load_slice(opened.signals, *pair, start=None, end=None) for pair in pairs]
        with pytest.raises(DataError, match="no BTCUSDT 1h data in the prices"):
            whole_series(opened.signals, [*pairs, ("BTCUSDT", "1h")])
    assert [(d.symbol, d.interval) for d in together] == pairs == [
        ("ETHUSDT", "4h"), ("ETHUSDT", "1d"), ("BTCUSDT", "4h"), ("BTCUSDT", "1d"),
    ]  # fmt: skip
    assert [d.rows for d in together] == [d.rows for d in alone] == [18_371, 3_065] * 2
    for read, single in zip(together, alone, strict=True):
        _assert_same(read, single)


def _assert_same(read: MarketSlice, single: MarketSlice) -> None:
    assert (read.data_fingerprint, read.features_version, read.signal_source) == (
        single.data_fingerprint, single.features_version, single.signal_source,
    )  # fmt: skip
    for name in ("open_time", "entries", "exits"):
        assert getattr(read, name).dtype == getattr(single, name).dtype
        assert np.array_equal(getattr(read, name), getattr(single, name))
    for group in ("prices", "flags", "values"):
        mine, theirs = getattr(read, group), getattr(single, group)
        assert sorted(mine) == sorted(theirs)
        for key in mine:
            assert mine[key].dtype == theirs[key].dtype
            assert np.array_equal(mine[key], theirs[key], equal_nan=mine[key].dtype.kind == "f")


def test_prefetched_series_are_each_series_read_alone(built_lake_copy: Settings) -> None:
    """The paper ledgers and their check read a strategy's series together first
    (``SignalSource.prefetch``), then slice them one by one: each slice is the one read
    alone, and each prefetched series is handed out once."""
    start, end = datetime(2025, 7, 1), datetime(2026, 1, 2)
    with open_request(built_lake_copy, BacktestRequest("smart_momentum")) as opened:
        signals, pairs = opened.signals, opened.pairs
        parameters = signals.strategy.parameters
        alone = [load_slice(signals, *pair, start=start, end=end) for pair in pairs]
        signals.prefetch(pairs, end=end, parameters=parameters)
        assert sorted(signals._prefetched[(end, signals.strategy.parameters_json)]) == sorted(pairs)
        prefetched = [load_slice(signals, *pair, start=start, end=end) for pair in pairs]
        assert signals._prefetched[(end, signals.strategy.parameters_json)] == {}
        again = load_slice(signals, *pairs[0], start=start, end=end)  # read afresh
    assert [d.rows for d in prefetched] == [d.rows for d in alone] == [185, 1_110] * 2
    assert str(prefetched[0].open_time[0]) == "2025-07-01T00:00:00.000000"
    for read, single in zip([*prefetched, again], [*alone, alone[0]], strict=True):
        _assert_same(read, single)
