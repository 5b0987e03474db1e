"""The ML layer's proofs on real data: no lookahead, incremental = full, determinism.

On the two-step lake of :mod:`fixtures.refreshed_lake` (truncated copies ``CUTnn<SYMBOL>`` of
the 4h series, then an incremental refresh): a cut copy's labels and predictions equal the
full series' wherever the cut copy could know them, and the refreshed predictions equal
those of a lake built at once (``built_lake``), model version for model version. The ML
strategy's signals get the proofs of every registered strategy
(``python/tests/signals/test_signal_model_proofs.py``).
"""

from __future__ import annotations

import pandas as pd
import pytest
from fixtures.lake_reads import read_frame

from hermes.config import Settings
from hermes.costs import FEES, SLIPPAGE, round_trip_cost

RUN_COLUMNS = ("ingested_at", "snapshot_id")
"""Columns recording when a row was written, not what it predicts."""


def _predictions(settings: Settings, where: str) -> pd.DataFrame:
    return read_frame(
        settings,
        f"select * exclude ({', '.join(RUN_COLUMNS)}) from gold_ml_predictions "  # noqa: S608
        f"where {where} order by symbol, interval, open_time",
    )


def _same(actual: pd.DataFrame, expected: pd.DataFrame, what: str) -> None:
    actual, expected = actual.reset_index(drop=True), expected.reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_exact=True, obj=what)


def test_no_prediction_looks_ahead(refreshed_lake: tuple[Settings, dict]) -> None:
    settings, info = refreshed_lake
    predictions = _predictions(settings, "interval = '4h'")
    compared = predicted = 0
    for cut_symbol, (symbol, t) in info["cuts"].items():
        cut = predictions[predictions.symbol == cut_symbol]
        assert cut.iloc[-1]["open_time"] == pd.Timestamp(t)
        full = predictions[(predictions.symbol == symbol) & (predictions.open_time <= t)]
        columns = [c for c in predictions.columns if c != "symbol"]
        _same(cut[columns], full[columns], f"{cut_symbol} at {t}")
        compared += len(cut)
        predicted += int(cut.probability_up.notna().sum())
    assert compared > 100_000 and predicted > 90_000


def test_training_never_reads_a_label_of_the_predicted_block(built_lake: Settings) -> None:
    (row,) = read_frame(
        built_lake,
        """
        select
            count(*) filter (where probability_up is not null),
            -- embargo: 6 bars of 4h
            count(*) filter (where train_label_until + interval 24 hour >= block_start),
            count(*) filter (where train_until >= block_start or open_time < block_start),
            count(distinct model_version) filter (where interval = '4h'),
            count(*) filter (where probability_up is not null and train_rows < 500)
        from gold_ml_predictions
        where interval = '4h'
        """,
    ).itertuples(index=False)
    assert row[0] > 30_000 and row[3] == 2 * 35
    assert (row[1], row[2], row[4]) == (0, 0, 0)


def test_labels_are_known_only_after_label_until(refreshed_lake: tuple[Settings, dict]) -> None:
    settings, info = refreshed_lake
    labels = read_frame(
        settings,
        "select * from gold_ml_labels where interval = '4h' order by symbol, horizon, open_time",
    )
    for cut_symbol, (symbol, t) in list(info["cuts"].items())[::3]:
        cut = labels[labels.symbol == cut_symbol].reset_index(drop=True)
        full = labels[(labels.symbol == symbol) & (labels.open_time <= t)].reset_index(drop=True)
        last_close = pd.Timestamp(t) + pd.Timedelta(hours=4) - pd.Timedelta(milliseconds=1)
        known = full.label_until <= last_close
        # what the cut copy knows is the full series' label; the rest it does not know yet
        assert cut.label.notna().equals(known), cut_symbol
        columns = ["open_time", "horizon", "forward_return", "label_until", "label"]
        _same(cut.loc[known, columns], full.loc[known, columns], cut_symbol)


def test_incremental_predictions_equal_a_full_rebuild(
    refreshed_lake: tuple[Settings, dict], built_lake: Settings
) -> None:
    settings, info = refreshed_lake
    where = "symbol in ('BTCUSDT', 'ETHUSDT')"
    incremental = _predictions(settings, where)
    full = _predictions(built_lake, where)
    assert len(full) > 40_000 and full.probability_up.notna().sum() > 35_000
    # the same models (hashes of the trained trees) from two separate builds: deterministic
    _same(incremental, full, "predictions")
    # the refresh wrote the new bars only: the block they begin in kept its earlier bars
    # (and its model, recorded before); blocks beginning later were trained
    written = read_frame(
        settings,
        "select open_time, block_start, snapshot_id > ? as refreshed from gold_ml_predictions "
        "where symbol = 'BTCUSDT' and interval = '4h' order by open_time",
        [info["first"]],
    )
    new = written.open_time >= pd.Timestamp("2023-03-01")
    assert new.sum() > 500 and written.refreshed.equals(new)
    split_block = written.block_start[new].min()
    assert split_block < pd.Timestamp("2023-03-01") < split_block + pd.Timedelta(hours=4 * 500)
    recorded = read_frame(
        settings,
        "select block_start, snapshot_id > ? as refreshed from gold_ml_models "
        "where symbol = 'BTCUSDT' and interval = '4h' order by block_start",
        [info["first"]],
    )
    assert recorded.refreshed.equals(recorded.block_start > split_block)
    assert recorded.refreshed.sum() >= 1


def test_out_of_sample_skill_is_measured(built_lake: Settings) -> None:
    """The predictions are scored against the labels they never saw (reported, not tuned)."""
    from sklearn.metrics import roc_auc_score

    scored = read_frame(
        built_lake,
        """
        select p.interval, p.probability_up, l.label
        from gold_ml_predictions as p
        inner join gold_ml_labels as l using (symbol, interval, open_time, horizon)
        where p.probability_up is not null and l.label is not null
        """,
    )
    measured = {
        str(interval): roc_auc_score(rows.label > 0, rows.probability_up)
        for interval, rows in scored.groupby("interval")
    }
    # barely better than a coin on BTCUSDT + ETHUSDT (a leak would score near 1): README;
    # "up" is a move paying one round trip's costs, neutral rows count as "not up"
    assert measured == pytest.approx({"1d": 0.5172, "4h": 0.5259}, abs=1e-4)


def test_predictions_cover_every_ml_bar(built_lake: Settings) -> None:
    (row,) = read_frame(
        built_lake,
        """
        select
            (select count(*) from gold_ml_features f anti join gold_ml_predictions p
                using (symbol, interval, open_time)),
            (select count(*) from gold_ml_predictions p anti join gold_ml_features f
                using (symbol, interval, open_time)),
            (select count(*) from gold_ml_predictions
                where (probability_up is null) != (model_version is null))
        """,
    ).itertuples(index=False)
    assert tuple(row) == (0, 0, 0)


def test_a_move_within_one_round_trip_is_labelled_neutral(built_lake: Settings) -> None:
    """The labels' band is one round trip's cost (fees and slippage, entry and exit), from
    the same settings backtests default to: a smaller move is not a signal."""
    band = round_trip_cost(FEES, SLIPPAGE)
    assert band == pytest.approx(0.003, abs=1e-15)
    (row,) = read_frame(
        built_lake,
        """
        select
            count(*) filter (where label = 0 and abs(forward_return) > ?),
            count(*) filter (where label <> 0 and abs(forward_return) <= ?),
            count(*) filter (where label = 0),
            count(*) filter (where label is not null)
        from gold_ml_labels
        """,
        [band, band],
    ).itertuples(index=False)
    assert tuple(row) == (0, 0, 4346, 42848)
