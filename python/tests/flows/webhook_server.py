"""A local webhook endpoint for notification tests: records the JSON bodies it receives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from fixtures.local_http import serving


@contextmanager
def webhook(status: int = 200) -> Iterator[tuple[str, list[dict]]]:
    """Serve on 127.0.0.1 (free port), answering ``status``; yields (URL, received bodies)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    with serving(Handler) as url:
        yield f"{url}/hooks/secret-token-123", received
