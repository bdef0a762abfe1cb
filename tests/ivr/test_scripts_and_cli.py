"""The follow-up FastAGI scripts (voicemail, callback, busy) and `centralita ivr` itself."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from ivr.app import build_server
from servicedesk.db import make_engine
from servicedesk.models import Base
from tests.conftest import EXAMPLE_CONFIG
from tests.ivr.fake_asterisk import Caller, FakeAsterisk, default_env
from tests.ivr.fake_services import FakeServices
from tests.servers import free_port


async def run_script(cfg, svc, script: str, variables: dict[str, str]):
    server = build_server(cfg, svc, host="127.0.0.1", port=0)
    await server.start()
    try:
        fake = FakeAsterisk(Caller(variables=variables))
        return await fake.run(server.port, default_env(agi_network_script=script))
    finally:
        await server.shutdown(1)


async def test_voicemail_script_creates_incident(example_config) -> None:
    svc = FakeServices()
    conv = await run_script(
        example_config,
        svc,
        "voicemail",
        {
            "CENTRALITA_RECORDING": "/rec/1-0.wav",
            "CENTRALITA_CONTACT": "42",
            "IVR_LANG": "en",
            "CENTRALITA_IVR": "lang=en;ident=ani;hours=closed;after_hours=message",
        },
    )
    assert conv.set_vars == {"CENTRALITA_INCIDENT": "9001"}
    (msg,) = svc.messages
    assert msg["recording_path"] == "/rec/1-0.wav" and msg["language"] == "en"
    assert msg["reason"] == "after_hours"
    assert msg["identity"].contact_id == 42 and msg["ani"] == "5551010"


async def test_voicemail_script_without_recording_does_nothing(example_config) -> None:
    svc = FakeServices()
    conv = await run_script(example_config, svc, "voicemail", {})
    assert svc.messages == [] and conv.commands[-1][0] == "VERBOSE"


async def test_callback_script(example_config) -> None:
    svc = FakeServices()
    conv = await run_script(example_config, svc, "callback", {"CENTRALITA_CONTACT": "x"})
    assert conv.set_vars == {"CENTRALITA_CALLBACK_ID": "1"}
    assert svc.callbacks[0]["number"] == "5551010" and svc.callbacks[0]["identity"] is None
    assert svc.callbacks[0]["language"] == "es"


async def test_centralita_ivr_serves_until_sigterm(tmp_path: Path, redis_url: str) -> None:
    db_url = f"sqlite:///{tmp_path / 'ivr.db'}"
    Base.metadata.create_all(make_engine(db_url))
    port = free_port()
    env = dict(os.environ, CENTRALITA_DATABASE_URL=db_url, CENTRALITA_REDIS_URL=redis_url)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "centralita.cli",
        "ivr",
        "--config",
        str(EXAMPLE_CONFIG),
        "--port",
        str(port),
        "--grace",
        "2",
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(200):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        conv = await FakeAsterisk(Caller()).run(port, default_env(agi_network_script="survey2"))
        assert conv.commands[0][0] == "VERBOSE" and conv.closed_by_server
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.stderr is not None
    err = (await proc.stderr.read()).decode()
    assert '"outcome":"unknown_script"' in err


async def test_centralita_ivr_refuses_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[lines]\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "centralita.cli",
        "ivr",
        "--config",
        str(bad),
        stderr=asyncio.subprocess.PIPE,
    )
    assert await asyncio.wait_for(proc.wait(), 20) == 2


async def test_survey_script_stores_score(example_config) -> None:
    svc = FakeServices()
    server = build_server(example_config, svc, host="127.0.0.1", port=0)
    await server.start()
    try:
        fake = FakeAsterisk(Caller([("survey_intro", "7"), ("survey_intro", "4")]))
        conv = await fake.run(server.port, default_env(agi_network_script="survey"))
    finally:
        await server.shutdown(1)
    assert svc.surveys == [("1795339738.0", 4)]
    assert conv.played == [
        "centralita/survey_intro",
        "centralita/survey_intro",
        "centralita/survey_thanks",
    ]


async def test_survey_on_hung_up_channel_ends_quietly(example_config) -> None:
    svc = FakeServices()
    server = build_server(example_config, svc, host="127.0.0.1", port=0)
    await server.start()
    try:
        fake = FakeAsterisk(Caller(hangup_on="survey_intro"))
        conv = await fake.run(server.port, default_env(agi_network_script="survey"))
    finally:
        await server.shutdown(1)
    assert svc.surveys == [] and conv.closed_by_server


async def test_server_runs_on_uvloop(example_config) -> None:
    """Production runs on uvloop (ivr.eventloop); its transports differ from asyncio's."""
    from ivr.eventloop import run

    async def main():
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        svc = FakeServices()
        server = build_server(example_config, svc, host="127.0.0.1", port=0)
        await server.start()
        try:
            caller = Caller([("main_menu", "1"), ("category_intro", "4")])
            return await FakeAsterisk(caller).run(server.port, default_env())
        finally:
            await server.shutdown(1)

    conv = await asyncio.to_thread(run, main())
    assert conv.set_vars["CENTRALITA_QUEUE"] == "hardware_es"
    assert conv.closed_by_server


def test_centralita_ivr_refuses_a_missing_env_file(tmp_path: Path) -> None:
    import subprocess

    text = EXAMPLE_CONFIG.read_text().replace(
        'pbx_id = "pbx-cdmx-1"', 'pbx_id = "pbx-cdmx-1"\nenv_file = "secrets.env"'
    )
    config = tmp_path / "centralita.toml"
    config.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "centralita", "ivr", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("centralita ivr: connections.env_file: ")
    assert "secrets.env" in proc.stderr
