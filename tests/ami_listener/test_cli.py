"""`centralita listener` as a process: records from a replayed trace, flushed on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import select

from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.models import Base, Call
from tests.ami_listener.replay_server import ReplayServer, frames_of
from tests.ami_listener.replay_server import Session as ReplaySession

ROOT = Path(__file__).resolve().parents[2]


async def test_listener_command_records_and_flushes_on_sigterm(
    traces_dir: Path, tmp_path: Path, redis_url: str
) -> None:
    frames = frames_of((traces_dir / "exit_timeout" / "ami.raw").read_bytes())
    server = ReplayServer([ReplaySession(frames=frames)])
    port = await server.start()
    text = (ROOT / "centralita.example.toml").read_text()
    text = text.replace("port = 5038", f"port = {port}", 1)
    text = text.replace('path = "/var/log/asterisk/queue_log"', f'path = "{tmp_path}/ql"')
    config = tmp_path / "centralita.toml"
    config.write_text(text)
    db_url = f"sqlite:///{tmp_path / 'listener.db'}"
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    env = dict(
        os.environ,
        CENTRALITA_AMI_SECRET="s3cret",
        CENTRALITA_DATABASE_URL=db_url,
        CENTRALITA_REDIS_URL=redis_url,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "centralita.cli",
        "listener",
        "--config",
        str(config),
        cwd=ROOT,
        env=env,
    )
    try:
        await asyncio.wait_for(server.streamed.wait(), 30)
        await asyncio.sleep(0.5)
        assert any(
            a.get("Action") == "Login" and a.get("Secret") == "s3cret" for a in server.actions
        )
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
        await server.close()
    with make_sessionmaker(engine)() as s:
        (call,) = s.scalars(select(Call)).all()
    assert (call.outcome, call.hold_seconds, call.pbx_id) == ("timeout", 10, "pbx-cdmx-1")
    engine.dispose()


async def test_listener_command_needs_the_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CENTRALITA_AMI_SECRET"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "centralita.cli",
        "listener",
        "--config",
        str(ROOT / "centralita.example.toml"),
        cwd=ROOT,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and b"CENTRALITA_AMI_SECRET" in err
