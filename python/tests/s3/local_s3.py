"""A real S3-compatible server for the tests: moto's server on 127.0.0.1, in a process of its
own started without coverage's tracer (it runs no Hermes line: traced in the tests' process,
its threads made every S3 request of a lake's build slower; fixtures/children.py).

The server enforces authentication: an IAM user with S3 rights is created, its access key
is the only one accepted, and a bucket is created for the lake. Requests go over HTTP
exactly as they would to MinIO (path-style URLs, no TLS).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests
from fixtures.children import unmeasured

from hermes.config import S3Settings, Settings
from hermes.ingest.report import IngestReport
from hermes.signals.run import SignalSummary

S3_POLICY = """{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
}"""
READ_ONLY_POLICY = """{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]
}"""


@dataclass
class LocalS3:
    """A running server and the one key pair it accepts."""

    server: subprocess.Popen[bytes]
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    read_only_access_key: str
    read_only_secret_key: str = field(repr=False)

    def settings(self, lake_root: Path, prefix: str) -> Settings:
        """A lake under ``s3://<bucket>/<prefix>``, its catalog in ``lake_root``."""
        return Settings(lake_root=lake_root, target="s3", s3=self.s3_settings(prefix))

    def s3_settings(
        self, prefix: str, *, access_key: str | None = None, secret_key: str | None = None
    ) -> S3Settings:
        return S3Settings(
            bucket=self.bucket,
            prefix=prefix,
            endpoint=self.endpoint,
            url_style="path",
            use_ssl=False,
            access_key=access_key or self.access_key,
            secret_key=secret_key or self.secret_key,
        )

    def env(self, lake_root: Path, prefix: str) -> dict[str, str]:
        """The environment a user would export for this lake (``HERMES_TARGET=s3``)."""
        return {
            "HERMES_LAKE_ROOT": str(lake_root),
            "HERMES_TARGET": "s3",
            "HERMES_S3_BUCKET": self.bucket,
            "HERMES_S3_PREFIX": prefix,
            "HERMES_S3_ENDPOINT": self.endpoint,
            "HERMES_S3_URL_STYLE": "path",
            "HERMES_S3_USE_SSL": "false",
            "HERMES_S3_ACCESS_KEY": self.access_key,
            "HERMES_S3_SECRET_KEY": self.secret_key,
        }

    def client(self):  # type: ignore[no-untyped-def]
        """A boto3 S3 client with the accepted key (to inspect what the lake wrote)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix``."""
        paginator = self.client().get_paginator("list_objects_v2")
        return sorted(
            item["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        )

    def stop(self) -> None:
        self.server.terminate()
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_local_s3(bucket: str = "hermes-test") -> LocalS3:
    """Start the server, create the IAM user, its key and the bucket, then require auth."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=unmeasured(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{endpoint}/moto-api/data.json", timeout=5).raise_for_status()
            break
        except requests.RequestException as error:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"moto's server did not start: {error}") from error
            time.sleep(0.1)
    setup = {
        "endpoint_url": endpoint,
        "aws_access_key_id": "setup",
        "aws_secret_access_key": "setup",
        "region_name": "us-east-1",
    }
    iam = boto3.client("iam", **setup)
    keys = {}
    for user, policy in (("hermes", S3_POLICY), ("reader", READ_ONLY_POLICY)):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=policy)
        keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
    boto3.client("s3", **setup).create_bucket(Bucket=bucket)
    # From now on every request must be signed with one of the users' keys.
    requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    return LocalS3(
        server=server,
        endpoint=endpoint,
        bucket=bucket,
        access_key=keys["hermes"]["AccessKeyId"],
        secret_key=keys["hermes"]["SecretAccessKey"],
        read_only_access_key=keys["reader"]["AccessKeyId"],
        read_only_secret_key=keys["reader"]["SecretAccessKey"],
    )


def unique_prefix(name: str) -> str:
    """A fresh key prefix so that tests sharing the bucket never see each other's files."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


@contextmanager
def exported(env: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def captured_output(log_file: Path) -> Iterator[None]:
    """Send everything written to stdout and stderr (Python and native code) to ``log_file``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_file, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with redirect_stdout(log), redirect_stderr(log):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@dataclass(frozen=True)
class Built:
    """What a build's ingest, signal generation and backtests returned."""

    report: IngestReport
    summaries: list[SignalSummary]
    run_ids: list[str]


@contextmanager
def build_lake(settings: Settings, sources: Sequence[Path]) -> Iterator[Built]:
    """Ingest ``sources``, run ``dbt build``, signals and backtests, as ``hermes`` would.

    Output goes to ``<lake_root>/../build.log``, dbt's artifacts and logs to ``../target``.
    The lake's settings are exported during the build only.
    """
    from hermes.backtest.runs import run_backtests
    from hermes.dbt_runner import run_dbt
    from hermes.ingest import ingest_paths
    from hermes.signals.run import generate_signals

    log_file = settings.lake_root.parent / "build.log"
    with exported(settings.dbt_env()):
        with captured_output(log_file):
            report = ingest_paths(sources, settings)
            run_dbt(["build"], settings, target_path=settings.lake_root.parent / "target")
            summaries = generate_signals(settings, "smart_momentum")
            run_ids = run_backtests(settings, "smart_momentum")
    rejected = [r for r in report.results if r.reason is not None]
    assert not rejected, rejected
    yield Built(report, summaries, run_ids)
