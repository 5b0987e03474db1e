"""Look at the pages in headless Chromium: console errors, drawn charts, screenshots.

Drives Debian's ``chromium`` over the DevTools protocol (a websocket to the browser that
:func:`open_browser` starts on a free port, with a throw-away profile). :func:`check_page`
opens a page and reports the console errors and uncaught exceptions it logged, the requests
it made to anything but ``file:`` / ``data:`` URLs (a self-contained page makes none), and
each plotly chart with its number of traces and points. :func:`screenshot` saves a PNG.

``python -m hermes.report.browser PAGE.html OUT.png`` takes a screenshot of a page;
``--latest`` instead writes and shoots the tearsheet of the lake's latest single run
(``make screenshot`` puts it under ``docs/``).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect
from websockets.sync.connection import Connection

BINARIES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
    "about:blank",
)
CHARTS_JS = """
Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => ({
  id: d.id,
  traces: (d.calcdata || []).length,
  points: (d.calcdata || []).map(cd => {
    const z = cd[0] && cd[0].z;
    if (z) {
      return Array.from(z).reduce((n, row) => n + Array.from(row).filter(
        v => v !== null && v !== undefined && !Number.isNaN(v)).length, 0);
    }
    return cd.filter(p => p && (p.y !== undefined || p.s !== undefined || p.p !== undefined)
      && !Number.isNaN(p.y === undefined ? 0 : p.y)).length;
  }),
  drawn: d.querySelectorAll('.main-svg').length > 0,
}))
"""


class BrowserError(RuntimeError):
    """Chromium is missing, did not start, or did not answer."""


def find_chromium() -> str | None:
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageCheck:
    url: str
    errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""


class Browser:
    """One DevTools connection to a running headless Chromium."""

    def __init__(self, socket: Connection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise BrowserError(f"no {method} within {timeout:.0f} s")

    def open(self, url: str, width: int = 1400, height: int = 1000) -> str:
        """A new tab on ``url`` (loaded, console and network watched); its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable", session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired")
        return session

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")


@contextmanager
def open_browser(timeout: float = 60.0) -> Iterator[Browser]:
    """Start headless Chromium with a fresh profile and connect to it; stopped on exit."""
    binary = find_chromium()
    if binary is None:
        raise BrowserError(
            "Chromium not found (looked for chromium, chromium-browser, google-chrome): "
            "install Debian's package with `apt-get install chromium`"
        )
    # the profile is removed once every Chromium process has exited (see _stop); a file a
    # crashed helper process left behind never fails the caller
    with tempfile.TemporaryDirectory(
        prefix="hermes-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = subprocess.Popen(
            [binary, f"--user-data-dir={profile}", *FLAGS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes share its process group
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise BrowserError(f"{binary} did not start (exit code {process.poll()})")
                time.sleep(0.1)
            port, path = port_file.read_text().splitlines()[:2]
            with connect(f"ws://127.0.0.1:{port}{path}", max_size=None) as socket:
                yield Browser(socket)
        finally:
            _stop(process)
            _remove_socket_folder(Path(profile))


def _stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop Chromium and every helper process it started (GPU, renderers, zygote), and wait
    until all have exited: a helper still writing into the profile would make removing the
    profile fail (``Directory not empty: 'Default'``)."""
    group = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + grace
    while _group_alive(group):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            return
        time.sleep(0.05)


def _remove_socket_folder(profile: Path) -> None:
    """Remove the folder of Chromium's single-instance socket, which it makes in the system's
    temporary folder (``org.chromium.Chromium.*``, linked from the profile's
    ``SingletonSocket``) and leaves behind when stopped. (Not moved into the profile with
    ``TMPDIR``: a socket path longer than 107 bytes makes Chromium abort.)"""
    with contextlib.suppress(OSError):
        folder = Path(os.readlink(profile / "SingletonSocket")).parent
        if folder.name.startswith("org.chromium.Chromium."):
            shutil.rmtree(folder, ignore_errors=True)


def _group_alive(group: int) -> bool:
    """Whether a process of process group ``group`` still runs (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _parent, pgrp = stat.read_text().rsplit(") ", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if pgrp == str(group) and state != "Z":
            return True
    return False


def _errors(events: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    errors, external = [], []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(details.get("exception", {}).get("description") or details.get("text"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(("file:", "data:", "about:")):
                external.append(url)
    return errors, external


def check_page(browser: Browser, url: str, settle: float = 0.5) -> PageCheck:
    """Open ``url`` and report what a reader's browser would show (see the module)."""
    session = browser.open(url)
    time.sleep(settle)  # plotly draws right after load; give late errors a moment
    charts = browser.evaluate(session, CHARTS_JS) or []
    title = browser.evaluate(session, "document.title") or ""
    errors, external = _errors(browser.events)
    return PageCheck(url, errors, external, charts, title)


def screenshot(
    browser: Browser, url: str, out: Path, width: int = 1400, height: int = 2400
) -> Path:
    """A PNG of the top ``width x height`` pixels of ``url``."""
    session = browser.open(url, width, height)
    time.sleep(0.5)
    data = browser.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(data))
    return out


def _latest_tearsheet() -> Path:
    from hermes.config import Settings
    from hermes.lake import connect as lake_connect
    from hermes.report.tearsheet import write_tearsheet

    settings = Settings.from_env()
    with lake_connect(settings) as conn:
        row = conn.execute(
            "select run_id from gold_backtest_runs where run_kind = 'single' "
            "order by trades desc, created_at desc limit 1"
        ).fetchone()
    if row is None:
        raise BrowserError("the lake holds no single backtest run: run `make run` first")
    return write_tearsheet(settings, str(row[0]))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m hermes.report.browser (PAGE.html | --latest) OUT.png")
        return 2
    try:
        page = _latest_tearsheet() if argv[0] == "--latest" else Path(argv[0])
        with open_browser() as browser:
            out = screenshot(browser, page.resolve().as_uri(), Path(argv[1]))
    except BrowserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"screenshot of {page}: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
