"""Turn ``results.json`` content into the RESULTS.md table, a console table and goal checks."""

from __future__ import annotations

from typing import Any

from rich.table import Table

PIPELINE_STAGES = ("ingest", "bronze", "silver", "features", "signals", "signals_chunked")
STAGE_LABELS = {
    "ingest": "ingest (archives to landing)",
    "bronze": "bronze_klines (dbt)",
    "silver": "silver_klines (dbt)",
    "features": "gold features (dbt)",
    "signals": "signals (dbt model)",
    "signals_chunked": "signals (`hermes signals`, chunked)",
}


def _fmt_seconds(value: float) -> str:
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def _fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:.0f} k"
    return f"{value:.0f}"


def _spread(figure: dict[str, float], fmt: Any) -> str:
    if figure["n"] == 1:
        return fmt(figure["median"])
    return f"{fmt(figure['median'])} ({fmt(figure['min'])} – {fmt(figure['max'])})"


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _status_cell(figure: dict[str, Any]) -> str:
    reason = str(figure.get("reason", "")).splitlines()[0][:140] if figure.get("reason") else ""
    return f"{figure['status']}: {reason}" if reason else figure["status"]


def _get(results: dict[str, Any], *keys: str) -> Any:
    node: Any = results
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the benchmark with the measured figure and whether it is met."""
    sizes = results.get("sizes", {})
    largest = max(sizes, key=lambda s: sizes[s]["data"]["rows"], default=None)
    stages = sizes[largest]["stages"] if largest else {}
    out: list[dict[str, Any]] = []

    def add(goal: str, measured: float | None, target: float, unit: str) -> None:
        higher_is_better = unit in ("rows/s", "x")
        met = None
        if measured is not None:
            met = measured >= target if higher_is_better else measured < target
        out.append({"goal": goal, "measured": measured, "target": target, "unit": unit, "met": met})

    def rate(stage: str) -> float | None:
        return _get(stages.get(stage, {}), "rows_per_second", "median")

    notebook = results.get("comparisons", {}).get("notebook_signals", {})
    add(f"feature layer, end to end ({largest})", rate("features"), 1e6, "rows/s")
    add(f"signals, dbt model, end to end ({largest})", rate("signals"), 1e7, "rows/s")
    add(f"signals, `hermes signals` ({largest})", rate("signals_chunked"), 1e7, "rows/s")
    add(
        "signals (dbt) vs notebook approach",
        _get(notebook, "speed_ratio_signals", "median"),
        20,
        "x",
    )
    add(
        "signals (`hermes signals`) vs notebook approach",
        _get(notebook, "speed_ratio_signals_chunked", "median"),
        20,
        "x",
    )
    add("warm 8-year 4h backtest", _get(results, "backtest", "seconds", "median"), 0.1, "s")
    add(
        "cold backtest (fresh process)", _get(results, "backtest", "cold_seconds", "median"), 5, "s"
    )
    add("1,000-combination grid", _grid_seconds(results), 30, "s")
    peaks = [
        _get(stages.get(s, {}), "peak_rss_mb", "max")
        for s in PIPELINE_STAGES
        if stages.get(s, {}).get("status") == "ok"
    ]
    add(f"peak memory of the {largest} build", max(peaks) / 1024 if peaks else None, 4, "GB")
    return out


def _grid_seconds(results: dict[str, Any]) -> float | None:
    grid = results.get("grid", {})
    if grid.get("status") != "ok" or grid.get("combinations") != 1000:
        return None
    return _get(grid, "seconds", "median")


def summary_table(results: dict[str, Any]) -> Table:
    table = Table("size", "stage", "time (median, min–max)", "rows/s", "peak MB", "status")
    for size, data in results.get("sizes", {}).items():
        for stage in PIPELINE_STAGES:
            figure = data["stages"].get(stage)
            if figure is None:
                continue
            if figure["status"] != "ok":
                table.add_row(size, stage, "", "", "", _status_cell(figure))
                continue
            table.add_row(
                size,
                stage,
                _spread(figure["seconds"], _fmt_seconds),
                _fmt_rate(figure["rows_per_second"]["median"]),
                f"{figure['peak_rss_mb']['max']:.0f}",
                "ok",
            )
    return table


def _machine_md(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    return [
        f"- CPU: {m['cpu_model']}, {m['logical_cores']} logical cores ({m['physical_cores']} physical)",
        f"- Memory: {m['memory_gb']} GB; OS: {m['os']}; Python {m['python']}",
        f"- Commit: {m['git_commit'] or 'unknown'}",
        f"- Packages: {packages}",
    ]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Hermes benchmark results",
        "",
        "Generated by `make bench` (`python -m bench`); do not edit by hand. "
        f"Mode: **{results['mode']}**, each figure is the median of {results['repeat']} runs "
        "with min – max in brackets, each run in a fresh process.",
        "",
        f"> **Synthetic data.** {results['note']}",
        "",
        "## Machine",
        "",
        *_machine_md(results),
        "",
        "## Goals",
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
    ]
    for goal in results.get("goals", []):
        measured = goal["measured"]
        shown = "not measured" if measured is None else f"{measured:,.3g} {goal['unit']}"
        met = {True: "yes", False: "**no**", None: "–"}[goal["met"]]
        op = "≥" if goal["unit"] in ("rows/s", "x") else "<"
        lines.append(
            f"| {goal['goal']} | {op} {goal['target']:,.3g} {goal['unit']} | {shown} | {met} |"
        )
    lines += ["", "## Pipeline throughput (synthetic 1-minute candles)", ""]
    lines += [
        "| size | stage | rows | time | rows/s | dbt model time | peak memory | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, data in results.get("sizes", {}).items():
        for stage in PIPELINE_STAGES:
            figure = data["stages"].get(stage)
            if figure is None:
                continue
            if figure["status"] != "ok":
                lines.append(f"| {size} | {stage} | | | | | | {_status_cell(figure)} |")
                continue
            model = figure.get("model_seconds")
            lines.append(
                f"| {size} | {stage} | {figure['rows']:,} | {_spread(figure['seconds'], _fmt_seconds)} "
                f"| {_spread(figure['rows_per_second'], _fmt_rate)} "
                f"| {_spread(model, _fmt_seconds) if model else ''} "
                f"| {figure['peak_rss_mb']['max']:.0f} MB | ok |"
            )
    lines += [
        "",
        "Time is end to end as a user sees it (for dbt stages: `dbt run --select ...` including "
        "project parsing); *dbt model time* is dbt's own execution time of the selected models.",
        "",
    ]
    for size, data in results.get("sizes", {}).items():
        d = data["data"]
        lines.append(
            f"- {size}: {d['rows']:,} synthetic rows, {len(d['symbols']) if '...' not in d['symbols'] else d['symbols'][-1][3:6].lstrip('0')} "
            f"symbols, {d['months']}, {d['archives']} monthly archives ({d['archive_mb']} MB)"
        )
    lines += ["", *_comparisons_md(results), *_extra_md(results)]
    lines += ["", f"Total benchmark time: {results.get('total_seconds', 0):.0f} s.", ""]
    return "\n".join(lines)


def _comparisons_md(results: dict[str, Any]) -> list[str]:
    comparisons = results.get("comparisons", {})
    lines = ["## Side by side", ""]
    ind = comparisons.get("indicators")
    if ind is not None:
        lines += ["### Indicators: hermes.indicators vs TA-Lib", ""]
        if ind["status"] != "ok":
            lines += [_status_cell(ind), ""]
        else:
            lines += [
                f"Same float64 arrays ({ind['rows']:,} synthetic 1-minute candles), warm calls, best of 5 per run. "
                "Ratio = TA-Lib time / Hermes time (above 1: Hermes is faster).",
                "",
                "| indicator | Hermes | TA-Lib | ratio | max relative difference |",
                "|---|---|---|---|---|",
            ]
            for name, case in ind["cases"].items():
                if case["status"] != "ok":
                    lines.append(f"| {name} | | | | {_status_cell(case)} |")
                    continue
                lines.append(
                    f"| {name} | {_spread(case['hermes_seconds'], _fmt_seconds)} "
                    f"| {_spread(case['talib_seconds'], _fmt_seconds)} "
                    f"| {_spread(case['speed_ratio'], _ratio)} | {case['max_relative_difference']:.1e} |"
                )
            lines.append("")
    return lines


def _extra_md(results: dict[str, Any]) -> list[str]:
    return []
