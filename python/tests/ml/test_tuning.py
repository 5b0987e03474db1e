"""Tuning inside the walls: the search reads only the window's own rows, deterministically."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hermes.lake import DataError
from hermes.ml.training import Series, training_rows
from hermes.ml.tuning import inner_split, tune
from hermes.ml.walk_forward import walk_forward
from ml.test_walk_forward import HOUR, _config, _series


def test_the_inner_split_is_purged_like_the_outer_one() -> None:
    config = _config(tuning_trials=3)
    series = _series(400, config.horizon)
    rows = training_rows(series, 350, config)
    train, valid = inner_split(series, rows, config)
    # the last quarter of the window validates; nothing at or after the block is read
    assert len(valid) == len(rows) // 4 and valid[-1] == rows[-1] < 350
    embargo = np.timedelta64(config.embargo_bars * HOUR, "s")
    assert series.label_until[train].max() < series.open_time[valid[0]] - embargo
    # purged: the last horizon + embargo rows before the validation part are left out
    assert train[-1] == valid[0] - 1 - config.horizon - config.embargo_bars


def _cut(series: Series, n: int) -> Series:
    """The series as known at the close of bar ``n - 1`` (later labels unknown)."""
    known = series.label_until[:n] < series.open_time[n - 1] + np.timedelta64(HOUR, "s")
    return Series(
        series.open_time[:n],
        series.features[:n],
        np.where(known, series.label[:n], np.nan),
        np.where(known, series.label_until[:n], np.datetime64("NaT", "us")).astype(
            "datetime64[us]"
        ),
        HOUR,
    )


def test_tuned_predictions_never_look_ahead_and_repeat_exactly() -> None:
    config = _config(tuning_trials=4)
    series = _series(400, config.horizon)
    full = walk_forward(series, config)
    again = walk_forward(series, config)
    assert list(full["model_version"]) == list(again["model_version"])
    np.testing.assert_array_equal(full["probability_up"], again["probability_up"])
    # every model was tuned with its 4 trials, and the tuned parameters differ from the default
    records = full["models"]
    assert [r.tuning_trials for r in records] == [4] * 5
    assert all(r.tuning_logloss is not None and r.tuning_logloss > 0 for r in records)
    assert {r.params["num_leaves"] for r in records} != {15}
    assert json.loads(json.dumps(records[0].params)) == records[0].params
    # a series cut at bar 299 tunes and predicts bars up to 299 exactly as the full one
    cut = walk_forward(_cut(series, 300), config)
    np.testing.assert_array_equal(cut["probability_up"], full["probability_up"][:300])
    assert list(cut["model_version"]) == list(full["model_version"][:300])


def test_tuning_changes_the_model_version_and_off_is_the_default() -> None:
    series = _series(400, 5)
    untuned, tuned = walk_forward(series, _config()), walk_forward(series, _config(tuning_trials=2))
    assert untuned["models"][0].tuning_trials == 0 and untuned["models"][0].tuning_logloss is None
    assert not set(untuned["model_version"]) & set(tuned["model_version"]) - {None}
    # a window too small to split keeps the configured parameters, with no trial
    config = _config(tuning_trials=2)
    rows = training_rows(series, 150, config)[:60]
    params, trials, score = tune(series, rows, config)
    assert (params, trials, score) == (config.lightgbm_params(), 0, None)


def test_bad_trial_count_names_the_var() -> None:
    with pytest.raises(DataError, match="var ml_tuning_trials: must be 0 or more"):
        _config(tuning_trials=-1)
