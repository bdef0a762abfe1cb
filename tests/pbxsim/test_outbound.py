"""pbxsim's Originate to a phone, Dial() through the trunk and ChanSpy, on the virtual clock."""

from __future__ import annotations

from typing import Any

from pbxsim.behaviour import AgentAction
from pbxsim.calling_dialplan import calling_extensions
from pbxsim.dialplan import parse_extensions
from pbxsim.engine import Engine
from pbxsim.trace_compare import event_to_message
from servicedesk.config import CentralitaConfig

T0 = 1_800_000_000.0


def make(cfg: CentralitaConfig) -> tuple[Engine, list[dict[str, Any]]]:
    engine = Engine(queues={}, dialplan=parse_extensions(calling_extensions(cfg)), start_epoch=T0)
    events: list[dict[str, Any]] = []
    engine.subscribe(lambda ev: events.append(event_to_message(ev, engine.kernel.now - T0)))
    return engine, events


def originate(engine: Engine, number: str, endpoint: str = "1001", aid: str = "o1") -> str:
    out = engine.actions.handle(
        "Originate",
        [
            ("Channel", f"PJSIP/{endpoint}"),
            ("Context", "centralita-outbound"),
            ("Exten", number),
            ("Priority", "1"),
            ("CallerID", f'"Cliente" <+{number}>'),
            ("Timeout", "20000"),
            ("Variable", "CENTRALITA_OUTBOUND=abc,CENTRALITA_INCIDENT=7"),
            ("Async", "true"),
            ("ActionID", aid),
        ],
    )
    assert out is not None
    return dict(out[0])["Response"]


def names(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("Event") == kind]


def test_click_to_call_rings_the_agent_then_the_customer(example_config) -> None:
    engine, events = make(example_config)
    engine.set_phone("1001", [AgentAction.answer(2.0, 30.0)])
    engine.remotes["525512345678"] = AgentAction.answer(4.0, None)
    assert originate(engine, "525512345678") == "Success"
    engine.kernel.run_until(T0 + 60)
    (resp,) = names(events, "OriginateResponse")
    assert (resp["Response"], resp["Reason"], resp["ActionID"]) == ("Success", "4", "o1")
    agent_uid = resp["Uniqueid"]
    chans = names(events, "Newchannel")
    assert [c["Channel"].split("-")[0] for c in chans] == ["PJSIP/1001", "PJSIP/trunk"]
    assert chans[1]["Linkedid"] == agent_uid
    dialend = names(events, "DialEnd")
    # the origination leg (Dest fields only, as recorded), then the customer leg
    assert [(d.get("Channel"), d["DialStatus"]) for d in dialend] == [
        (None, "ANSWER"),
        (dialend[1]["Channel"], "ANSWER"),
    ]
    # the customer sees the desk's number, not the agent's
    assert dialend[1]["CallerIDNum"] == "+525591380000"
    varsets = {(v["Variable"], v["Value"]) for v in names(events, "VarSet")}
    assert ("CENTRALITA_OUTBOUND", "abc") in varsets and ("DIALSTATUS", "ANSWER") in varsets
    hangups = names(events, "Hangup")
    assert len(hangups) == 2 and hangups[-1]["Timestamp"]
    # the agent hung up 30 s after the customer answered (2 s ring + 4 s ring)
    assert 35.9 < float(hangups[0]["Timestamp"]) - T0 < 36.2
    assert len(names(events, "BridgeEnter")) == 2 and len(names(events, "BridgeDestroy")) == 1


def test_agent_not_answering_fails_the_originate_and_dials_nobody(example_config) -> None:
    engine, events = make(example_config)
    assert originate(engine, "525512345678") == "Success"  # no phone script: never answers
    engine.kernel.run_until(T0 + 60)
    (resp,) = names(events, "OriginateResponse")
    assert (resp["Response"], resp["Reason"]) == ("Failure", "3")
    assert (resp["Channel"], resp["Uniqueid"]) == ("PJSIP/1001", "<unknown>")
    assert names(events, "Hangup")[0]["Cause"] == "19"
    assert [c["Channel"].split("-")[0] for c in names(events, "Newchannel")] == ["PJSIP/1001"]


def test_busy_customer_sets_dialstatus(example_config) -> None:
    engine, events = make(example_config)
    engine.set_phone("1002", [AgentAction.answer(1.0, None)])
    engine.remotes["525512345678"] = AgentAction.busy(3.0)
    originate(engine, "525512345678", "1002")
    engine.kernel.run_until(T0 + 30)
    assert [d["DialStatus"] for d in names(events, "DialEnd")] == ["ANSWER", "BUSY"]
    statuses = [v["Value"] for v in names(events, "VarSet") if v["Variable"] == "DIALSTATUS"]
    assert statuses == ["BUSY"]
    assert len(names(events, "Hangup")) == 2  # the trunk leg, then the agent (Hangup())


def test_originate_refuses_an_unknown_extension(example_config) -> None:
    engine, _events = make(example_config)
    out = engine.actions.handle(
        "Originate",
        [("Channel", "PJSIP/1001"), ("Context", "centralita-outbound"), ("Exten", "abc")],
    )
    assert out is not None and dict(out[0])["Response"] == "Error"


def test_whisper_spies_on_the_agent_until_they_hang_up(example_config) -> None:
    engine, events = make(example_config)
    engine.set_phone("1001", [AgentAction.answer(1.0, 20.0)])
    engine.set_phone("sup1", [AgentAction.answer(1.0, None)])
    engine.remotes["525512345678"] = AgentAction.answer(1.0, None)
    originate(engine, "525512345678")
    engine.kernel.run_until(T0 + 5)
    out = engine.actions.handle(
        "Originate",
        [("Channel", "PJSIP/sup1"), ("Context", "centralita-supervise"), ("Exten", "2221001")],
    )
    assert out is not None and dict(out[0])["Response"] == "Success"
    engine.kernel.run_until(T0 + 60)
    (start,) = names(events, "ChanSpyStart")
    assert start["SpyerChannel"].startswith("PJSIP/sup1-")
    assert start["SpyeeChannel"].startswith("PJSIP/1001-")
    (stop,) = names(events, "ChanSpyStop")
    # E: the spy ends when the agent hangs up (20 s after the customer answered at 2 s)
    assert 22.0 <= float(stop["Timestamp"]) - T0 <= 23.0
