"""dbt-duckdb plugin: prepares each dbt connection before the profile attaches the lake.

It loads the DuckLake (and, on the ``s3`` target, httpfs) extensions from their PyPI
packages and registers S3 credentials from the environment as a DuckDB secret, so no
credential is ever written in ``profiles.yml``, compiled SQL or logs.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.flags import get_flags
from dbt_common.exceptions import DbtRuntimeError

from hermes.config import Settings
from hermes.lake import LakeNotFound, prepare_connection, require_lake

READ_COMMANDS = frozenset({"compile", "debug", "freshness", "generate", "list", "show"})
"""dbt commands (``flags.WHICH``) that only read: on a missing lake they fail, naming the
path, instead of creating an empty one (``dbt docs generate`` with a mistyped
``HERMES_LAKE_ROOT``). build, run, seed, test and snapshot create the lake on first use."""


class Plugin(BasePlugin):
    """Profile config: ``target`` (``local`` or ``s3``) overrides ``HERMES_TARGET``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.target: str | None = plugin_config.get("target")

    def configure_connection(self, conn: Any) -> None:
        settings = Settings.from_env(self.target)
        if getattr(get_flags(), "WHICH", None) in READ_COMMANDS:
            try:
                require_lake(settings)
            except LakeNotFound as exc:  # dbt prints its own errors without a traceback
                raise DbtRuntimeError(str(exc)) from None
        prepare_connection(conn, settings)
