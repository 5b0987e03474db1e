"""The live process imports only what it uses: the ingest package's decoders (polars) and the
batch's heavy libraries stay out of it until something calls them."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hermes.ingest
from hermes.ingest.local_files import ingest_paths


def test_live_engine_import_leaves_decoders_and_batch_libraries_out() -> None:
    code = (
        "import sys, hermes.live.engine, hermes.live.replay; "
        "print(sorted(m for m in ('polars', 'vectorbt', 'pandas', 'dbt', 'prefect', "
        "'hermes.ingest.csv_import', 'hermes.ingest.download') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_ingest_package_names_resolve_on_first_use() -> None:
    assert hermes.ingest.ingest_paths is ingest_paths
    for name in hermes.ingest.__all__:
        assert getattr(hermes.ingest, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'land_everything'"):
        _ = hermes.ingest.land_everything
