"""Overfitting statistics against published examples and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes.stats.bootstrap import (
    Interval,
    bootstrap_intervals,
    default_block,
    paired_difference,
    resample_indices,
)
from hermes.stats.cscv import probability_of_overfitting
from hermes.stats.sharpe import (
    deflated_sharpe_ratio,
    expected_maximum_sharpe,
    moments,
    probabilistic_sharpe_ratio,
    sharpe_per_bar,
)
from hermes.stats.study import overfitting_rows, study_statistics


def test_deflated_sharpe_ratio_of_the_published_example() -> None:
    # Bailey & Lopez de Prado (2014), "The deflated Sharpe ratio", numerical example:
    # 100 trials whose annual Sharpe ratios have variance 1/2, 5 years of daily returns
    # (T = 1250, 250 days a year), the chosen annual Sharpe ratio 2.5, skewness -3,
    # kurtosis 10: SR0 = 0.1132 a day and DSR = 0.9004.
    variance_per_day = 0.5 / 250
    sr0 = expected_maximum_sharpe(100, variance_per_day)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    sr = 2.5 / math.sqrt(250)
    dsr = probabilistic_sharpe_ratio(sr, sr0, 1250, -3.0, 10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_probabilistic_sharpe_ratio_by_hand() -> None:
    # normal returns (g3 = 0, g4 = 3): z = (0.1 - 0) * sqrt(100) / sqrt(1 + 0.5 * 0.01)
    z = 0.1 * 10 / math.sqrt(1.005)
    assert probabilistic_sharpe_ratio(0.1, 0.0, 101, 0.0, 3.0) == pytest.approx(
        0.5 * (1 + math.erf(z / math.sqrt(2))), rel=1e-12
    )
    # at the benchmark itself the probability is one half, whatever the moments
    assert probabilistic_sharpe_ratio(0.2, 0.2, 50, -1.0, 8.0) == 0.5
    # nothing to say with one observation, a NaN, or an impossible variance term
    assert math.isnan(probabilistic_sharpe_ratio(0.1, 0.0, 1, 0.0, 3.0))
    assert math.isnan(probabilistic_sharpe_ratio(math.nan, 0.0, 10, 0.0, 3.0))
    assert math.isnan(probabilistic_sharpe_ratio(1.0, 0.0, 10, 10.0, 3.0))


def test_expected_maximum_sharpe_edges() -> None:
    assert expected_maximum_sharpe(1, 0.3) == 0.0
    assert expected_maximum_sharpe(50, 0.0) == 0.0
    assert math.isnan(expected_maximum_sharpe(10, math.nan))
    # more trials, a higher bar: 2 trials with unit variance ~ 0.5, 1000 trials ~ 3.26
    assert expected_maximum_sharpe(2, 1.0) < expected_maximum_sharpe(1000, 1.0)
    assert expected_maximum_sharpe(1000, 1.0) == pytest.approx(3.2552, abs=1e-3)
    with pytest.raises(ValueError, match="at least 1"):
        expected_maximum_sharpe(0, 1.0)


def test_deflated_sharpe_ratio_uses_the_trials_variance() -> None:
    trials = np.array([0.01, 0.03, 0.05, np.nan])  # a flat trial (NaN) is not counted
    dsr, sr0 = deflated_sharpe_ratio(0.05, trials, 1000, 0.0, 3.0)
    assert sr0 == expected_maximum_sharpe(3, float(np.var([0.01, 0.03, 0.05], ddof=1)))
    assert dsr == probabilistic_sharpe_ratio(0.05, sr0, 1000, 0.0, 3.0)
    assert all(math.isnan(v) for v in deflated_sharpe_ratio(0.05, np.array([0.05]), 10, 0, 3))


def test_sample_moments_by_hand() -> None:
    # returns -1, 0, 1, 4: mean 1, deviations -2, -1, 0, 3; m2 = 14/4, m3 = 18/4, m4 = 98/4
    g3, g4 = moments(np.array([-1.0, 0.0, 1.0, 4.0]))
    assert g3 == pytest.approx(4.5 / 3.5**1.5, rel=1e-12)
    assert g4 == pytest.approx(24.5 / 3.5**2, rel=1e-12)
    assert all(math.isnan(v) for v in moments(np.zeros(5)))
    sr = sharpe_per_bar(np.array([[1.0, 0.0], [3.0, 0.0]]))
    assert sr[0] == pytest.approx(2 / math.sqrt(2)) and math.isnan(sr[1])


def _mirrored(blocks: list[float]) -> np.ndarray:
    # each block: two bars, the block's return then 0; column 1 = -column 0
    column = np.array([v for b in blocks for v in (b, 0.0)])
    return np.column_stack([column, -column])


def test_pbo_hand_worked_two_mirrored_trials() -> None:
    # Four blocks of two bars with first-bar returns +3%, +1%, -2%, -4%; trial 1 mirrors
    # trial 0, so on any set of bars the trial whose mean is positive is the better one.
    # In-sample blocks -> in-sample winner -> its out-of-sample rank (of 2):
    #   {1,2}: +4 -> t0, OOS {3,4}: -6 -> rank 1   {1,3}: +1 -> t0, OOS {2,4}: -3 -> rank 1
    #   {1,4}: -1 -> t1, OOS {2,3}: -1 -> rank 2   {2,3}: -1 -> t1, OOS {1,4}: -1 -> rank 2
    #   {2,4}: -3 -> t1, OOS {1,3}: +1 -> rank 1   {3,4}: -6 -> t1, OOS {1,2}: +4 -> rank 1
    # w = rank / 3, logit = ln(w / (1 - w)) = -ln 2 (rank 1) or +ln 2 (rank 2): PBO = 4/6.
    result = probability_of_overfitting(_mirrored([0.03, 0.01, -0.02, -0.04]), partitions=4)
    assert result.splits == 6 and result.rows_per_block == 2
    expected = np.log(2) * np.array([-1, -1, 1, 1, -1, -1])
    np.testing.assert_allclose(result.logits, expected, rtol=1e-12)
    assert result.pbo == pytest.approx(4 / 6)
    assert result.loss_probability == pytest.approx(4 / 6)  # the rank-1 winners lost money
    assert result.median_logit == pytest.approx(-math.log(2))


def test_pbo_of_a_dominant_trial_is_zero_and_of_noise_about_one_half() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 0.01, size=(1600, 20))
    skilled = noise.copy()
    skilled[:, 3] += 0.01  # a Sharpe ratio of about 1 per bar: best in every split
    result = probability_of_overfitting(skilled, partitions=8)
    assert result.pbo == 0.0 and result.splits == 70
    np.testing.assert_allclose(result.logits, math.log(20))  # rank 20 of 20: w = 20/21
    assert result.loss_probability == 0.0
    # pure noise: the in-sample winner is a random trial out of sample
    assert 0.3 < probability_of_overfitting(noise, partitions=8).pbo < 0.7


def test_pbo_leaves_out_the_oldest_remainder_rows_and_says_what_is_missing() -> None:
    matrix = _mirrored([0.03, 0.01, -0.02, -0.04])
    padded = np.vstack([np.full((3, 2), 9.0), matrix])  # 3 oldest rows: 11 // 4 = 2 a block
    np.testing.assert_array_equal(
        probability_of_overfitting(padded, 4).logits, probability_of_overfitting(matrix, 4).logits
    )
    single = probability_of_overfitting(np.ones((100, 1)))
    assert math.isnan(single.pbo) and "one combination" in (single.note or "")
    short = probability_of_overfitting(np.ones((20, 3)), partitions=16)
    assert math.isnan(short.pbo) and "too few" in (short.note or "")
    with pytest.raises(ValueError, match="even"):
        probability_of_overfitting(matrix, 3)
    with pytest.raises(ValueError, match="T x N"):
        probability_of_overfitting(np.ones(10))
    with pytest.raises(ValueError, match="NaN"):
        probability_of_overfitting(np.full((40, 2), np.nan), 4)


def test_bootstrap_blocks_wrap_around() -> None:
    rng = np.random.default_rng(0)
    indices = resample_indices(10, 4, 3, rng)
    assert indices.shape == (3, 10)
    for row in indices:
        for start in (0, 4):
            assert list(row[start : start + 4]) == [(row[start] + k) % 10 for k in range(4)]
    assert default_block(14_000) == 25 and default_block(1) == 1


def test_bootstrap_with_one_block_of_the_whole_series_is_the_point_estimate() -> None:
    # a block as long as the series: every resample is a rotation of it, same product,
    # same moments, so each interval shrinks to the run's own value
    returns = np.array([0.01, -0.02, 0.03, 0.0, 0.015, -0.005])
    result = bootstrap_intervals(returns, 365.0, samples=50, block=len(returns))
    total = float(np.prod(1 + returns) - 1)
    sharpe = float(returns.mean() / returns.std(ddof=1) * math.sqrt(365))
    assert result.total_return.low == pytest.approx(total, rel=1e-12)
    assert result.total_return.high == pytest.approx(total, rel=1e-12)
    assert result.sharpe.low == pytest.approx(sharpe, rel=1e-12)
    assert result.sharpe.high == pytest.approx(sharpe, rel=1e-12)


def test_bootstrap_sharpe_interval_matches_lo_standard_error() -> None:
    rng = np.random.default_rng(11)
    returns = rng.normal(0.001, 0.02, size=4000)
    result = bootstrap_intervals(returns, 1.0, samples=2000, level=0.95, block=1, seed=3)
    sr = returns.mean() / returns.std(ddof=1)
    se = math.sqrt((1 + sr**2 / 2) / len(returns))  # Lo (2002), i.i.d. returns
    width = result.sharpe.high - result.sharpe.low
    assert width == pytest.approx(2 * 1.959964 * se, rel=0.1)
    assert result.sharpe.low < sr < result.sharpe.high
    # seeded: the same returns give the same interval
    assert bootstrap_intervals(returns, 1.0, samples=2000, block=1, seed=3) == result


def test_bootstrap_says_what_is_missing() -> None:
    flat = bootstrap_intervals(np.zeros(100), 365.0)
    assert math.isnan(flat.sharpe.low) and "no trade" in (flat.note or "")
    short = bootstrap_intervals(np.array([0.01]), 365.0)
    assert "too few" in (short.note or "")
    with pytest.raises(ValueError, match="level"):
        bootstrap_intervals(np.ones(5), 1.0, level=1.5)
    with pytest.raises(ValueError, match="samples"):
        bootstrap_intervals(np.ones(5), 1.0, samples=0)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_intervals(np.array([0.1, np.nan]), 1.0)


def test_study_rows_hold_every_statistic() -> None:
    rng = np.random.default_rng(5)
    returns = rng.normal(0.0, 0.01, size=(800, 6))
    returns[:, 2] += 0.002
    stats = study_statistics(returns, 2, 2190.0, partitions=8, samples=200)
    per_bar = sharpe_per_bar(returns)
    assert stats.sharpe == pytest.approx(per_bar[2] * math.sqrt(2190.0), rel=1e-12)
    dsr, sr0 = deflated_sharpe_ratio(per_bar[2], per_bar, 800, *moments(returns[:, 2]))
    assert stats.dsr == dsr and stats.expected_max_sharpe == sr0 * math.sqrt(2190.0)
    assert stats.psr > stats.dsr and stats.notes == []
    rows = overfitting_rows("walk_forward", "wf-1", "BTCUSDT", "4h", [(0, stats), (1, stats)])
    assert rows.num_rows == 2 and rows.column("fold").to_pylist() == [0, 1]
    record = rows.to_pylist()[0]
    assert record["pbo_splits"] == 70 and record["trials"] == 6 and record["notes"] is None
    assert record["sharpe_ci_low"] < record["sharpe"] < record["sharpe_ci_high"]
    # a single flat run: every statistic that needs returns or trials is NULL, and says why
    flat = study_statistics(np.zeros(50), 0, 365.0)
    (row,) = overfitting_rows("run", "bt-1", "BTCUSDT", "1d", [(None, flat)]).to_pylist()
    assert row["sharpe"] is None and row["dsr"] is None and row["pbo"] is None
    assert "no trade" in row["notes"] and "at least 2 combinations" in row["notes"]
    with pytest.raises(ValueError, match="study kind"):
        overfitting_rows("nope", "x", "s", "i", [])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chosen column"):
        study_statistics(returns, 6, 365.0)


def test_paired_difference_of_identical_and_shifted_variants() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(0.0005, 0.01, size=2000)
    same = paired_difference(base, base.copy(), 365.0, samples=300)
    # the same series on the same resampled bars: the difference is exactly 0 every time
    assert same.sharpe == Interval(0.0, 0.0) and same.total_return == Interval(0.0, 0.0)
    better = paired_difference(base, base + 0.001, 365.0, samples=300)
    assert better.sharpe.low > 0 and better.total_return.low > 0
    # paired: the interval of a difference is far narrower than either series' own interval
    alone = bootstrap_intervals(base, 365.0, samples=300)
    noisy = paired_difference(base, base + rng.normal(0, 0.001, 2000), 365.0, samples=300)
    assert noisy.sharpe.high - noisy.sharpe.low < (alone.sharpe.high - alone.sharpe.low) / 3
    assert "too few" in (paired_difference(base[:1], base[:1], 1.0).note or "")
    with pytest.raises(ValueError, match="same bars"):
        paired_difference(base, base[:-1], 1.0)
