"""The research site: ``<reports>/index.html`` linking every page, plus the pages it links.

Sections: the strategy scorecard (registry rows; across the universe, per strategy: the spread
of Sharpe ratios, the share of series beating buy-and-hold and the equal-weight portfolio; the
strategy x series matrix, sorted and filtered in the browser: :mod:`hermes.report.universe`),
recent runs, studies (grids, walk-forwards, A/B comparisons), the latest signal of every active
strategy per series, and data health (last candle, gaps, completeness per month, quarantined
files). It reads the published state: a series the audit held back shows as last published;
every section but the quarantined files (which name files, not series) shows only the series
the universe lists (:func:`hermes.universe.listed_series`; a portfolio run when every one of
its symbols is listed at its interval).
Pages it links that do not exist yet are written first (runs and studies never change once
recorded, so an existing page is kept). Links are relative: the folder reads the same from a
file system or a static web server; on the ``s3`` target every page is also copied under the
bucket's ``reports/`` prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from rich.progress import Progress

from hermes.config import Settings
from hermes.lake import DataError, connect, identifier, table_columns
from hermes.publication import attach_published
from hermes.report import charts
from hermes.report.ab_page import write_ab_page
from hermes.report.grid_page import write_grid_page
from hermes.report.keep import RECENT
from hermes.report.render import asset_files, figure_html, write_page
from hermes.report.study_data import clean, now_text
from hermes.report.tearsheet import write_tearsheet, write_tearsheets
from hermes.report.universe import latest_runs, matrix, portfolio_figure, summaries
from hermes.report.walk_forward_page import write_walk_forward_page
from hermes.storage import exists, write_bytes_atomic
from hermes.universe import listed_series

SCORE_METRICS = ("total_return", "sharpe", "max_drawdown", "trades", "buy_and_hold_return")


@dataclass
class SiteResult:
    index: Path
    written: list[Path] = field(default_factory=list)
    """Pages written this time (the index included)."""


def _has(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    try:
        table_columns(conn, table)
    except DataError:
        return False
    return True


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    try:
        return table_columns(conn, table)
    except DataError:
        return []


def _records(
    conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> list:
    frame = conn.execute(sql, params or []).df()
    return [{k: clean(v) for k, v in r.items()} for r in frame.to_dict("records")]


def scorecard(conn: duckdb.DuckDBPyConnection) -> tuple[list[dict], list[dict]]:
    """(registry rows, the latest single run of each strategy, symbol and interval)."""
    strategies = []
    if _has(conn, "strategies"):
        verdicts = "null::varchar as verdict"
        if "verdict" in _columns(conn, "gold_strategy_scorecard"):
            verdicts = (  # the out-of-sample verdict, one per strategy
                "(select any_value(verdict) from gold_strategy_scorecard as card "
                "where card.strategy_id = strategies.strategy_id) as verdict"
            )
        strategies = _records(
            conn,
            f"select strategy_id, name, version, tags, status, {verdicts}, description "  # noqa: S608 (constants)
            "from strategies order by strategy_id",
        )
        for s in strategies:
            s["tags"] = ", ".join(str(s["tags"] or "").split("|"))
    latest = []
    if _has(conn, "gold_backtest_runs"):
        latest = _records(
            conn,
            "select run_id, strategy_id, strategy_version, symbol, interval, created_at, rows, "  # noqa: S608 (constant names)
            f"{', '.join(SCORE_METRICS)} from gold_backtest_runs where run_kind = 'single' "
            "qualify row_number() over (partition by strategy_id, symbol, interval "
            "order by created_at desc, run_id) = 1 order by strategy_id, symbol, interval",
        )
    return strategies, latest


IN_UNIVERSE = (
    "($series is null or list_has_all($series, "
    "[s || ' ' || interval for s in string_split(symbol, ',')]))"
)
"""SQL: the row's series is one of ``$series`` (``'SYMBOL interval'`` keys; null: every
series). A portfolio run's ``symbol`` joins its symbols with commas: each must be listed."""


def _series_keys(universe: Collection[tuple[str, str]] | None) -> list[str] | None:
    """The ``$series`` parameter of :data:`IN_UNIVERSE`."""
    return None if universe is None else sorted(f"{s} {i}" for s, i in universe)


def recent_runs(
    conn: duckdb.DuckDBPyConnection, universe: Collection[tuple[str, str]] | None = None
) -> list[dict]:
    """The latest :data:`RECENT` runs, of the ``universe``'s series (None: of any series)."""
    if not _has(conn, "gold_backtest_runs"):
        return []
    return _records(
        conn,
        "select run_id, run_kind, strategy_id, symbol, interval, created_at, total_return, "  # noqa: S608 (constants)
        f"sharpe, max_drawdown, trades from gold_backtest_runs where {IN_UNIVERSE} "
        "order by created_at desc, run_id limit $recent",
        {"series": _series_keys(universe), "recent": RECENT},
    )


STUDIES = {
    "grid": (
        "gold_backtest_grid",
        "select grid_id as study_id, any_value(strategy_id) as strategy_id, "
        "any_value(symbol) as symbol, any_value(interval) as interval, max(created_at) as "
        "created_at, count(*) as size, max(sharpe) as best_sharpe from gold_backtest_grid "
        "group by grid_id order by created_at desc limit ?",
    ),
    "walk_forward": (
        "gold_backtest_walk_forward",
        "select walk_forward_id as study_id, any_value(strategy_id) as strategy_id, "
        "string_agg(distinct symbol, ',' order by symbol) as symbol, "
        "string_agg(distinct interval, ',' order by interval) as interval, max(created_at) as "
        "created_at, count(*) as size, avg(sharpe) as best_sharpe "
        "from gold_backtest_walk_forward group by walk_forward_id order by created_at desc "
        "limit ?",
    ),
    "ab": (
        "gold_backtest_ab",
        "select ab_id as study_id, any_value(strategy_id) as strategy_id, "
        "string_agg(distinct symbol, ', ') as symbol, string_agg(distinct interval, ', ') as "
        "interval, max(created_at) as created_at, count(distinct symbol || interval) as size, "
        "max(sharpe) as best_sharpe from gold_backtest_ab group by ab_id "
        "order by created_at desc limit ?",
    ),
}


def studies(conn: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    return {
        kind: _records(conn, sql, [RECENT]) if _has(conn, table) else []
        for kind, (table, sql) in STUDIES.items()
    }


def latest_signals(conn: duckdb.DuckDBPyConnection, strategies: list[dict]) -> list[dict]:
    """Per active strategy and series: the last bar's signals and the last buy and sell."""
    out = []
    for s in strategies:
        table = f"gold_signals_{s['strategy_id']}"
        if s["status"] != "active" or not _has(conn, identifier(table)):
            continue
        out += _records(
            conn,
            "select ? as strategy_id, symbol, interval, "  # noqa: S608 (validated identifier)
            "max(open_time) as last_bar, arg_max(buy_signal, open_time) as buy_now, "
            "arg_max(sell_signal, open_time) as sell_now, "
            "max(open_time) filter (where buy_signal) as last_buy, "
            "max(open_time) filter (where sell_signal) as last_sell "
            f"from {table} group by symbol, interval order by symbol, interval",
            [s["strategy_id"]],
        )
    return out


def data_health(
    conn: duckdb.DuckDBPyConnection, universe: Collection[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Last candle, completeness and gaps of the ``universe``'s series (None: of every
    series), and the quarantined files."""
    health: dict[str, Any] = {"series": [], "months": None, "quarantine": [], "gaps": []}
    series = {"series": _series_keys(universe)}
    if _has(conn, "silver_quality"):
        health["series"] = _records(
            conn,
            "select symbol, interval, max(last_open_time) as last_candle, "  # noqa: S608 (constants)
            "sum(present_candles)::bigint as candles, sum(missing_candles)::bigint as missing, "
            "100.0 * sum(present_candles) / nullif(sum(expected_candles), 0) as completeness, "
            f"sum(anomaly_count)::bigint as anomalies from silver_quality where {IN_UNIVERSE} "
            "group by all order by all",
            series,
        )
        months = conn.execute(
            "select symbol || ' ' || interval as series, strftime(month, '%Y-%m') as month, "  # noqa: S608 (constants)
            f"completeness_pct from silver_quality where {IN_UNIVERSE} order by series, month",
            series,
        ).df()
        health["months"] = months
    if _has(conn, "silver_kline_gaps"):
        health["gaps"] = _records(
            conn,
            "select symbol, interval, gap_start, gap_end, missing_candles from "  # noqa: S608 (constants)
            f"silver_kline_gaps where {IN_UNIVERSE} "
            "order by missing_candles desc, symbol, interval limit 20",
            series,
        )
    try:
        health["quarantine"] = _records(
            conn,
            "select source_file, reason, quarantined_at from landing.quarantine "
            "order by quarantined_at desc limit 50",
        )
    except duckdb.CatalogException:
        health["quarantine"] = []
    return health


def completeness_figure(months: pd.DataFrame | None) -> Any:
    if months is None or months.empty:
        return None
    table = months.pivot(index="series", columns="month", values="completeness_pct")
    z = table.to_numpy(dtype=float)
    fig = charts.heatmap(
        z,
        list(table.columns),
        list(table.index),
        "Completeness per month (%)",
        "month",
        "series",
        "%",
    )
    fig["data"][0].update(zmin=90, zmax=100, texttemplate="")
    fig["layout"]["xaxis"].update(tickangle=-60, nticks=24)
    return figure_html(fig, "chart-completeness")


def _ensure(
    path: Path, write: Callable[[], Path], written: list[Path], failures: list[str], name: str
) -> bool:
    if path.exists():
        return True
    try:
        written.append(write())
    except (LookupError, ValueError) as exc:
        failures.append(f"{name}: page not written ({exc})")
        return False
    return True


def read_site(
    conn: duckdb.DuckDBPyConnection, series: Collection[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Everything the index shows, read from the lake (figures rendered). With ``series``
    (the universe's (symbol, interval) pairs), every section but the quarantined files shows
    only those series; without, every series of the lake."""
    strategies, latest = scorecard(conn)
    health = data_health(conn, series)
    months = health.pop("months")
    universe = latest_runs(conn)
    signals = latest_signals(conn, strategies)
    if series is not None:
        listed = set(series)
        latest = [r for r in latest if (r["symbol"], r["interval"]) in listed]
        signals = [r for r in signals if (r["symbol"], r["interval"]) in listed]
        pairs = zip(universe["symbol"], universe["interval"], strict=True)
        keep = [(s, i) in listed for s, i in pairs]
        universe = universe.loc[pd.Series(keep, index=universe.index, dtype=bool)]
    portfolio = portfolio_figure(conn, universe)
    return {
        "strategies": strategies,
        "latest": latest,
        "summary": summaries(universe),
        "matrix": matrix(universe),
        "universe": portfolio,
        "recent": recent_runs(conn, series),
        "studies": studies(conn),
        "signals": signals,
        "health": health,
        "completeness": completeness_figure(months),
        "charts": (months is not None and not months.empty) or portfolio is not None,
    }


def write_index(
    path: Path, content: dict[str, Any], linked: set[str], notes: list[str], location: str
) -> Path:
    """Write the index page of :func:`read_site` ``content`` at ``path``."""
    shown = {k: v for k, v in content.items() if k != "latest"}
    return write_page(
        path,
        "index.html.j2",
        title="Hermes research",
        subtitle=f"Strategies, backtests and data health of {location}",
        notes=notes,
        linked=linked,
        generated_at=now_text(),
        **shown,
    )


def published_site(settings: Settings) -> dict[str, Any]:
    """:func:`read_site` of what readers see: the published state, where a series the audit
    held back reads at its own last published snapshot (its unchecked rows never show;
    :func:`hermes.publication.attach_published`), or the lake as it is when nothing was
    published; runs and signals of the series the universe lists."""
    with connect(settings) as conn:
        if attach_published(conn) is not None:
            conn.execute("use published")
        return read_site(conn, listed_series())


def write_site(settings: Settings, *, show_progress: bool = False) -> SiteResult:
    """Write the pages the index links that are missing, then the index; return the paths."""
    content = published_site(settings)
    reports = settings.reports_root
    written: list[Path] = []
    failures: list[str] = []
    writers: dict[str, Callable[[Settings, str], Path]] = {
        "grid": write_grid_page,
        "walk_forward": write_walk_forward_page,
        "ab": write_ab_page,
    }
    runs = {r["run_id"] for r in (*content["latest"], *content["recent"])}
    missing = [r for r in sorted(runs) if not (reports / f"{r}.html").exists()]
    try:  # one batch sharing its lake connections (:func:`write_tearsheets`)
        written += write_tearsheets(settings, missing)
    except (LookupError, ValueError):
        pass  # the pages are then written one by one below, each failure named
    todo: list[tuple[str, Callable[[Settings, str], Path]]]
    todo = [(run, write_tearsheet) for run in sorted(runs)]
    todo += [(s["study_id"], writers[k]) for k, rows in content["studies"].items() for s in rows]
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task("research pages", total=len(todo))
        linked = set()
        for page_id, writer in todo:
            if _ensure(
                reports / f"{page_id}.html",
                lambda p=page_id, w=writer: w(settings, p),  # type: ignore[misc]
                written,
                failures,
                page_id,
            ):
                linked.add(page_id)
            progress.advance(task)
    index = write_index(reports / "index.html", content, linked, failures, settings.location)
    written.append(index)
    if settings.s3 is not None:
        publish_pages(settings, written, [reports / f"{p}.html" for p in sorted(linked)])
    return SiteResult(index=index, written=written)


def publish_pages(settings: Settings, written: list[Path], linked: list[Path]) -> None:
    """Copy the pages written now, linked pages and shared scripts the bucket lacks, to
    ``reports/``."""
    folder = f"{settings.storage_root}/reports"
    for name, data in asset_files().items():
        if not exists(settings, f"{folder}/{name}"):
            write_bytes_atomic(settings, f"{folder}/{name}", data)
    for path in [*written, *(p for p in linked if p not in written)]:
        target = f"{folder}/{path.name}"
        if path in written or not exists(settings, target):
            write_bytes_atomic(settings, target, path.read_bytes())
