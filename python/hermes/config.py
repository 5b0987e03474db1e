"""Where the lake lives, how to reach it and which universe it follows, read from the
environment only.

Nothing secret is ever stored in a file of this project: S3 credentials come from
``HERMES_S3_ACCESS_KEY`` / ``HERMES_S3_SECRET_KEY`` (or the standard AWS names) at run time.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The dbt project folder (where ``dbt_project.yml`` lives)."""


@cache
def project_vars() -> dict[str, Any]:
    """The ``vars`` of ``dbt_project.yml`` (intervals, costs, ``feature_*``, ``ml_*``...): the
    project's settings the SQL models read, read here once for every Python module."""
    with open(PROJECT_ROOT / "dbt_project.yml", encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle)["vars"])


UNIVERSE_SEED = PROJECT_ROOT / "seeds" / "universe.csv"
"""The default universe (``HERMES_UNIVERSE`` unset): the project's dbt seed."""
UNIVERSE_COLUMNS = ("symbol", "intervals", "listed_on", "delisted_on", "status")
"""The header every universe file has (the seed's columns, in this order)."""

CATALOG_FILE = "hermes.ducklake"
LAKE_ALIAS = "lake"
TARGETS = ("local", "s3")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9._/-]*")


def _env(*names: str, default: str | None = None) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default


@dataclass(frozen=True)
class S3Settings:
    """Object-store settings for the ``s3`` target (values from the environment)."""

    bucket: str
    prefix: str = "hermes"
    endpoint: str | None = None
    region: str = "us-east-1"
    url_style: str = "path"
    use_ssl: bool = True
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not _BUCKET.fullmatch(self.bucket):
            raise ValueError(f"HERMES_S3_BUCKET is not a valid bucket name: {self.bucket!r}")
        if not _PREFIX.fullmatch(self.prefix) or ".." in self.prefix:
            raise ValueError(
                f"HERMES_S3_PREFIX may only hold letters, digits and . _ - /: {self.prefix!r}"
            )

    @property
    def root(self) -> str:
        prefix = self.prefix.strip("/")
        return f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the lake: catalog, data files and landing zone."""

    lake_root: Path
    target: str = "local"
    s3: S3Settings | None = None
    catalog_url: str | None = None
    """A shared DuckLake catalog, e.g. ``postgres:dbname=hermes host=db`` (None: local file)."""
    universe: Path = UNIVERSE_SEED
    """The universe file (``HERMES_UNIVERSE``): the pairs and intervals the daily job
    refreshes, backtests, paper trades and shows (read by :mod:`hermes.universe`, and by dbt's
    ``silver_universe``)."""

    def __post_init__(self) -> None:
        if self.catalog_url and self.s3 is None:
            # the local dbt target attaches <lake>/hermes.ducklake: Hermes and dbt would
            # otherwise write to two different catalogs
            raise ValueError(
                "HERMES_CATALOG_URL (a shared catalog) needs HERMES_TARGET=s3: the clients "
                "sharing a catalog must also share the lake's files"
            )

    @classmethod
    def from_env(cls, target: str | None = None) -> Settings:
        """Settings from ``HERMES_*`` (and AWS) variables; ``target`` overrides HERMES_TARGET."""
        root = Path(_env("HERMES_LAKE_ROOT", default=str(PROJECT_ROOT / "lake")) or "lake")
        if not root.is_absolute():
            root = (PROJECT_ROOT / root).resolve()
        target = target or _env("HERMES_TARGET", default="local") or "local"
        if target not in TARGETS:
            raise ValueError(f"HERMES_TARGET must be one of {', '.join(TARGETS)}, not {target!r}")
        s3 = None
        if target == "s3":
            bucket = _env("HERMES_S3_BUCKET")
            if not bucket:
                raise ValueError("HERMES_TARGET=s3 needs HERMES_S3_BUCKET")
            url_style = _env("HERMES_S3_URL_STYLE", default="path") or "path"
            if url_style not in ("path", "vhost"):
                raise ValueError(f"HERMES_S3_URL_STYLE must be path or vhost, not {url_style!r}")
            s3 = S3Settings(
                bucket=bucket,
                prefix=_env("HERMES_S3_PREFIX", default="hermes") or "",
                endpoint=_env("HERMES_S3_ENDPOINT", "AWS_ENDPOINT_URL"),
                region=_env("HERMES_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION") or "us-east-1",
                url_style=url_style,
                use_ssl=(_env("HERMES_S3_USE_SSL", default="true") or "true").lower()
                in ("1", "true", "yes"),
                access_key=_env("HERMES_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
                secret_key=_env("HERMES_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
            )
        return cls(
            lake_root=root,
            target=target,
            s3=s3,
            catalog_url=_catalog_url(),
            universe=_universe(),
        )

    @property
    def catalog_path(self) -> Path:
        """The DuckLake catalog (a DuckDB file), always local by default."""
        return self.lake_root / CATALOG_FILE

    @property
    def spill_path(self) -> Path:
        """Where DuckDB spills sorts, joins and windows bigger than its memory limit: inside
        the lake folder (one per lake, so concurrent lakes never share spill files)."""
        return self.lake_root / ".duckdb_tmp"

    @property
    def catalog_attach(self) -> str:
        """What ``attach`` takes: ``ducklake:<catalog file>`` or ``ducklake:postgres:...``."""
        return f"ducklake:{self.catalog_url or self.catalog_path}"

    @property
    def storage_root(self) -> str:
        """Root of the lake's files: a local folder, or ``s3://bucket/prefix``."""
        return self.s3.root if self.s3 else str(self.lake_root)

    @property
    def data_path(self) -> str:
        """Where DuckLake writes table data files (parquet)."""
        return f"{self.storage_root}/data/"

    @property
    def landing_root(self) -> str:
        """The raw landing zone: exchange archives as received."""
        return f"{self.storage_root}/landing"

    @property
    def location(self) -> str:
        """Where the lake is, for messages: its root and, on S3, the endpoint (no secret)."""
        if self.s3 is None:
            return f"the lake at {self.storage_root}"
        endpoint = self.s3.endpoint or f"AWS S3 ({self.s3.region})"
        return f"the lake at {self.storage_root} (S3 endpoint {endpoint})"

    @property
    def reports_root(self) -> Path:
        return self.lake_root / "reports"

    def dbt_env(self) -> dict[str, str]:
        """Environment variables for an in-process dbt run of these settings.

        The profile and project read the non-secret ones with ``env_var()``. The S3 keys are
        read by ``hermes.dbt_plugin`` straight from the process environment, never through
        ``env_var()``, so dbt records them in no artifact.
        """
        env = {
            "HERMES_LAKE_ROOT": str(self.lake_root),
            "HERMES_TARGET": self.target,
            "HERMES_DATA_PATH": self.data_path,
            "HERMES_LANDING_ROOT": self.landing_root,
            # dbt's silver_universe reads this file (the seed's own file by default), so it
            # never depends on the seed table having been loaded by the same selection
            "HERMES_UNIVERSE": str(self.universe),
        }
        if self.catalog_url:
            env["HERMES_CATALOG_URL"] = self.catalog_url
        if self.s3 is not None:
            env |= {
                "HERMES_S3_BUCKET": self.s3.bucket,
                "HERMES_S3_PREFIX": self.s3.prefix,
                "HERMES_S3_REGION": self.s3.region,
                "HERMES_S3_URL_STYLE": self.s3.url_style,
                "HERMES_S3_USE_SSL": "true" if self.s3.use_ssl else "false",
            }
            if self.s3.endpoint:
                env["HERMES_S3_ENDPOINT"] = self.s3.endpoint
            if self.s3.access_key and self.s3.secret_key:
                env["HERMES_S3_ACCESS_KEY"] = self.s3.access_key
                env["HERMES_S3_SECRET_KEY"] = self.s3.secret_key
        return env


def _universe() -> Path:
    """``HERMES_UNIVERSE`` (a path, relative to the current folder), checked: an existing,
    readable CSV file with the seed's header. Its rows are checked where they are read
    (:func:`hermes.universe.load_universe`: file, row and field named)."""
    value = _env("HERMES_UNIVERSE")
    if value is None:
        return UNIVERSE_SEED
    path = Path(value).expanduser().resolve()
    if "'" in str(path):  # dbt's silver_universe names it in a SQL string
        raise ValueError(f"HERMES_UNIVERSE: {path}: the path must not contain a quote")
    try:
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), [])
    except OSError as exc:
        raise ValueError(f"HERMES_UNIVERSE: {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"HERMES_UNIVERSE: {path}: not a CSV file ({exc})") from None
    if tuple(header) != UNIVERSE_COLUMNS:
        raise ValueError(
            f"HERMES_UNIVERSE: {path}: the header must be {','.join(UNIVERSE_COLUMNS)}, "
            f"not {','.join(header) or '(empty file)'}"
        )
    return path


def _catalog_url() -> str | None:
    """``HERMES_CATALOG_URL``: a PostgreSQL catalog as a libpq string, without a password."""
    url = _env("HERMES_CATALOG_URL")
    if url is None:
        return None
    if not url.startswith("postgres:"):
        raise ValueError(
            "HERMES_CATALOG_URL must start with 'postgres:' "
            "(e.g. 'postgres:dbname=hermes host=db user=hermes')"
        )
    if "password" in url.lower() or "'" in url:
        raise ValueError(
            "HERMES_CATALOG_URL must not contain a password or a quote: "
            "give the password in PGPASSWORD or ~/.pgpass"
        )
    return url
