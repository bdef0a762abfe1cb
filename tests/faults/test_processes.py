"""Processes fail loudly and come back (issue 9, item 6).

One clear line at start for a missing or unwritable database and a bad Redis or
AMI address; a database file deleted under a running listener or IVR is noticed
and the process exits non-zero instead of writing into a ghost; the demo
runner restarts a crashed child and says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cti_panel.demo import runner
from tests.faults.stack import ROOT, Stack, wait_until


def _run(stack: Stack, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "centralita", *argv, "--config", str(stack.config)],
        cwd=ROOT,
        env={**stack.env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("role", ["listener", "ivr"])
def test_start_up_problems_are_one_clear_line(tmp_path: Path, role: str) -> None:
    stack = Stack(tmp_path)
    cases = {
        "directory": (
            {"CENTRALITA_DATABASE_URL": f"sqlite:///{tmp_path}/nowhere/centralita.db"},
            "database directory",
        ),
        "file": (
            {"CENTRALITA_DATABASE_URL": f"sqlite:///{tmp_path}/missing.db"},
            "does not exist",
        ),
        "redis": ({"CENTRALITA_REDIS_URL": "bogus://127.0.0.1:1"}, "bad Redis URL"),
    }
    if os.geteuid() != 0:  # root writes anywhere: an unwritable file is no problem for it
        readonly = tmp_path / "readonly.db"
        readonly.write_bytes(stack.db_path.read_bytes())
        readonly.chmod(0o444)
        cases["unwritable"] = (
            {"CENTRALITA_DATABASE_URL": f"sqlite:///{readonly}"},
            "not writable",
        )
    for name, (env, words) in cases.items():
        done = _run(stack, [role], **env)
        assert done.returncode == 2, (name, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr, name
        assert lines[0].startswith(f"centralita {role}: ")


def test_bad_ami_address_is_one_clear_line(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    text = stack.config.read_text().replace('host = "127.0.0.1"', 'host = "no host here"', 1)
    stack.config.write_text(text)
    done = _run(stack, ["listener"])
    assert done.returncode == 2 and "bad AMI address" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("role", ["listener", "ivr"])
def test_database_deleted_under_a_running_process_exits_non_zero(tmp_path: Path, role: str) -> None:
    stack = Stack(tmp_path)
    text = stack.config.read_text().replace("port = 4573", f"port = {_free()}", 1)
    stack.config.write_text(text)
    proc = stack.spawn(role, ["-m", "centralita", role, "--config", str(stack.config)])
    try:
        marker = "FastAGI listening" if role == "ivr" else "AMI 127.0.0.1"
        wait_until(lambda: marker in stack.log(role) or proc.poll() is not None, 30, "started")
        time.sleep(1.2)  # past the first file check
        assert proc.poll() is None, stack.log(role)
        stack.db_path.unlink()
        proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert "was deleted" in stack.log(role)


def _free() -> int:
    from tests.servers import free_port

    return free_port()


def test_demo_runner_restarts_a_crashed_child(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sup = runner.Supervisor()
    flag = tmp_path / "ran"
    script = (
        "import pathlib, sys, time; p = pathlib.Path(sys.argv[1]);"
        "n = int(p.read_text() or 0) if p.exists() else 0; p.write_text(str(n + 1));"
        "sys.exit(3) if n < 2 else time.sleep(30)"
    )
    child = sup.start(
        "worker", [sys.executable, "-c", script, str(flag)], dict(os.environ), tmp_path
    )
    try:
        for _ in range(2):
            wait_until(lambda: sup.crashed() is not None, 10, "the child crashes")
            dead = sup.crashed()
            assert dead is child and sup.restart(dead)
        time.sleep(1.0)
        assert sup.crashed() is None and flag.read_text() == "3"  # the third run stays up
    finally:
        sup.stop_all()
    out = capsys.readouterr().out
    assert out.count("worker crashed (exit code 3); restarted it") == 2


def test_demo_runner_gives_up_on_a_child_that_keeps_dying(tmp_path: Path) -> None:
    sup = runner.Supervisor()
    child = sup.start("worker", [sys.executable, "-c", "raise SystemExit(4)"], {}, tmp_path)
    try:
        restarts = 0
        while True:
            wait_until(lambda: sup.crashed() is not None, 10, "the child crashes")
            if not sup.restart(child):
                break
            restarts += 1
        assert restarts == runner.RESTARTS_MAX
    finally:
        sup.stop_all()


def test_quarantine_is_listed_for_an_admin(tmp_path: Path) -> None:
    from servicedesk import quarantine
    from servicedesk.db import make_engine, make_sessionmaker, session_scope

    stack = Stack(tmp_path)
    engine = make_engine(stack.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        quarantine.keep(
            s,
            "listener:pbx1",
            "call",
            "1795339491.0",
            {"hold_seconds": "9" * 30},
            "IntegrityError: CHECK constraint failed",
        )
    engine.dispose()
    done = _run(stack, ["listener", "quarantine"])
    assert done.returncode == 0, done.stderr
    assert "1 quarantined records" in done.stdout
    assert "'1795339491.0'" in done.stdout and "CHECK constraint failed" in done.stdout
    assert "9" * 30 in done.stdout


def test_database_watch_reports_deleted_replaced_and_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from servicedesk.preflight import DatabaseWatch

    db = tmp_path / "w.db"
    db.write_bytes(b"x")
    watch = DatabaseWatch(f"sqlite:///{db}")
    assert watch.problem() is None
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if m & os.W_OK else real(p, m))
    assert "read-only" in (watch.problem() or "")  # a read-only mount refuses even root
    monkeypatch.setattr(os, "access", real)
    other = tmp_path / "other.db"
    other.write_bytes(b"y")  # exists alongside: surely another inode
    db.unlink()
    assert "was deleted" in (watch.problem() or "")
    os.replace(other, db)  # another file under the same name
    assert "replaced" in (watch.problem() or "")
    assert DatabaseWatch("postgresql://u@127.0.0.1/x").problem() is None
