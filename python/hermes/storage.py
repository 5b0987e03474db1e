"""File access for the landing zone and reports, on a local folder or on S3.

Paths are strings: local absolute paths, or ``s3://bucket/key`` URLs on the ``s3`` target.
S3 access goes through ``pyarrow.fs.S3FileSystem`` with credentials from :class:`Settings`
(never logged). Writes are atomic on both: a local file is written to a temporary name in
the same folder and renamed; an S3 object only becomes visible once its upload completes.

S3 requests that fail on the network or with a server error are retried (AWS standard retry
strategy, with backoff); a failure that remains raises :class:`StorageError`, which names the
endpoint, the operation and the object, never the credentials.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=S3_ATTEMPTS),
    )


S3_ATTEMPTS = 4
"""Attempts per S3 request on network and server errors (access errors are not retried)."""


class StorageError(OSError):
    """An object-store request failed; the message names the endpoint, never a credential."""


@contextmanager
def _explained(settings: Settings, operation: str, path: str) -> Iterator[None]:
    """Re-raise S3 failures as :class:`StorageError` naming the endpoint and the object."""
    if settings.s3 is None:
        yield
        return
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as exc:
        s3 = settings.s3
        endpoint = s3.endpoint or f"AWS S3 ({s3.region})"
        raise StorageError(
            f"S3 endpoint {endpoint}: cannot {operation} {path}: {_without_secrets(settings, exc)}"
        ) from None


def _without_secrets(settings: Settings, exc: BaseException) -> str:
    text = str(exc)
    secret = settings.s3.secret_key if settings.s3 else None
    return text.replace(secret, "***") if secret else text


def _fs_path(path: str) -> str:
    return path.removeprefix("s3://")


def read_bytes(settings: Settings, path: str) -> bytes:
    with _explained(settings, "read", path):
        with filesystem(settings).open_input_stream(_fs_path(path)) as stream:
            return stream.read()


def exists(settings: Settings, path: str) -> bool:
    with _explained(settings, "look up", path):
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
    with _explained(settings, "write", path):
        with filesystem(settings).open_output_stream(_fs_path(path)) as stream:
            stream.write(data)


def move(settings: Settings, source: str, destination: str) -> None:
    """Move a file (rename locally; copy then delete on S3)."""
    fs = filesystem(settings)
    if settings.s3 is None:
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)
        return
    with _explained(settings, f"move {source} to", destination):
        fs.copy_file(_fs_path(source), _fs_path(destination))
        fs.delete_file(_fs_path(source))


def delete(settings: Settings, path: str) -> None:
    """Delete one file (no error if it is already gone)."""
    if settings.s3 is None:
        Path(path).unlink(missing_ok=True)
        return
    with _explained(settings, "delete", path), suppress(FileNotFoundError):
        filesystem(settings).delete_file(_fs_path(path))


def list_files(settings: Settings, folder: str, suffix: str = "") -> list[str]:
    """Files under ``folder`` (recursive), as full paths/URLs, sorted."""
    fs = filesystem(settings)
    selector = pafs.FileSelector(_fs_path(folder), recursive=True, allow_not_found=True)
    prefix = "s3://" if settings.s3 else ""
    with _explained(settings, "list", folder):
        infos = fs.get_file_info(selector)
    return sorted(
        prefix + info.path
        for info in infos
        if info.type == pafs.FileType.File and info.path.endswith(suffix)
    )
