"""The bench's live stage figures and goals (the stage itself runs in `make bench`)."""

from __future__ import annotations

import pytest

from bench import report
from bench.stages.live import _percentiles


def test_live_goals_compare_latency_and_memory() -> None:
    live = {
        "feed_latency": _percentiles([0.5, 0.8, 1.2, 3.0]),
        "webhook_latency": _percentiles([0.9, 1.1]),
        "steady_rss_mb": 450.0,
    }
    assert live["feed_latency"] == {"p50": 1.0, "p99": pytest.approx(2.946), "max": 3.0, "n": 4}
    goals = {g["goal"]: g for g in report.goals({"live": live})}
    p50 = goals["live: candle at the API to feed row, p50"]
    p99 = goals["live: candle at the API to feed row, p99"]
    assert (p50["measured"], p50["target"], p50["met"]) == (1.0, 1, False)
    assert p99["met"] is False
    assert goals["live: candle to webhook POST, p99"]["met"] is True
    assert goals["live: steady memory (after the steps)"]["met"] is True
    assert _percentiles([]) == {}
