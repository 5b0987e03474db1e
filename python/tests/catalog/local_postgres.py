"""A real PostgreSQL server for the tests, from Debian's packages (``/usr/lib/postgresql``).

``initdb`` creates a cluster in a temporary folder owned by the ``postgres`` system user
(PostgreSQL refuses to run as root), and ``postgres`` listens on 127.0.0.1 on a free port,
its socket in that folder. The superuser may connect only through the socket (to create the
lake's role and database); over TCP every client must give a password (SCRAM-SHA-256), as a
team's catalog server would require.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from s3.local_s3 import free_port

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
SERVICE_USER = "postgres"
ROLE = "hermes"
DATABASE = "hermes"
HBA = """\
local all postgres trust
host all all 127.0.0.1/32 scram-sha-256
"""


def pg_bin() -> Path | None:
    """The newest installed server's ``bin`` folder, if any holds ``initdb`` and ``postgres``."""
    for folder in PG_BIN_DIRS:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


@dataclass
class LocalPostgres:
    """A running server, its lake role and that role's password."""

    process: subprocess.Popen[bytes]
    folder: Path
    bin: Path
    port: int
    password: str = field(repr=False)

    @property
    def catalog_url(self) -> str:
        """``HERMES_CATALOG_URL`` for the lake's database: no password, as users write it."""
        return f"postgres:dbname={DATABASE} host=127.0.0.1 port={self.port} user={ROLE}"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser through the socket (read from stdin, never argv)."""
        result = subprocess.run(
            [
                str(self.bin / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.folder),
                "-p",
                str(self.port),
                "-U",
                SERVICE_USER,
                "-d",
                database,
            ],
            input=sql,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def stop(self) -> None:
        """Fast shutdown, then remove the cluster's folder."""
        if self.process.poll() is None:
            # "fast" mode: disconnect clients, then shut down cleanly
            subprocess.run(
                _as_service_user(
                    [
                        str(self.bin / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.folder / "data"),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "30",
                    ]
                ),
                capture_output=True,
                check=False,
                timeout=60,
            )
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_service_user(args: list[str]) -> list[str]:
    return args if os.geteuid() != 0 else ["runuser", "-u", SERVICE_USER, "--", *args]


def start_local_postgres(bin_dir: Path) -> LocalPostgres:
    """Create a cluster, start it, and create the ``hermes`` role (with a password) and DB."""
    folder = Path(tempfile.mkdtemp(prefix="hermes-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user=SERVICE_USER, group=SERVICE_USER)
    data = folder / "data"
    subprocess.run(
        _as_service_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SERVICE_USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ]
        ),
        capture_output=True,
        check=True,
        timeout=60,
    )
    (data / "pg_hba.conf").write_text(HBA)
    port = free_port()
    with open(folder / "server.log", "ab") as log:
        process = subprocess.Popen(
            _as_service_user(
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={folder}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "password_encryption=scram-sha-256",
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    password = "pgMarker" + secrets.token_hex(12)
    server = LocalPostgres(process, folder, bin_dir, port, password)
    try:
        _wait_ready(server)
        # The password reaches the server in this statement only, through psql's stdin.
        server.psql(
            f"create role {ROLE} login password '{password}';\n"
            f"create database {DATABASE} owner {ROLE};\n"
        )
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: LocalPostgres, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited: {server.log_file.read_text()[-2000:]}")
        ready = subprocess.run(
            [str(server.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(server.port)],
            check=False,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"postgres did not start in {timeout:.0f} s on port {server.port}")
