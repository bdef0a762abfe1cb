"""End to end: calls placed in pbxsim run our FastAGI IVR (real TCP), then the queue.

The IVR runs on the production services (SQLite directory and incidents, a real
redis-server for live agent state) with a fixed clock, so business hours are
deterministic; pbxsim plays the caller (scripted DTMF, hang-ups) and Asterisk.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis as redis_lib

from ivr.app import build_server
from ivr.services import StoreServices, decode_ivr_var
from pbxsim.behaviour import AgentAction
from pbxsim.sim import PbxSim
from servicedesk.bus import Keys
from servicedesk.config import CentralitaConfig
from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.directory import add_phone
from servicedesk.models import Base, Contact, Contract, Organisation

OPEN = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # Monday 11:00 Mexico City
CLOSED = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Monday 20:00
EVENING = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Monday 19:00: only the VIP line is open
HOLIDAY = datetime(2026, 9, 16, 17, 0, tzinfo=UTC)  # Independence Day, 11:00
KNOWN_ANI = "5512345678"


@pytest.fixture()
def directory(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'e2e.db'}")
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    with factory() as s:
        org = Organisation(name="Globex", customer_number="777001")
        s.add(org)
        s.flush()
        s.add(
            Contract(
                number="880055",
                organisation_id=org.id,
                plan="advanced",
                starts_on=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        vera = Contact(organisation_id=org.id, name="Vera")
        s.add(vera)
        s.flush()
        add_phone(s, vera, "+52 55 1234 5678")
        s.commit()
    yield factory
    engine.dispose()


def keys_for(prompts: dict[str, str]) -> Callable[[list[str]], str | None]:
    """The caller keys `prompts[suffix]` when the last prompt heard ends with `suffix`."""

    def fn(heard: list[str]) -> str | None:
        last = heard[-1] if heard else ""
        for suffix, digits in prompts.items():
            if last.endswith(suffix):
                return digits
        return None

    return fn


def varsets(events, uniqueid: str | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    for ev in events:
        h = dict(ev.headers)
        if h.get("Event") == "VarSet" and (uniqueid is None or h.get("Uniqueid") == uniqueid):
            out[h["Variable"]] = h["Value"]
    return out


def named(events, name: str) -> list[dict[str, str]]:
    return [dict(ev.headers) for ev in events if dict(ev.headers).get("Event") == name]


async def run_call(
    cfg: CentralitaConfig,
    factory,
    redis_url: str,
    at: datetime,
    caller_keys: dict[str, str],
    *,
    ani: str = KNOWN_ANI,
    patience: float | None = None,
    agents: list[tuple[str, str]] = (),  # type: ignore[assignment]
    live_state: dict[str, dict[str, str]] | None = None,
    line: str = "tollfree",
    extensions_conf: str | None = None,
    speed: float | None = None,
):
    """One call; `speed`: pbxsim paced at ×speed and the IVR's deadlines scaled alike
    (None: pbxsim's virtual clock, on which prompts take no wall time at all)."""
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(cfg.connections.redis.key_prefix)
    for login, state in (live_state or {}).items():
        client.sadd(keys.agents, login)
        client.hset(keys.agent_state(login), mapping=state)
    svc = StoreServices(cfg, factory, client, clock=lambda: at)
    server = build_server(cfg, svc, host="127.0.0.1", port=0, time_scale=speed or 1.0)
    await server.start()
    sim = PbxSim(
        cfg,
        speed=speed,
        agi=("127.0.0.1", server.port),
        record=True,
        start_epoch=time.time(),
        extensions_conf=extensions_conf,
    )
    await sim.start()
    try:
        for interface, queue in agents:
            sim.agent(interface, [AgentAction.answer(2.0, talk_s=5.0)])
            await sim.action("QueueAdd", Queue=queue, Interface=interface, Penalty="0")
        call = sim.place_call(line, ani, "Caller", dtmf=keys_for(caller_keys), patience=patience)
        await sim.run_until_idle(900)
    finally:
        await sim.close()
        await server.shutdown(2)
        client.close()
    return call, sim.events


def heard_s(cfg: CentralitaConfig, *keys: str, lang: str = "es") -> float:
    """Seconds the prompts `keys` play in `lang`, as pbxsim plays them."""
    from asterisk_conf.prompt_lengths import prompt_lengths

    lengths = prompt_lengths(cfg)
    return sum(lengths[f"{lang}/centralita/{k}"] for k in keys)


AGI_START_S = 0.5  # the dialplan's Answer() to AGI(): pbxsim's step time


def generated_dialplan(cfg: CentralitaConfig) -> str:
    from asterisk_conf.dialplan import build_extensions
    from asterisk_conf.site import SiteOptions

    return build_extensions(cfg, SiteOptions())[0]


@pytest.mark.parametrize("dialplan", ["pbxsim", "generated"])
async def test_new_incident_call_reaches_the_email_agent(
    example_config, directory, redis_url, caplog, dialplan
) -> None:
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"main_menu": "1", "category_intro": "2"},
        agents=[("PJSIP/1003", "email_es")],
        extensions_conf=generated_dialplan(example_config) if dialplan == "generated" else None,
    )
    v = varsets(events, call.chan.uniqueid)
    assert v["AGISTATUS"] == "SUCCESS"
    assert (v["CENTRALITA_ACTION"], v["CENTRALITA_QUEUE"], v["CENTRALITA_CATEGORY"]) == (
        "queue",
        "email_es",
        "email",
    )
    assert v["CENTRALITA_CONTACT"].isdigit() and v["IVR_LANG"] == "es"
    assert decode_ivr_var(v["CENTRALITA_IVR"])["ident"] == "ani"
    joins = named(events, "QueueCallerJoin")
    assert [j["Queue"] for j in joins] == ["email_es"]
    assert [c["Queue"] for c in named(events, "AgentConnect")] == ["email_es"]
    ivr_records = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("calls")]
    assert [r["script"] for r in ivr_records][0] == "ivr"
    assert ivr_records[0]["outcome"] == "completed" and ivr_records[0]["queue"] == "email_es"


def agi_commands(events, uniqueid: str) -> list[str]:
    """The AGI command lines the IVR sent on the caller's channel, in order."""
    return [h["Command"] for h in named(events, "AGIExecStart") if h.get("Uniqueid") == uniqueid]


def queue_app_data(events, uniqueid: str) -> list[str]:
    """Queue()'s arguments after ${...} expansion, as the dialplan ran it."""
    return [
        h["AppData"]
        for h in named(events, "Newexten")
        if h.get("Uniqueid") == uniqueid and h.get("Application") == "Queue"
    ]


def join_prios(events) -> list[str]:
    """QUEUE_PRIO as each QueueCallerJoin carries it (manager.conf channelvars)."""
    return [
        value
        for raw in events
        if dict(raw.headers).get("Event") == "QueueCallerJoin"
        for key, value in raw.headers
        if key == "ChanVariable" and value.startswith("QUEUE_PRIO=")
    ]


@pytest.mark.parametrize("dialplan", ["pbxsim", "generated"])
async def test_standard_path_sends_only_what_the_dialplan_lacks(
    example_config, directory, redis_url, dialplan
) -> None:
    """Eight AGI commands; the priority, rule, penalty and max wait the dialplan set
    before the AGI are the ones Queue() runs with."""
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"main_menu": "1", "category_intro": "2"},
        agents=[("PJSIP/1003", "email_es")],
        extensions_conf=generated_dialplan(example_config) if dialplan == "generated" else None,
    )
    uid = call.chan.uniqueid
    cmds = agi_commands(events, uid)
    timeout = example_config.routing.digit_timeout_ms
    contact = varsets(events, uid)["CENTRALITA_CONTACT"]
    assert cmds == [
        'STREAM FILE "centralita/welcome_tollfree_language" "12"',
        f'GET DATA "centralita/main_menu" "{timeout}" "1"',
        'STREAM FILE "centralita/category_intro" "1234"',
        'STREAM FILE "centralita/please_hold" ""',
        f'SET VARIABLE "CENTRALITA_CONTACT" "{contact}"',
        'SET VARIABLE "CENTRALITA_CATEGORY" "email"',
        'SET VARIABLE "CENTRALITA_QUEUE" "email_es"',
        'SET VARIABLE "CENTRALITA_IVR" "lang=es;ident=ani;menu=new_incident;category=email"',
    ]
    maxwait = example_config.queue_definitions()["email_es"].settings.max_wait
    rule = example_config.routing.rule_normal
    assert queue_app_data(events, uid) == [f"email_es,tc,,,{maxwait},,,{rule}"]
    assert [j["Queue"] for j in named(events, "QueueCallerJoin")] == ["email_es"]
    assert join_prios(events) == [f"QUEUE_PRIO={example_config.routing.prio_normal}"]
    v = varsets(events, uid)
    start = example_config.routing.rules[rule].start_max_penalty
    assert (v["QUEUE_MAX_PENALTY"], v["IVR_LANG"], v["CENTRALITA_VIP"]) == (str(start), "es", "0")
    assert [c["Queue"] for c in named(events, "AgentConnect")] == ["email_es"]


@pytest.mark.parametrize("dialplan", ["pbxsim", "generated"])
async def test_critical_outage_sets_its_own_priority_and_rule(
    example_config, directory, redis_url, dialplan
) -> None:
    """Values that differ from the line's defaults are SET and reach Queue()."""
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"main_menu": "3"},
        agents=[("PJSIP/1005", "general_es")],
        extensions_conf=generated_dialplan(example_config) if dialplan == "generated" else None,
    )
    uid = call.chan.uniqueid
    r = example_config.routing
    penalty = r.rules[r.rule_critical].start_max_penalty
    sets = [c for c in agi_commands(events, uid) if c.startswith("SET VARIABLE")]
    assert 'SET VARIABLE "CENTRALITA_PRIORITY" "critical"' in sets
    assert f'SET VARIABLE "QUEUE_PRIO" "{r.prio_critical}"' in sets
    assert f'SET VARIABLE "QUEUE_MAX_PENALTY" "{penalty}"' in sets
    assert f'SET VARIABLE "CENTRALITA_RULE" "{r.rule_critical}"' in sets
    assert not any('"CENTRALITA_QUEUE"' in c or '"CENTRALITA_ACTION"' in c for c in sets)
    maxwait = example_config.queue_definitions()["general_es"].settings.max_wait
    assert queue_app_data(events, uid) == [f"general_es,tc,,,{maxwait},,,{r.rule_critical}"]
    assert join_prios(events) == [f"QUEUE_PRIO={r.prio_critical}"]
    assert [c["Queue"] for c in named(events, "AgentConnect")] == ["general_es"]


async def test_caller_hangs_up_during_the_ivr(example_config, directory, redis_url, caplog) -> None:
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    call, events = await run_call(example_config, directory, redis_url, OPEN, {}, patience=2.5)
    v = varsets(events, call.chan.uniqueid)
    assert v["AGISTATUS"] == "HANGUP"
    assert v["CENTRALITA_ACTION"] == "hangup"
    assert named(events, "QueueCallerJoin") == []
    record = json.loads(caplog.records[-1].getMessage())
    assert record["outcome"] == "hangup"


async def test_after_hours_24x7_contract_gets_on_call(example_config, directory, redis_url) -> None:
    call, events = await run_call(
        example_config, directory, redis_url, CLOSED, {"oncall_offer": "1"}
    )
    v = varsets(events, call.chan.uniqueid)
    assert v["CENTRALITA_ACTION"] == "oncall"
    assert v["CENTRALITA_ONCALL"] == example_config.escalation.on_call_number
    assert named(events, "QueueCallerJoin") == []


async def test_unknown_caller_keys_customer_number_then_agent(
    example_config, directory, redis_url
) -> None:
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"identify": "777001#", "main_menu": "0"},
        ani="5599990000",
        agents=[("PJSIP/1005", "general_es")],
    )
    v = varsets(events, call.chan.uniqueid)
    assert decode_ivr_var(v["CENTRALITA_IVR"])["ident"] == "customer_number"
    assert v["CENTRALITA_QUEUE"] == "general_es"
    assert [c["Queue"] for c in named(events, "AgentConnect")] == ["general_es"]


async def test_overflow_to_general_from_live_agent_state(
    example_config, directory, redis_url
) -> None:
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"main_menu": "1", "category_intro": "1"},
        agents=[("PJSIP/1005", "general_es")],
        live_state={
            "1001": {"state": "paused", "queues": json.dumps({"network_es": 0})},
            "1005": {"state": "available", "queues": json.dumps({"general_es": 0})},
        },
    )
    v = varsets(events, call.chan.uniqueid)
    assert v["CENTRALITA_QUEUE"] == "general_es" and v["CENTRALITA_CATEGORY"] == "network"
    assert decode_ivr_var(v["CENTRALITA_IVR"])["overflow"] == "network_es"
    assert [j["Queue"] for j in named(events, "QueueCallerJoin")] == ["general_es"]


async def test_holiday_caller_leaves_a_message(example_config, directory, redis_url) -> None:
    call, events = await run_call(
        example_config, directory, redis_url, HOLIDAY, {"message_offer": "2"}
    )
    v = varsets(events, call.chan.uniqueid)
    assert decode_ivr_var(v["CENTRALITA_IVR"])["hours"] == "holiday"
    assert v["CENTRALITA_ACTION"] == "voicemail"
    assert "centralita/holiday_closed" in call.prompts


async def test_vip_line_in_the_evening(example_config, directory, redis_url) -> None:
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        EVENING,
        {"main_menu": "0"},
        agents=[("PJSIP/1005", "general_es")],
        line="vip",
    )
    uid = call.chan.uniqueid
    v = varsets(events, uid)
    assert (v["CENTRALITA_VIP"], v["QUEUE_PRIO"], v["CENTRALITA_RULE"]) == ("1", "10", "vip")
    joins = named(events, "QueueCallerJoin")
    assert [j["Queue"] for j in joins] == ["general_es"]
    # the VIP line's dialplan set the VIP priority and rule: the IVR does not repeat them
    cmds = agi_commands(events, uid)
    assert cmds[0] == 'STREAM FILE "centralita/welcome_vip_language" "12"'
    assert not any('"QUEUE_PRIO"' in c or '"CENTRALITA_RULE"' in c for c in cmds)
    maxwait = example_config.queue_definitions()["general_es"].settings.max_wait
    assert queue_app_data(events, uid) == [f"general_es,tc,,,{maxwait},,,vip"]
    assert join_prios(events) == [f"QUEUE_PRIO={example_config.routing.prio_vip}"]


async def test_garbage_dtmf_ends_in_general_queue(example_config, directory, redis_url) -> None:
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"main_menu": "9*"},
        agents=[("PJSIP/1005", "general_es")],
    )
    v = varsets(events, call.chan.uniqueid)
    assert call.prompts.count("centralita/main_menu") == example_config.routing.menu_retries
    assert v["CENTRALITA_QUEUE"] == "general_es" and v["CENTRALITA_ACTION"] == "queue"
    assert [c["Queue"] for c in named(events, "AgentConnect")] == ["general_es"]


async def test_generated_dialplan_message_becomes_incident(
    example_config, directory, redis_url
) -> None:
    """asterisk_conf's own extensions.conf: the IVR says voicemail, the dialplan records,
    the caller hangs up while recording, and the `voicemail` script opens the incident."""
    from sqlalchemy import select

    from servicedesk.models import Incident

    text = generated_dialplan(example_config)
    # the greeting, the closed notice and hours, the on-call offer (a 24x7 contract),
    # 0.8 s into the message offer the key, the dialplan's record prompt, then 3 s of message
    before_record = AGI_START_S + heard_s(
        example_config,
        "welcome_tollfree_language",
        "closed",
        "closed_hours_office",
        "oncall_offer",
        "record_after_tone",
    )
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        CLOSED,
        {"message_offer": "2"},
        patience=before_record + 0.8 + 3.0,
        extensions_conf=text,
    )
    v = varsets(events, call.chan.uniqueid)
    assert v["CENTRALITA_ACTION"] == "voicemail"
    path = v["CENTRALITA_RECORDING"]
    assert v["CENTRALITA_INCIDENT"].isdigit()
    with directory() as s:
        inc = s.scalars(select(Incident)).one()
        assert inc.number == int(v["CENTRALITA_INCIDENT"])
        assert (inc.channel, inc.recording_path) == ("phone", path)
        assert inc.reporter_id is not None and inc.contract_id is not None


@pytest.mark.parametrize(
    ("step", "interrupted", "menu_path"),
    [
        (0, "welcome_tollfree_language", ["hangup"]),
        (1, "main_menu", ["hangup"]),
        (2, "category_intro", ["main_menu:new_incident", "hangup"]),
    ],
)
async def test_hang_up_at_each_step_of_the_new_incident_path(
    example_config, directory, redis_url, caplog, step, interrupted, menu_path
) -> None:
    """Through pbxsim, the caller hangs up in the greeting, the main menu and the category
    menu (each as long as its rendered prompt): the IVR stops at that
    prompt, tells the dialplan to hang up, logs the call once, and nothing reaches a queue."""
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    steps = ["welcome_tollfree_language", "main_menu", "category_intro"]
    # 0.5 s into the step (the scripted caller would key the category at 0.8 s)
    patience = AGI_START_S + heard_s(example_config, *steps[:step]) + 0.5
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"main_menu": "1", "category_intro": "1"},
        patience=patience,
    )
    prompts = [
        c["Command"]
        for c in named(events, "AGIExecStart")
        if c["Command"].startswith(("STREAM FILE", "GET DATA"))
    ]
    assert f"centralita/{interrupted}" in prompts[-1]
    v = varsets(events, call.chan.uniqueid)
    assert v["AGISTATUS"] == "HANGUP" and v["CENTRALITA_ACTION"] == "hangup"
    assert named(events, "QueueCallerJoin") == []
    (record,) = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "centralita.ivr.calls"
    ]
    assert record["outcome"] == "hangup" and record["menu_path"] == menu_path
    assert record["errors"] == []
