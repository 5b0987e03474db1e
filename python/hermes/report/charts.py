"""The plotly figures of the pages, one figure per chart (each with its own axes and legend)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

STRATEGY, BENCHMARK = "#0969da", "#8c959f"
SCREEN_POINTS = 3000
"""Most points a time-series trace draws: about two per pixel of a wide screen."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 70, "r": 30, "t": 90, "b": 50},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
    "hovermode": "x unified",
}


def screen(
    times: np.ndarray, values: np.ndarray, points: int = SCREEN_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """A long series at screen resolution: per bucket of bars, its lowest and highest point.

    Series of at most ``points`` bars are returned whole. Longer ones are cut into
    ``points // 2`` buckets of consecutive bars, each drawn by its minimum and maximum in
    time order, so peaks and drawdowns stay where they were (tables keep the exact data).
    Datetimes become milliseconds since the epoch (what a plotly date axis reads), which
    plotly writes as packed binary rather than a text date per point.
    """
    values = np.asarray(values, dtype=float)
    times = np.asarray(times)
    if np.issubdtype(times.dtype, np.datetime64):
        times = times.astype("datetime64[ms]").astype(np.int64).astype(float)
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
        keep.append(hits[np.unique(bucket[hits], return_index=True)[1]])
    index = np.unique(np.concatenate(keep))
    return times[index], values[index]


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        **LAYOUT,
        height=height,
        title={
            "text": title,
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 12},
            "x": 0.01,
        },
    )
    return fig


def growth(
    times: np.ndarray, curves: Sequence[tuple[str, np.ndarray, str]], init_cash: float, title: str
) -> go.Figure:
    """Equity curves rebased to 1 (growth of 1 unit of cash) on a log axis."""
    fig = go.Figure()
    for name, values, color in curves:
        x, y = screen(times, np.asarray(values) / init_cash)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=name,
                line={"color": color, "width": 1.6 if color == STRATEGY else 1.2},
                hovertemplate="%{y:.3f}",
            )
        )
    fig.update_yaxes(type="log", title="growth of 1 (log scale)")
    fig.update_xaxes(title="time (UTC)", type="date")
    return _layout(fig, title)


def drawdowns(
    times: np.ndarray, curves: Sequence[tuple[str, np.ndarray, str]], title: str
) -> go.Figure:
    """Drawdown from the running peak, as a negative share, for each curve."""
    fig = go.Figure()
    for name, values, color in curves:
        x, y = screen(times, -np.asarray(values, dtype=float))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=name,
                fill="tozeroy",
                line={"color": color, "width": 1},
                hovertemplate="%{y:.1%}",
            )
        )
    fig.update_yaxes(tickformat=".0%", title="below the running peak")
    fig.update_xaxes(title="time (UTC)", type="date")
    return _layout(fig, title, 300)


def price(
    times: np.ndarray,
    close: np.ndarray,
    trades: pd.DataFrame,
    overlays: dict[str, np.ndarray],
    panels: dict[str, np.ndarray],
    title: str,
) -> go.Figure:
    """Close (log axis) with entries, exits and price-scale indicators; other indicators below."""
    rows = 1 + len(panels)
    heights = [0.6] + [0.4 / len(panels)] * len(panels) if panels else [1.0]
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=heights
    )
    x, y = screen(times, close)
    fig.add_trace(go.Scatter(x=x, y=y, name="close", line={"color": "#24292f", "width": 1}), 1, 1)
    palette = ("#bf8700", "#8250df", "#1a7f37", "#cf222e", "#0969da")
    for k, (name, values) in enumerate(overlays.items()):
        x, y = screen(times, values)
        fig.add_trace(
            go.Scatter(x=x, y=y, name=name, line={"width": 1, "color": palette[k % 5]}),
            1,
            1,
        )
    fig.add_trace(
        go.Scatter(
            x=trades["entry_time"],
            y=trades["entry_price"],
            mode="markers",
            name="entry",
            marker={"symbol": "triangle-up", "size": 10, "color": "#1a7f37"},
        ),
        1,
        1,
    )
    closed = trades[trades["status"] == "closed"]
    fig.add_trace(
        go.Scatter(
            x=closed["exit_time"],
            y=closed["exit_price"],
            mode="markers",
            name="exit",
            marker={"symbol": "triangle-down", "size": 10, "color": "#cf222e"},
        ),
        1,
        1,
    )
    fig.update_yaxes(type="log", title="price (log scale)", row=1, col=1)
    for row, (name, values) in enumerate(panels.items(), start=2):
        color = palette[(len(overlays) + row) % len(palette)]
        x, y = screen(times, values)
        fig.add_trace(
            go.Scatter(x=x, y=y, name=name, line={"width": 1, "color": color}),
            row,
            1,
        )
        fig.update_yaxes(title=name, row=row, col=1)
    fig.update_xaxes(type="date")
    fig.update_xaxes(title="time (UTC)", row=rows, col=1)
    return _layout(fig, title, 520 + 140 * len(panels))


def monthly_heatmap(months: pd.DataFrame, title: str) -> go.Figure:
    """Calendar-month returns (rows = years), the value written in each cell."""
    z = months.to_numpy() * 100
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(MONTHS),
            y=[str(y) for y in months.index],
            colorscale="RdYlGn",
            zmid=0,
            text=np.where(np.isnan(z), "", np.vectorize(lambda v: f"{v:.1f}")(z)),
            texttemplate="%{text}",
            colorbar={"title": "%"},
            hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
            name="monthly return",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category", title="year")
    fig.update_xaxes(side="top")
    fig.update_layout(hovermode="closest")
    return _layout(fig, title, 120 + 28 * len(months))


def bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    title: str,
    axis: str,
    percent: bool = True,
) -> go.Figure:
    fig = go.Figure()
    for name, values, color in series:
        fig.add_trace(go.Bar(x=list(categories), y=list(values), name=name, marker_color=color))
    fig.update_yaxes(title=axis, tickformat=".0%" if percent else None)
    fig.update_layout(barmode="group", hovermode="x unified")
    return _layout(fig, title, 320)


def lines(
    times: np.ndarray,
    series: Sequence[tuple[str, np.ndarray, str]],
    title: str,
    axis: str,
    zero: bool = True,
) -> go.Figure:
    fig = go.Figure()
    for name, values, color in series:
        x, y = screen(times, values)
        fig.add_trace(go.Scatter(x=x, y=y, name=name, line={"color": color, "width": 1.2}))
    if zero:
        fig.add_hline(y=0, line={"color": "#57606a", "width": 0.8, "dash": "dot"})
    fig.update_yaxes(title=axis)
    fig.update_xaxes(title="time (UTC)", type="date")
    return _layout(fig, title, 320)


def histogram(
    series: Sequence[tuple[str, np.ndarray, str]], title: str, axis: str, percent: bool = True
) -> go.Figure:
    """Overlaid distributions (share of observations per bin)."""
    fig = go.Figure()
    for name, values, color in series:
        fig.add_trace(
            go.Histogram(
                x=values,
                name=name,
                marker_color=color,
                opacity=0.6,
                histnorm="percent",
                nbinsx=min(80, max(10, len(values) // 3)),
            )
        )
    fig.update_layout(barmode="overlay", hovermode="closest")
    fig.update_xaxes(title=axis, tickformat=".0%" if percent else None)
    fig.update_yaxes(title="% of observations")
    return _layout(fig, title, 320)


def heatmap(
    z: np.ndarray,
    x: Sequence[str],
    y: Sequence[str],
    title: str,
    x_title: str,
    y_title: str,
    value: str,
    chosen: tuple[str, str] | None = None,
) -> go.Figure:
    """A parameter heat map with values written in the cells and the chosen cell outlined."""
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(x),
            y=list(y),
            colorscale="RdYlGn",
            text=np.where(np.isnan(z), "", np.vectorize(lambda v: f"{v:.2f}")(z)),
            texttemplate="%{text}",
            colorbar={"title": value},
            hovertemplate=f"{x_title} %{{x}}, {y_title} %{{y}}: %{{z:.3f}}<extra></extra>",
        )
    )
    if chosen is not None:
        fig.add_trace(
            go.Scatter(
                x=[chosen[0]],
                y=[chosen[1]],
                mode="markers",
                name="chosen",
                marker={
                    "symbol": "square-open",
                    "size": 28,
                    "color": "#0d1117",
                    "line": {"width": 3},
                },
                hoverinfo="skip",
            )
        )
    fig.update_xaxes(type="category", title=x_title)
    fig.update_yaxes(type="category", title=y_title)
    fig.update_layout(hovermode="closest")
    return _layout(fig, title, 160 + 34 * max(len(y), 4))
