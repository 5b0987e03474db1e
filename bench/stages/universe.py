"""Stage: the daily job of a synthetic universe, ``symbols`` x (4h, 1d), through ``hermes``.

A new lake ingests the synthetic monthly archives (:mod:`bench.synthetic`) up to
``last`` and the daily archives of the next days up to the day before the bundled data's
last one (so the freshness check, measured against the lake's newest candle, passes), and
runs ``hermes run`` once (not a goal figure); the universe in force (``HERMES_UNIVERSE``) is
the seed's pairs plus the synthetic ones, so the job backtests every series. Then, timed as a
user waits for it:

* ``new_day``: every series' next daily archive, ``hermes ingest`` then ``hermes run``
  (wall seconds of both, peak memory of the ``run`` process, per-step seconds);
* ``no_op``: ``hermes run`` again with nothing new;
* the lake's growth from that one day (bytes of parquet, of pages and in total), the
  largest tearsheet page written, and the reports step's milliseconds per page.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.stages.daily_job import _env, _hermes, _steps
from bench.synthetic import SyntheticSpec, daily_archive, generate
from hermes.universe import UNIVERSE_CSV, UNIVERSE_ENV

INTERVALS = ("4h", "1d")
NEW_DAY = datetime(2026, 1, 6, tzinfo=UTC)
"""The bundled BTCUSDT/ETHUSDT data's last day: the universe's new day."""


def _bytes(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def _sizes(lake: Path) -> dict[str, int]:
    return {
        "total": _bytes(lake),
        "parquet": _bytes(lake, "*.parquet"),
        "pages": _bytes(lake / "reports", "*.html"),
    }


def run(work: str, prefect_home: str, symbols: int, first: str, last: str) -> dict[str, Any]:
    base = Path(work)
    lake = base / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    shutil.rmtree(base / "new", ignore_errors=True)
    specs = [SyntheticSpec(symbols, first, last, interval=i) for i in INTERVALS]
    year, month = (int(p) for p in last.split("-"))
    day = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    for spec in specs:
        generate(spec, base / "data")
        for index in range(1, symbols + 1):
            for offset in range((NEW_DAY - day).days):
                daily_archive(spec, index, day + timedelta(days=offset), base / "days")
            daily_archive(spec, index, NEW_DAY, base / "new")
    universe = base / "universe.csv"  # the seed's pairs and the synthetic ones, 4h and 1d
    rows = [f"{s},{'|'.join(INTERVALS)},{first}-01,,active" for s in specs[0].symbol_names()]
    universe.write_text(UNIVERSE_CSV.read_text().rstrip("\n") + "\n" + "\n".join(rows) + "\n")
    env = _env(lake, Path(prefect_home), "local") | {UNIVERSE_ENV: str(universe)}
    folders = [base / "data" / s.key for s in specs] + [base / "days"]
    setup = [_hermes(["ingest", "--from-dir", str(f)], env) for f in folders if f.exists()]
    first_run = _hermes(["run"], env)
    before = _sizes(lake)
    pages_before = {p.name for p in (lake / "reports").glob("bt-*.html")}
    ingest_seconds, _, _ = _hermes(["ingest", "--from-dir", str(base / "new")], env)
    run_seconds, stdout, peak = _hermes(["run"], env)
    after = _sizes(lake)
    new_pages = [p for p in (lake / "reports").glob("bt-*.html") if p.name not in pages_before]
    steps = _steps(stdout)
    no_op_seconds, _, no_op_peak = _hermes(["run"], env)
    return {
        "series": symbols * len(INTERVALS),
        "setup_seconds": sum(s[0] for s in setup) + first_run[0],
        "first_run_steps": _steps(first_run[1]),
        "seconds": ingest_seconds + run_seconds,
        "new_day": {
            "ingest_seconds": ingest_seconds,
            "run_seconds": run_seconds,
            "peak_rss_mb": peak,
            "steps": steps,
            "ms_per_page": round(1000 * steps.get("reports", 0.0) / max(len(new_pages), 1)),
        },
        "no_op": {"seconds": no_op_seconds, "peak_rss_mb": no_op_peak},
        "growth_bytes": {k: after[k] - before[k] for k in after},
        "lake_bytes": after,
        "new_pages": len(new_pages),
        "largest_page_bytes": max((p.stat().st_size for p in new_pages), default=0),
    }
