"""dbt-duckdb plugin: prepares each dbt connection before the profile attaches the lake.

It loads the DuckLake (and, on the ``s3`` target, httpfs) extensions from their PyPI
packages and registers S3 credentials from the environment as a DuckDB secret, so no
credential is ever written in ``profiles.yml``, compiled SQL or logs.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from hermes.config import Settings
from hermes.lake import prepare_connection


class Plugin(BasePlugin):
    """Profile config: ``target`` (``local`` or ``s3``) overrides ``HERMES_TARGET``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.target: str | None = plugin_config.get("target")

    def configure_connection(self, conn: Any) -> None:
        prepare_connection(conn, Settings.from_env(self.target))
