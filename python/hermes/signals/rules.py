"""Which code implements each registry strategy's signal rule."""

from __future__ import annotations

from types import ModuleType

from hermes.signals import smart_momentum

RULES: dict[str, ModuleType] = {smart_momentum.STRATEGY_ID: smart_momentum}
"""strategy_id -> module exposing validate, feature_columns, compute_inputs, generate, LOOKBACK."""


def rule_for(strategy_id: str) -> ModuleType:
    from hermes.signals.registry import StrategyError

    if strategy_id not in RULES:
        known = ", ".join(sorted(RULES))
        raise StrategyError(f"no signal rule implements strategy {strategy_id!r} (known: {known})")
    return RULES[strategy_id]
