"""Throwaway real servers for tests: redis-server and PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REDIS_CANDIDATES = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def redis_binary() -> str:
    for path in REDIS_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("redis-server is not installed: run the README's test command")
    return found


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="centralita-redis-")
        self.proc = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bindir() -> Path:
    base = Path("/usr/lib/postgresql")
    versions = sorted(base.glob("*/bin/initdb")) if base.exists() else []
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: run the README's test command")
    return versions[-1].parent


class PostgresServer:
    """A private cluster in a temp dir, run as the postgres user (it refuses root)."""

    def __init__(self, *, durable: bool = False) -> None:
        """`durable`: PostgreSQL's own defaults (fsync on, full pages), as a benchmark
        against SQLite wants; otherwise tuned for tests (nothing reaches the disk)."""
        self.port = free_port()
        bindir = _pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="centralita-pg-")
        os.chmod(self.dir, 0o755)
        data = Path(self.dir) / "data"
        run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            [
                *run_as,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.proc = subprocess.Popen(
            [
                *run_as,
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                self.dir,
                "-c",
                "listen_addresses=127.0.0.1",
                *(
                    []
                    if durable
                    else ["-c", "fsync=off", "-c", "synchronous_commit=off"]
                    + ["-c", "full_page_writes=off"]
                ),
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)
        self._counter = 0

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, prefix: str = "t") -> str:
        import psycopg

        self._counter += 1
        name = f"{prefix}_{os.getpid()}_{self._counter}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                    autocommit=True,
                ) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return self.url(name)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
