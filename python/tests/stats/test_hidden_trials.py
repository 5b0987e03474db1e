"""An ML run deflated for its models' tuning trials: the formula by hand, the trial lookup in
SQL on hand-built tables, and the stored row."""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import numpy as np
import pytest
from scipy.stats import norm

from hermes.backtest.statistics import tuning_trials
from hermes.stats.sharpe import null_deflated_sharpe_ratio
from hermes.stats.study import overfitting_rows, study_statistics, with_hidden_trials


def test_null_deflated_sharpe_ratio_by_hand() -> None:
    # 5 years of daily returns (T = 1250), per-day Sharpe 0.1, no skew, normal tails, 50 trials:
    # SR0 = sqrt(1 / 1249) * ((1 - g) * z(1 - 1/50) + g * z(1 - 1/(50 e)))
    gamma = 0.5772156649015329
    sr0 = math.sqrt(1 / 1249) * (
        (1 - gamma) * norm.ppf(1 - 1 / 50) + gamma * norm.ppf(1 - 1 / (50 * math.e))
    )
    assert sr0 == pytest.approx(0.0644, abs=5e-5)
    z = (0.1 - sr0) * math.sqrt(1249) / math.sqrt(1 + (3 - 1) / 4 * 0.1**2)
    dsr, got = null_deflated_sharpe_ratio(0.1, 50, 1250, 0.0, 3.0)
    assert got == pytest.approx(sr0, rel=1e-12) and dsr == pytest.approx(norm.cdf(z), rel=1e-12)
    assert dsr == pytest.approx(0.8952, abs=5e-4)
    single, zero = null_deflated_sharpe_ratio(0.1, 1, 1250, 0.0, 3.0)
    psr = norm.cdf(0.1 * math.sqrt(1249) / math.sqrt(1.005))
    assert zero == 0.0 and single == pytest.approx(psr)
    assert all(math.isnan(v) for v in null_deflated_sharpe_ratio(0.1, 50, 1, 0.0, 3.0))


def test_a_run_deflated_for_hidden_trials_keeps_its_psr_and_records_the_count() -> None:
    returns = np.random.default_rng(7).normal(0.0008, 0.01, 2000)
    plain = study_statistics(returns, 0, 2190.0)
    tuned = with_hidden_trials(plain, 30)
    assert with_hidden_trials(plain, 0) is plain and with_hidden_trials(plain, 1) is plain
    assert tuned.trials == 30 and tuned.psr == plain.psr and tuned.sharpe == plain.sharpe
    per_bar = plain.sharpe / math.sqrt(2190.0)
    dsr, sr0 = null_deflated_sharpe_ratio(per_bar, 30, 2000, plain.skewness, plain.kurtosis)
    assert tuned.dsr == dsr and tuned.expected_max_sharpe == pytest.approx(sr0 * math.sqrt(2190))
    assert 0 < tuned.dsr < plain.psr  # 30 tries make the same Sharpe ratio less convincing
    assert math.isnan(plain.dsr)
    (row,) = overfitting_rows("run", "bt-x", "BTCUSDT", "4h", [(None, tuned)]).to_pylist()
    assert row["trials"] == 30 and row["dsr"] == tuned.dsr and row["pbo"] is None
    assert "deflated for 30 tuning trials" in row["notes"] and "PBO:" not in row["notes"]
    grid = study_statistics(np.column_stack([returns, returns[::-1]]), 0, 2190.0)
    with pytest.raises(ValueError, match="single run"):
        with_hidden_trials(grid, 30)


@pytest.fixture
def lake() -> duckdb.DuckDBPyConnection:
    """Hand-built signal rows naming their models, and the models' records, as ``lake``."""
    conn = duckdb.connect()
    conn.execute("attach ':memory:' as lake")
    conn.execute("use lake")
    conn.execute(
        "create table gold_signals_ml (symbol varchar, interval varchar, open_time timestamp, "
        "model_version varchar)"
    )
    conn.execute(
        "insert into gold_signals_ml values "
        "('BTCUSDT', '4h', '2024-01-01 00:00', null), "
        "('BTCUSDT', '4h', '2024-01-01 04:00', 'm1'), "
        "('BTCUSDT', '4h', '2024-01-01 08:00', 'm2'), "
        "('BTCUSDT', '4h', '2024-01-01 12:00', 'm3'), "
        "('ETHUSDT', '4h', '2024-01-01 04:00', 'e1')"
    )
    conn.execute(
        "create table gold_ml_models (symbol varchar, interval varchar, model_version varchar, "
        "tuning_trials integer)"
    )
    conn.execute(
        "insert into gold_ml_models values ('BTCUSDT', '4h', 'm1', 20), "
        "('BTCUSDT', '4h', 'm2', 25), ('BTCUSDT', '4h', 'm3', 40), ('ETHUSDT', '4h', 'e1', 90)"
    )
    conn.execute("create table gold_signals_sql (symbol varchar, open_time timestamp)")
    return conn


def test_tuning_trials_are_those_of_the_models_behind_the_runs_bars(
    lake: duckdb.DuckDBPyConnection,
) -> None:
    first, last = datetime(2024, 1, 1, 0), datetime(2024, 1, 1, 8)
    # the models of the run's bars only (m3 trades later, e1 is another symbol)
    assert tuning_trials(lake, "gold_signals_ml", "BTCUSDT", "4h", first, last) == 25
    assert tuning_trials(lake, "gold_signals_ml", "BTCUSDT", "4h", first, first) == 0
    assert tuning_trials(lake, "gold_signals_ml", "ETHUSDT", "4h", first, last) == 90
    assert tuning_trials(lake, "gold_signals_sql", "BTCUSDT", "4h", first, last) == 0
    lake.execute("drop table gold_ml_models")
    assert tuning_trials(lake, "gold_signals_ml", "BTCUSDT", "4h", first, last) == 0
