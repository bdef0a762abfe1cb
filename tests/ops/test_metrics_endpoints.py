"""Every process answers `/metrics` (parsed as Prometheus text) and `/healthz`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from servicedesk.db import make_engine
from servicedesk.models import Base
from tests.ami_listener.replay_server import ReplayServer, frames_of
from tests.ami_listener.replay_server import Session as ReplaySession
from tests.ops.conftest import ROOT, config_with
from tests.servers import free_port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def _poll(url: str, timeout: float = 20.0) -> tuple[int, str]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await asyncio.to_thread(_get, url)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_listener_exposes_metrics_and_readiness(
    traces_dir: Path, tmp_path: Path, redis_url: str
) -> None:
    frames = frames_of((traces_dir / "answered_agent_hangup" / "ami.raw").read_bytes())
    server = ReplayServer([ReplaySession(frames=frames)])
    port = await server.start()
    mport = free_port()
    config = config_with(
        tmp_path,
        f"\n[connections.metrics]\nlistener_port = {mport}\nivr_port = 0\n",
        **{"port = 5038": f"port = {port}"},
    )
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
        status, body = await _poll(f"http://127.0.0.1:{mport}/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert health["ready"] is True and health["ami"] == "up"
        assert health["pbx"] == "pbx-cdmx-1"
        pbx = (("pbx", "pbx-cdmx-1"),)
        wanted = sum(map(len, frames)) * 0.9  # the whole trace, less the login exchange
        for _ in range(100):  # the replay streams on; wait until it has all arrived
            status, text = await asyncio.to_thread(_get, f"http://127.0.0.1:{mport}/metrics")
            assert status == 200
            samples = _samples(text)
            if samples[("centralita_ami_bytes_total", pbx)] >= wanted:
                break
            await asyncio.sleep(0.1)
        assert samples[("centralita_ami_events_total", pbx)] >= 10
        assert samples[("centralita_ami_bytes_total", pbx)] >= wanted
        assert samples[("centralita_ami_link_up", (("pbx", "pbx-cdmx-1"), ("state", "up")))] == 1
        assert ("centralita_calls_in_progress", pbx) in samples
        assert ("centralita_pops_published_total", pbx) in samples
        # a batch written to the database, timed; nothing quarantined, no task crashed
        for _ in range(100):
            if samples.get(("centralita_db_batch_seconds_count", pbx), 0) >= 1:
                break
            await asyncio.sleep(0.1)
            _, text = await asyncio.to_thread(_get, f"http://127.0.0.1:{mport}/metrics")
            samples = _samples(text)
        assert samples[("centralita_db_batch_seconds_count", pbx)] >= 1
        assert samples[("centralita_db_batch_seconds_sum", pbx)] > 0
        assert samples[("centralita_quarantined_rows_total", ())] == 0
        assert samples[("centralita_db_batch_failures_total", ())] == 0
        status, _ = await asyncio.to_thread(_get, f"http://127.0.0.1:{mport}/healthz/live")
        assert status == 200
        # the AMI side goes away: the process stays live but is no longer ready
        await server.close()
        for _ in range(100):
            status, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{mport}/healthz")
            if status == 503:
                break
            await asyncio.sleep(0.1)
        assert status == 503 and json.loads(body)["ready"] is False
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
        await server.close()
    engine.dispose()


async def test_ivr_exposes_session_and_command_metrics(tmp_path: Path, redis_url: str) -> None:
    mport, agi_port = free_port(), free_port()
    config = config_with(tmp_path, f"\n[connections.metrics]\nivr_port = {mport}\n")
    db_url = f"sqlite:///{tmp_path / 'ivr.db'}"
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    env = dict(os.environ, CENTRALITA_DATABASE_URL=db_url, CENTRALITA_REDIS_URL=redis_url)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "centralita.cli",
        "ivr",
        "--config",
        str(config),
        "--port",
        str(agi_port),
        "--log-format",
        "json",
        cwd=ROOT,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        status, body = await _poll(f"http://127.0.0.1:{mport}/healthz")
        for _ in range(100):  # ready once the FastAGI port listens
            if status == 200:
                break
            await asyncio.sleep(0.1)
            status, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{mport}/healthz")
        assert status == 200 and json.loads(body)["ready"] is True
        # one FastAGI session for an unknown script: answered and ended by the server
        reader, writer = await asyncio.open_connection("127.0.0.1", agi_port)
        writer.write(b"agi_network: yes\nagi_network_script: nosuchscript\nagi_uniqueid: 1.1\n\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
        assert line  # the server spoke first command
        while line:
            writer.write(b"200 result=0\n")
            await writer.drain()
            try:
                line = await asyncio.wait_for(reader.readline(), 2)
            except TimeoutError:
                break
        writer.close()
        samples: dict = {}
        for _ in range(50):
            status, text = await asyncio.to_thread(_get, f"http://127.0.0.1:{mport}/metrics")
            samples = _samples(text)
            if samples.get(("centralita_agi_sessions_total", (("outcome", "completed"),))):
                break
            await asyncio.sleep(0.1)
        assert samples[("centralita_agi_sessions_total", (("outcome", "completed"),))] == 1
        assert samples[("centralita_agi_sessions_active", ())] == 0
        counts = [
            v for (name, _), v in samples.items() if name == "centralita_agi_command_seconds_count"
        ]
        assert sum(counts) >= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    engine.dispose()
    # JSON lines: every line one object; the ones about the call carry its linkedid.
    lines = [json.loads(raw) for raw in err.decode().splitlines() if raw.strip()]
    warning = [ln for ln in lines if ln.get("level") == "WARNING"]
    assert warning and warning[0]["linkedid"] == "1.1", lines
    assert "nosuchscript" in warning[0]["msg"]
    call = [ln for ln in lines if ln.get("script") == "nosuchscript"]
    assert call and call[0]["uniqueid"] == "1.1" and call[0]["outcome"] == "unknown_script"
    started = [ln for ln in lines if "metrics and health" in ln.get("msg", "")]
    assert started and "linkedid" not in started[0]


def test_json_formatter_names_the_call_from_context() -> None:
    import logging

    from centralita.logsetup import CALL_LINKEDID, JsonLineFormatter

    fmt = JsonLineFormatter()
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    plain = json.loads(fmt.format(rec))
    assert plain["msg"] == "hello world" and "linkedid" not in plain
    token = CALL_LINKEDID.set("1733300000.7")
    try:
        tagged = json.loads(fmt.format(rec))
    finally:
        CALL_LINKEDID.reset(token)
    assert tagged["linkedid"] == "1733300000.7"
    assert tagged["ts"].endswith("+00:00") and tagged["level"] == "INFO"


def test_fault_counters_are_exported_under_their_names() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from centralita.metrics import FaultCountersCollector
    from servicedesk import metrics

    metrics.reset()
    metrics.incr("listener.rows_quarantined", 3)
    metrics.incr("task.flusher.crashes")
    metrics.incr("listener.unknown_contact", 2)
    registry = CollectorRegistry()
    registry.register(FaultCountersCollector())
    samples = _samples(generate_latest(registry).decode())
    metrics.reset()
    assert samples[("centralita_quarantined_rows_total", ())] == 3
    assert samples[("centralita_db_batch_failures_total", ())] == 0
    assert samples[("centralita_task_crashes_total", (("task", "flusher"),))] == 1
    assert samples[("centralita_events_total", (("name", "listener.unknown_contact"),))] == 2
