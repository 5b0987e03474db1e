"""Flow tests run against a real Prefect server, started once for the session.

The server is the long-lived local server ``hermes`` uses (:mod:`hermes.flows.server`), with its
state in a temporary ``PREFECT_HOME``. Prefect reads ``PREFECT_API_URL`` when it is imported
(at collection), so the address is handed out here, before anything imports Prefect; the
server itself starts when the first flow test of this process runs (under pytest-xdist, only
the worker running the flow tests pays for it: they are one xdist group, see the root
conftest) and is stopped at the end. Until then its port is held by a bound socket that does
not listen, so no other socket of the session is given it; the server (SO_REUSEADDR) binds it.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.children import COVERAGE_VARIABLES

from hermes.flows.server import ServerInfo, start_server, stop_server

_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="hermes-prefect-"))
_RESERVED = socket.socket()
_RESERVED.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
_RESERVED.bind(("127.0.0.1", 0))
_PORT = int(_RESERVED.getsockname()[1])
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{_PORT}/api"
_STARTED: list[ServerInfo] = []


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[ServerInfo]:
    """The session's Prefect server, started on the address Prefect was given."""
    if not _STARTED:
        # the server runs Prefect's code only, no Hermes line: started without coverage's
        # tracer (it serves every flow run of the session; fixtures/children.py)
        with pytest.MonkeyPatch.context() as env:
            for name in COVERAGE_VARIABLES:
                env.delenv(name, raising=False)
            _STARTED.append(start_server(_PREFECT_HOME, port=_PORT))
        _RESERVED.close()
    assert _STARTED[0].url == os.environ["PREFECT_API_URL"]
    yield _STARTED[0]


def pytest_unconfigure(config: object) -> None:
    _RESERVED.close()
    if _STARTED:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)
        stop_server(_PREFECT_HOME)
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
