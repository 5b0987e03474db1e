"""Flow tests run Prefect against its temporary local API, with its state in a temp folder."""

from __future__ import annotations

import os
import shutil
import tempfile

# before anything imports prefect (flows/__init__ would otherwise use <lake>/_prefect)
_PREFECT_HOME = tempfile.mkdtemp(prefix="hermes-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)


def pytest_unconfigure(config: object) -> None:
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
