"""Python accelerators: optional numpy twins of signal models, for work SQL does slowly.

A strategy is its registry row plus its dbt signal model; an accelerator is only needed where
many parameter sets are evaluated (grids, walk-forward, A/B over parameters) or signals are
generated chunk by chunk, and for parameters a model compiles into its SQL. A strategy has
at most one accelerator module, listed here and used by every caller; the test
``test_accelerators_equal_their_models`` proves each equal to its dbt model on every bundled
bar at the registry parameters.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import numpy as np

from hermes.signals import smart_momentum


class Accelerator(Protocol):
    """What an accelerator module provides (see :mod:`hermes.signals.smart_momentum`)."""

    STRATEGY_ID: str
    LOOKBACK: int
    """Previous bars the rule reads: the context a chunked run carries between chunks."""

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Rules tying parameters together (types and ranges are the registry's)."""
        ...

    def feature_columns(self, params: dict[str, Any]) -> dict[str, str]:
        """Input name -> feature-store column holding it for these parameters."""
        ...

    def compute_inputs(
        self, ohlc: dict[str, np.ndarray], params: dict[str, Any], needed: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        """The ``needed`` inputs computed from the whole price history (store lacks them)."""
        ...

    def generate(
        self, inputs: dict[str, np.ndarray], params: dict[str, Any]
    ) -> dict[str, np.ndarray]:
        """Component flags plus ``buy_signal`` / ``sell_signal`` for every row of ``inputs``."""
        ...


ACCELERATORS: dict[str, Accelerator] = {
    smart_momentum.STRATEGY_ID: cast(Accelerator, smart_momentum),
}


def accelerator_for(strategy_id: str) -> Accelerator | None:
    """The strategy's accelerator, or ``None`` when it exists only as SQL."""
    return ACCELERATORS.get(strategy_id)
