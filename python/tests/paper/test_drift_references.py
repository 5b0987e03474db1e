"""Drift references read a strategy's series together; each equals the reference computed
for its ledger alone, bit for bit (real bundled data: smart_momentum paper traded on BTCUSDT
and ETHUSDT 4h from ``SINCE``, read at the built lake's snapshot)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest
from fixtures.paper_ledger import SINCE, use_registry

from hermes.config import Settings
from hermes.lake import pinned
from hermes.paper.ledger import compute_ledgers
from hermes.paper.run import drift_rows, reference_equities, reference_equity
from hermes.signals.registry import load_strategy


def test_references_read_together_are_each_ledgers_own(
    built_lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pinned(built_lake) as (reader, snapshot):
        strategy = load_strategy("smart_momentum", conn=reader)
        use_registry(monkeypatch, [replace(strategy, paper_since=SINCE.isoformat())])
        ledgers = compute_ledgers(reader, snapshot=snapshot, end=datetime(2025, 12, 10))
        pairs = [(x.symbol, x.interval) for x in ledgers]
        assert pairs == [("BTCUSDT", "4h"), ("ETHUSDT", "4h")]
        # a ledger whose paper_since is before the data's first bar has no reference
        before_data = replace(ledgers[0].activation, since=date(2017, 1, 1))
        early = replace(ledgers[0], activation=before_data)
        every = [*ledgers, early]
        together = reference_equities(reader, every)
        alone = [reference_equity(reader, ledger) for ledger in every]
        rows = drift_rows(reader, ledgers, snapshot)
    assert [len(r) for r in together] == [len(r) for r in alone] == [17_971, 17_971, 0]
    for read, single in zip(together, alone, strict=True):
        assert read.dtype == np.float64 and np.array_equal(read, single)
    assert together[0][-1] == alone[0][-1] and together[0][-1] != together[1][-1]
    assert [(r["symbol"], r["reference_bars"]) for r in rows] == [
        ("BTCUSDT", 17_970), ("ETHUSDT", 17_970),
    ]  # fmt: skip
