"""Pages from jinja2 templates: plotly inlined once per page, written atomically.

Every page is self-contained (no file or network fetched when opened), so the reports folder
reads the same from a file system or any static web server.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from hermes.report.labels import format_metric, label

SIGNED = frozenset({"total_return", "cagr", "sharpe", "sortino", "calmar"})
"""Metrics coloured by sign in tables."""
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def figure_html(figure: go.Figure, div_id: str) -> Markup:
    """A figure's ``<div>`` and script, without plotly.js (the page includes it once)."""
    return Markup(  # noqa: S704 (plotly's own markup)
        figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)
    )


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
    env.globals["plotly_js"] = Markup(get_plotlyjs())  # noqa: S704 (the library's own code)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def write_page(path: Path, template: str, **context: Any) -> Path:
    """Render ``template`` to ``path`` (through a temporary file, replaced in one step)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(template, **context), encoding="utf-8")
    tmp.replace(path)
    return path
