"""dbt-duckdb plugin: prepares each dbt connection before the profile attaches the lake.

It checks the strategy registry file before ``dbt build``, ``run`` or ``seed`` reads it (a
mistake is one line naming the line and the field), loads the DuckLake (and, on the ``s3``
target, httpfs) extensions from their PyPI packages and registers S3 credentials from the
environment as a DuckDB secret, so no credential is ever written in ``profiles.yml``,
compiled SQL or logs.

It also gives each connection the lake's own paths, read from the environment when the
connection opens: the spill folder, and on the local target the lake itself (a DuckLake
secret the profile's ``attach`` names). The profile then holds no lake path, and dbt, which
hashes the profile to decide whether its saved parse of the project still holds, parses
the project once for every lake instead of once per lake (see ``docs/new-day-cost.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.flags import get_flags
from dbt_common.exceptions import DbtRuntimeError

from hermes.config import Settings
from hermes.lake import LakeNotFound, create_lake_secret, prepare_connection, require_lake
from hermes.signals.registry_file import RegistryError, check_registry

REGISTRY_COMMANDS = frozenset({"build", "run", "seed"})
"""dbt commands that load or read the strategy registry: its file is checked first
(:func:`hermes.signals.registry_file.check_registry`), so a mistake in it is one line naming
the line and the field, before any model builds."""

READ_COMMANDS = frozenset({"compile", "debug", "freshness", "generate", "list", "show"})
"""dbt commands (``flags.WHICH``) that only read: on a missing lake they fail, naming the
path, instead of creating an empty one (``dbt docs generate`` with a mistyped
``HERMES_LAKE_ROOT``). build, run, seed, test and snapshot create the lake on first use."""


class Plugin(BasePlugin):
    """Profile config: ``target`` (``local`` or ``s3``) overrides ``HERMES_TARGET``;
    ``lake_secret`` names the DuckLake secret the profile attaches as the lake."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.target: str | None = plugin_config.get("target")
        self.lake_secret: str | None = plugin_config.get("lake_secret")

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """The lake's spill folder, given when the DuckDB instance is created."""
        config["temp_directory"] = str(Settings.from_env(self.target).spill_path)

    def configure_connection(self, conn: Any) -> None:
        settings = Settings.from_env(self.target)
        flags = get_flags()
        command = getattr(flags, "WHICH", None)
        if command in REGISTRY_COMMANDS:
            project = Path(getattr(flags, "PROJECT_DIR", None) or Path.cwd())
            try:
                check_registry(project / "seeds" / "strategies.csv")
            except RegistryError as exc:
                raise DbtRuntimeError(str(exc)) from None
        if command in READ_COMMANDS:
            try:
                require_lake(settings)
            except LakeNotFound as exc:  # dbt prints its own errors without a traceback
                raise DbtRuntimeError(str(exc)) from None
        prepare_connection(conn, settings)
        if self.lake_secret:
            create_lake_secret(conn, settings, self.lake_secret)
