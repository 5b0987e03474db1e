"""Subprocess entry point: ``python -m bench.child '{"target": "mod:fn", "kwargs": {...}}'``.

Imports and calls the target, then prints one ``BENCH_RESULT {json}`` line with the
target's result plus the process's peak resident memory and total lifetime.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time

from bench.measure import RESULT_PREFIX

_STARTED = time.perf_counter()


def main(argv: list[str]) -> int:
    payload = json.loads(argv[1])
    module_name, function_name = payload["target"].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = dict(function(**payload.get("kwargs", {})))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["process_seconds"] = time.perf_counter() - _STARTED
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
