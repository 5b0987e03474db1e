"""Walk-forward LightGBM training of one (symbol, interval) series, out-of-sample only.

The series is cut into blocks of ``retrain_every`` bars counted from its first bar; the model
of block k is trained on rows of earlier bars only, and only on rows whose label was known
before the block starts, minus an embargo: a training row's ``label_until`` (the close time
of the bar that decides its label) must be earlier than the block's first open time minus
``embargo_bars`` bar lengths (purging). The model then predicts the block's bars. Blocks are
anchored at the series' start, so a longer history never changes an earlier block's model
(what the lookahead truncation test proves), and an incremental run recomputes only from
the block of the first new bar on.

LightGBM rather than XGBoost: its ``deterministic`` mode with one thread gives bit-identical
models on re-run, it handles the features' NULL warm-up natively, and it trains the small
per-series models here fastest on two cores.

A block gets no prediction (NULL probability) when its window has fewer than
``min_train_rows`` usable rows or lacks one of the two classes; a bar gets none when one of
its features is NULL. Neutral labels (inside the band) are left out of training: the model
estimates the probability that the forward return ends above the band rather than below.

With ``tuning_trials`` > 0 a block's parameters are searched on its window's own inner split
first (:mod:`hermes.ml.tuning`); each model trained is described by a
:class:`hermes.ml.records.ModelRecord` (its artifact).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hermes.lake import DataError, identifier
from hermes.ml.records import describe
from hermes.ml.tuning import tune

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


PREDICTION_COLUMNS = (
    "block_start",
    "probability_up",
    "model_version",
    "train_from",
    "train_until",
    "train_label_until",
    "train_rows",
)


def block_index(position: int, config: TrainingConfig) -> int:
    """The block of the bar at ``position`` (0 = the series' first bar)."""
    return position // config.retrain_every


def training_rows(series: Series, start: int, config: TrainingConfig) -> np.ndarray:
    """Positions of the rows the model of the block starting at ``start`` trains on.

    Rows before ``start`` with a known, non-neutral label whose ``label_until`` is earlier
    than the block's first open time minus the embargo, and no NULL feature; the latest
    ``window_rows`` of them for a rolling window.
    """
    embargo = np.timedelta64(config.embargo_bars * series.interval_seconds, "s")
    cutoff = series.open_time[start] - embargo
    head = slice(0, start)
    usable = (
        ~np.isnat(series.label_until[head])
        & (series.label_until[head] < cutoff)
        & np.isin(series.label[head], (-1.0, 1.0))
        & ~np.isnan(series.features[head]).any(axis=1)
    )
    rows = np.flatnonzero(usable)
    if config.window_rows:
        rows = rows[-config.window_rows :]
    return rows


def walk_forward(series: Series, config: TrainingConfig, first_block: int = 0) -> dict[str, Any]:
    """Out-of-sample predictions for every bar of the blocks from ``first_block`` on.

    Returns the bars' positions (``position``) and one array per :data:`PREDICTION_COLUMNS`
    (NULL-able values as NaN / NaT / None); rows of a block without a model, and bars with a
    NULL feature, have a NULL probability. ``models`` lists the :class:`ModelRecord` of each
    model trained.
    """
    import lightgbm as lgb

    n = len(series.open_time)
    begin = min(first_block * config.retrain_every, n)
    size = n - begin
    out: dict[str, Any] = {
        "position": np.arange(begin, n),
        "block_start": np.empty(size, dtype="datetime64[us]"),
        "probability_up": np.full(size, np.nan),
        "model_version": np.full(size, None, dtype=object),
        "train_from": np.full(size, np.datetime64("NaT"), dtype="datetime64[us]"),
        "train_until": np.full(size, np.datetime64("NaT"), dtype="datetime64[us]"),
        "train_label_until": np.full(size, np.datetime64("NaT"), dtype="datetime64[us]"),
        "train_rows": np.zeros(size, dtype=np.int64),
        "models": [],
    }
    names = list(config.features)
    for start in range(begin, n, config.retrain_every):
        stop = min(start + config.retrain_every, n)
        block = slice(start - begin, stop - begin)
        out["block_start"][block] = series.open_time[start]
        rows = training_rows(series, start, config)
        y = (series.label[rows] > 0).astype(np.float64)
        if len(rows) < config.min_train_rows or y.min(initial=1.0) == y.max(initial=0.0):
            continue
        params, trials, score = tune(series, rows, config)
        dataset = lgb.Dataset(
            series.features[rows], label=y, feature_name=names, params={"verbosity": -1}
        )
        booster = lgb.train(params, dataset, num_boost_round=config.num_trees)
        x = series.features[start:stop]
        complete = ~np.isnan(x).any(axis=1)
        probability = np.full(stop - start, np.nan)
        if complete.any():
            probability[complete] = booster.predict(x[complete], num_threads=1)
        version = config.config_hash() + "-" + model_hash(booster)
        out["probability_up"][block] = probability
        out["model_version"][block] = version
        out["train_from"][block] = series.open_time[rows[0]]
        out["train_until"][block] = series.open_time[rows[-1]]
        out["train_label_until"][block] = series.label_until[rows].max()
        out["train_rows"][block] = len(rows)
        out["models"].append(
            describe(booster, version, series.features[rows], params, (trials, score))
        )
    return out


def model_hash(booster: Any) -> str:
    """A short hash of the trained model's text (its trees and parameters)."""
    return hashlib.sha256(booster.model_to_string().encode()).hexdigest()[:16]
