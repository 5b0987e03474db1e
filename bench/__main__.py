"""``python -m bench``: run the benchmark and write bench/results.json and bench/RESULTS.md."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import re
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import psutil
from rich.console import Console
from rich.markdown import Markdown
from rich.progress import Progress

from bench import experiments, report
from bench.experiments import BENCH_ROOT, EXPERIMENTS, LABELS, SIZES, Plan
from bench.measure import Runner, load_average, stopwatch

console = Console()
PACKAGES = "hermes duckdb dbt-core dbt-duckdb polars pyarrow pandas numpy numba vectorbt ta-lib"
PACKAGES += " prefect"
SYNTHETIC_NOTE = (
    "Scale data sets are synthetic: 1-minute candles for symbols SYN001USDT, SYN002USDT, ... "
    "made by a seeded block bootstrap of the real BTCUSDT/ETHUSDT 4h log returns, candle "
    "shapes and volumes (returns scaled by 1/sqrt(240)), written as Binance monthly archives. "
    "Backtest figures use the real bundled BTCUSDT 4h candles."
)
NAMES = [*LABELS, *(e[0] for e in EXPERIMENTS), "quality"]


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, OS, Python and package versions."""
    from hermes.backtest.provenance import git_commit

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpus = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    installed = {d.metadata["Name"].lower(): d.version for d in metadata.distributions()}
    return {
        "cpu_model": cpus[0] if cpus else platform.processor() or platform.machine(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "git_commit": (git_commit()[0] or "")[:7] or None,
        "packages": {name: installed.get(name) for name in PACKAGES.split()},
    }


def parse_args(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and few repetitions")
    parser.add_argument("--sizes", help=f"comma-separated data sizes among {', '.join(SIZES)}")
    parser.add_argument("--repeat", type=int, help="repetitions per figure (median, min, max)")
    parser.add_argument("--only", help=f"comma-separated stages to run ({', '.join(NAMES)})")
    parser.add_argument("--work", type=Path, default=BENCH_ROOT / "_work", help="scratch folder")
    parser.add_argument("--out", type=Path, default=BENCH_ROOT, help="folder for the results")
    args = parser.parse_args(argv)
    plan = Plan.of(args.quick, args.work, args.out)
    split = lambda text: tuple(s.strip() for s in text.split(",") if s.strip())  # noqa: E731
    changes: dict[str, Any] = {}
    if args.sizes:
        changes["sizes"] = split(args.sizes)
        if unknown := [s for s in changes["sizes"] if s not in SIZES]:
            parser.error(f"unknown size(s) {', '.join(unknown)}; choose among {', '.join(SIZES)}")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.only and (unknown := [s for s in split(args.only) if s not in NAMES]):
        parser.error(f"--only: unknown stage(s) {', '.join(unknown)}; see --help")
    changes |= {"repeat": args.repeat} if args.repeat else {}
    changes |= {"only": frozenset(split(args.only))} if args.only else {}
    return replace(plan, **changes)


def lock(work: Path) -> IO[str]:
    """Hold ``work``'s lock for this process's life; another bench on ``work`` stops here."""
    work.mkdir(parents=True, exist_ok=True)
    handle = open(work / ".bench.lock", "w")  # noqa: SIM115 (held until the process exits)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"python -m bench: another bench is running on {work}") from None
    return handle


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    held, runner, elapsed = lock(plan.work), Runner(log_dir=plan.work / "logs"), stopwatch()
    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "synthetic": True,
        "note": SYNTHETIC_NOTE, "mode": "quick" if plan.quick else "full", "repeat": plan.repeat,
        "machine": machine(), "load_average_at_start": load_average(),
    }  # fmt: skip
    with Progress(console=console, transient=True) as progress:
        experiments.run(plan, runner, results, console.log, progress)
    results["total_seconds"] = round(elapsed(), 1)
    results["load_average_at_end"], results["goals"] = load_average(), report.goals(results)
    plan.out.mkdir(parents=True, exist_ok=True)
    (plan.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (plan.out / "RESULTS.md").write_text(report.markdown(results))
    console.print(Markdown(report.goal_table(results)))
    console.print(f"wrote {plan.out}/results.json and RESULTS.md in {results['total_seconds']} s")
    held.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
