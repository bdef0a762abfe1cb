"""The follow-ups a caller is offered, end to end on the generated dialplan.

pbxsim runs the generated extensions.conf (survey enabled) and our FastAGI IVR;
the listener, logged in over pbxsim's AMI, keeps the call record the survey
score is stored on. With Queue()'s `c` option the agent's hang-up returns the
caller to the dialplan (QUEUESTATUS=CONTINUE), so the survey hears a live caller.
The old dialplan (no `c`, survey from the h extension) hangs the caller up with
the agent and meets a dead channel: 511, no score.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import select

from ami_listener.link import Backoff
from ami_listener.service import ListenerOptions, ListenerService
from asterisk_conf.dialplan import build_extensions
from asterisk_conf.site import SiteOptions
from ivr.app import build_server
from ivr.services import StoreServices
from pbxsim.behaviour import NOANSWER, AgentAction
from pbxsim.sim import PbxSim
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call
from tests.ami_listener.replay_server import frames_of
from tests.e2e import test_ivr_pbxsim as ivr_e2e
from tests.e2e.test_ivr_pbxsim import OPEN, keys_for, named

directory = ivr_e2e.directory  # the SQLite directory fixture (Vera, known by her ANI)

CALLER_KEYS = {"main_menu": "1", "category_intro": "2", "survey_intro": "4"}
EMAIL_AGENT = (("PJSIP/1003", "email_es", 0, [AgentAction.answer(2.0, talk_s=5.0)]),)


def survey_dialplan(cfg: CentralitaConfig) -> str:
    return build_extensions(cfg, SiteOptions(survey=True))[0]


def old_dialplan(cfg: CentralitaConfig) -> str:
    """The dialplan before the fix: Queue() without `c`, the survey in the h path."""
    text = survey_dialplan(cfg).replace(",tc,,,", ",t,,,")
    old_end = " same => n,Set(CENTRALITA_VM_DONE=1)\n same => n(done),Return()"
    assert old_end in text
    return text.replace(
        old_end,
        " same => n,Set(CENTRALITA_VM_DONE=1)\n"
        ' same => n(done),GotoIf($["${CENTRALITA_SURVEY}" != "1"]?out)\n'
        f" same => n,AGI(agi://127.0.0.1:{cfg.connections.fastagi.port}/survey)\n"
        " same => n(out),Return()",
    )


async def _until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.02)


async def run_answered_call(
    cfg,
    factory,
    redis_url: str,
    at: datetime,
    extensions: str,
    caplog,
    *,
    members=EMAIL_AGENT,
    line: str = "tollfree",
    ani: str = "5512345678",
    caller_keys: dict[str, str] = CALLER_KEYS,
    before: tuple[float, str, float] | None = None,
    prompt_seconds: dict[str, float] | None = None,
    run_s: float = 90.0,
):
    """One caller; by default one agent who answers after 2 s and hangs up after 5 s.

    `before` = (seconds earlier, ANI, patience): another caller placed first."""
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    svc = StoreServices(cfg, factory, client, clock=lambda: at)
    server = build_server(cfg, svc, host="127.0.0.1", port=0)
    await server.start()
    text = extensions.replace(
        f"agi://127.0.0.1:{cfg.connections.fastagi.port}/", f"agi://127.0.0.1:{server.port}/"
    )
    sim = PbxSim(
        cfg,
        agi=("127.0.0.1", server.port),
        ami_port=0,
        ami_users={cfg.connections.ami.username: "secret"},
        record=True,
        start_epoch=time.time(),
        extensions_conf=text,
        prompt_seconds=prompt_seconds,
    )
    await sim.start()
    conn = cfg.connections
    ami = conn.ami.model_copy(update={"port": sim.port, "ping_interval": 0.5})
    lcfg = cfg.model_copy(
        update={"connections": conn.model_copy(update={"ami": ami, "pbx_id": "e2e"})}
    )
    service = ListenerService(
        lcfg,
        factory,
        client,
        "secret",
        ListenerOptions(flush_interval=0.05, backoff=Backoff(0.05, 0.2), command_block_ms=100),
    )
    await service.start()
    try:
        await service.wait_resynced(10)
        for interface, queue, penalty, plan in members:
            sim.agent(interface, plan)
            await sim.action(
                "QueueAdd",
                Queue=queue,
                Interface=interface,
                Penalty=str(penalty),
                MemberName=interface.split("/", 1)[1],
            )
        if before is not None:
            ahead, first_ani, patience = before
            sim.place_call(line, first_ani, "First", dtmf=keys_for(caller_keys), patience=patience)
            await sim.run_for(ahead)
        call = sim.place_call(line, ani, "Vera", dtmf=keys_for(caller_keys))
        # the caller's record must be in the database before the survey asks for it
        await sim.run_for(run_s)
        await _until(lambda: not service.ingest.calls.calls and service.ingest.calls.finished)
        await service.flush()
    finally:
        await service.stop()
        await sim.close()
        await server.shutdown(2)
        client.close()
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("calls")]
    return call, sim.events, records


async def test_survey_after_the_agent_hangs_up_stores_the_score(
    example_config, directory, redis_url, caplog
) -> None:
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    call, events, records = await run_answered_call(
        example_config, directory, redis_url, OPEN, survey_dialplan(example_config), caplog
    )
    uid = call.chan.uniqueid
    mine = [dict(ev.headers) for ev in events if dict(ev.headers).get("Uniqueid") == uid]
    statuses = [h["Value"] for h in mine if h.get("Variable") == "QUEUESTATUS"]
    assert statuses == ["CONTINUE"]
    complete = named(events, "AgentComplete")
    assert [c["Reason"] for c in complete] == ["agent"]
    surveys = [r for r in records if r["script"] == "survey"]
    assert len(surveys) == 1 and "survey:4" in surveys[0]["menu_path"], surveys
    assert not [h for h in mine if "511" in h.get("Result", "")]
    with directory() as s:
        (row,) = s.scalars(select(Call)).all()
    assert row.outcome == "answered" and row.satisfaction == 4


async def test_old_dialplan_survey_meets_a_dead_channel(
    example_config, directory, redis_url, caplog
) -> None:
    """What a real Asterisk showed before the fix: the survey from h stores nothing."""
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    _call, _events, records = await run_answered_call(
        example_config, directory, redis_url, OPEN, old_dialplan(example_config), caplog
    )
    surveys = [r for r in records if r["script"] == "survey"]
    assert len(surveys) == 1 and not any(s.startswith("survey:") for s in surveys[0]["menu_path"])
    with directory() as s:
        (row,) = s.scalars(select(Call)).all()
    assert row.satisfaction is None


RECORDED = Path(__file__).resolve().parents[1] / "data" / "asterisk-traces"


def _caller_timeline(events: list[dict[str, str]], caller: str) -> list[tuple[str, str, float]]:
    """(event, detail, seconds after QueueCallerJoin) for what the queue did to one caller."""
    out: list[tuple[str, str, float]] = []
    join = None
    for h in events:
        name, t = h.get("Event"), float(h.get("Timestamp", "0"))
        mine = h.get("Channel", "").startswith(caller)
        if name == "QueueCallerJoin" and mine:
            join = t
        if join is None:
            continue
        if name in ("AgentCalled", "AgentRingNoAnswer", "AgentConnect") and mine:
            out.append((name, h["MemberName"], t - join))
        elif name == "QueueMemberPause":
            out.append((name, f"{h['MemberName']}:{h['PausedReason']}", t - join))
        elif name == "AgentComplete" and mine:
            out.append((name, h["Reason"], t - join))
        elif name == "VarSet" and mine and h["Variable"] in ("QUEUE_MAX_PENALTY", "QUEUESTATUS"):
            out.append((name, f"{h['Variable']}={h['Value']}", t - join))
        elif name == "AGIExecStart" and mine and "survey_intro" in h.get("Command", ""):
            out.append(("survey", "GET DATA", t - join))
    return out


def _recorded_events(scenario: str) -> list[dict[str, str]]:
    """The recording's messages (first value of each header), from the raw bytes."""
    out = []
    for frame in frames_of((RECORDED / scenario / "ami.raw").read_bytes()):
        fields: dict[str, str] = {}
        for line in frame.decode("utf-8").split("\r\n"):
            key, sep, value = line.partition(": ")
            if sep:
                fields.setdefault(key, value)
        out.append(fields)
    return out


async def test_widening_autopause_and_survey_as_recorded_on_asterisk(
    example_config, directory, redis_url, caplog
) -> None:
    """pbx-followups/vip_widening_survey, recorded on Asterisk 22.10.1 with the generated
    config: the penalty-1 agent never answers and is auto-paused after 15 s, the VIP
    rule widens to penalty 4, the penalty-3 agent answers, hangs up after 6 s, and the
    caller, still on the line (QUEUESTATUS=CONTINUE), scores 4. pbxsim must do the
    same steps in the same order within a second of the recording."""
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    real = _caller_timeline(_recorded_events("vip_widening_survey"), "PJSIP/trunk-")
    assert [(e, d) for e, d, _ in real] == [
        ("AgentCalled", "1003"),
        ("AgentRingNoAnswer", "1003"),
        ("QueueMemberPause", "1003:Auto-Pause"),
        ("VarSet", "QUEUE_MAX_PENALTY=4"),
        ("AgentCalled", "1001"),
        ("AgentConnect", "1001"),
        ("AgentComplete", "agent"),
        ("VarSet", "QUEUESTATUS=CONTINUE"),
        ("survey", "GET DATA"),
    ]
    call, events, records = await run_answered_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        survey_dialplan(example_config),
        caplog,
        members=(
            ("PJSIP/1003", "general_es", 1, [NOANSWER]),
            ("PJSIP/1001", "general_es", 3, [AgentAction.answer(2.0, talk_s=6.0)]),
        ),
        line="vip",
        caller_keys={"main_menu": "0", "survey_intro": "4"},
    )
    sim = _caller_timeline([dict(ev.headers) for ev in events], call.chan.name)
    assert [(e, d) for e, d, _ in sim] == [(e, d) for e, d, _ in real]
    for (event, detail, t_real), (_e, _d, t_sim) in zip(real, sim, strict=True):
        assert abs(t_real - t_sim) <= 1.0, (event, detail, t_real, t_sim)
    surveys = [r for r in records if r["script"] == "survey"]
    assert [r["menu_path"] for r in surveys] == [["survey:4"]]
    with directory() as s:
        (row,) = s.scalars(select(Call)).all()
    assert (row.outcome, row.agent_login, row.hung_up_by) == ("answered", "1001", "agent")
    assert (row.hold_seconds, row.talk_seconds, row.satisfaction) == (19, 6, 4)


def _head_caller_timeline(events: list[dict[str, str]], caller: str) -> list[tuple[str, float]]:
    """Music and exit of one queued caller, seconds after its QueueCallerJoin."""
    join = None
    out: list[tuple[str, float]] = []
    for h in events:
        if not h.get("Channel", "").startswith(caller):
            continue
        name, t = h.get("Event"), float(h.get("Timestamp", "0"))
        if name == "QueueCallerJoin":
            join = t
        elif join is None:
            continue
        elif name in ("MusicOnHoldStop", "MusicOnHoldStart"):
            out.append((name, t - join))
        elif name == "VarSet" and h["Variable"] in ("QUEUESTATUS", "CENTRALITA_CALLBACK_ID"):
            out.append(
                (
                    f"{h['Variable']}={h['Value'] if h['Variable'] == 'QUEUESTATUS' else 'set'}",
                    t - join,
                )
            )
        elif (
            name == "VarSet"
            and h["Variable"] in ("CENTRALITA_CHOICE", "CENTRALITA_CONFIRM")
            and h["Value"]
        ):
            out.append((f"{h['Variable']}={h['Value']}", t - join))
    return out


async def test_announcements_timeout_and_confirmed_callback_as_recorded(
    example_config, directory, redis_url, caplog
) -> None:
    """pbx-followups/queue_timeout_callback: alone at the head of general_es while the only
    agent is on a long call, the caller hears all_busy every ~60 s (announce-to-first-
    user), leaves at max_wait 600 s, keys 3 and confirms with 1; a callback is stored.
    pbxsim must announce and time out when Asterisk did, within app_queue's polling."""
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    recorded = _recorded_events("queue_timeout_callback")
    real = _head_caller_timeline(recorded, "PJSIP/trunk-0000000c")
    stops = [t for e, t in real if e == "MusicOnHoldStop"]
    assert len(stops) == 10 and 599.5 < stops[-1] < 601  # 9 announcements, then the exit
    all_busy = [
        b - a
        for (e, a), (f, b) in zip(real, real[1:], strict=False)
        if (e, f) == ("MusicOnHoldStop", "MusicOnHoldStart")
    ]
    assert len(all_busy) == 9 and all(10.0 < d < 10.8 for d in all_busy)
    keys = {"main_menu": "0", "callback_offer": "3", "callback_confirm": "1"}
    call, events, _records = await run_answered_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        survey_dialplan(example_config),
        caplog,
        members=(("PJSIP/1005", "general_es", 0, [AgentAction.answer(1.0)]),),
        line="vip",
        caller_keys=keys,
        before=(20.0, "5512345678", 700.0),
        prompt_seconds={"centralita/all_busy": round(min(all_busy), 1)},
        run_s=720.0,
    )
    sim = _head_caller_timeline([dict(ev.headers) for ev in events], call.chan.name)
    real_steps = [e for e, _ in real if not e.startswith("CENTRALITA_CHOICE")]
    assert [e for e, _ in sim if not e.startswith("CENTRALITA_CHOICE")] == real_steps
    sim_music = [t for e, t in sim if e.startswith("MusicOnHold")]
    real_music = [t for e, t in real if e.startswith("MusicOnHold")]
    for t_real, t_sim in zip(real_music, sim_music, strict=True):
        assert abs(t_real - t_sim) <= 2.5, (t_real, t_sim)
    exits = [t for e, t in sim if e == "QUEUESTATUS=TIMEOUT"]
    assert len(exits) == 1 and abs(exits[0] - 600.0) <= 1.5
    with directory() as s:
        from servicedesk.models import CallbackRequest

        requests = s.scalars(select(CallbackRequest)).all()
    assert [r.number for r in requests] == ["5512345678"]


@pytest.mark.parametrize(
    ("category", "digit", "queue", "agent"),
    [
        ("network", "1", "network_es", "1001"),
        ("email", "2", "email_es", "1003"),
        ("erp", "3", "erp_es", "1002"),
        ("hardware", "4", "hardware_es", "1004"),
    ],
)
async def test_new_incident_per_category_as_recorded(
    example_config, directory, redis_url, caplog, category, digit, queue, agent
) -> None:
    """pbx-followups/new_incident_<category>: the toll-free line in office hours, a new
    incident in each category, the category's best agent answers after 2 s and hangs
    up after 5 s, the caller scores 5. Same queue steps as Asterisk, within 1 s."""
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    real = _caller_timeline(_recorded_events(f"new_incident_{category}"), "PJSIP/trunk-")
    assert [(e, d) for e, d, _ in real] == [
        ("AgentCalled", agent),
        ("AgentConnect", agent),
        ("AgentComplete", "agent"),
        ("VarSet", "QUEUESTATUS=CONTINUE"),
        ("survey", "GET DATA"),
    ]
    call, events, records = await run_answered_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        survey_dialplan(example_config),
        caplog,
        members=((f"PJSIP/{agent}", queue, 0, [AgentAction.answer(2.0, talk_s=5.0)]),),
        caller_keys={"main_menu": "1", "category_intro": digit, "survey_intro": "5"},
    )
    sim = _caller_timeline([dict(ev.headers) for ev in events], call.chan.name)
    assert [(e, d) for e, d, _ in sim] == [(e, d) for e, d, _ in real]
    for (event, detail, t_real), (_e, _d, t_sim) in zip(real, sim, strict=True):
        assert abs(t_real - t_sim) <= 1.0, (event, detail, t_real, t_sim)
    assert [r["menu_path"] for r in records if r["script"] == "survey"] == [["survey:5"]]
    with directory() as s:
        (row,) = s.scalars(select(Call)).all()
    assert (row.queue, row.agent_login, row.satisfaction) == (queue, agent, 5)


def _agi_and_dialplan(events: list[dict[str, str]], caller: str) -> list[str]:
    """The caller channel's AGI commands and the dialplan steps after the IVR, with the
    values that depend on the directory (ids) blanked."""
    import re

    out = []
    after_ivr = False
    for h in events:
        if not h.get("Channel", "").startswith(caller):
            continue
        if h.get("Event") == "AGIExecStart":
            out.append(
                re.sub(
                    r'"(CENTRALITA_CONTACT|CENTRALITA_CALLBACK_ID)" "\d+"',
                    r'"\1" "#"',
                    h["Command"],
                )
            )
        elif h.get("Event") == "Newexten" and h.get("Application") == "AGI":
            after_ivr = True
            out.append(f"AGI {h['AppData'].rsplit('/', 1)[1]}")
        elif after_ivr and h.get("Event") == "Newexten" and h["Context"] != "centralita-inbound":
            data = re.sub(r"end \d+\.\d+ ", "end # ", h["AppData"])  # the call's uniqueid
            out.append(f"{h['Context']}: {h['Application']}({data})")
    return out


async def test_after_hours_callback_runs_as_recorded(example_config, directory, redis_url) -> None:
    """pbx-followups/after_hours_callback through pbxsim: the same AGI conversation and
    the same dialplan steps after it (callback registered, goodbye, no survey)."""
    recorded = _agi_and_dialplan(_recorded_events("after_hours_callback"), "PJSIP/trunk-")
    assert "centralita-callback: Playback(centralita/callback_registered)" in recorded
    assert not any("survey" in step for step in recorded)
    from servicedesk.models import Contract

    with directory() as s:  # the recorded caller's contract had no 24x7 cover: no on-call offer
        for contract in s.scalars(select(Contract)):
            contract.plan = "basic"
        s.commit()
    call, events = await ivr_e2e.run_call(
        example_config,
        directory,
        redis_url,
        ivr_e2e.CLOSED,
        {"welcome_tollfree_language": "1", "message_offer": "3", "callback_confirm": "1"},
        extensions_conf=survey_dialplan(example_config),
    )
    sim = _agi_and_dialplan([dict(ev.headers) for ev in events], call.chan.name)
    assert sim == recorded


async def test_hangup_in_the_main_menu_runs_as_recorded(
    example_config, directory, redis_url
) -> None:
    """pbx-followups/hangup_mid_menu through pbxsim: the caller leaves during GET DATA
    main_menu; the IVR still sets what it has on the dead channel; only h runs after."""
    recorded = _agi_and_dialplan(_recorded_events("hangup_mid_menu"), "PJSIP/trunk-")
    hung_up_at = next(
        float(h["Timestamp"]) - float(h0["Timestamp"])
        for h0 in _recorded_events("hangup_mid_menu")
        if h0.get("Event") == "Newexten" and h0.get("Application") == "Answer"
        for h in _recorded_events("hangup_mid_menu")
        if h.get("Event") == "HangupRequest" and h.get("Channel", "").startswith("PJSIP/trunk-")
    )
    call, events = await ivr_e2e.run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"welcome_tollfree_language": "1"},
        patience=round(hung_up_at, 1),
        extensions_conf=survey_dialplan(example_config),
    )
    sim = _agi_and_dialplan([dict(ev.headers) for ev in events], call.chan.name)
    assert sim == recorded
