"""The incremental path of ``gold_ml_predictions`` on the built lake's real series.

What a daily run computes for a series whose first new bar is at a given bar, through the
model's own functions (:mod:`hermes.ml.lake_series`, :mod:`hermes.ml.walk_forward`) on the
lake built at once: new bars inside a trained block are predicted with the block's recorded
model, read back from its artifact, without training, and equal the stored full build bit
for bit; a bar that begins a block trains that block's model and only it, again equal to
the full build.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pytest

from hermes.config import Settings
from hermes.lake import connect
from hermes.ml.lake_series import Loaded, Plan, load_series, plan_series
from hermes.ml.training import TrainingConfig
from hermes.ml.walk_forward import PREDICTION_COLUMNS, predict_recorded, walk_forward_many
from ml.test_ml_models import FEATURES

CONFIG = TrainingConfig(
    features=tuple(FEATURES),
    horizon=6,
    retrain_every=500,
    min_train_rows=500,
    window_rows=3000,
    embargo_bars=6,
    num_trees=40,
)
"""The ``ml_*`` vars of dbt_project.yml."""
SECONDS = {"4h": 14400, "1d": 86400}


@pytest.fixture
def session(built_lake: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the built lake with the views the dbt model reads."""
    conn = connect(built_lake)
    conn.execute("create temp view hermes_ml_features as select * from gold_ml_features")
    conn.execute("create temp view hermes_ml_labels as select * from gold_ml_labels")
    conn.execute("create temp view hermes_ml_klines as select * from silver_klines")
    try:
        yield conn
    finally:
        conn.close()


def _stored(conn: duckdb.DuckDBPyConnection, symbol: str, interval: str, since: Any) -> Any:
    return conn.execute(
        "select * from gold_ml_predictions where symbol = ? and interval = ? "
        "and open_time >= ? order by open_time",
        [symbol, interval, since],
    ).fetchnumpy()


def _bar(conn: duckdb.DuckDBPyConnection, symbol: str, interval: str, position: int) -> Any:
    ((time,),) = conn.execute(
        "select open_time from gold_ml_features where symbol = ? and interval = ? "
        "order by open_time limit 1 offset ?",
        [symbol, interval, position],
    ).fetchall()
    return time


def _plan(conn: duckdb.DuckDBPyConnection, since: Any) -> tuple[Plan, Loaded]:
    (plan,) = plan_series(conn, [("BTCUSDT", "4h", since)], "gold_ml_predictions", CONFIG)
    (loaded,) = load_series(conn, [plan], CONFIG, SECONDS)
    return plan, loaded


def _assert_equal(out: dict[str, Any], stored: Any) -> None:
    np.testing.assert_array_equal(out["probability_up"], np.asarray(stored["probability_up"]))
    for column in PREDICTION_COLUMNS:
        if column != "probability_up":
            assert list(out[column]) == list(np.asarray(stored[column])), column


def test_new_bars_inside_a_block_use_its_recorded_model(
    session: duckdb.DuckDBPyConnection,
) -> None:
    # the last bars of BTCUSDT 4h: 18 (three days), inside the block beginning at bar 18000
    ((bars,),) = session.execute(
        "select count(*) from gold_ml_features where symbol = 'BTCUSDT' and interval = '4h'"
    ).fetchall()
    assert bars == 18371
    since = _bar(session, "BTCUSDT", "4h", bars - 18)
    plan, loaded = _plan(session, since)
    assert (plan.first, plan.bars, plan.needs_history(CONFIG)) == (bars - 18, bars, False)
    assert plan.recorded is not None and plan.recorded.booster is not None
    assert plan.recorded.block_start == np.datetime64(_bar(session, "BTCUSDT", "4h", 18000))
    # only the new bars were read, and no model is trained for them
    assert (loaded.offset, len(loaded.series.open_time)) == (bars - 18, 18)
    out = predict_recorded(loaded.series.features, plan.recorded)
    assert out["models"] == [] and np.isfinite(out["probability_up"]).all()
    _assert_equal(out, _stored(session, "BTCUSDT", "4h", since))


def test_a_bar_beginning_a_block_trains_that_block_only(
    session: duckdb.DuckDBPyConnection,
) -> None:
    since = _bar(session, "BTCUSDT", "4h", 18000)
    plan, loaded = _plan(session, since)
    assert (plan.first, plan.recorded, plan.needs_history(CONFIG)) == (18000, None, True)
    assert loaded.offset == 0 and len(loaded.series.open_time) == 18371
    (out,) = walk_forward_many([(loaded.series, 36)], CONFIG, threads=2)
    assert len(out["models"]) == 1 and out["position"][0] == 18000
    _assert_equal(out, _stored(session, "BTCUSDT", "4h", since))
    stored_version = session.execute(
        "select any_value(model_version) from gold_ml_models where symbol = 'BTCUSDT' "
        "and interval = '4h' and block_start = ?",
        [since],
    ).fetchall()
    assert out["models"][0].model_version == stored_version[0][0]


def test_a_recorded_model_of_another_config_is_not_reused_and_nothing_new_reads_nothing(
    session: duckdb.DuckDBPyConnection,
) -> None:
    since = _bar(session, "BTCUSDT", "4h", 18360)
    other = TrainingConfig(**{**CONFIG.__dict__, "num_trees": 41})
    (plan,) = plan_series(session, [("BTCUSDT", "4h", since)], "gold_ml_predictions", other)
    assert plan.recorded is None and plan.needs_history(other)
    # nothing changed: nothing planned, nothing read
    assert plan_series(session, [], "gold_ml_predictions", CONFIG) == []
    assert load_series(session, [], CONFIG, SECONDS) == []
