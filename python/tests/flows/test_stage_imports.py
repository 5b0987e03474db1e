"""The daily job's stages import Dask only when a scheduler is named (hermes.flows.scale_out)."""

from __future__ import annotations

import os
import subprocess
import sys

STAGE_MODULES = """
import sys
import hermes.flows.backtests, hermes.flows.pages, hermes.flows.refresh, hermes.flows.statistics
from hermes.flows.scale_out import dask_runner
assert dask_runner() is None
print("loaded:", sorted(m for m in ("dask", "distributed", "prefect_dask") if m in sys.modules))
"""


def test_the_stages_import_no_dask_without_a_scheduler() -> None:
    result = subprocess.run(
        [sys.executable, "-c", STAGE_MODULES],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "HERMES_DASK_ADDRESS"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "loaded: []"
