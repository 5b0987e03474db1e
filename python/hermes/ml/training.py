"""What a walk-forward model trains on: its configuration, the series, and the rows of a block.

:mod:`hermes.ml.walk_forward` trains and predicts with these; :mod:`hermes.ml.tuning` searches
parameters on the same rows. Both read the types here, so neither imports the other's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hermes.lake import DataError, identifier

BASE_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "num_threads": 1,
    "deterministic": True,
    "force_col_wise": True,
    "verbosity": -1,
    "seed": 20240601,
}
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 1.0,
    "max_bin": 63,
}


@dataclass(frozen=True)
class TrainingConfig:
    """How the model is trained (dbt vars ``ml_*``; see dbt_project.yml)."""

    features: tuple[str, ...]
    horizon: int = 6
    retrain_every: int = 180
    min_train_rows: int = 500
    window_rows: int = 0
    """0: expanding window; n > 0: the latest n usable rows (rolling)."""
    embargo_bars: int = 6
    num_trees: int = 50
    params: dict[str, Any] = field(default_factory=dict)
    tuning_trials: int = 0
    """Optuna trials per window on its own inner split (``hermes.ml.tuning``); 0: no tuning."""

    def __post_init__(self) -> None:
        if not self.features:
            raise DataError("var ml_features: list at least one column of gold_ml_features")
        for name in self.features:
            identifier(name)
        for name in ("horizon", "retrain_every", "min_train_rows", "num_trees"):
            if int(getattr(self, name)) < 1:
                raise DataError(f"var ml_{name}: must be a positive integer")
        for name in ("window_rows", "embargo_bars", "tuning_trials"):
            if int(getattr(self, name)) < 0:
                raise DataError(f"var ml_{name}: must be 0 or more")
        if self.window_rows and self.window_rows < self.min_train_rows:
            raise DataError("var ml_window_rows: must be 0 (expanding) or >= ml_min_train_rows")
        reserved = set(self.params) & set(BASE_PARAMS)
        if reserved:
            raise DataError(f"var ml_lightgbm_params: {sorted(reserved)} are fixed by Hermes")

    @classmethod
    def from_vars(cls, get: Any) -> TrainingConfig:
        """The config from a dbt ``config.get``/``var`` style getter."""
        return cls(
            features=tuple(get("ml_features") or ()),
            horizon=int(get("ml_horizon")),
            retrain_every=int(get("ml_retrain_every")),
            min_train_rows=int(get("ml_min_train_rows")),
            window_rows=int(get("ml_window_rows")),
            embargo_bars=int(get("ml_embargo_bars")),
            num_trees=int(get("ml_num_trees")),
            params=dict(get("ml_lightgbm_params") or {}),
            tuning_trials=int(get("ml_tuning_trials") or 0),
        )

    def lightgbm_params(self) -> dict[str, Any]:
        return {**DEFAULT_PARAMS, **self.params, **BASE_PARAMS}

    def config_hash(self) -> str:
        """A short hash of everything that decides the models (part of the model version)."""
        text = json.dumps(
            {
                "features": list(self.features),
                "horizon": self.horizon,
                "retrain_every": self.retrain_every,
                "min_train_rows": self.min_train_rows,
                "window_rows": self.window_rows,
                "embargo_bars": self.embargo_bars,
                "num_trees": self.num_trees,
                "params": self.lightgbm_params(),
                "tuning_trials": self.tuning_trials,
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Series:
    """One series, oldest bar first: open times, features (n x f, NaN = NULL), labels."""

    open_time: np.ndarray  # datetime64[us]
    features: np.ndarray  # float64, n x f
    label: np.ndarray  # float64: +1, -1, 0 or NaN (not known yet)
    label_until: np.ndarray  # datetime64[us], NaT when not known yet
    interval_seconds: int


def block_index(position: int, config: TrainingConfig) -> int:
    """The block of the bar at ``position`` (0 = the series' first bar)."""
    return position // config.retrain_every


def training_rows(series: Series, start: int, config: TrainingConfig) -> np.ndarray:
    """Positions of the rows the model of the block starting at ``start`` trains on.

    Rows before ``start`` with a known label (neutral ones included, as "not up") whose
    ``label_until`` is earlier than the block's first open time minus the embargo, and no
    NULL feature; the latest ``window_rows`` of them for a rolling window.
    """
    embargo = np.timedelta64(config.embargo_bars * series.interval_seconds, "s")
    cutoff = series.open_time[start] - embargo
    head = slice(0, start)
    usable = (
        ~np.isnat(series.label_until[head])
        & (series.label_until[head] < cutoff)
        & ~np.isnan(series.label[head])
        & ~np.isnan(series.features[head]).any(axis=1)
    )
    rows = np.flatnonzero(usable)
    if config.window_rows:
        rows = rows[-config.window_rows :]
    return rows
