"""The daily backtests read a strategy's series together; each slice is the one read alone,
array for array, fingerprints included (so a stored run's reuse and its numbers do not
depend on how its inputs were read). Real bundled data: BTCUSDT and ETHUSDT, 4h and 1d."""

from __future__ import annotations

import numpy as np
import pytest

from hermes.backtest.inputs import load_slice, whole_series
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
