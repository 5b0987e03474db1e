"""The strategy registry and parameter validation (no lake needed)."""

from __future__ import annotations

import pytest

from hermes.config import PROJECT_ROOT
from hermes.signals.registry import StrategyError, load_strategy


def test_registry_defaults() -> None:
    strategy = load_strategy("smart_momentum")
    assert strategy.parameters == {
        "ema_fast": 12,
        "ema_slow": 26,
        "rsi_period": 14,
        "rsi_low": 45.0,
        "rsi_high": 55.0,
        "st_period": 10,
        "st_multiplier": 3.0,
    }
    assert strategy.with_parameters({"rsi_low": 40}).parameters_hash != strategy.parameters_hash


@pytest.mark.parametrize(
    ("strategy_id", "overrides", "message"),
    [
        ("no_such_strategy", {}, "unknown strategy 'no_such_strategy'"),
        ("smart_momentum", {"ema_fast": 26, "ema_slow": 26}, "ema_fast=26 must be smaller"),
        ("smart_momentum", {"ema_fast": 30}, "ema_fast=30 must be smaller"),
        ("smart_momentum", {"rsi_low": -5}, r"rsi_low=-5 is outside its range \[0, 100\]"),
        ("smart_momentum", {"rsi_high": 101}, r"rsi_high=101 is outside its range"),
        ("smart_momentum", {"rsi_low": 60, "rsi_high": 50}, "RSI band"),
        ("smart_momentum", {"ema_fast": 2.5}, "ema_fast=2.5 must be an integer"),
        ("smart_momentum", {"ema_fast": True}, "ema_fast=True must be a number"),
        ("smart_momentum", {"rsi_low": float("nan")}, "rsi_low=nan must be a finite number"),
        ("smart_momentum", {"st_multiplier": 0}, "st_multiplier"),
        ("smart_momentum", {"colour": 1}, "unknown parameter"),
        ("donchian_breakout", {"entry_period": 501}, r"entry_period=501 is outside its range"),
        ("bollinger_reversion", {"bb_period": "20"}, "bb_period='20' must be a number"),
        ("Bad-Id", {}, "is not a safe identifier"),
        ("x; drop table strategies", {}, "is not a safe identifier"),
    ],
)
def test_bad_strategy_input_is_named(strategy_id: str, overrides: dict, message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        load_strategy(strategy_id, overrides)


def test_every_registry_row_is_valid_and_documented() -> None:
    from hermes.signals.registry import list_strategies, signal_model

    strategies = list_strategies()
    assert {s.strategy_id for s in strategies} >= {
        "smart_momentum",
        "donchian_breakout",
        "bollinger_reversion",
    }
    for strategy in strategies:
        assert strategy.parameters and set(strategy.parameter_ranges) == set(strategy.parameters)
        assert strategy.status in ("active", "experimental", "retired") and strategy.tags
        model = signal_model(strategy.strategy_id)
        assert (PROJECT_ROOT / "models" / "gold" / "signals" / f"{model}.sql").exists()
