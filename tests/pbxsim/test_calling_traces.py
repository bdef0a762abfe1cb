"""pbxsim's Originate and outbound Dial() held to the calling_originate recording (Asterisk
22.10.1): per channel, the same channel-level events in the same order, and the same
OriginateResponse fields, for a success and for an agent phone that never answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pbxsim.behaviour import NOANSWER, AgentAction
from pbxsim.dialplan import parse_extensions
from pbxsim.engine import Engine
from pbxsim.trace_compare import event_to_message

TRACE = Path(__file__).parents[1] / "data" / "asterisk-traces" / "calling_originate"
CORE = {
    "Newchannel",
    "NewCallerid",
    "NewConnectedLine",
    "DialBegin",
    "DialState",
    "DialEnd",
    "Newstate",
    "BridgeEnter",
    "BridgeLeave",
    "HangupRequest",
    "Hangup",
    "OriginateResponse",
}
T0 = 1_800_000_000.0


def _dialplan() -> str:
    text = (TRACE.parents[0] / "config-calling" / "extensions.conf").read_text()
    return text[text.index("[calling-outbound]") :]


def _roles(msgs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, event) with channels named by order of appearance: A (agent), B, C..."""
    names: dict[str, str] = {}
    out = []
    for m in msgs:
        ev = m.get("Event")
        if ev not in CORE:
            continue
        chan = m.get("Channel") or m.get("DestChannel") or ""
        if ev == "OriginateResponse":
            role = "originate:" + m["Response"]
        else:
            role = names.setdefault(chan, "ABCDEFG"[len(names)])
            if "Channel" not in m:
                role += "(dest)"
        out.append((role, ev))
    return out


def _recorded() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (TRACE / "ami.jsonl").open(encoding="utf-8")]


def _simulated() -> list[dict[str, Any]]:
    engine = Engine(queues={}, dialplan=parse_extensions(_dialplan()), start_epoch=T0)
    events: list[dict[str, Any]] = []
    engine.subscribe(lambda ev: events.append(event_to_message(ev, engine.kernel.now - T0)))
    engine.set_phone("agent1", [AgentAction.answer(1.0)], "1001", "Agent One")
    engine.set_phone("agent3", [NOANSWER], "1003", "Agent Three")
    engine.remotes["agent2"] = AgentAction.answer(2.0, 5.0)
    engine.set_phone("agent2", [AgentAction.answer(2.0, 5.0)], "1002", "Agent Two")
    for at, agent, name, timeout in (
        (1.0, "agent1", "INC-000042", "20000"),
        (14.0, "agent3", "INC-000043", "5000"),
    ):
        headers = [
            ("Channel", f"PJSIP/{agent}"),
            ("Context", "calling-outbound"),
            ("Exten", "525512345678"),
            ("Priority", "1"),
            ("CallerID", f'"{name}" <+525512345678>'),
            ("Timeout", timeout),
            ("Async", "true"),
        ]
        if agent == "agent1":
            headers.append(("Variable", "CENTRALITA_OUTBOUND=req42"))
        engine.kernel.call_at(T0 + at, lambda h=headers: engine.actions.handle("Originate", h))
    engine.kernel.run_until(T0 + 30)
    return events


def _settle_ringing(seq: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The phone's 180 (Newstate 5) and the dialler's DialState RINGING come from two
    threads; the recording has them in both orders (agent1: DialState first, agent3:
    Newstate first), so an adjacent pair of the two for one channel is compared as a set."""
    out = list(seq)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        pair = {a[1], b[1]}
        if pair == {"Newstate", "DialState"} and a[0][0] == b[0][0]:
            out[i], out[i + 1] = sorted((a, b), key=lambda x: x[1])
    return out


def test_channel_events_follow_the_recording() -> None:
    assert _settle_ringing(_roles(_simulated())) == _settle_ringing(_roles(_recorded()))


def test_originate_responses_have_the_recorded_fields() -> None:
    def fields(msgs: list[dict[str, Any]]) -> list[list[tuple[str, str]]]:
        out = []
        for m in msgs:
            if m.get("Event") == "OriginateResponse":
                keep = [
                    k for k in m if k not in ("_t", "Event", "Privilege", "Timestamp", "ActionID")
                ]
                out.append(
                    [
                        (k.split("(")[0], m[k] if k not in ("Uniqueid", "Channel") else "")
                        for k in keep
                    ]
                )
        return out

    real, sim = fields(_recorded()), fields(_simulated())
    assert [r[-1] for r in sim][:1] == [r[-1] for r in real][:1]  # ChanVariable values
    assert [[k for k, _ in r] for r in sim] == [[k for k, _ in r] for r in real]
    assert [dict(r)["Reason"] for r in sim] == [dict(r)["Reason"] for r in real] == ["4", "3"]
    rec = [m for m in _recorded() if m.get("Event") == "OriginateResponse"]
    simr = [m for m in _simulated() if m.get("Event") == "OriginateResponse"]
    assert simr[1]["Channel"] == rec[1]["Channel"] == "PJSIP/agent3"
    assert simr[1]["Uniqueid"] == rec[1]["Uniqueid"] == "<unknown>"


BLIND = TRACE.parent / "calling_blind_transfer"


def _blind_simulated() -> tuple[list[dict[str, Any]], list[str]]:
    from pbxsim.behaviour import CallerScript
    from pbxsim.queues import parse_queues_conf

    conf = TRACE.parent / "config-calling"
    engine = Engine(
        queues=parse_queues_conf((conf / "queues.d" / "calling.conf").read_text()),
        dialplan=parse_extensions((conf / "extensions.conf").read_text()),
        start_epoch=T0,
    )
    events: list[dict[str, Any]] = []
    engine.subscribe(lambda ev: events.append(event_to_message(ev, engine.kernel.now - T0)))
    engine.set_phone("agent1", [AgentAction.answer(2.0)], "1001", "Agent One")
    engine.set_phone("agent2", [AgentAction.answer(2.0)], "1002", "Agent Two")
    for queue, agent, name in (
        ("support", "agent1", "Agent One"),
        ("secondlevel", "agent2", "Agent Two"),
    ):
        engine.actions.handle(
            "QueueAdd",
            [("Queue", queue), ("Interface", f"PJSIP/{agent}"), ("MemberName", name)],
        )
    engine.place_call("700", "5551101", "Ana Transfer", CallerScript(hangup_after=20.0), at=T0 + 2)

    def transfer() -> None:
        chan = next(n for n in engine.bridged_calls if n.startswith("PJSIP/agent1-"))
        out = engine.actions.handle(
            "BlindTransfer", [("Channel", chan), ("Exten", "801"), ("Context", "calling-transfer")]
        )
        assert out is not None and dict(out[0])["Message"] == "Transfer succeeded"

    engine.kernel.call_at(T0 + 10.6, transfer)
    engine.kernel.run_until(T0 + 40)
    return events, engine.queue_log_lines


def _queue_log_shape(lines: list[str]) -> list[list[str]]:
    """queue_log without times and ids: queue, agent, event and data."""
    out = []
    for line in lines:
        parts = line.split("|")
        if parts[1] == "MANAGER":
            continue
        data = parts[5:]
        if parts[4] == "CONNECT":
            data = [data[0], "<uid>", data[2]]
        out.append([parts[2], parts[3], parts[4], *data])
    return out


def test_blind_transfer_follows_the_recording() -> None:
    events, qlog = _blind_simulated()
    recorded = [json.loads(line) for line in (BLIND / "ami.jsonl").open(encoding="utf-8")]
    real_qlog = (BLIND / "queue_log").read_text().splitlines()
    assert _queue_log_shape(qlog) == _queue_log_shape(real_qlog)

    def around(msgs: list[dict[str, Any]]) -> list[str]:
        """Event names from the BlindTransfer's first consequence to the second join."""
        names = [m["Event"] for m in msgs if m.get("Event") in CORE | TRANSFER]
        start = names.index("BlindTransfer") - 2
        return names[start : names.index("QueueCallerJoin", start) + 1]

    assert around(events) == around(recorded)
    (bt,) = [m for m in events if m.get("Event") == "BlindTransfer"]
    (real,) = [m for m in recorded if m.get("Event") == "BlindTransfer"]
    assert [k for k in bt if k.startswith(("Result", "IsExternal", "Context", "Extension"))] == [
        k for k in real if k.startswith(("Result", "IsExternal", "Context", "Extension"))
    ]


TRANSFER = {"BlindTransfer", "AgentComplete", "BridgeDestroy", "QueueCallerJoin"}


SPY = TRACE.parent / "calling_chanspy_whisper"


def test_chanspy_whisper_follows_the_recording() -> None:
    """ChanSpyStart/Stop carry the same Spyer*/Spyee* snapshots; with option E the spy
    stops as the spied-on agent's leg goes: ChanSpyStop just before its Hangup."""
    from pbxsim.behaviour import CallerScript
    from pbxsim.queues import parse_queues_conf

    conf = TRACE.parent / "config-calling"
    engine = Engine(
        queues=parse_queues_conf((conf / "queues.d" / "calling.conf").read_text()),
        dialplan=parse_extensions((conf / "extensions.conf").read_text()),
        start_epoch=T0,
    )
    events: list[dict[str, Any]] = []
    engine.subscribe(lambda ev: events.append(event_to_message(ev, engine.kernel.now - T0)))
    engine.set_phone("agent1", [AgentAction.answer(2.0)], "1001", "Agent One")
    engine.set_phone("agent3", [AgentAction.answer(1.0)], "1003", "Agent Three")
    engine.actions.handle(
        "QueueAdd",
        [("Queue", "support"), ("Interface", "PJSIP/agent1"), ("MemberName", "Agent One")],
    )
    engine.place_call("700", "5551103", "Caro Spied", CallerScript(hangup_after=14.0), at=T0 + 2)
    spy = [
        ("Channel", "PJSIP/agent3"),
        ("Context", "calling-supervise"),
        ("Exten", "2221"),
        ("Priority", "1"),
        ("CallerID", '"whisper" <2221>'),
        ("Timeout", "20000"),
        ("Async", "true"),
    ]
    engine.kernel.call_at(T0 + 7.5, lambda: engine.actions.handle("Originate", spy))
    engine.kernel.run_until(T0 + 40)
    recorded = [json.loads(line) for line in (SPY / "ami.jsonl").open(encoding="utf-8")]

    def spy_events(msgs: list[dict[str, Any]]) -> list[tuple[str, list[str], str, str]]:
        return [
            (
                m["Event"],
                [k for k in m if k.startswith(("Spyer", "Spyee"))],
                m["SpyerExten"],
                m["SpyeeChannel"].split("-")[0],
            )
            for m in msgs
            if m.get("Event") in ("ChanSpyStart", "ChanSpyStop")
        ]

    assert spy_events(events) == spy_events(recorded)

    def stop_before_agent_hangup(msgs: list[dict[str, Any]]) -> bool:
        noise = ("CEL", "DeviceStateChange", "VarSet", "Newexten", "Cdr", "QueueMemberStatus")
        names = [
            (m.get("Event"), m.get("Channel", "")) for m in msgs if m.get("Event") not in noise
        ]
        stop = names.index(("ChanSpyStop", ""))
        hangup = next(
            i for i, (e, c) in enumerate(names) if e == "Hangup" and c.startswith("PJSIP/agent1-")
        )
        return stop < hangup and names[stop + 1] == ("Hangup", names[hangup][1])

    assert stop_before_agent_hangup(events) and stop_before_agent_hangup(recorded)
