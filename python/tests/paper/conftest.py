"""The paper tests' signals (the built lake, read at one snapshot) and activation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fixtures.paper_ledger import SINCE

from hermes.config import Settings
from hermes.lake import pinned
from hermes.paper.activation import Activation, activation_of
from hermes.signals.registry import load_strategy
from hermes.signals.source import SignalSource


@pytest.fixture(scope="module")
def source(built_lake: Settings) -> Iterator[tuple[SignalSource, int]]:
    with pinned(built_lake) as (reader, snapshot):
        strategy = load_strategy("smart_momentum", conn=reader)
        yield SignalSource(reader, strategy, "gold_feature_store"), snapshot


@pytest.fixture(scope="module")
def activation() -> Activation:
    registry = activation_of(load_strategy("smart_momentum"))
    assert registry is not None  # the bundled registry paper trades smart_momentum
    return replace(registry, since=SINCE)
