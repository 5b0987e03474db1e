"""Synthetic klines ``SYN001USDT``, ... resampled from the bundled real data: a seeded
moving-block bootstrap of weeks of real BTCUSDT/ETHUSDT 4h candles, returns scaled by
``sqrt(step / 4h)``, volumes by ``step / 4h``, written as Binance public archives."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.progress import Progress

from hermes.ingest.layout import ArchiveName, archives_between
from hermes.intervals import interval_seconds
from hermes.live.fake_exchange import load_bundled

SOURCE_MS, BLOCK_BARS = 240 * 60_000, 42  # one source bar: 4h; one bootstrap block: a week
GENERATOR_VERSION, MICROSECOND_SINCE = 1, date(2025, 1, 1)


@dataclass(frozen=True)
class SyntheticSpec:
    """``symbols`` synthetic pairs over the months ``first_month`` to ``last_month``."""

    symbols: int
    first_month: str  # "YYYY-MM"
    last_month: str  # "YYYY-MM", inclusive
    interval: str = "1m"
    seed: int = 20260101

    @property
    def key(self) -> str:
        months = f"{self.first_month}..{self.last_month}"
        return f"syn-v{GENERATOR_VERSION}-{self.symbols}x{months}-{self.interval}-s{self.seed}"

    @property
    def step_ms(self) -> int:
        return interval_seconds(self.interval) * 1000

    def symbol_names(self) -> list[str]:
        return [f"SYN{i:03d}USDT" for i in range(1, self.symbols + 1)]

    def monthly(self, symbol: str = "SYN001USDT") -> list[ArchiveName]:
        first, last = (date.fromisoformat(f"{m}-01") for m in (self.first_month, self.last_month))
        return archives_between([symbol], [self.interval], first, last, "monthly")

    def rows_per_symbol(self) -> int:
        months = self.monthly()
        return (months[-1].time_bounds_ms()[1] - months[0].time_bounds_ms()[0]) // self.step_ms

    @property
    def rows(self) -> int:
        return self.symbols * self.rows_per_symbol()

    def frame(self, index: int, rows: int | None = None) -> pl.DataFrame:
        """Symbol ``index``'s candles from the first month on, seeded by (seed, index, month)."""
        start, step = self.monthly()[0].time_bounds_ms()[0], self.step_ms
        rows = rows or self.rows_per_symbol()
        rng = np.random.default_rng([self.seed, index, start // 1000])
        sources = load_source_bars()  # each symbol resamples one real series
        log_return, upper, lower, volumes, start_price = sources[index % len(sources)]
        scale = np.sqrt(step / SOURCE_MS)
        starts = rng.integers(0, log_return.size - BLOCK_BARS, size=-(-rows // BLOCK_BARS))
        idx = (starts[:, None] + np.arange(BLOCK_BARS)).ravel()[:rows]
        price0 = start_price * (0.5 + index % 7 / 4) * np.exp(rng.normal(0, 0.05))
        close = price0 * np.exp(np.cumsum(log_return[idx] * scale))
        open_ = np.concatenate([[price0], close[:-1]])
        high = np.maximum(open_, close) * np.exp(upper[idx] * scale)
        low = np.minimum(open_, close) * np.exp(-lower[idx] * scale)
        volume = volumes[idx] * (50.0 * (1 + index % 5) / start_price * 60_000) * (step / SOURCE_MS)
        typical, taker = (high + low + close) / 3, rng.uniform(0.35, 0.65, size=rows)
        open_time = start + np.arange(rows, dtype=np.int64) * step
        columns = {
            "open_time": open_time, "open": open_, "high": high, "low": low, "close": close,
            "volume": volume, "close_time": open_time + step - 1,
            "quote_asset_volume": volume * typical,
            "number_of_trades": np.maximum(1, (volume * 40).astype(np.int64)),
            "taker_buy_base_asset_volume": volume * taker,
            "taker_buy_quote_asset_volume": volume * taker * typical,
        }  # fmt: skip
        rounded = {k: np.round(v, 8) if v.dtype == np.float64 else v for k, v in columns.items()}
        return pl.DataFrame(rounded | {"ignore": np.zeros(rows, dtype=np.int64)})


@cache
def load_source_bars() -> list[tuple[Any, ...]]:
    """Per bar of the real BTCUSDT and ETHUSDT 4h: log returns, upper and lower wicks (log,
    >= 0), volumes normalised to a mean of 1; and the last close."""
    out = []
    for symbol in ("BTCUSDT", "ETHUSDT"):
        o, h, lo, c, v = load_bundled(symbol, "4h").ohlcv.T
        upper, lower = np.log(h / np.maximum(o, c))[1:], np.log(np.minimum(o, c) / lo)[1:]
        out.append((np.diff(np.log(c)), upper, lower, (v / v.mean())[1:], float(c[-1])))
    return out


def write_archive(root: Path, name: ArchiveName, frame: pl.DataFrame) -> Path:
    """``name`` (a zip of one CSV, fixed member time) and its ``.CHECKSUM`` under ``root``."""
    if name.start >= MICROSECOND_SINCE:
        frame = frame.with_columns(pl.col("open_time") * 1000, pl.col("close_time") * 1000 + 999)
    csv, buffer = frame.write_csv(include_header=False, float_precision=8).encode(), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        member = zipfile.ZipInfo(
            f"{name.stem}.csv", (name.start.year, name.start.month, 1, 0, 0, 0)
        )
        zf.writestr(member, csv, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    (path := root / name.source_file).parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data := buffer.getvalue())
    (root / name.checksum_file).write_text(f"{hashlib.sha256(data).hexdigest()}  {name.filename}\n")
    return path


def generate(spec: SyntheticSpec, out_root: Path, progress: Any = None) -> list[Path]:
    """The monthly archives of ``spec`` under ``out_root/<spec.key>``, written once (a stamp)."""
    root, paths = out_root / spec.key, []
    if (root / "spec.json").exists():
        return sorted(root.rglob("*.zip"))
    progress = progress or Progress(disable=True)
    task = progress.add_task(f"generating {spec.key}", total=spec.symbols * len(spec.monthly()))
    for i, symbol in enumerate(spec.symbol_names(), start=1):
        frame = spec.frame(i)
        for name in spec.monthly(symbol):
            bounds = pl.col("open_time").is_between(*name.time_bounds_ms(), closed="left")
            paths.append(write_archive(root, name, frame.filter(bounds)))
            progress.advance(task)
    stamp = asdict(spec) | {"rows": spec.rows, "synthetic": True}
    (root / "spec.json").write_text(json.dumps(stamp, indent=2))
    return sorted(paths)


def daily_archive(spec: SyntheticSpec, symbol_index: int, day: datetime, out_folder: Path) -> Path:
    """The daily archive of ``day`` on the same price path: the next file an exchange publishes."""
    per_day = 86_400_000 // spec.step_ms
    start = spec.monthly()[0].time_bounds_ms()[0]
    rows = (int(day.timestamp() * 1000) - start) // spec.step_ms + per_day
    name = ArchiveName(spec.symbol_names()[symbol_index - 1], spec.interval, "daily", day.date())
    return write_archive(out_folder, name, spec.frame(symbol_index, rows).tail(per_day))
