"""Tell people how a refresh went: one log line, plus a JSON POST to an optional webhook.

The webhook URL comes from ``HERMES_NOTIFY_WEBHOOK`` (Slack, Teams, ntfy, or any endpoint
accepting JSON). It often embeds a token, so it is never logged. A webhook that fails is
reported in the log and does not fail the run.
"""

from __future__ import annotations

import logging
import os
from typing import Any

WEBHOOK_ENV = "HERMES_NOTIFY_WEBHOOK"
TIMEOUT_SECONDS = 10


def notify(
    headline: str,
    details: dict[str, Any],
    *,
    success: bool,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    webhook_url: str | None = None,
) -> bool:
    """Log ``headline`` and POST ``{"text", "success", "details"}`` to the webhook if set.

    Returns whether the webhook accepted the message (``False`` when none is configured).
    """
    log = logger or logging.getLogger("hermes.notify")
    log.log(logging.INFO if success else logging.ERROR, "%s", headline)
    url = webhook_url or os.environ.get(WEBHOOK_ENV)
    if not url:
        return False
    import requests  # here: a run with nothing new and no webhook never loads it

    payload: dict[str, Any] = {"text": headline, "success": success, "details": details}
    try:
        response = requests.post(url, json=payload, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:
        # the exception text may repeat the URL (and its token): report only its kind
        status = getattr(getattr(exc, "response", None), "status_code", None)
        log.warning(
            "notification webhook failed (%s%s)",
            type(exc).__name__,
            f", HTTP {status}" if status else "",
        )
        return False
    return True
