"""Classic AGI on pyst2: its quirks in-process, and the whole flow as a real subprocess."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from ivr.agi_protocol import AgiCommandError, ChannelHungUp
from ivr.classic_agi import ClassicAgiChannel, open_agi
from servicedesk.db import make_engine
from servicedesk.models import Base
from tests.conftest import EXAMPLE_CONFIG
from tests.ivr.fake_asterisk import Caller, FakeAsterisk, default_env

ENV = "".join(f"{k}: {v}\n" for k, v in default_env().items()) + "\n"


def channel(replies: str) -> tuple[ClassicAgiChannel, io.StringIO]:
    out = io.StringIO()
    return ClassicAgiChannel(open_agi(stdin=io.StringIO(ENV + replies), stdout=out)), out


async def test_env_and_our_quoting_reach_asterisk() -> None:
    ch, out = channel("200 result=1\n200 result=1 (5551010)\n")
    assert ch.env["agi_uniqueid"] == "1795339738.0"
    await ch.set_variable("CENTRALITA_IVR", 'x" "y\\\nHANGUP')
    assert await ch.get_variable("CALLERID(num)") == "5551010"
    assert out.getvalue() == (
        'SET VARIABLE "CENTRALITA_IVR" "x\\" \\"y\\\\HANGUP"\nGET VARIABLE "CALLERID(num)"\n'
    )


async def test_result_minus_one_and_511_are_hangups() -> None:
    ch, _ = channel("200 result=-1\n")
    with pytest.raises(ChannelHungUp):
        await ch.stream_file("centralita/main_menu", "123")
    assert ch.dead
    ch, _ = channel("511 Command Not Permitted on a dead channel or intercept routine\n")
    with pytest.raises(ChannelHungUp):
        await ch.say_digits("42")
    assert ch.dead


async def test_hangup_line_or_eof_valueerror_ends_conversation() -> None:
    ch, _ = channel("HANGUP\n")
    with pytest.raises(ChannelHungUp):
        await ch.get_variable("X")
    with pytest.raises(Exception, match="lost"):
        await ch.get_variable("X")  # nothing can be paired after that
    ch, _ = channel("")  # EOF
    with pytest.raises(ChannelHungUp):
        await ch.answer()


async def test_510_and_520_are_command_errors() -> None:
    ch, _ = channel(
        "510 Invalid or unknown command\n"
        "520-Invalid command syntax.  Proper usage follows:\nUsage text.\n"
        "520 End of proper usage.\n200 result=1 (ok)\n"
    )
    with pytest.raises(AgiCommandError):
        await ch.command("NOOP")
    with pytest.raises(AgiCommandError):
        await ch.command("GET DATA")
    assert await ch.get_variable("Y") == "ok"  # still paired after the 520 block


async def test_sighup_marks_dead_and_refuses_media_locally() -> None:
    ch, out = channel("200 result=1\n")
    ch._agi._got_sighup = True
    await ch.verbose("still allowed")
    with pytest.raises(ChannelHungUp):
        await ch.stream_file("beep")
    assert out.getvalue() == 'VERBOSE "still allowed" "1"\n'


@pytest.fixture()
def classic_config(tmp_path: Path) -> Path:
    text = EXAMPLE_CONFIG.read_text()
    text = text.replace(
        'calendar = "office"\ndescription = "Línea gratuita 800"',
        'calendar = "always"\ndescription = "Línea gratuita 800"',
    )
    assert 'calendar = "always"\ndescription' in text
    path = tmp_path / "centralita.toml"
    path.write_text(text)
    return path


async def run_classic(config: Path, db_url: str, redis_url: str, caller: Caller, hup: bool):
    env = dict(os.environ, CENTRALITA_DATABASE_URL=db_url, CENTRALITA_REDIS_URL=redis_url)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr.classic_agi",
        "ivr",
        "--config",
        str(config),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    fake = FakeAsterisk(caller, inline_hangup=False)
    if hup:
        fake.on_hangup = lambda: proc.send_signal(signal.SIGHUP)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    conv = await fake.converse(proc.stdout, proc.stdin, default_env(), timeout=30)
    err = (await proc.stderr.read()).decode()
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    return conv, err


async def test_classic_process_runs_the_same_flow(classic_config, tmp_path, redis_url) -> None:
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    Base.metadata.create_all(make_engine(db_url))
    caller = Caller([("identify", ""), ("main_menu", "1"), ("category_intro", "2")])
    conv, err = await run_classic(classic_config, db_url, redis_url, caller, hup=False)
    v = conv.set_vars  # the same variables as over FastAGI: the defaults are not repeated
    assert (v["CENTRALITA_QUEUE"], v["CENTRALITA_CATEGORY"]) == ("email_es", "email")
    assert "CENTRALITA_ACTION" not in v and "QUEUE_PRIO" not in v
    assert "ENV LINE" not in err and "COMMAND:" not in err  # pyst2's debug is silenced
    record = json.loads(err.strip().splitlines()[-1])
    assert record["outcome"] == "completed" and record["queue"] == "email_es"


async def test_classic_process_hangup_via_sighup(classic_config, tmp_path, redis_url) -> None:
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    Base.metadata.create_all(make_engine(db_url))
    caller = Caller([("identify", "")], hangup_on="main_menu")
    conv, err = await run_classic(classic_config, db_url, redis_url, caller, hup=True)
    assert conv.hung_up
    assert conv.set_vars["CENTRALITA_ACTION"] == "hangup"
    assert json.loads(err.strip().splitlines()[-1])["outcome"] == "hangup"
