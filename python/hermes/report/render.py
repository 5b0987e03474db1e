"""Pages from jinja2 templates, written atomically, sharing one local copy of plotly.js.

Every page loads plotly from ``assets/plotly-<version>.min.js`` next to it (written once per
reports folder, :func:`ensure_assets`), so pages stay small and open with no network from a
file system or any static web server. The version in the name keeps an older page working
with the bundle it was written with.
"""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import plotly
import plotly.io as pio
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from hermes.report.charts import Figure
from hermes.report.labels import format_metric, label

SIGNED = frozenset({"total_return", "cagr", "sharpe", "sortino", "calmar"})
"""Metrics coloured by sign in tables."""
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
ASSETS = "assets"
"""Folder, next to the pages, of the scripts they share."""
PLOTLY_JS = f"plotly-{plotly.__version__}.min.js"


def figure_html(figure: Figure, div_id: str) -> Markup:
    """A figure's ``<div>`` and script, without plotly.js (the page includes it once).

    The figure is a plain dict (:mod:`hermes.report.charts`): its numeric arrays are packed
    (:func:`packed`), and it is written by plotly's own HTML writer without building (and
    validating) a ``graph_objects`` figure again.
    """
    html = pio.to_html(
        {"data": packed(figure["data"]), "layout": figure["layout"]},
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config=PLOT_CONFIG,
        validate=False,
    )
    return Markup(html)  # noqa: S704 (plotly's own markup)


def packed(value: Any) -> Any:
    """``value`` with its float arrays as plotly.js typed arrays (``{"dtype": "f8", "bdata":
    <base64 of the little-endian doubles>}``, plus ``"shape"`` for a matrix): what plotly
    writes for numpy arrays, a quarter of the text of the numbers written out, exact."""
    if isinstance(value, dict):
        return {k: packed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [packed(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f" or value.size == 0:
            return value.tolist()
        data = np.ascontiguousarray(value, dtype="<f8")
        spec = {"dtype": "f8", "bdata": base64.b64encode(data.tobytes()).decode("ascii")}
        return spec | ({"shape": str(value.shape)[1:-1]} if value.ndim > 1 else {})
    return value


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hermes.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["metric"] = lambda value, name: format_metric(name, value)
    env.filters["label"] = label
    env.globals["signed"] = SIGNED
    env.globals["plotly_src"] = f"{ASSETS}/{PLOTLY_JS}"
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


@cache
def asset_files() -> dict[str, bytes]:
    """The shared scripts, by path relative to the reports folder."""
    return {f"{ASSETS}/{PLOTLY_JS}": get_plotlyjs().encode("utf-8")}


def ensure_assets(folder: Path) -> list[Path]:
    """Write the shared scripts under ``folder`` unless already there; the paths written."""
    written = []
    for name, data in asset_files().items():
        path = folder / name
        if path.exists() and path.stat().st_size == len(data):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    return written


def write_page(path: Path, template: str, **context: Any) -> Path:
    """Render ``template`` to ``path`` (through a temporary file, replaced in one step)."""
    return write_html(path, render(template, **context))


def write_html(path: Path, html: str) -> Path:
    """Write a rendered page to ``path`` (through a temporary file, replaced in one step),
    with the shared scripts it loads beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ensure_assets(path.parent)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
