"""RESULTS.md and the console's goal table from ``results.json``, both generated from one
table, ``bench/report.yml`` (its comments describe it)."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from bench.experiments import BENCH_ROOT, JOB_SCENARIOS, LABELS, Results
from bench.measure import median_of

SPECS: dict[str, Callable[[Any], str]] = {
    "t": lambda v: f"{v * 1000:.2f} ms" if v < 0.01 else f"{v * 1000:.0f} ms" if v < 1
    else f"{v:.2f} s",
    "rate": lambda v: f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.0f} k" if v >= 1e3
    else f"{v:.0f}",
    "x": lambda v: f"{v:.1f}x" if v >= 10 else f"{v:.2f}x", "mb": lambda v: f"{v:.0f} MB",
    "list": lambda v: ", ".join(map(str, v)), "mB": lambda v: f"{v / 1e6:.1f} MB",
    "mB2": lambda v: f"{v / 1e6:.2f} MB",
}  # fmt: skip
"""Figure specs of the templates; a repeated figure shows its median (min – max)."""


def at(results: Any, path: str) -> Any:
    """The value at a dotted key path, or None."""
    for key in path.split("."):
        results = results.get(key) if isinstance(results, dict) else None
    return results


class _Figures(string.Formatter):
    """``str.format`` with :data:`SPECS`; a missing field is an empty cell, noted in ``missing``."""

    def __init__(self) -> None:
        self.missing: list[str] = []

    def get_field(self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_field(name, args, kwargs)
        except (KeyError, TypeError, IndexError):
            self.missing.append(name)
            return None, name

    def format_field(self, value: Any, spec: str) -> str:
        if value is None or isinstance(value, str):
            return value or ""
        if (fmt := SPECS.get(spec)) is None:
            return format(value, spec)
        if isinstance(value, dict) and value["n"] > 1:
            return f"{fmt(value['median'])} ({fmt(value['min'])} – {fmt(value['max'])})"
        return fmt(value["median"] if isinstance(value, dict) else value)


def fill(template: str, fields: Mapping[str, Any], strict: bool = False) -> str | None:
    """``template`` filled from ``fields`` (None when ``strict`` and a field is missing)."""
    formatter = _Figures()
    text = formatter.vformat(template, (), fields)
    return None if strict and formatter.missing else text


def _status(figure: Mapping[str, Any]) -> str:
    reason = (str(figure.get("reason") or "").splitlines() or [""])[0][:140]
    return f"{figure['status']}: {reason}" if reason else str(figure["status"])


def _ok(figure: Any) -> bool:
    return isinstance(figure, dict) and figure.get("status", "ok") == "ok"


def _table(block: dict[str, Any], results: Results, figure: Any) -> list[str]:
    """A Markdown table; a row that is not ok keeps its first ``keep`` cells, then its status."""
    cells, keep = block["row"].split(" | "), block.get("keep", 1)
    lines = [f"| {block['table']} |", "|" + "---|" * len(cells)]
    for row in ROWS[block["rows"]](results, figure):
        kept = " | ".join(fill(cell, row) or "" for cell in cells[:keep])
        lines.append(f"| {fill(block['row'], row)} |" if _ok(row) else
                     f"| {kept} |{' |' * (len(cells) - keep - 1)} {_status(row)} |")  # fmt: skip
    return [*lines, ""]


def lines(section: dict[str, Any], results: Results) -> list[str]:
    """A section of ``report.yml`` as lines of RESULTS.md."""
    figure = at(results, section["key"]) if section.get("key") else results
    blocks = section.get("blocks", [])
    if figure is None and not section.get("always"):
        return []
    if not _ok(figure or {}):
        return [section["title"], "", _status(figure), ""]
    fields = (figure or {}) | (
        FIELDS[section["fields"]](results, figure) if "fields" in section else {}
    )
    out = [section["title"], ""]
    for block in blocks:
        if isinstance(block, str):
            out += [text, ""] if (text := fill(block, fields, strict=True)) is not None else []
        elif "table" in block:
            out += _table(block, results, figure)
        elif (found := results.get(block["key"])) is not None:
            text = (
                fill(block["text"], found) if _ok(found) else f"{block['item']}: {_status(found)}"
            )
            out.append(f"- {text}")
    return out + [""] * any("item" in block for block in blocks if isinstance(block, dict))


def _largest(results: Results, stage: str | None = None) -> str | None:
    """The largest size (where ``stage`` ran, when given)."""
    sizes = results.get("sizes", {})
    ran = [s for s in sizes if stage is None or at(sizes[s], f"stages.{stage}.status") == "ok"]
    return max(ran or sizes, key=lambda s: sizes[s]["data"]["rows"], default=None)


def _build_peak(results: Results, _: str) -> float | None:
    """Peak MB of the largest size's build, None unless every stage of it ran."""
    stages = at(results, f"sizes.{_largest(results)}.stages") or {}
    if not stages or not all(_ok(f) for f in stages.values()):
        return None
    return max(f["peak_rss_mb"]["max"] for f in stages.values())


READERS: dict[str, Callable[[Results, str], Any]] = {
    "rate": lambda r, stage: at(r, f"sizes.{_largest(r, stage)}.stages.{stage}.rows_per_second"),
    "build_peak": _build_peak,
    "grid": lambda r, combinations: at(r, "grid.seconds") if _ok(r.get("grid")) and at(
        r, "grid.combinations") == int(combinations) else None,
}  # fmt: skip


def _job_rows(results: Results, job: Any) -> list[dict[str, Any]]:
    rows = []
    for key, label, *_ in JOB_SCENARIOS:
        if key.startswith("quality") or (figure := job.get(key)) is None:
            continue
        steps, seconds = figure.get("steps") or {}, figure.get("seconds_list") or []
        if key in ("plain", "server_start"):
            peak = figure.get("server_rss_mb") or at(figure, "peak_rss_mb.max")
        else:
            peak = median_of(figure.get("hermes_peak_rss_mb"))
        outside = max(0.0, seconds[-1] - sum(steps.values())) if steps and seconds else None
        steps_text = ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
        cells = {"peak": f"{peak:.0f}" if peak else "–", "outside": outside, "steps": steps_text}
        rows.append(figure | cells | {"label": label})  # a failed one: its label and status
    return rows


ROWS: dict[str, Callable[[Results, Any], list[dict[str, Any]]]] = {
    "pipeline": lambda results, _: [
        {"size": size, "label": LABELS[stage], **data["stages"][stage]}
        for size, data in results.get("sizes", {}).items()
        for stage in LABELS if stage in data["stages"]],
    "notebook": lambda results, nb: [nb | {"label": "notebook baseline (pandas, LIMIT/OFFSET)",
                                           "ratio": "1x"}] + [
        results["sizes"][nb["size"]]["stages"][s]
        | {"label": LABELS[s], "ratio": nb[f"speed_ratio_{s}"]}
        for s in ("signals", "signals_chunked") if f"speed_ratio_{s}" in nb],
    "job": _job_rows,
    "quality": lambda results, job: [
        {"rows": 0} | f | {"label": label, "memory": median_of(f.get("quality_rss_mb")) or 0}
        for label, f in [("every partition", job.get("quality_full"))]
        + [(f"every partition, {size} lake", figure)
           for size, figure in (at(results, "quality_scale.sizes") or {}).items()] if f and _ok(f)],
}  # fmt: skip
"""The rows of each table of ``report.yml``, by name."""


def _day(results: Results, day: Any) -> dict[str, Any]:
    """A universe's new day as a sentence (none when a figure of it is missing)."""
    steps = at(day, "new_day.steps") or {}
    text = fill(
        DAY, day | {"day_steps": ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())}, True
    )
    return {} if text is None else {"day": text}


FIELDS: dict[str, Callable[[Results, Any], dict[str, Any]]] = {
    "data_sets": lambda results, _: {"data_sets": "\n".join(fill(
        "- {s}: {d[rows]:,} synthetic rows ({d[symbols]:list}; {d[interval]}; {d[months]}), "
        "{d[archives]} monthly archives ({d[archive_mb]} MB zipped)", {"s": s, "d": v["data"]})
        or "" for s, v in results.get("sizes", {}).items())},
    "day": _day,
}  # fmt: skip
"""Computed fields of a section, by name."""
TABLE = yaml.safe_load((BENCH_ROOT / "report.yml").read_text())
DAY, SECTIONS = TABLE["day"], TABLE["sections"]
GOALS = [goal for section in SECTIONS for goal in section.get("goals", [])]


def goals(results: Results) -> list[dict[str, Any]]:
    """Each goal of :data:`SECTIONS` (``label | figure | op target unit [| optional]``, see
    ``report.yml``) with the measured figure and whether it is met."""
    names: dict[str, Any] = {stage: _largest(results, stage) for stage in LABELS}
    names |= {"largest": _largest(results), "universe": at(results, "universe.symbols") or "?"}
    rows: list[dict[str, Any]] = []
    for goal in GOALS:
        label, figure, target, *optional = (part.strip() for part in goal.split(" | "))
        (op, value, unit), (path, _, divisor) = target.split(" ", 2), figure.partition(" / ")
        reader, _, arg = path.partition(":")
        raw = READERS[reader](results, arg) if reader in READERS else at(results, path)
        if (measured := median_of(raw)) is not None and divisor:
            measured /= float(divisor)
        if measured is not None or not optional:
            met = None if measured is None else (measured >= float(value)) == (op == ">=")
            row = {"goal": label.format(**names), "measured": measured, "target": float(value)}
            rows.append(row | {"unit": unit, "op": op, "met": met})
    return rows


def goal_table(results: Results) -> str:
    """The goal table in Markdown (RESULTS.md's, and the console's)."""
    rows = ["| goal | target | measured | met |", "|---|---|---|---|"]
    for goal in results.get("goals", []):
        measured, unit, op = goal["measured"], goal["unit"], "≥" if goal["op"] == ">=" else "<"
        shown = "not measured" if measured is None else f"{measured:,.3g} {unit}"
        met = {True: "yes", False: "**no**", None: "–"}[goal["met"]]
        rows.append(f"| {goal['goal']} | {op} {goal['target']:,.3g} {unit} | {shown} | {met} |")
    return "\n".join(rows)


def markdown(results: Results) -> str:
    """RESULTS.md: the page's header (the machine, the goal table), then :data:`SECTIONS`."""
    machine = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
    fields = results | {"packages": packages, "commit": machine["git_commit"] or "unknown"}
    sections = [line for section in SECTIONS for line in lines(section, results)]
    header, end = (fill(TABLE[part], fields) or "" for part in ("header", "end"))
    return "\n".join([header, "", goal_table(results), "", *sections, end])
