"""Run a stage function once under cProfile (in a ``bench.child`` process)."""

from __future__ import annotations

import cProfile
import importlib
import io
import pstats
import time
from typing import Any

TOP = 25


def run(target: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The stage's own result plus the top functions by cumulative time."""
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = function(**kwargs)
    profiler.disable()
    seconds = time.perf_counter() - started
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative")
    stats.print_stats(TOP)
    lines = [line.rstrip() for line in text.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return {
        "seconds": seconds,
        "stage_seconds": result.get("seconds"),
        "top_cumulative": lines[start : start + TOP + 1],
    }
