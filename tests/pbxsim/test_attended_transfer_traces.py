"""pbxsim's attended transfer held to the three recordings made on Asterisk 22.10.1
(calling_atxfer_complete, calling_atxfer_agent_hangup, calling_atxfer_abort): the same
actions at the recorded times give the same queue_log (ATTENDEDTRANSFER with its
fields, the consultation as a queue call of its own) and the same bridge, Local-channel
and transfer events, in the same order, per channel role."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pbxsim.behaviour import NOANSWER, AgentAction, CallerScript
from pbxsim.dialplan import parse_extensions
from pbxsim.engine import Engine
from pbxsim.queues import parse_queues_conf
from pbxsim.trace_compare import event_to_message

TRACES = Path(__file__).parents[1] / "data" / "asterisk-traces"
CONF = TRACES / "config-calling"
# what an attended transfer changes: bridges, the Local pair, queue and transfer events
SHAPE = {
    "Newchannel",
    "Hold",
    "Unhold",
    "LocalBridge",
    "BridgeCreate",
    "BridgeEnter",
    "BridgeLeave",
    "BridgeMerge",
    "BridgeDestroy",
    "AttendedTransfer",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "Hangup",
}
# (agent1 plan, agent2 plan, caller, hold s) as the recorder's scenarios had them
SCENARIOS: dict[str, tuple[AgentAction, AgentAction, tuple[str, str]]] = {
    "calling_atxfer_complete": (
        AgentAction.answer(2.0),
        AgentAction.answer(2.0, 16.0),
        ("5551102", "Beto Attended"),
    ),
    "calling_atxfer_agent_hangup": (
        AgentAction.answer(2.0, 14.0),
        AgentAction.answer(2.0, 16.0),
        ("5551102", "Beto Attended"),
    ),
    "calling_atxfer_abort": (
        AgentAction.answer(2.0, 25.0),
        NOANSWER,
        ("5551104", "Dora Cancel"),
    ),
}


def _dialplan() -> str:
    """The rig's dialplan with the 710 that ran (`Queue(support,t)`; the later 710 of the
    recorder's own scenarios was refused by Asterisk as a duplicate)."""
    text = (CONF / "extensions.conf").read_text()
    head = text[: text.index("; 700:")]
    return head + text[text.index("[calling-outbound]") :]


def recorded_t0(scenario: str) -> float:
    """The epoch the recording started at: app_queue counts whole seconds of it."""
    found = re.search(r"\(epoch (\d+\.\d+)\)", (TRACES / scenario / "scenario.md").read_text())
    assert found is not None
    return float(found.group(1))


def simulate(scenario: str) -> tuple[list[dict[str, Any]], list[str], Engine]:
    """Run the recorded scenario in pbxsim, sending the recorded actions at their times."""
    agent1, agent2, (num, name) = SCENARIOS[scenario]
    T0 = recorded_t0(scenario)  # noqa: N806
    engine = Engine(
        queues=parse_queues_conf((CONF / "queues.d" / "calling.conf").read_text()),
        dialplan=parse_extensions(_dialplan()),
        start_epoch=T0,
    )
    events: list[dict[str, Any]] = []
    engine.subscribe(lambda ev: events.append(event_to_message(ev, engine.kernel.now - T0)))
    engine.set_phone("agent1", [agent1], "1001", "Agent One")
    engine.set_phone("agent2", [agent2], "1002", "Agent Two")
    sent = [
        json.loads(line) for line in (TRACES / scenario / "ami_sent.jsonl").read_text().splitlines()
    ]
    responses: list[tuple[str, str]] = []
    for action in sent:
        fields = [(k, str(v)) for k, v in action.items() if k not in ("_t", "ActionID")]
        kind = action["Action"]
        if kind in ("Login", "Logoff"):
            continue

        def send(kind: str = kind, fields: list[tuple[str, str]] = fields) -> None:
            out = engine.actions.handle(kind, fields[1:])
            assert out is not None, kind
            responses.append((kind, dict(out[0])["Message"]))

        if kind == "QueueAdd":
            send()
        else:
            engine.kernel.call_at(T0 + float(action["_t"]), send)
    engine.place_call("710", num, name, CallerScript(hangup_after=60.0), at=T0 + 2.0)
    engine.kernel.run_until(T0 + 70)
    recorded = [
        (r["Response"], r.get("Message", ""))
        for r in map(json.loads, (TRACES / scenario / "ami.jsonl").read_text().splitlines())
        if "Response" in r and r.get("Message", "").endswith("queued")
    ]
    assert [m for _k, m in responses if m.endswith("queued")] == [m for _r, m in recorded]
    return events, engine.queue_log_lines, engine


def queue_log_shape(lines: list[str]) -> list[list[str]]:
    """queue_log without times; uniqueids and bridge ids by order of appearance."""
    ids: dict[str, str] = {}

    def ref(value: str) -> str:
        return ids.setdefault(value, f"<{len(ids)}>")

    out = []
    for line in lines:
        parts = line.split("|")
        if parts[1] == "MANAGER":
            continue
        data = parts[5:]
        if parts[4] == "CONNECT":
            data = [data[0], ref(data[1]), data[2]]
        elif parts[4] == "ATTENDEDTRANSFER":
            data = [data[0], ref(data[1]), *data[2:]]
        elif parts[4] == "RINGCANCELED":
            data = []  # ring milliseconds
        out.append([ref(parts[1]), parts[2], parts[3], parts[4], *data])
    return out


# the steps whose order Asterisk fixes (the rest run on threads of their own: which of
# two channels' events comes first varies between recordings of the same scenario)
MILESTONES = {
    "Hold",
    "LocalBridge",
    "QueueCallerJoin",
    "AgentConnect",
    "BridgeMerge",
    "AttendedTransfer",
    "AgentComplete",
    "Unhold",
    "QueueCallerAbandon",
}


def event_shape(msgs: list[dict[str, Any]]) -> dict[str, list[str]]:
    """From the Hold on: each channel role's events in order (channels named by kind and
    first appearance; bridge-only events under ""), and the milestones in order."""
    roles: dict[str, str] = {}

    def role(chan: str) -> str:
        if not chan:
            return ""
        kind = chan.split("/")[0] + ("" if "Local" not in chan else chan[-2:])
        same = sum(1 for k in roles if roles[k].startswith(kind))
        return roles.setdefault(chan, f"{kind}#{same}")

    names = [m for m in msgs if m.get("Event") in SHAPE]
    start = next(i for i, m in enumerate(names) if m["Event"] == "Hold")
    out: dict[str, list[str]] = {"milestones": []}
    for m in names[start:]:
        who = role(m.get("Channel") or m.get("LocalOneChannel") or "")
        out.setdefault(who, []).append(m["Event"])
        if m["Event"] in MILESTONES:
            out["milestones"].append(f"{m['Event']}:{who}")
    return out


def _recorded(scenario: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (TRACES / scenario / "ami.jsonl").open(encoding="utf-8")]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_attended_transfer_follows_the_recording(scenario: str) -> None:
    events, qlog, engine = simulate(scenario)
    real_qlog = (TRACES / scenario / "queue_log").read_text().splitlines()
    assert queue_log_shape(qlog) == queue_log_shape(real_qlog)
    assert event_shape(events) == event_shape(_recorded(scenario))
    assert not engine.channels and not engine.consults


@pytest.mark.parametrize("scenario", ["calling_atxfer_complete", "calling_atxfer_agent_hangup"])
def test_attended_transfer_event_fields(scenario: str) -> None:
    """AttendedTransfer carries the recorded field names (Orig/Second transferer and bridge,
    Transferee, TransferTarget = the Local ;1) and names the caller's bridge as destination;
    queue_log's ATTENDEDTRANSFER names the same bridge."""
    events, qlog, _engine = simulate(scenario)
    (sim,) = [m for m in events if m.get("Event") == "AttendedTransfer"]
    (real,) = [m for m in _recorded(scenario) if m.get("Event") == "AttendedTransfer"]
    assert [k for k in sim if k not in ("_t", "Timestamp")] == [
        k for k in real if k not in ("_t", "Timestamp")
    ]
    for key in ("Result", "IsExternal", "DestType"):
        assert sim[key] == real[key]
    if scenario == "calling_atxfer_complete":  # no target snapshot once the agent hung up
        assert sim["TransferTargetChannel"].endswith(";1")
        assert sim["TransferTargetContext"] == real["TransferTargetContext"]
    assert sim["TransfereeChannel"].startswith("PJSIP/trunk-")
    (line,) = [x for x in qlog if "|ATTENDEDTRANSFER|" in x]
    assert line.split("|")[5:7] == ["BRIDGE", sim["DestBridgeUniqueid"]]
    assert sim["DestBridgeUniqueid"] == sim["OrigBridgeUniqueid"]


@pytest.mark.parametrize(
    ("agent1", "agent2", "caller_hold", "ends"),
    [
        # the agent hangs up while the consultation still rings: it is dropped first
        (AgentAction.answer(2.0, 9.0), NOANSWER, 60.0, "COMPLETEAGENT"),
        # the caller hangs up while on hold
        (AgentAction.answer(2.0, 30.0), NOANSWER, 7.0, "COMPLETECALLER"),
        # the consulted agent answers, then hangs up before the transfer: back to the caller
        (AgentAction.answer(2.0, 20.0), AgentAction.answer(1.0, 3.0), 60.0, "COMPLETEAGENT"),
    ],
)
def test_consultations_that_end_otherwise_leave_nothing_behind(
    agent1: AgentAction, agent2: AgentAction, caller_hold: float, ends: str
) -> None:
    """Paths without a recording of their own: no transfer is logged, the caller's queue
    call ends as a plain one, the consultation abandons or completes in its own queue,
    and no channel or consultation is left over."""
    t0 = 1_800_000_000.0
    engine = Engine(
        queues=parse_queues_conf((CONF / "queues.d" / "calling.conf").read_text()),
        dialplan=parse_extensions(_dialplan()),
        start_epoch=t0,
    )
    engine.set_phone("agent1", [agent1], "1001", "Agent One")
    engine.set_phone("agent2", [agent2], "1002", "Agent Two")
    for queue, agent, name in (
        ("support", "agent1", "Agent One"),
        ("secondlevel", "agent2", "Agent Two"),
    ):
        engine.actions.handle(
            "QueueAdd", [("Queue", queue), ("Interface", f"PJSIP/{agent}"), ("MemberName", name)]
        )
    engine.place_call("710", "5551105", "Eva", CallerScript(hangup_after=caller_hold), at=t0 + 1)

    def atxfer() -> None:
        chan = next(n for n in engine.bridged_calls if n.startswith("PJSIP/agent1-"))
        engine.actions.handle(
            "Atxfer", [("Channel", chan), ("Exten", "801"), ("Context", "calling-transfer")]
        )

    engine.kernel.call_at(t0 + 6, atxfer)
    engine.kernel.run_until(t0 + 80)
    events = [line.split("|")[4] for line in engine.queue_log_lines]
    assert "ATTENDEDTRANSFER" not in events
    lines = [line.split("|") for line in engine.queue_log_lines]
    support = [p for p in lines if p[2] == "support"]
    assert support[-1][4] == ends
    assert events.count("ENTERQUEUE") == 2  # the caller's and the consultation's
    assert not engine.channels and not engine.consults
