"""One rule places the daily job's heavy stages (hermes.flows.scale_out.dask_runner): on Dask
when a scheduler is named, else in the flow's process; backtests, statistics and pages ask it.

The stages themselves run on a real scheduler in test_scale_out.py and test_daily_refresh_flow.py.
"""

from __future__ import annotations

import ast
import inspect

import pytest

from hermes.flows import backtests, pages, statistics
from hermes.flows.scale_out import DASK_ADDRESS_ENV, dask_runner


def test_a_stage_runs_on_dask_only_where_a_scheduler_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DASK_ADDRESS_ENV, raising=False)
    assert dask_runner() is None
    explicit = dask_runner("tcp://127.0.0.1:8786")
    assert explicit is not None
    assert explicit.address == "tcp://127.0.0.1:8786"
    monkeypatch.setenv(DASK_ADDRESS_ENV, "tcp://scheduler.internal:8786")
    named = dask_runner()
    assert named is not None
    assert named.address == "tcp://scheduler.internal:8786"
    assert named.cluster_kwargs == {}  # a named scheduler: no local cluster started
    monkeypatch.setenv(DASK_ADDRESS_ENV, "")
    assert dask_runner() is None


@pytest.mark.parametrize(
    ("module", "entry"),
    [
        (backtests, "backtest_partitions"),
        (statistics, "score_runs"),
        (pages, "write_pages"),
    ],
)
def test_every_heavy_stage_asks_the_one_rule(module: object, entry: str) -> None:
    source = inspect.getsource(getattr(module, entry))
    calls = {
        node.func.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "dask_runner" in calls
    assert "dask_address" not in calls  # no stage reads the environment on its own
