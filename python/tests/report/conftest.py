"""One lake of research results built from the bundled daily candles, shared by the page tests.

Holds single runs (one with no trade on a window shorter than the rolling window), a
portfolio, a grid with its overfitting statistics, a grid of one combination, a
walk-forward and an A/B comparison. Module tests only read it.
"""

from __future__ import annotations

import html.parser
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hermes.backtest.grid import parse_axis
from hermes.backtest.request import BacktestRequest
from hermes.config import PROJECT_ROOT, Settings
from hermes.lake import connect
from hermes.report.browser import Browser, find_chromium, open_browser
from hermes.stats import metrics

DATA = PROJECT_ROOT / "data" / "binance-ohlcv"
GRID = [
    parse_axis("ema_fast=5,12"),
    parse_axis("ema_slow=30,50"),
    parse_axis("rsi_low:rsi_high=45:55,40:60"),
]


@dataclass
class Research:
    settings: Settings
    runs: list[str]
    long_run: str
    """BTCUSDT 4h: more bars than a chart draws."""
    quiet_run: str
    portfolio: str
    grid: str
    single_grid: str
    walk_forward: str
    ab: str
    grid_returns: np.ndarray
    grid_chosen: int
    studies: dict[str, Any]


def grid_returns(settings: Settings, grid_id: str) -> tuple[np.ndarray, int]:
    """Bar returns of every combination of a grid, from one single run per combination
    (bit-identical to the grid's columns), and the best-Sharpe combination."""
    from hermes.backtest.runs import run_backtests

    conn = connect(settings)
    try:
        rows = conn.execute(
            "select combination, parameters, sharpe from gold_backtest_grid where grid_id = ? "
            "order by combination",
            [grid_id],
        ).fetchall()
    finally:
        conn.close()
    import json

    columns = []
    for _, parameters, _ in rows:
        (run_id,) = run_backtests(
            settings, "smart_momentum", ["BTCUSDT"], ["1d"], overrides=json.loads(parameters)
        )
        conn = connect(settings)
        try:
            equity = conn.execute(
                "select equity from gold_backtest_equity where run_id = ? order by open_time",
                [run_id],
            ).fetchnumpy()["equity"]
        finally:
            conn.close()
        columns.append(metrics.bar_returns(np.asarray(equity, dtype=float), 10_000.0))
    sharpes = np.array([np.nan if s is None else s for _, _, s in rows], dtype=float)
    return np.column_stack(columns), int(np.nanargmax(sharpes))


@pytest.fixture(scope="session")
def research(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Research]:
    from hermes.backtest.ab import run_ab
    from hermes.backtest.grid import run_grid_backtest
    from hermes.backtest.portfolio import run_portfolio
    from hermes.backtest.runs import run_backtests
    from hermes.backtest.walk_forward import run_walk_forward
    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths

    base = tmp_path_factory.mktemp("research")
    settings = Settings(lake_root=base / "lake")
    previous = {k: os.environ.get(k) for k in ("HERMES_LAKE_ROOT", "HERMES_TARGET")}
    os.environ["HERMES_LAKE_ROOT"] = str(settings.lake_root)
    os.environ["HERMES_TARGET"] = "local"
    try:
        ingest_paths(
            [DATA / "BTCUSDT_1d.csv.gz", DATA / "ETHUSDT_1d.csv.gz", DATA / "BTCUSDT_4h.csv.gz"],
            settings,
        )
        run_dbt(["seed"], settings, target_path=base / "target")
        select = [
            "--select",
            "+gold_feature_store",
            "+gold_signals_smart_momentum",
            "silver_quality",
            "silver_kline_gaps",
        ]
        (result, *_) = run_dbt(
            ["run", *select, "--vars", "{use_test_features: true}"],
            settings,
            target_path=base / "target",
        )
        assert result.success
        runs = run_backtests(settings, "smart_momentum", ["BTCUSDT", "ETHUSDT"], ["1d"])
        (long_run,) = run_backtests(settings, "smart_momentum", ["BTCUSDT"], ["4h"])
        (quiet,) = run_backtests(
            settings,
            "smart_momentum",
            ["BTCUSDT"],
            ["1d"],
            start=datetime(2021, 1, 1),
            end=datetime(2021, 2, 1),
        )
        (portfolio,) = run_portfolio(settings, BacktestRequest("smart_momentum", intervals=["1d"]))
        btc = BacktestRequest("smart_momentum", ["BTCUSDT"], ["1d"])
        (grid,) = run_grid_backtest(settings, btc, GRID)
        (single,) = run_grid_backtest(
            settings, btc, [parse_axis("ema_fast=12"), parse_axis("rsi_low:rsi_high=45:55")]
        )
        returns, chosen = grid_returns(settings, grid.grid_id)  # what the grid recorded
        both = BacktestRequest("smart_momentum", ["BTCUSDT", "ETHUSDT"], ["1d"])
        walk, _ = run_walk_forward(
            settings, both, GRID, in_sample_days=1095, out_of_sample_days=365
        )
        comparison = run_ab(settings, btc)
    finally:  # the other tests keep the session's environment (built_lake's)
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield Research(
        settings=settings,
        runs=runs,
        long_run=long_run,
        quiet_run=quiet,
        portfolio=portfolio,
        grid=grid.grid_id,
        single_grid=single.grid_id,
        walk_forward=walk.walk_forward_id,
        ab=comparison.ab_id,
        grid_returns=returns,
        grid_chosen=chosen,
        studies={"grid": grid, "walk_forward": walk},
    )


@dataclass
class Table:
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)


class Tables(html.parser.HTMLParser):
    """Every ``<table id=...>`` of a page: header cells, body rows (cell texts), row classes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, Table] = {}
        self._table: Table | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag == "table":
            self._table = Table()
            self.tables[str(values.get("id") or f"table-{len(self.tables)}")] = self._table
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table is not None:
            self._row = []
            if not self._in_head:
                self._table.classes.append(str(values.get("class") or ""))
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._in_head:
                self._table.head = self._row
            else:
                self._table.rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(path: Path) -> Tables:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the page tests: skipped without it on a workstation, failed in CI.
    Started once per worker (the page tests are one group, see the root conftest)."""
    if find_chromium() is None:
        message = "Chromium is not installed: apt-get install chromium (make test does it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with open_browser() as running:
        yield running
