"""Synthetic 1-minute klines for the benchmark, resampled from the bundled real data.

Everything this module makes is **synthetic**: symbols are named ``SYN001USDT``,
``SYN002USDT``, ... so they can never be mistaken for market data.

Method (seeded, reproducible): the real 4h candles of BTCUSDT and ETHUSDT give log
returns, candle shapes (how far high and low reach beyond open/close) and volumes. A
moving-block bootstrap draws blocks of consecutive 4h candles, so volatility clustering
survives; each drawn 4h return is scaled to one minute by ``1 / sqrt(240)`` (variance grows
linearly with time) and each volume by ``1 / 240``. Prices are the cumulative product of
the returns from a per-symbol start price.

Files are written in the Binance public-archive format: one zip per symbol and month
holding a headerless 12-column CSV, next to a ``.zip.CHECKSUM`` file (``sha256sum``
output). Open and close times are epoch milliseconds until 2024-12-31 and epoch
microseconds from 2025-01-01, as Binance does.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hermes.config import PROJECT_ROOT

BUNDLED = PROJECT_ROOT / "data" / "binance-ohlcv"
SOURCE_SERIES = ("BTCUSDT_4h.csv.gz", "ETHUSDT_4h.csv.gz")
MINUTES_PER_SOURCE_BAR = 240
BLOCK_BARS = 42  # one week of 4h candles per bootstrap block
GENERATOR_VERSION = 1
MICROSECOND_SINCE = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate: ``symbols`` synthetic pairs over the months ``first`` to ``last``."""

    symbols: int
    first_month: str  # "YYYY-MM"
    last_month: str  # "YYYY-MM", inclusive
    interval: str = "1m"
    seed: int = 20260101

    @property
    def key(self) -> str:
        return (
            f"syn-v{GENERATOR_VERSION}-{self.symbols}x{self.first_month}..{self.last_month}"
            f"-{self.interval}-s{self.seed}"
        )

    @property
    def step_ms(self) -> int:
        return _interval_ms(self.interval)

    def symbol_names(self) -> list[str]:
        return [symbol_name(i) for i in range(1, self.symbols + 1)]

    def months(self) -> list[tuple[int, int]]:
        year, month = (int(p) for p in self.first_month.split("-"))
        end = tuple(int(p) for p in self.last_month.split("-"))
        out = []
        while (year, month) <= end:
            out.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def rows_per_symbol(self) -> int:
        first = _month_start_ms(*self.months()[0])
        end = _next_month_start_ms(*self.months()[-1])
        return (end - first) // self.step_ms

    @property
    def rows(self) -> int:
        return self.symbols * self.rows_per_symbol()


def symbol_name(index: int) -> str:
    """The synthetic symbol number ``index`` (``SYN001USDT``)."""
    return f"SYN{index:03d}USDT"


def _interval_ms(interval: str) -> int:
    units = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
    return int(interval[:-1]) * units[interval[-1]]


def _month_start_ms(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def _next_month_start_ms(year: int, month: int) -> int:
    return _month_start_ms(year + 1, 1) if month == 12 else _month_start_ms(year, month + 1)


@dataclass(frozen=True)
class SourceBars:
    """Per-bar statistics of the real 4h candles the bootstrap draws from."""

    log_return: np.ndarray  # log(close / previous close)
    upper_wick: np.ndarray  # log(high / max(open, close)) >= 0
    lower_wick: np.ndarray  # log(min(open, close) / low) >= 0
    volume: np.ndarray  # base-asset volume, normalised to a mean of 1 per series
    start_price: float


def load_source_bars() -> list[SourceBars]:
    """The real 4h series, one :class:`SourceBars` per bundled symbol."""
    out = []
    for name in SOURCE_SERIES:
        with gzip.open(BUNDLED / name, "rb") as handle:
            frame = pl.read_csv(handle.read())
        o, h, lo, c, v = (
            frame[col].to_numpy() for col in ("open", "high", "low", "close", "volume")
        )
        body_high, body_low = np.maximum(o, c), np.minimum(o, c)
        out.append(
            SourceBars(
                log_return=np.diff(np.log(c)),
                upper_wick=np.log(h / body_high)[1:],
                lower_wick=np.log(body_low / lo)[1:],
                volume=(v / v.mean())[1:],
                start_price=float(c[-1]),
            )
        )
    return out


def synthetic_frame(
    sources: list[SourceBars], symbol_index: int, start_ms: int, rows: int, seed: int, step_ms: int
) -> pl.DataFrame:
    """``rows`` consecutive synthetic candles for one symbol, as Binance archive columns.

    Deterministic for a given ``(seed, symbol_index, start_ms)``.
    """
    rng = np.random.default_rng([seed, symbol_index, start_ms // 1000])
    source = sources[symbol_index % len(sources)]
    n_source = source.log_return.size
    scale = np.sqrt(step_ms / (MINUTES_PER_SOURCE_BAR * 60_000))
    blocks = -(-rows // BLOCK_BARS)
    starts = rng.integers(0, n_source - BLOCK_BARS, size=blocks)
    idx = (starts[:, None] + np.arange(BLOCK_BARS)).ravel()[:rows]

    log_ret = source.log_return[idx] * scale
    price0 = source.start_price * (0.5 + symbol_index % 7 / 4) * np.exp(rng.normal(0, 0.05))
    close = price0 * np.exp(np.cumsum(log_ret))
    open_ = np.empty_like(close)
    open_[0] = price0
    open_[1:] = close[:-1]
    high = np.maximum(open_, close) * np.exp(source.upper_wick[idx] * scale)
    low = np.minimum(open_, close) * np.exp(-source.lower_wick[idx] * scale)
    base_volume = 50.0 * (1 + symbol_index % 5) / source.start_price * 60_000
    volume = source.volume[idx] * base_volume * (step_ms / (MINUTES_PER_SOURCE_BAR * 60_000))
    typical = (high + low + close) / 3
    taker_share = rng.uniform(0.35, 0.65, size=rows)
    open_time = start_ms + np.arange(rows, dtype=np.int64) * step_ms
    return pl.DataFrame(
        {
            "open_time": open_time,
            "open": np.round(open_, 8),
            "high": np.round(high, 8),
            "low": np.round(low, 8),
            "close": np.round(close, 8),
            "volume": np.round(volume, 8),
            "close_time": open_time + step_ms - 1,
            "quote_asset_volume": np.round(volume * typical, 8),
            "number_of_trades": np.maximum(1, (volume * 40).astype(np.int64)),
            "taker_buy_base_asset_volume": np.round(volume * taker_share, 8),
            "taker_buy_quote_asset_volume": np.round(volume * taker_share * typical, 8),
            "ignore": np.zeros(rows, dtype=np.int64),
        }
    )


def month_csv(frame: pl.DataFrame, microseconds: bool) -> bytes:
    """The headerless 12-column CSV Binance puts inside a monthly archive."""
    if microseconds:
        frame = frame.with_columns(pl.col("open_time") * 1000, pl.col("close_time") * 1000 + 999)
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, float_precision=8)
    return buffer.getvalue()


def archive_name(symbol: str, interval: str, year: int, month: int) -> str:
    return f"{symbol}-{interval}-{year:04d}-{month:02d}.zip"


def archive_folder(root: Path, symbol: str, interval: str) -> Path:
    """Where an archive sits, mirroring data.binance.vision's layout."""
    return root / "binance" / "spot" / "monthly" / "klines" / symbol / interval


def write_archive(folder: Path, name: str, csv_bytes: bytes) -> Path:
    """Write ``name`` (a zip holding ``name.csv``) and its ``.CHECKSUM``; returns the zip."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(name.removesuffix(".zip") + ".csv", csv_bytes)
    data = buffer.getvalue()
    path = folder / name
    path.write_bytes(data)
    (folder / f"{name}.CHECKSUM").write_text(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
    return path


def generate(spec: SyntheticSpec, out_root: Path, progress: Any = None) -> list[Path]:
    """Write (or reuse) the archives for ``spec`` under ``out_root/<spec.key>``.

    Returns the zip paths, sorted. A ``spec.json`` stamp marks a complete set, so an
    interrupted generation is redone rather than reused.
    """
    root = out_root / spec.key
    stamp = root / "spec.json"
    if stamp.exists():
        return sorted(root.rglob("*.zip"))
    sources = load_source_bars()
    paths: list[Path] = []
    months = spec.months()
    task = (
        progress.add_task(f"generating {spec.key}", total=spec.symbols * len(months))
        if progress
        else None
    )
    for i, symbol in enumerate(spec.symbol_names(), start=1):
        frame_all = synthetic_frame(
            sources, i, _month_start_ms(*months[0]), spec.rows_per_symbol(), spec.seed, spec.step_ms
        )
        for year, month in months:
            lo, hi = _month_start_ms(year, month), _next_month_start_ms(year, month)
            frame = frame_all.filter((pl.col("open_time") >= lo) & (pl.col("open_time") < hi))
            us = datetime(year, month, 1, tzinfo=UTC) >= MICROSECOND_SINCE
            name = archive_name(symbol, spec.interval, year, month)
            paths.append(
                write_archive(
                    archive_folder(root, symbol, spec.interval), name, month_csv(frame, us)
                )
            )
            if progress:
                progress.advance(task)
    stamp.write_text(json.dumps({**asdict(spec), "rows": spec.rows, "synthetic": True}, indent=2))
    return sorted(paths)


def daily_archive(spec: SyntheticSpec, symbol_index: int, day: datetime, out_folder: Path) -> Path:
    """The synthetic daily archive (``<SYMBOL>-<interval>-YYYY-MM-DD.zip``) for ``day``.

    ``day`` follows the spec's last month; its candles continue the same price path, so the
    incremental benchmark's "new day" looks like the next file an exchange would publish.
    """
    sources = load_source_bars()
    first = _month_start_ms(*spec.months()[0])
    start = int(day.timestamp() * 1000)
    per_day = 86_400_000 // spec.step_ms
    rows = (start - first) // spec.step_ms + per_day
    frame = synthetic_frame(sources, symbol_index, first, rows, spec.seed, spec.step_ms).tail(
        per_day
    )
    symbol = symbol_name(symbol_index)
    name = f"{symbol}-{spec.interval}-{day:%Y-%m-%d}.zip"
    folder = out_folder / "binance" / "spot" / "daily" / "klines" / symbol / spec.interval
    return write_archive(folder, name, month_csv(frame, day >= MICROSECOND_SINCE))
