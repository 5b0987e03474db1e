"""File access for the landing zone and reports, on a local folder or on S3.

Paths are strings: local absolute paths, or ``s3://bucket/key`` URLs on the ``s3`` target.
S3 access goes through ``pyarrow.fs.S3FileSystem`` with credentials from :class:`Settings`
(never logged). Writes are atomic on both: a local file is written to a temporary name in
the same folder and renamed; an S3 object only becomes visible once its upload completes.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow.fs as pafs

from hermes.config import Settings


def filesystem(settings: Settings) -> pafs.FileSystem:
    """The filesystem that holds ``settings.storage_root``."""
    s3 = settings.s3
    if s3 is None:
        return pafs.LocalFileSystem()
    scheme = "https" if s3.use_ssl else "http"
    return pafs.S3FileSystem(
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        region=s3.region,
        endpoint_override=s3.endpoint.split("://")[-1] if s3.endpoint else None,
        scheme=scheme,
        force_virtual_addressing=s3.url_style == "vhost",
        connect_timeout=5,
        request_timeout=30,
    )


def _fs_path(path: str) -> str:
    return path.removeprefix("s3://")


def read_bytes(settings: Settings, path: str) -> bytes:
    with filesystem(settings).open_input_stream(_fs_path(path)) as stream:
        return stream.read()


def exists(settings: Settings, path: str) -> bool:
    info = filesystem(settings).get_file_info(_fs_path(path))
    return info.type != pafs.FileType.NotFound


def write_bytes_atomic(settings: Settings, path: str, data: bytes) -> None:
    """Write ``data`` at ``path`` so that readers see either nothing or the whole file."""
    if settings.s3 is None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        return
    with filesystem(settings).open_output_stream(_fs_path(path)) as stream:
        stream.write(data)


def move(settings: Settings, source: str, destination: str) -> None:
    """Move a file (rename locally; copy then delete on S3)."""
    fs = filesystem(settings)
    if settings.s3 is None:
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)
        return
    fs.copy_file(_fs_path(source), _fs_path(destination))
    fs.delete_file(_fs_path(source))


def list_files(settings: Settings, folder: str, suffix: str = "") -> list[str]:
    """Files under ``folder`` (recursive), as full paths/URLs, sorted."""
    fs = filesystem(settings)
    selector = pafs.FileSelector(_fs_path(folder), recursive=True, allow_not_found=True)
    prefix = "s3://" if settings.s3 else ""
    return sorted(
        prefix + info.path
        for info in fs.get_file_info(selector)
        if info.type == pafs.FileType.File and info.path.endswith(suffix)
    )


def delete(settings: Settings, path: str) -> None:
    """Delete one file (missing files are ignored)."""
    fs = filesystem(settings)
    if exists(settings, path):
        fs.delete_file(_fs_path(path))
