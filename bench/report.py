"""RESULTS.md and the console's goal table from ``results.json``, both generated from one
table, ``bench/report.yml`` (:data:`SECTIONS`): each part of the page with its heading, where
its figure sits in the results, its blocks (paragraphs, tables, list items) and its goals."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import yaml
from rich.table import Table as RichTable

from bench.experiments import JOB_SCENARIOS
from bench.pipeline import STAGES
from bench.plan import BENCH_ROOT

LABELS = {stage.name: stage.label for stage in STAGES}
Results = dict[str, Any]
Read = Callable[[Results], float | None]


def at(results: Any, path: str) -> Any:
    """The value at a dotted key path, or None."""
    for key in path.split("."):
        if not isinstance(results, dict) or key not in results:
            return None
        results = results[key]
    return results


def median_of(value: Any) -> float | None:
    """A figure that is one value, or a spread of repeated values (its median)."""
    if isinstance(value, dict):
        return float(value["median"])
    return None if value is None else float(value)


def _seconds(v: float) -> str:
    return f"{v * 1000:.2f} ms" if v < 0.01 else f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def _rate(v: float) -> str:
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.0f} k" if v >= 1e3 else f"{v:.0f}"


class _Figures(string.Formatter):
    """``str.format`` with figure specs (:data:`SPECS`); a repeated figure shows its median
    (min – max); a missing field is an empty cell, and is noted in ``missing``."""

    SPECS: ClassVar[dict[str, Callable[[Any], str]]] = {
        "t": _seconds, "rate": _rate, "x": lambda v: f"{v:.1f}x" if v >= 10 else f"{v:.2f}x",
        "mb": lambda v: f"{v:.0f} MB", "list": lambda v: ", ".join(str(item) for item in v),
        "mB": lambda v: f"{v / 1e6:.1f} MB", "mB2": lambda v: f"{v / 1e6:.2f} MB",
    }  # fmt: skip

    def __init__(self) -> None:
        self.missing: list[str] = []

    def get_field(self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_field(name, args, kwargs)
        except (KeyError, TypeError, IndexError):
            self.missing.append(name)
            return None, name

    def format_field(self, value: Any, spec: str) -> str:
        fmt = self.SPECS.get(spec)
        if value is None or isinstance(value, str):
            return value or ""
        if fmt is None:
            return str(super().format_field(value, spec))
        if isinstance(value, dict) and value["n"] > 1:
            return f"{fmt(value['median'])} ({fmt(value['min'])} – {fmt(value['max'])})"
        return fmt(value["median"] if isinstance(value, dict) else value)


def fill(template: str, fields: Mapping[str, Any]) -> str:
    return _Figures().vformat(template, (), fields)


def _status(figure: Mapping[str, Any]) -> str:
    reason = (str(figure.get("reason") or "").splitlines() or [""])[0][:140]
    return f"{figure['status']}: {reason}" if reason else str(figure["status"])


def _ok(figure: Any) -> bool:
    return isinstance(figure, dict) and figure.get("status", "ok") == "ok"


class Goal(NamedTuple):
    """A goal (``label | figure | op target unit [| optional]``, see ``report.yml``)."""

    label: str
    figure: str
    op: str
    target: float
    unit: str
    optional: bool = False

    @classmethod
    def parse(cls, text: str) -> Goal:
        label, figure, target, *optional = (part.strip() for part in text.split(" | "))
        op, value, unit = target.split(" ", 2)
        return cls(label, figure, op, float(value), unit, optional == ["optional"])

    def measured(self, results: Results) -> float | None:
        path, _, divisor = self.figure.partition(" / ")
        reader, _, arg = path.partition(":")
        value = READERS[reader](results, arg) if reader in READERS else at(results, path)
        value = median_of(value)
        return value / float(divisor) if value is not None and divisor else value

    def row(self, results: Results, names: dict[str, Any]) -> dict[str, Any] | None:
        measured = self.measured(results)
        if measured is None and self.optional:
            return None
        met = None if measured is None else (measured >= self.target) == (self.op == ">=")
        return {"goal": self.label.format(**names), "measured": measured, "target": self.target,
                "unit": self.unit, "op": self.op, "met": met}  # fmt: skip


class Table(NamedTuple):
    """A Markdown table: header cells, a row template (cells joined by `` | ``) and its rows;
    a row that is not ok keeps its first ``keep`` cells, then shows its status."""

    table: str
    row: str
    rows: str
    keep: int = 1

    def lines(self, results: Results, figure: Any) -> list[str]:
        cells = self.row.split(" | ")
        lines = [f"| {self.table} |", "|" + "---|" * len(cells)]
        for row in ROWS[self.rows](results, figure):
            kept = " | ".join(fill(cell, row) for cell in cells[: self.keep])
            gap = " |" * (len(cells) - self.keep - 1)
            lines.append(f"| {fill(self.row, row)} |" if _ok(row) else
                         f"| {kept} |{gap} {_status(row)} |")  # fmt: skip
        return [*lines, ""]


class Item(NamedTuple):
    """A list item filled from the figure at ``key`` (left out when it was not measured)."""

    item: str
    key: str
    text: str

    def lines(self, results: Results, figure: Any) -> list[str]:
        if (found := results.get(self.key)) is None:
            return []
        return [f"- {fill(self.text, found)}" if _ok(found) else f"- {self.item}: {_status(found)}"]


class Section(NamedTuple):
    """A part of RESULTS.md: its heading, where its figure is (``""``: the whole results; left
    out when missing unless ``always``), its blocks (a paragraph naming a missing field is
    left out), computed ``fields`` and the goals its figures answer."""

    title: str
    key: str = ""
    blocks: tuple[str | Table | Item, ...] = ()
    always: bool = False
    fields: str | None = None
    goals: tuple[Goal, ...] = ()

    @classmethod
    def parse(cls, entry: dict[str, Any]) -> Section:
        def block(b: Any) -> str | Table | Item:
            return b if isinstance(b, str) else Table(**b) if "table" in b else Item(**b)

        return cls(**entry | {"blocks": tuple(map(block, entry.get("blocks", []))),
                              "goals": tuple(map(Goal.parse, entry.get("goals", [])))})  # fmt: skip

    def lines(self, results: Results) -> list[str]:
        figure = at(results, self.key) if self.key else results
        if figure is None and not self.always:
            return []
        if not _ok(figure or {}):
            return [self.title, "", _status(figure), ""]
        fields = {**(figure or {}), **(FIELDS[self.fields](results, figure) if self.fields else {})}
        lines = [self.title, ""]
        for block in self.blocks:
            if not isinstance(block, str):
                lines += block.lines(results, figure)
                continue
            formatter = _Figures()
            text = formatter.vformat(block, (), fields)
            lines += [] if formatter.missing else [text, ""]
        return lines + [""] * any(isinstance(b, Item) for b in self.blocks)


def _largest(results: Results, stage: str | None = None) -> str | None:
    """The largest size (where ``stage`` ran, when given)."""
    sizes = results.get("sizes", {})
    ran = [s for s in sizes if stage is None or at(sizes[s], f"stages.{stage}.status") == "ok"]
    return max(ran or sizes, key=lambda s: sizes[s]["data"]["rows"], default=None)


def _build_peak(results: Results, _: str) -> float | None:
    stages = at(results, f"sizes.{_largest(results)}.stages") or {}
    peaks = [f["peak_rss_mb"]["max"] for f in stages.values() if f.get("status") == "ok"]
    return max(peaks) if peaks else None


def _grid(results: Results, combinations: str) -> Any:
    grid = results.get("grid", {})
    ok = grid.get("status") == "ok" and grid.get("combinations") == int(combinations)
    return at(grid, "seconds") if ok else None


READERS: dict[str, Callable[[Results, str], Any]] = {
    "rate": lambda r, stage: at(r, f"sizes.{_largest(r, stage)}.stages.{stage}.rows_per_second"),
    "build_peak": _build_peak, "grid": _grid,
}  # fmt: skip


def _job_rows(results: Results, job: Any) -> list[dict[str, Any]]:
    rows = []
    for key, label, *_ in JOB_SCENARIOS:
        figure: Any = None if key.startswith("quality") else job.get(key)
        if not _ok(figure):
            rows += [] if figure is None else [{"label": label, "seconds": _status(figure)}]
            continue
        steps, seconds = figure.get("steps") or {}, figure.get("seconds_list") or []
        if key in ("plain", "server_start"):
            peak = figure.get("server_rss_mb") or at(figure, "peak_rss_mb.max")
        else:
            peak = median_of(figure.get("hermes_peak_rss_mb"))
        outside = max(0.0, float(seconds[-1]) - sum(steps.values())) if steps and seconds else None
        rows.append(figure | {"label": label, "peak": f"{peak:.0f}" if peak else "–",
                              "outside": outside,
                              "steps": ", ".join(f"{k} {v:.1f}" for k, v in steps.items()),
                              })  # fmt: skip
    return rows


def _quality_rows(results: Results, job: Any) -> list[dict[str, Any]]:
    scopes = [
        ("every partition", job.get("quality_full")),
        ("one partition", job.get("quality_one")),
    ]
    scopes += [(f"every partition, {size} lake", figure)
               for size, figure in (at(results, "quality_scale.sizes") or {}).items()]  # fmt: skip
    return [{"rows": 0} | f | {"label": label, "memory": median_of(f.get("quality_rss_mb")) or 0}
            for label, f in scopes if f and _ok(f)]  # fmt: skip


def _notebook_rows(results: Results, notebook: Any) -> list[dict[str, Any]]:
    stages = results["sizes"][notebook["size"]]["stages"]
    return [notebook | {"label": "notebook baseline (pandas, LIMIT/OFFSET)", "ratio": "1x"}] + [
        stages[s] | {"label": LABELS[s], "ratio": notebook[f"speed_ratio_{s}"]}
        for s in ("signals", "signals_chunked") if _ok(stages.get(s))
    ]  # fmt: skip


ROWS: dict[str, Callable[[Results, Any], list[dict[str, Any]]]] = {
    "pipeline": lambda results, _: [
        {"size": size, "label": LABELS[stage], **data["stages"][stage]}
        for size, data in results.get("sizes", {}).items()
        for stage in LABELS if stage in data["stages"]],
    "notebook": _notebook_rows,
    "indicators": lambda _, ind: [case | {"name": n} for n, case in ind["cases"].items()],
    "engines": lambda _, bt: [
        {"engine": engine, "seconds": bt[f"{p}_seconds"], "return": bt[f"{p}_return"],
         "trades": bt[f"{p}_closed_trades"]} for engine, p in (
            ("hermes.backtest (vectorbt)", "hermes"), ("backtesting.py", "backtesting_py"))],
    "job": _job_rows, "quality": _quality_rows,
}  # fmt: skip
"""The rows of each table of ``report.yml``, by name."""
DAY = (
    "one new day (`hermes ingest` {new_day[ingest_seconds]:.1f} s + `hermes run` "
    "{new_day[run_seconds]:.1f} s, peak {new_day[peak_rss_mb]:.0f} MB; steps: {day_steps}); "
    "nothing new {no_op[seconds]:.2f} s. Lake growth of the day: {growth_bytes[total]:mB} "
    "({growth_bytes[parquet]:mB} parquet, {growth_bytes[pages]:mB} of {new_pages} new pages; "
    "largest page {largest_page_bytes:mB2})."
)


def _day(results: Results, day: Any) -> dict[str, Any]:
    """A universe's new day as a sentence (none when a figure of it is missing)."""
    steps = (day.get("new_day") or {}).get("steps") or {}
    formatter = _Figures()
    text = formatter.vformat(DAY, (), day | {
        "day_steps": ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items()),
    })  # fmt: skip
    return {} if formatter.missing else {"day": text}


FIELDS: dict[str, Callable[[Results, Any], dict[str, Any]]] = {
    "data_sets": lambda results, _: {"data_sets": "\n".join(fill(
        "- {s}: {d[rows]:,} synthetic rows ({d[symbols]:list}; {d[interval]}; {d[months]}), "
        "{d[archives]} monthly archives ({d[archive_mb]} MB zipped)", {"s": s, "d": v["data"]})
        for s, v in results.get("sizes", {}).items())},
    "same_trades": lambda _, bt: {"same": "identical" if bt["same_trades"] else
                                  f"**different**; first differences: {bt['first_differences']}"},
    "job": lambda results, job: {
        "trades": at(job, "plain.trades") or "?", "at_end": job.get("load_average_at_end", "?"),
        "at_start": job.get("load_average_at_start", "?"),
        "in_commit": f" (commit {job['commit']})" if job.get("commit") else "",
    } | ({"scale_note": note} if (note := at(results, "quality_scale.note")) else {}),
    "day": _day,
}  # fmt: skip
"""Computed fields of a section, by name."""
SECTIONS = [
    Section.parse(entry) for entry in yaml.safe_load((BENCH_ROOT / "report.yml").read_text())
]
GOALS = [goal for section in SECTIONS for goal in section.goals]


def goals(results: Results) -> list[dict[str, Any]]:
    """Each goal of :data:`SECTIONS` with the measured figure and whether it is met."""
    names: dict[str, Any] = {stage.name: _largest(results, stage.name) for stage in STAGES}
    names |= {"largest": _largest(results), "universe": at(results, "universe.symbols") or "?"}
    return [row for goal in GOALS if (row := goal.row(results, names))]


def goal_cells(goal: dict[str, Any]) -> list[str]:
    measured, unit, op = goal["measured"], goal["unit"], "≥" if goal["op"] == ">=" else "<"
    shown = "not measured" if measured is None else f"{measured:,.3g} {unit}"
    met = {True: "yes", False: "**no**", None: "–"}[goal["met"]]
    return [goal["goal"], f"{op} {goal['target']:,.3g} {unit}", shown, met]


def summary_table(results: Results) -> RichTable:
    """The goal table for the console (the same rows as RESULTS.md's)."""
    table = RichTable("goal", "target", "measured", "met")
    for goal in results.get("goals", []):
        table.add_row(*goal_cells(goal))
    return table


def markdown(results: Results) -> str:
    """RESULTS.md: the machine, the goal table, then :data:`SECTIONS`."""
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    lines = [
        "# Hermes benchmark results", "",
        "Generated by `make bench` (`python -m bench`); do not edit by hand. "
        f"Mode: **{results['mode']}**. Each figure is the median of {results['repeat']} runs "
        "with (min – max), each run in a fresh process.", "",
        f"> **Synthetic data.** {results['note']}", "", "## Machine", "",
        f"- CPU: {m['cpu_model']}, {m['logical_cores']} logical cores ({m['physical_cores']} "
        f"physical)\n- Memory: {m['memory_gb']} GB; OS: {m['os']}; Python {m['python']}\n"
        f"- Commit: {m['git_commit'] or 'unknown'}\n- Load average (1, 5, 15 min) at start: "
        f"{results.get('load_average_at_start')}, at end: {results.get('load_average_at_end')} "
        f"(the machine is shared; a load above {m['logical_cores']} means other work competed "
        f"for the cores)\n- Packages: {packages}",
        "", "## Goals", "", "| goal | target | measured | met |", "|---|---|---|---|",
        *(f"| {' | '.join(goal_cells(goal))} |" for goal in results.get("goals", [])), "",
        *(line for section in SECTIONS for line in section.lines(results)),
        f"Total benchmark time: {results.get('total_seconds', 0):.0f} s.", "",
    ]  # fmt: skip
    return "\n".join(lines)
