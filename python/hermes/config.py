"""Where the lake lives and how to reach it, read from the environment only.

Nothing secret is ever stored in a file of this project: S3 credentials come from
``HERMES_S3_ACCESS_KEY`` / ``HERMES_S3_SECRET_KEY`` (or the standard AWS names) at run time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The dbt project folder (where ``dbt_project.yml`` lives)."""

CATALOG_FILE = "hermes.ducklake"
LAKE_ALIAS = "lake"


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

    @classmethod
    def from_env(cls) -> Settings:
        root = Path(_env("HERMES_LAKE_ROOT", default=str(PROJECT_ROOT / "lake")) or "lake")
        if not root.is_absolute():
            root = (PROJECT_ROOT / root).resolve()
        target = _env("HERMES_TARGET", default="local") or "local"
        s3 = None
        if target == "s3":
            bucket = _env("HERMES_S3_BUCKET")
            if not bucket:
                raise ValueError("HERMES_TARGET=s3 needs HERMES_S3_BUCKET")
            s3 = S3Settings(
                bucket=bucket,
                prefix=_env("HERMES_S3_PREFIX", default="hermes") or "",
                endpoint=_env("HERMES_S3_ENDPOINT", "AWS_ENDPOINT_URL"),
                region=_env("HERMES_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", default="us-east-1")
                or "us-east-1",
                url_style=_env("HERMES_S3_URL_STYLE", default="path") or "path",
                use_ssl=(_env("HERMES_S3_USE_SSL", default="true") or "true").lower()
                in ("1", "true", "yes"),
                access_key=_env("HERMES_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
                secret_key=_env("HERMES_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
            )
        return cls(lake_root=root, target=target, s3=s3)

    @property
    def catalog_path(self) -> Path:
        """The DuckLake catalog (a DuckDB file), always local by default."""
        return self.lake_root / CATALOG_FILE

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
    def reports_root(self) -> Path:
        return self.lake_root / "reports"

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile reads (no secrets among them)."""
        return {
            "HERMES_LAKE_ROOT": str(self.lake_root),
            "HERMES_TARGET": self.target,
            "HERMES_DATA_PATH": self.data_path,
            "HERMES_LANDING_ROOT": self.landing_root,
        }
