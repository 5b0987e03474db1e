"""DuckDB extensions shipped as PyPI packages, never downloaded at run time."""

from __future__ import annotations

import duckdb
import duckdb_extensions

from hermes.config import Settings

_IMPORTED: set[str] = set()


def load_extensions(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Install (from the local wheel) and load what the lake needs on ``conn``."""
    names = ["ducklake"]
    if settings.s3:
        names.append("httpfs")
    if settings.catalog_url:
        names.append("postgres")
    for name in names:
        if name not in _IMPORTED:
            try:
                duckdb_extensions.import_extension(name)
            except ModuleNotFoundError as exc:
                raise RuntimeError(
                    f"the DuckDB extension {name!r} is not installed: "
                    f"pip install duckdb-extension-{name}=={duckdb.__version__}"
                ) from exc
            _IMPORTED.add(name)
        conn.execute(f"load {name}")


def create_s3_secret(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Register the object-store credentials as a DuckDB secret (bound parameters only)."""
    s3 = settings.s3
    if s3 is None:
        return
    options = {
        "region": s3.region,
        "url_style": s3.url_style,
        "use_ssl": "true" if s3.use_ssl else "false",
    }
    if s3.endpoint:
        options["endpoint"] = s3.endpoint.removeprefix("http://").removeprefix("https://")
    if s3.access_key and s3.secret_key:
        options["key_id"] = s3.access_key
        options["secret"] = s3.secret_key
    # CREATE SECRET takes no prepared parameters: values are escaped as string literals and the
    # statement is never logged or stored. Without keys in the environment, the secret
    # carries none and DuckDB signs nothing (public buckets).
    body = ", ".join(f"{key} '{_quote(value)}'" for key, value in options.items())
    conn.execute(f"create or replace secret hermes_s3 (type s3, {body})")


def _quote(value: str) -> str:
    return value.replace("'", "''")
