"""Prefect flows of Hermes: the daily refresh, the backfill and the bundled-data run.

* :mod:`hermes.flows.changes` decides what a run must do (no Prefect import);
* :mod:`hermes.flows.server` finds or starts the Prefect API runs use;
* :mod:`hermes.flows.commands` is what the ``hermes`` commands run;
* :mod:`hermes.flows.daily_refresh` and :mod:`hermes.flows.backtests` are the flows themselves.

Importing this package sets quiet defaults for Prefect before Prefect itself is imported:
with no Prefect server configured (``PREFECT_API_URL`` unset), Prefect's state
(``PREFECT_HOME``: the local server's database, its log and address) lives inside the lake
(``<lake>/_prefect``) rather than in the user's home folder. Values already set in the
environment always win.
"""

from __future__ import annotations

import os
from pathlib import Path

from hermes.config import Settings


def prefect_defaults() -> None:
    """Environment defaults for Prefect (call before ``import prefect``)."""
    if not os.environ.get("PREFECT_API_URL"):
        os.environ.setdefault("PREFECT_HOME", str(Settings.from_env().lake_root / "_prefect"))
        Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
    # the temporary API's first start creates its database: slow on a busy machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_COLORS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


prefect_defaults()
