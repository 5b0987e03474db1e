"""Stage: the daily job as users wait for it, the ``hermes`` command timed end to end in a
child process: on the bundled data (:func:`run`), the quality checkpoint, a backfill, and a
universe's new day (synthetic symbols, or the 20 real ones with their last day held back)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from bench.lakes import snapshot_tree, split_day, use_lake
from bench.measure import peak_mb, stopwatch
from bench.synthetic import SyntheticSpec, daily_archive, generate
from hermes.config import PROJECT_ROOT, UNIVERSE_SEED
from hermes.universe import UNIVERSE_ENV

MAXRSS, INTERVALS = "BENCH_MAXRSS_KB", ("4h", "1d")
NEW_DAY = datetime(2026, 1, 6, tzinfo=UTC)  # the bundled data's last day
REAL = (PROJECT_ROOT / "data" / "universe", PROJECT_ROOT / "data" / "binance-ohlcv")
REAL_FILES = [f for d in REAL for i in INTERVALS for f in sorted(d.glob(f"*_{i}.csv.gz"))]
"""The real 4h and 1d files: the 18 symbols of ``data/universe`` and the bundled two."""


def env(lake: Path | str, prefect_home: Path | str) -> dict[str, str]:
    """The environment of a ``hermes`` command on ``lake`` with its long-lived Prefect server."""
    return {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {
        "HERMES_LAKE_ROOT": str(lake), "HERMES_TARGET": "local", "COLUMNS": "300",
        "PREFECT_HOME": str(prefect_home), "HERMES_PREFECT_SERVER": "local",
    }  # fmt: skip


def hermes(args: list[str], environment: dict[str, str]) -> tuple[float, str, float]:
    """``hermes args``: (wall seconds, stdout, peak MB of that process, from GNU time)."""
    timer, elapsed = [shutil.which("time") or "/usr/bin/time", "-f", f"{MAXRSS} %M"], stopwatch()
    proc = subprocess.run([*timer, sys.executable, "-m", "hermes.cli", *args], env=environment,
                          capture_output=True, text=True, timeout=1800, check=False)  # fmt: skip
    seconds = elapsed()
    if proc.returncode != 0:
        tail = " ".join((proc.stdout + proc.stderr).splitlines()[-4:])
        raise RuntimeError(f"hermes {' '.join(args)} exited {proc.returncode}: {tail}")
    peak = [line for line in proc.stderr.splitlines() if line.startswith(MAXRSS)]
    return seconds, proc.stdout, float(peak[-1].split()[1]) / 1024 if peak else 0.0


def steps(stdout: str) -> dict[str, float]:
    """The run summary's per-step seconds (``seconds: ingest 1.3, dbt build 21.9, ...``)."""
    match = re.search(r"^\s*seconds: (.+)$", stdout, re.MULTILINE)
    parts = [part.rpartition(" ") for part in match.group(1).split(", ")] if match else []
    return {name: float(value) for name, _, value in parts}


def server(prefect_home: str, start: bool = True) -> dict[str, Any]:
    """Start the local Prefect server of a new home (time and memory), or stop it."""
    from hermes.flows.server import start_server, stop_server

    if not start:
        return {"stopped": stop_server(Path(prefect_home)) is not None}
    shutil.rmtree(prefect_home, ignore_errors=True)
    elapsed = stopwatch()
    info = start_server(Path(prefect_home))
    seconds, rss = elapsed(), psutil.Process(info.pid).memory_info().rss
    return {"seconds": seconds, "server_rss_mb": rss / 2**20, "url": info.url}


def run(work: str, prefect_home: str, scenario: str, restore_from: str | None = None,
        save_to: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Time one ``hermes run`` scenario on the lake ``work`` (restored first if given)."""
    lake, environment = Path(work), env(work, prefect_home)
    use_lake(lake, None if scenario == "full" else restore_from, fresh=scenario == "full")
    out: dict[str, Any] = {"scenario": scenario, "ingest_seconds": 0.0}
    if scenario == "one_candle":
        out["ingest_seconds"] = hermes(["ingest", str(_one_new_candle(lake))], environment)[0]
    seconds, stdout, peak = hermes(["run"], environment)
    status = next((line for line in stdout.splitlines() if "hermes refresh" in line), "")
    if save_to:
        snapshot_tree(lake, save_to)
    return out | {"run_seconds": seconds, "seconds": seconds + out["ingest_seconds"],
                  "steps": steps(stdout), "status_line": status,
                  "hermes_peak_rss_mb": peak}  # fmt: skip


def _one_new_candle(lake: Path) -> Path:
    """A generic CSV holding the candle after the lake's last BTCUSDT 4h candle."""
    from hermes.lake import connect

    with connect(use_lake(lake)) as conn:
        last, price = conn.execute(
            "select open_time, close from lake.silver_klines "
            "where symbol = 'BTCUSDT' and interval = '4h' order by open_time desc limit 1"
        ).fetchone() or (None, None)
    csv = lake.parent / "new" / "BTCUSDT_4h.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    moment = f"{last + timedelta(hours=4):%Y-%m-%d %H:%M:%S}"
    prices = f"{price},{price * 1.002},{price * 0.997},{price * 1.001}"
    csv.write_text(f"timestamp,open,high,low,close,volume\n{moment},{prices},123.456\n")
    return csv


def quality(work: str, restore_from: str) -> dict[str, Any]:
    """The quality checkpoint of every partition on a restored lake: seconds and memory above
    the imports."""
    from hermes.quality import run_checkpoint

    settings, docs = use_lake(work, restore_from), Path(work).parent / "quality-docs"
    before, elapsed = peak_mb(), stopwatch()
    result = run_checkpoint(settings, partitions=None, docs_dir=docs)
    return {
        "seconds": elapsed(),
        "rows": sum(result.statistics.get(t, 0) for t in ("silver_klines", "gold_features")),
        "expectations": result.evaluated, "failed": len(result.errors),
        "rss_after_imports_mb": before, "quality_rss_mb": peak_mb() - before,
    }  # fmt: skip


@contextmanager
def serving() -> Iterator[str]:
    """A quiet local site on a free port: every GET a 404, POSTs (a webhook's) accepted."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, Request.application(lambda request: Response(
        request.get_data() and None, status=200 if request.method == "POST" else 404)),
        threaded=True)  # fmt: skip
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def backfill_missing(work: str, prefect_home: str) -> dict[str, Any]:
    """``hermes backfill`` of a year (2 symbols x 2 intervals) from a site that has none."""
    shutil.rmtree(work, ignore_errors=True)
    with serving() as url:
        args = "backfill --start 2022-01-01 --end 2022-12-31 -s BTCUSDT -s ETHUSDT -i 4h -i 1d"
        seconds, stdout, peak = hermes([*args.split(), "--base-url", url], env(work, prefect_home))
    status = stdout.splitlines()[0] if stdout else ""
    return {"seconds": seconds, "status_line": status, "hermes_peak_rss_mb": peak}


def universe(work: str, prefect_home: str, symbols: int, first: str, last: str) -> dict[str, Any]:
    """One new day of ``symbols`` synthetic symbols x (4h, 1d) from the month ``first`` to
    ``last`` (their days up to :data:`NEW_DAY` landed first), then a run with nothing new."""
    base = _fresh(work)
    specs = [SyntheticSpec(symbols, first, last, interval=i) for i in INTERVALS]
    day = datetime.combine(specs[0].monthly()[-1].end, datetime.min.time(), UTC)
    for spec in specs:
        generate(spec, base / "data")
        for index in range(1, symbols + 1):
            for offset in range((NEW_DAY - day).days):
                daily_archive(spec, index, day + timedelta(days=offset), base / "days")
            daily_archive(spec, index, NEW_DAY, base / "new")
    rows = [f"{s},{'|'.join(INTERVALS)},{first}-01,,active\n" for s in specs[0].symbol_names()]
    universe = base / "universe.csv"  # the seed's pairs and the synthetic ones
    universe.write_text(UNIVERSE_SEED.read_text().rstrip("\n") + "\n" + "".join(rows))
    environment = env(base / "lake", prefect_home) | {UNIVERSE_ENV: str(universe)}
    history = [base / "data" / s.key for s in specs]
    history += [base / "days"] if (base / "days").exists() else []
    return _new_day(base, environment, history) | {"series": symbols * len(INTERVALS)}


def universe_real(work: str, prefect_home: str) -> dict[str, Any]:
    """:data:`REAL_FILES` up to :data:`NEW_DAY`, then that day, then a run with nothing new."""
    base = _fresh(work)
    series = len(split_day(REAL_FILES, f"{NEW_DAY:%Y-%m-%d}", base, new_of=REAL[0]))
    environment = env(base / "lake", prefect_home)
    return _new_day(base, environment, [base / "history"]) | {"series": series}


def _fresh(work: str) -> Path:
    """``work`` without the lake and the new day of an earlier run."""
    base = Path(work)
    for folder in (base / "lake", base / "new"):
        shutil.rmtree(folder, ignore_errors=True)
    return base


def _new_day(base: Path, environment: dict[str, str], history: list[Path]) -> dict[str, Any]:
    """Land ``history`` and run, then time the new day (``base``/new) and a run with nothing
    new."""
    lake, new = base / "lake", base / "new"
    for folder in history:
        hermes(["ingest", "--from-dir", str(folder)], environment)
    hermes(["run"], environment)
    before, pages_before = _sizes(lake), {p.name for p in (lake / "reports").glob("bt-*.html")}
    ingest_seconds = hermes(["ingest", "--from-dir", str(new)], environment)[0]
    run_seconds, stdout, peak = hermes(["run"], environment)
    after, day_steps = _sizes(lake), steps(stdout)
    new_pages = [p for p in (lake / "reports").glob("bt-*.html") if p.name not in pages_before]
    no_op_seconds, _, no_op_peak = hermes(["run"], environment)
    return {
        "seconds": ingest_seconds + run_seconds,
        "new_day": {
            "ingest_seconds": ingest_seconds, "run_seconds": run_seconds, "peak_rss_mb": peak,
            "steps": day_steps,
            "ms_per_page": round(1000 * day_steps.get("reports", 0.0) / max(len(new_pages), 1)),
        },
        "no_op": {"seconds": no_op_seconds, "peak_rss_mb": no_op_peak},
        "growth_bytes": {k: after[k] - before[k] for k in after},
        "new_pages": len(new_pages),
        "largest_page_bytes": max((p.stat().st_size for p in new_pages), default=0),
    }  # fmt: skip


def _sizes(lake: Path) -> dict[str, int]:
    def size(folder: Path, pattern: str = "*") -> int:
        return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())

    return {"total": size(lake), "parquet": size(lake, "*.parquet"),
            "pages": size(lake / "reports", "*.html")}  # fmt: skip
