"""Walk-forward training on hand-built series: purging, embargo, schedule, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hermes.lake import DataError
from hermes.ml.training import Series, TrainingConfig, training_rows
from hermes.ml.walk_forward import walk_forward, walk_forward_many

HOUR = 3600


def _series(n: int, horizon: int, seed: int = 7) -> Series:
    """An hourly series whose label is the sign of the return ``horizon`` bars ahead."""
    rng = np.random.default_rng(seed)
    times = np.datetime64("2024-01-01T00:00:00", "us") + np.arange(n) * np.timedelta64(HOUR, "s")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    forward = np.full(n, np.nan)
    forward[:-horizon] = close[horizon:] / close[:-horizon] - 1
    label = np.where(np.isnan(forward), np.nan, np.sign(forward))
    until = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    # the label is known at the close of the bar `horizon` bars later
    until[:-horizon] = times[horizon:] + np.timedelta64(HOUR, "s") - np.timedelta64(1, "ms")
    # a feature that leaks the label (if the training saw it, it would predict perfectly)
    leak = np.nan_to_num(forward)
    noise = rng.normal(0, 1, n)
    features = np.column_stack([leak, noise])
    features[:5] = np.nan  # warm-up
    return Series(times, features, label, until, HOUR)


def _config(**kwargs: object) -> TrainingConfig:
    base: dict[str, object] = {
        "features": ("leak", "noise"),
        "horizon": 5,
        "retrain_every": 50,
        "min_train_rows": 100,
        "embargo_bars": 3,
        "num_trees": 10,
    }
    base.update(kwargs)
    return TrainingConfig(**base)  # type: ignore[arg-type]


def test_no_training_label_reaches_the_predicted_block() -> None:
    config = _config()
    series = _series(400, config.horizon)
    for start in range(0, 400, config.retrain_every):
        rows = training_rows(series, start, config)
        if len(rows) == 0:
            continue
        embargo = np.timedelta64(config.embargo_bars * HOUR, "s")
        assert series.label_until[rows].max() < series.open_time[start] - embargo
        # purged: the last horizon + embargo bars before the block are left out, no more
        assert rows[-1] == start - 1 - config.horizon - config.embargo_bars
        assert rows[0] == 5  # after the warm-up
    out = walk_forward(series, config)
    predicted = ~np.isnan(out["probability_up"])
    first = out["position"][predicted][0]
    assert first == 150  # the first block with >= 100 usable rows
    assert (out["train_label_until"][predicted] < out["block_start"][predicted]).all()
    assert len(set(out["model_version"][predicted])) == (400 - 150) // 50


def test_rolling_window_keeps_the_latest_rows() -> None:
    config = _config(window_rows=100)
    series = _series(400, config.horizon)
    rows = training_rows(series, 350, config)
    assert len(rows) == 100 and rows[-1] == 350 - 1 - 5 - 3


def test_predictions_are_deterministic_and_blocks_stand_alone() -> None:
    config = _config()
    series = _series(400, config.horizon)
    full = walk_forward(series, config)
    again = walk_forward(series, config)
    np.testing.assert_array_equal(full["probability_up"], again["probability_up"])
    assert list(full["model_version"]) == list(again["model_version"])
    # from block 5 on only (an incremental run) gives the same rows
    tail = walk_forward(series, config, first_block=5)
    assert tail["position"][0] == 250
    np.testing.assert_array_equal(tail["probability_up"], full["probability_up"][250:])
    # a series cut at bar 299 predicts bars up to 299 exactly as the full one
    cut = Series(
        series.open_time[:300],
        series.features[:300],
        np.where(np.arange(300) + 5 < 300, series.label[:300], np.nan),
        np.where(
            np.arange(300) + 5 < 300, series.label_until[:300], np.datetime64("NaT", "us")
        ).astype("datetime64[us]"),
        HOUR,
    )
    np.testing.assert_array_equal(
        walk_forward(cut, config)["probability_up"], full["probability_up"][:300]
    )


def test_threads_train_the_same_models_as_one() -> None:
    config = _config()
    jobs = [(_series(400, config.horizon, seed), first) for seed, first in ((7, 0), (8, 4))]
    one, two = walk_forward_many(jobs, config), walk_forward_many(jobs, config, threads=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a["probability_up"], b["probability_up"])
        assert a["models"] == b["models"] and list(a["position"]) == list(b["position"])
    assert [len(out["models"]) for out in two] == [5, 4]


def test_a_window_without_both_classes_or_rows_predicts_nothing() -> None:
    config = _config()
    series = _series(300, config.horizon)
    series.label[~np.isnan(series.label)] = 1.0
    out = walk_forward(series, config)
    assert np.isnan(out["probability_up"]).all() and set(out["model_version"]) == {None}
    assert walk_forward(_series(100, 5), config)["train_rows"].max() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"features": ()}, "var ml_features: list at least one column"),
        ({"features": ("Close; drop",)}, "invalid identifier"),
        ({"retrain_every": 0}, "var ml_retrain_every: must be a positive integer"),
        ({"embargo_bars": -1}, "var ml_embargo_bars: must be 0 or more"),
        ({"window_rows": 10}, "var ml_window_rows: must be 0 .expanding. or >= ml_min_train"),
        ({"params": {"seed": 1}}, r"var ml_lightgbm_params: \['seed'\] are fixed by Hermes"),
    ],
)
def test_bad_config_names_the_var(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        _config(**kwargs)
