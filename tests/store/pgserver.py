"""A throw-away PostgreSQL server on loopback, for the store tests and ``bench/store.py``.

``initdb`` into a temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1 with the socket
in the data folder; nothing outside that folder is touched and ``stop`` deletes it. As root the
server runs as user ``postgres`` (PostgreSQL refuses to run as root), so the folder is chowned
to it and its parent made traversable. Needs Debian's ``postgresql`` package (or any
``initdb``/``pg_ctl`` on PATH).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """The binaries are missing or the server would not start; the message says which."""


def find_bin() -> Path | None:
    """The newest PostgreSQL bin folder (Debian's layout first, then PATH)."""
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
    )
    for folder in reversed(folders):
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """One server; ``url(db)`` connects to a database on it as the superuser ``postgres``."""

    def __init__(self, *, fsync: bool = True):
        self.bin = find_bin()
        if self.bin is None:
            raise PostgresUnavailable(
                "PostgreSQL binaries (initdb, pg_ctl) not found; apt-get install postgresql"
            )
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable(
                    "running as root but there is no user 'postgres' to run the server as"
                ) from exc
        self.fsync = fsync
        self.root = Path(tempfile.mkdtemp(prefix="movierec-pg-"))
        self.root.chmod(0o755)  # the server user must traverse it
        self.data = self.root / "data"
        self.port = free_port()
        self._database_count = 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            log = self.data / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{args[0]} failed ({result.returncode}): "
                f"{result.stderr.strip()[-1000:]} {tail}".strip()
            )
        return result

    def init(self) -> ThrowawayPostgres:
        self.data.mkdir()
        if self.as_root:
            os.chown(self.data, self._owner.pw_uid, self._owner.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        return self.start()

    def start(self) -> ThrowawayPostgres:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data}"
        if not self.fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-w",
            "-t",
            "120",  # after a simulated crash, recovery fsyncs the data folder: >30 s on a busy disk
            "-o",
            options,
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` cleanly, ``immediate`` like a crash (WAL replay on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        self._database_count += 1
        name = f"{prefix}_{os.getpid()}_{self._database_count}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
