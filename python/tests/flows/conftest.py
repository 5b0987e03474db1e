"""Flow tests run against a real Prefect server, started once for the session.

The server is the long-lived local server ``hermes`` uses (:mod:`hermes.flows.server`), with its
state in a temporary ``PREFECT_HOME``; it is started before anything imports Prefect (the
client reads ``PREFECT_API_URL`` when Prefect loads) and stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hermes.flows.server import start_server, stop_server

_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="hermes-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ.pop("PREFECT_API_URL", None)
SERVER = start_server(_PREFECT_HOME)
os.environ["PREFECT_API_URL"] = SERVER.url


def pytest_unconfigure(config: object) -> None:
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    stop_server(_PREFECT_HOME)
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
