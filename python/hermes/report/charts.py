"""The plotly figures of the pages, one figure per chart (each with its own axes and legend).

A figure is the plain dict plotly.js reads (``{"data": [...], "layout": {...}}``), built
without plotly's ``graph_objects``: validating every property of every trace took most of
a tearsheet's time (hundreds of milliseconds a page). The names used are plotly's own
(``python/tests/report/test_page_batch.py`` checks every chart against plotly's
validators), and :func:`hermes.report.render.figure_html` serialises a figure with plotly's
JSON encoder, numeric arrays packed as binary the way plotly itself packs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio
from plotly.colors import get_colorscale

Figure = dict[str, Any]
"""``{"data": [trace, ...], "layout": {...}}``, as plotly.js reads it."""

STRATEGY, BENCHMARK = "#0969da", "#8c959f"
SCREEN_POINTS = 3000
"""Most points a time-series trace draws: about two per pixel of a wide screen."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LAYOUT = {
    "margin": {"l": 70, "r": 30, "t": 90, "b": 50},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
    "hovermode": "x unified",
}
TIME_AXIS = {"title": {"text": "time (UTC)"}, "type": "date"}


@cache
def template() -> dict[str, Any]:
    """plotly's ``plotly_white`` template as plotly.js reads it (resolved once a process)."""
    return pio.templates["plotly_white"].to_plotly_json()


def colorscale(name: str) -> list[list[Any]]:
    """A named colour scale as (position, colour) pairs (plotly.js knows only a few names)."""
    return [list(pair) for pair in _colorscale(name)]


@cache
def _colorscale(name: str) -> tuple[tuple[float, str], ...]:
    """:func:`colorscale`, looked up once a process (plotly lists every named scale)."""
    return tuple((round(position, 12), color) for position, color in get_colorscale(name))


def time_values(times: Any) -> np.ndarray:
    """Datetimes as milliseconds since the epoch (what a plotly date axis reads), floats."""
    times = np.asarray(times)
    if np.issubdtype(times.dtype, np.datetime64):
        return times.astype("datetime64[ms]").astype(np.int64).astype(float)
    return times


def screen(
    times: np.ndarray, values: np.ndarray, points: int = SCREEN_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """A long series at screen resolution: per bucket of bars, its lowest and highest point.

    Series of at most ``points`` bars are returned whole. Longer ones are cut into
    ``points // 2`` buckets of consecutive bars, each drawn by its minimum and maximum in
    time order, so peaks and drawdowns stay where they were (tables keep the exact data).
    Datetimes become milliseconds since the epoch (:func:`time_values`), which are written
    as packed binary rather than a text date per point.
    """
    values = np.asarray(values, dtype=float)
    times = time_values(times)
    n = len(values)
    if n <= points:
        return times, values
    buckets = max(points // 2, 1)
    starts = np.linspace(0, n, buckets + 1).astype(np.int64)[:-1]
    bucket = np.repeat(np.arange(buckets), np.diff(np.append(starts, n)))
    keep = []
    for fill, reduce in ((np.inf, np.minimum), (-np.inf, np.maximum)):
        filled = np.where(np.isnan(values), fill, values)
        extreme = reduce.reduceat(filled, starts)  # an all-NaN bucket keeps its first bar
        hits = np.flatnonzero(filled == extreme[bucket])
        first = np.diff(bucket[hits], prepend=-1) != 0  # the first hit of each bucket
        keep.append(hits[first])
    index = np.sort(np.concatenate(keep))
    index = index[np.diff(index, prepend=-1) != 0]  # a bar both lowest and highest once
    return times[index], values[index]


def figure(traces: list[dict[str, Any]], title: str, height: int = 380, **layout: Any) -> Figure:
    """A figure of ``traces`` with the pages' common layout, its title and ``layout`` keys."""
    return {
        "data": traces,
        "layout": {
            "template": template(),
            **LAYOUT,
            "height": height,
            "title": {
                "text": title,
                "y": 1,
                "yref": "container",
                "yanchor": "top",
                "pad": {"t": 12},
                "x": 0.01,
            },
            **layout,
        },
    }


def axis(title: str | None = None, **keys: Any) -> dict[str, Any]:
    return ({"title": {"text": title}} if title is not None else {}) | keys


def scatter(x: Any, y: Any, name: str, **keys: Any) -> dict[str, Any]:
    return {"type": "scatter", "x": x, "y": y, "name": name, **keys}


def growth(
    times: np.ndarray, curves: Sequence[tuple[str, np.ndarray, str]], init_cash: float, title: str
) -> Figure:
    """Equity curves rebased to 1 (growth of 1 unit of cash) on a log axis."""
    traces = []
    for name, values, color in curves:
        x, y = screen(times, np.asarray(values) / init_cash)
        width = 1.6 if color == STRATEGY else 1.2
        line = {"color": color, "width": width}
        traces.append(scatter(x, y, name, line=line, hovertemplate="%{y:.3f}"))
    return figure(
        traces,
        title,
        yaxis=axis("growth of 1 (log scale)", type="log"),
        xaxis=dict(TIME_AXIS),
    )


def drawdowns(
    times: np.ndarray, curves: Sequence[tuple[str, np.ndarray, str]], title: str
) -> Figure:
    """Drawdown from the running peak, as a negative share, for each curve."""
    traces = []
    for name, values, color in curves:
        x, y = screen(times, -np.asarray(values, dtype=float))
        line = {"color": color, "width": 1}
        traces.append(scatter(x, y, name, fill="tozeroy", line=line, hovertemplate="%{y:.1%}"))
    return figure(
        traces,
        title,
        300,
        yaxis=axis("below the running peak", tickformat=".0%"),
        xaxis=dict(TIME_AXIS),
    )


def _rows(heights: list[float], spacing: float) -> list[list[float]]:
    """Vertical domains of stacked rows, top to bottom (as plotly's ``make_subplots``)."""
    room = 1 - spacing * (len(heights) - 1)
    domains, top = [], 1.0
    for height in heights:
        bottom = top - room * height / sum(heights)
        domains.append([round(max(bottom, 0.0), 12), round(top, 12)])
        top = bottom - spacing
    return domains


def price(
    times: np.ndarray,
    close: np.ndarray,
    trades: pd.DataFrame,
    overlays: dict[str, np.ndarray],
    panels: dict[str, np.ndarray],
    title: str,
) -> Figure:
    """Close (log axis) with entries, exits and price-scale indicators; other indicators below."""
    rows = 1 + len(panels)
    heights = [0.6] + [0.4 / len(panels)] * len(panels) if panels else [1.0]
    palette = ("#bf8700", "#8250df", "#1a7f37", "#cf222e", "#0969da")
    x, y = screen(times, close)
    traces = [scatter(x, y, "close", line={"color": "#24292f", "width": 1})]
    for k, (name, values) in enumerate(overlays.items()):
        x, y = screen(times, values)
        traces.append(scatter(x, y, name, line={"width": 1, "color": palette[k % 5]}))
    closed = trades[trades["status"] == "closed"]
    for name, when, at, marker, color in (
        ("entry", trades["entry_time"], trades["entry_price"], "triangle-up", "#1a7f37"),
        ("exit", closed["exit_time"], closed["exit_price"], "triangle-down", "#cf222e"),
    ):
        traces.append(
            scatter(
                time_values(when.to_numpy(dtype="datetime64[ns]")),
                at.to_numpy(dtype=float),
                name,
                mode="markers",
                marker={"symbol": marker, "size": 10, "color": color},
            )
        )
    for trace in traces:
        trace.update(xaxis="x", yaxis="y")
    layout: dict[str, Any] = {}
    for row, domain in enumerate(_rows(heights, 0.03), start=1):
        suffix = "" if row == 1 else str(row)
        bottom = row == rows
        layout[f"xaxis{suffix}"] = axis(
            "time (UTC)" if bottom else None,
            anchor=f"y{suffix}",
            domain=[0.0, 1.0],
            type="date",
            **({} if bottom or rows == 1 else {"matches": f"x{rows}", "showticklabels": False}),
        )
        layout[f"yaxis{suffix}"] = axis(anchor=f"x{suffix}", domain=domain)
    layout["yaxis"].update(axis("price (log scale)", type="log"))
    for row, (name, values) in enumerate(panels.items(), start=2):
        color = palette[(len(overlays) + row) % len(palette)]
        x, y = screen(times, values)
        line = {"width": 1, "color": color}
        traces.append(scatter(x, y, name, line=line, xaxis=f"x{row}", yaxis=f"y{row}"))
        layout[f"yaxis{row}"].update(axis(name))
    return figure(traces, title, 520 + 140 * len(panels), **layout)


def _cells(z: np.ndarray, fmt: str) -> list[list[str]]:
    """The text written in each heat-map cell (empty where there is no value)."""
    return [["" if np.isnan(v) else format(v, fmt) for v in row] for row in z]


def monthly_heatmap(months: pd.DataFrame, title: str) -> Figure:
    """Calendar-month returns (rows = years), the value written in each cell."""
    z = months.to_numpy(dtype=float) * 100
    trace = {
        "type": "heatmap",
        "z": z,
        "x": list(MONTHS),
        "y": [str(y) for y in months.index],
        "colorscale": colorscale("RdYlGn"),
        "zmid": 0,
        "text": _cells(z, ".1f"),
        "texttemplate": "%{text}",
        "colorbar": {"title": {"text": "%"}},
        "hovertemplate": "%{y} %{x}: %{z:.2f}%<extra></extra>",
        "name": "monthly return",
    }
    return figure(
        [trace],
        title,
        120 + 28 * len(months),
        hovermode="closest",
        yaxis=axis("year", autorange="reversed", type="category"),
        xaxis={"side": "top"},
    )


def bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    title: str,
    axis_title: str,
    percent: bool = True,
) -> Figure:
    traces = [
        {"type": "bar", "x": list(categories), "y": list(values), "name": name}
        | {"marker": {"color": color}}
        for name, values, color in series
    ]
    yaxis = axis(axis_title, **({"tickformat": ".0%"} if percent else {}))
    return figure(traces, title, 320, barmode="group", yaxis=yaxis)


def lines(
    times: np.ndarray,
    series: Sequence[tuple[str, np.ndarray, str]],
    title: str,
    axis_title: str,
    zero: bool = True,
) -> Figure:
    traces = []
    for name, values, color in series:
        x, y = screen(times, values)
        traces.append(scatter(x, y, name, line={"color": color, "width": 1.2}))
    shapes = []
    if zero:
        shapes.append(
            {
                "type": "line",
                "xref": "x domain",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": 0,
                "y1": 0,
                "line": {"color": "#57606a", "width": 0.8, "dash": "dot"},
            }
        )
    return figure(
        traces,
        title,
        320,
        **({"shapes": shapes} if shapes else {}),
        yaxis=axis(axis_title),
        xaxis=dict(TIME_AXIS),
    )


def histogram(
    series: Sequence[tuple[str, np.ndarray, str]], title: str, axis_title: str, percent: bool = True
) -> Figure:
    """Overlaid distributions (share of observations per bin)."""
    traces = [
        {
            "type": "histogram",
            "x": np.asarray(values, dtype=float),
            "name": name,
            "marker": {"color": color},
            "opacity": 0.6,
            "histnorm": "percent",
            "nbinsx": min(80, max(10, len(values) // 3)),
        }
        for name, values, color in series
    ]
    xaxis = axis(axis_title, **({"tickformat": ".0%"} if percent else {}))
    return figure(
        traces,
        title,
        320,
        barmode="overlay",
        hovermode="closest",
        xaxis=xaxis,
        yaxis=axis("% of observations"),
    )


def heatmap(
    z: np.ndarray,
    x: Sequence[str],
    y: Sequence[str],
    title: str,
    x_title: str,
    y_title: str,
    value: str,
    chosen: tuple[str, str] | None = None,
) -> Figure:
    """A parameter heat map with values written in the cells and the chosen cell outlined."""
    z = np.asarray(z, dtype=float)
    traces: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "z": z,
            "x": list(x),
            "y": list(y),
            "colorscale": colorscale("RdYlGn"),
            "text": _cells(z, ".2f"),
            "texttemplate": "%{text}",
            "colorbar": {"title": {"text": value}},
            "hovertemplate": f"{x_title} %{{x}}, {y_title} %{{y}}: %{{z:.3f}}<extra></extra>",
        }
    ]
    if chosen is not None:
        marker = {"symbol": "square-open", "size": 28, "color": "#0d1117", "line": {"width": 3}}
        traces.append(
            scatter(
                [chosen[0]], [chosen[1]], "chosen", mode="markers", marker=marker, hoverinfo="skip"
            )
        )
    return figure(
        traces,
        title,
        160 + 34 * max(len(y), 4),
        hovermode="closest",
        xaxis=axis(x_title, type="category"),
        yaxis=axis(y_title, type="category"),
    )
