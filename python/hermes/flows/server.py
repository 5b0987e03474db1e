"""The Prefect API a run talks to: a configured one, or one long-lived local server.

Prefect flows need an API. Left alone, Prefect starts a temporary server for every process
that runs a flow (10-20 s to start and stop on a small machine) and leaves it running when
that process is killed. Hermes instead:

* uses ``PREFECT_API_URL`` when it is set (a team's Prefect server, or Prefect Cloud);
* otherwise starts **one** local Prefect server the first time a run needs it, detached
  from the command that started it, and reuses it for every later run: its address and
  process id live in ``<PREFECT_HOME>/hermes-server.json``, its log in ``server.log``, its
  database (flow and task runs, logs) in ``prefect.db``, all under ``<lake>/_prefect`` by
  default. The record names its home: a copied lake never uses (or stops) the original's
  server, it starts its own. ``hermes server status|start|stop`` shows, starts or stops
  it; the UI is on its address too;
* ``HERMES_PREFECT_SERVER=temporary`` opts back into Prefect's per-process temporary
  server (measured by ``make bench`` against the long-lived one).

Nothing here imports Prefect: deciding where the API is must cost nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from hermes.config import Settings

SERVER_MODE_ENV = "HERMES_PREFECT_SERVER"
MODES = ("local", "temporary")
STATE_FILE = "hermes-server.json"
LOG_FILE = "server.log"
START_TIMEOUT_SECONDS = 180.0
BUSY_TIMEOUT_SECONDS = 15.0  # a live server's health check, under load


class ServerError(RuntimeError):
    """The local Prefect server could not be started (the message says why and where)."""


@dataclass(frozen=True)
class ServerInfo:
    """A local Prefect server Hermes started: where it listens and which process it is."""

    url: str  # the API, ``http://127.0.0.1:<port>/api``
    pid: int
    home: str

    @property
    def ui(self) -> str:
        return self.url.removesuffix("/api")


def prefect_home(settings: Settings | None = None) -> Path:
    """``PREFECT_HOME`` if set, else ``<lake>/_prefect`` (Prefect's state stays with its lake)."""
    configured = os.environ.get("PREFECT_HOME")
    if configured:
        return Path(configured).expanduser()
    return (settings or Settings.from_env()).lake_root / "_prefect"


def server_mode() -> str:
    mode = os.environ.get(SERVER_MODE_ENV) or "local"
    if mode not in MODES:
        raise ValueError(f"{SERVER_MODE_ENV} must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether a Prefect API answers its health check at ``url``."""
    import requests  # here: a run with nothing new never asks for a server

    try:
        return requests.get(f"{url}/health", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def running_server(home: Path) -> ServerInfo | None:
    """The local server recorded under ``home``, if its process lives and its API answers."""
    info = _recorded(home)
    if info is None:
        return None
    # the process lives: give a busy server (a loaded machine, a flow writing logs) time
    if not _alive(info.pid) or not healthy(info.url, timeout=BUSY_TIMEOUT_SECONDS):
        return None
    return info


def _recorded(home: Path) -> ServerInfo | None:
    """The server recorded under ``home``, if the record is this home's own.

    A lake copied or moved with its ``_prefect`` folder carries the original's record: that
    server belongs to the other lake, so it is never contacted (nor stopped) from here.
    """
    try:
        info = ServerInfo(**json.loads((home / STATE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if Path(info.home).resolve() != home.resolve():
        return None
    return info


def start_server(
    home: Path, *, timeout: float = START_TIMEOUT_SECONDS, port: int | None = None
) -> ServerInfo:
    """The local server of ``home``, started now (detached) unless one already runs.

    Two commands starting at once share one server: the start is serialised by a lock file.
    ``port``: listen there (an address handed out before the server starts); else a free one.
    """
    home.mkdir(parents=True, exist_ok=True)
    with _locked(home / "hermes-server.lock"):
        info = running_server(home)
        if info is not None:
            return info
        port = port or _free_port()
        url = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env |= {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_COLORS": "false",
            "DO_NOT_TRACK": "1",
        }
        command = [_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
        with (home / LOG_FILE).open("ab") as log:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the command that started it, by design
            )
        deadline = time.monotonic() + timeout
        while not healthy(url, timeout=1.0):
            if process.poll() is not None:
                raise ServerError(
                    f"the local Prefect server exited with code {process.returncode} while "
                    f"starting; see {home / LOG_FILE}"
                )
            if time.monotonic() > deadline:
                _terminate(process.pid)
                raise ServerError(
                    f"the local Prefect server did not answer within {timeout:.0f} s; "
                    f"see {home / LOG_FILE}"
                )
            time.sleep(0.2)
        info = ServerInfo(url=url, pid=process.pid, home=str(home))
        (home / STATE_FILE).write_text(json.dumps(asdict(info)))
        return info


def stop_server(home: Path) -> ServerInfo | None:
    """Stop the local server of ``home`` (its whole process group); returns what was stopped."""
    state = home / STATE_FILE
    info = _recorded(home)
    if info is None:
        state.unlink(missing_ok=True)  # unreadable, or another lake's (a copied lake's record)
        return None
    stopped = info if _alive(info.pid) else None
    if stopped is not None:
        _terminate(info.pid)
    state.unlink(missing_ok=True)
    return stopped


def ensure_api(settings: Settings | None = None) -> str | None:
    """Point Prefect at its API before it is imported; returns the URL (None: temporary).

    ``PREFECT_API_URL`` wins; else the long-lived local server (started on first use),
    unless ``HERMES_PREFECT_SERVER=temporary``. Also keeps Prefect's state with the lake.
    """
    home = prefect_home(settings)
    os.environ.setdefault("PREFECT_HOME", str(home))
    home.mkdir(parents=True, exist_ok=True)
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        return configured
    if server_mode() == "temporary":
        return None
    info = start_server(home)
    os.environ["PREFECT_API_URL"] = info.url
    return info.url


def _prefect() -> str:
    """The ``prefect`` command of this environment."""
    candidate = Path(sys.executable).with_name("prefect")
    return str(candidate) if candidate.exists() else "prefect"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not reaped by this process) counts as gone
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return True
    return status != "Z"


def _terminate(pid: int, grace_seconds: float = 20.0) -> None:
    """SIGTERM the server's process group, SIGKILL what is left after ``grace_seconds``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        _reap(pid)
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status of ``pid`` if it is this process's child."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
