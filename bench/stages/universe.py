"""Stage: the daily job of a universe through ``hermes``, timed as a user waits: ``new_day``
(each series' next day ingested, then ``hermes run``), ``no_op`` (``hermes run`` again),
the lake's growth and the largest page. :func:`run`: ``symbols`` synthetic symbols x (4h,
1d), built up to the day before the bundled data's last (so the freshness check passes),
with the seed's pairs plus the synthetic ones as the universe (``HERMES_UNIVERSE``).
:func:`real`: the 20 real symbols of the repository (:data:`REAL`, the seed's universe),
their last day held back as the new day."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.stages.daily_job import env, hermes, steps
from bench.synthetic import SyntheticSpec, daily_archive, generate
from hermes.config import PROJECT_ROOT, UNIVERSE_SEED
from hermes.universe import UNIVERSE_ENV

INTERVALS = ("4h", "1d")
NEW_DAY = datetime(2026, 1, 6, tzinfo=UTC)  # the bundled data's last day
REAL = (PROJECT_ROOT / "data" / "universe", PROJECT_ROOT / "data" / "binance-ohlcv")
"""The real 4h and 1d files: the 18 symbols of ``data/universe`` and the bundled two."""


def _sizes(lake: Path) -> dict[str, int]:
    def size(folder: Path, pattern: str = "*") -> int:
        return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())

    return {"total": size(lake), "parquet": size(lake, "*.parquet"),
            "pages": size(lake / "reports", "*.html")}  # fmt: skip


def run(work: str, prefect_home: str, symbols: int, first: str, last: str) -> dict[str, Any]:
    base = Path(work)
    for folder in (base / "lake", base / "new"):
        shutil.rmtree(folder, ignore_errors=True)
    year, month = (int(p) for p in last.split("-"))
    day = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    specs = [SyntheticSpec(symbols, first, last, interval=i) for i in INTERVALS]
    for spec in specs:
        generate(spec, base / "data")
        for index in range(1, symbols + 1):
            for offset in range((NEW_DAY - day).days):
                daily_archive(spec, index, day + timedelta(days=offset), base / "days")
            daily_archive(spec, index, NEW_DAY, base / "new")
    universe = base / "universe.csv"  # the seed's pairs and the synthetic ones, 4h and 1d
    rows = [f"{s},{'|'.join(INTERVALS)},{first}-01,,active\n" for s in specs[0].symbol_names()]
    universe.write_text(UNIVERSE_SEED.read_text().rstrip("\n") + "\n" + "".join(rows))
    environment = env(base / "lake", prefect_home) | {UNIVERSE_ENV: str(universe)}
    folders = [f for f in [base / "data" / s.key for s in specs] + [base / "days"] if f.exists()]
    return _new_day(base / "lake", environment, folders, base / "new") | {
        "series": symbols * len(INTERVALS)}  # fmt: skip


def real(work: str, prefect_home: str) -> dict[str, Any]:
    """The real files of :data:`REAL` (4h, 1d): their history, then the bundled data's last
    day (``hermes run`` lands the bundled BTCUSDT and ETHUSDT files whole, so the new files
    are the 18 others'; a delisted pair has no new day)."""
    base = Path(work)
    shutil.rmtree(base / "lake", ignore_errors=True)
    history, day, series = split_last_day(base)
    return _new_day(base / "lake", env(base / "lake", prefect_home), [history], day) | {
        "series": series}  # fmt: skip


def split_last_day(base: Path) -> tuple[Path, Path, int]:
    """``base``/history: each real file without the rows of :data:`NEW_DAY` (``.csv``);
    ``base``/new: those rows of the files of ``data/universe`` (``.csv.gz``: a file landed
    again under its name would replace the history's rows); and the number of series."""
    history, day = base / "history", base / "new"
    for folder in (history, day):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    files = [f for folder in REAL for f in sorted(folder.glob("*.csv.gz"))
             if f.name.split(".")[0].rsplit("_")[-1] in INTERVALS]  # fmt: skip
    for path in files:
        header, *rows = gzip.decompress(path.read_bytes()).decode().splitlines()
        new = [row for row in rows if row.startswith(f"{NEW_DAY:%Y-%m-%d}")]
        name = path.name.removesuffix(".gz")
        (history / name).write_text("\n".join([header, *rows[: len(rows) - len(new)]]) + "\n")
        if new and path.parent == REAL[0]:  # another file name: a new file, not a new version
            (day / path.name).write_bytes(gzip.compress("\n".join([header, *new, ""]).encode()))
    return history, day, len(files)


def _new_day(lake: Path, environment: dict[str, str], history: list[Path], new: Path,
             ) -> dict[str, Any]:  # fmt: skip
    """Land ``history`` and run, then time the new day ``new`` and a run with nothing new."""
    setup = [hermes(["ingest", "--from-dir", str(folder)], environment) for folder in history]
    first_run = hermes(["run"], environment)
    before, pages_before = _sizes(lake), {p.name for p in (lake / "reports").glob("bt-*.html")}
    ingest_seconds = hermes(["ingest", "--from-dir", str(new)], environment)[0]
    run_seconds, stdout, peak = hermes(["run"], environment)
    after, day_steps = _sizes(lake), steps(stdout)
    new_pages = [p for p in (lake / "reports").glob("bt-*.html") if p.name not in pages_before]
    no_op_seconds, _, no_op_peak = hermes(["run"], environment)
    return {
        "first_run_steps": steps(first_run[1]),
        "setup_seconds": sum(s[0] for s in setup) + first_run[0],
        "seconds": ingest_seconds + run_seconds,
        "new_day": {
            "ingest_seconds": ingest_seconds, "run_seconds": run_seconds, "peak_rss_mb": peak,
            "steps": day_steps,
            "ms_per_page": round(1000 * day_steps.get("reports", 0.0) / max(len(new_pages), 1)),
        },
        "no_op": {"seconds": no_op_seconds, "peak_rss_mb": no_op_peak},
        "growth_bytes": {k: after[k] - before[k] for k in after}, "lake_bytes": after,
        "new_pages": len(new_pages),
        "largest_page_bytes": max((p.stat().st_size for p in new_pages), default=0),
    }  # fmt: skip
