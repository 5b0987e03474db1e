"""Stage: the daily job of a synthetic universe, ``symbols`` x (4h, 1d), through ``hermes``:
a lake built up to the day before the bundled data's last (so the freshness check passes),
with the seed's pairs plus the synthetic ones as the universe (``HERMES_UNIVERSE``), then
timed as a user waits: ``new_day`` (each series' next daily archive ingested, then
``hermes run``), ``no_op`` (``hermes run`` again), the lake's growth and the largest page."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.stages.daily_job import env, hermes, steps
from bench.synthetic import SyntheticSpec, daily_archive, generate
from hermes.universe import UNIVERSE_CSV, UNIVERSE_ENV

INTERVALS = ("4h", "1d")
NEW_DAY = datetime(2026, 1, 6, tzinfo=UTC)  # the bundled data's last day


def _sizes(lake: Path) -> dict[str, int]:
    size = lambda folder, pattern="*": sum(  # noqa: E731
        p.stat().st_size for p in folder.rglob(pattern) if p.is_file()
    )
    return {"total": size(lake), "parquet": size(lake, "*.parquet"),
            "pages": size(lake / "reports", "*.html")}  # fmt: skip


def run(work: str, prefect_home: str, symbols: int, first: str, last: str) -> dict[str, Any]:
    base = Path(work)
    lake, pages = base / "lake", base / "lake" / "reports"
    for folder in (lake, base / "new"):
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
    rows = [f"{s},{'|'.join(INTERVALS)},{first}-01,,active" for s in specs[0].symbol_names()]
    universe.write_text(UNIVERSE_CSV.read_text().rstrip("\n") + "\n" + "\n".join(rows) + "\n")
    environment = env(lake, prefect_home) | {UNIVERSE_ENV: str(universe)}
    folders = [base / "data" / s.key for s in specs] + [base / "days"]
    setup = [hermes(["ingest", "--from-dir", str(f)], environment) for f in folders if f.exists()]
    first_run = hermes(["run"], environment)
    before, pages_before = _sizes(lake), {p.name for p in pages.glob("bt-*.html")}
    ingest_seconds = hermes(["ingest", "--from-dir", str(base / "new")], environment)[0]
    run_seconds, stdout, peak = hermes(["run"], environment)
    after, day_steps = _sizes(lake), steps(stdout)
    new_pages = [p for p in pages.glob("bt-*.html") if p.name not in pages_before]
    no_op_seconds, _, no_op_peak = hermes(["run"], environment)
    return {
        "series": symbols * len(INTERVALS), "first_run_steps": steps(first_run[1]),
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
