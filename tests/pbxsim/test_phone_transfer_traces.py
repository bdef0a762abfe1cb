"""pbxsim's transfers keyed on the agent's phone held to the two recordings made on
Asterisk 22.10.1: `calling_phone_blind_transfer` (`#1` then the queue's code 801) and
`calling_phone_atxfer` (`*2` 801, completed by `*2`). The recorded PlayDTMF actions
(Receive=yes on the agent's channel, as the phone would send them), at the recorded
times, give the same queue_log and the same bridge, transfer and queue events in the
same order, per channel role."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pbxsim.behaviour import NOANSWER, AgentAction, CallerScript
from pbxsim.dialplan import parse_extensions
from pbxsim.engine import Engine
from pbxsim.queues import parse_queues_conf
from pbxsim.trace_compare import event_to_message
from tests.pbxsim.test_attended_transfer_traces import (
    CONF,
    TRACES,
    _dialplan,
    _recorded,
    event_shape,
    queue_log_shape,
    recorded_t0,
)

# (agent1 plan, agent2 plan, caller, caller hangs up after) as the recorder had them
SCENARIOS: dict[str, tuple[AgentAction, list[AgentAction], tuple[str, str], float]] = {
    "calling_phone_blind_transfer": (
        AgentAction.answer(2.0),
        [AgentAction.answer(2.0)],
        ("5551105", "Eva Keypad"),
        25.0,
    ),
    "calling_phone_atxfer": (
        AgentAction.answer(2.0),
        [AgentAction.answer(2.0, 12.0)],
        ("5551106", "Fede Keypad"),
        60.0,
    ),
    # the panel's Atxfer (cancelled) leaves TRANSFER_CONTEXT=calling-transfer: #1 801 goes there
    "calling_phone_xfer_after_abort": (
        AgentAction.answer(2.0),
        [NOANSWER, AgentAction.answer(2.0)],
        ("5551107", "Gil Keypad"),
        40.0,
    ),
}
# the rig's from-agents for these recordings (scenario.md): the queue's code 801 before
# the catch-all `_X.` (which made Asterisk wait transferdigittimeout after the digits)
FROM_AGENTS = """
[from-agents]
exten => 801,1,Goto(calling-transfer,801,1)
exten => _X.,1,Hangup()
"""


def phone_dialplan(from_agents: str = FROM_AGENTS) -> str:
    return _dialplan() + from_agents


def simulate(
    scenario: str, from_agents: str = FROM_AGENTS
) -> tuple[list[dict[str, Any]], list[str], Engine]:
    agent1, agent2, (num, name), hangup_after = SCENARIOS[scenario]
    T0 = recorded_t0(scenario)  # noqa: N806
    engine = Engine(
        queues=parse_queues_conf((CONF / "queues.d" / "calling.conf").read_text()),
        dialplan=parse_extensions(phone_dialplan(from_agents)),
        start_epoch=T0,
    )
    events: list[dict[str, Any]] = []
    engine.subscribe(lambda ev: events.append(event_to_message(ev, engine.kernel.now - T0)))
    engine.set_phone("agent1", [agent1], "1001", "Agent One")
    engine.set_phone("agent2", agent2, "1002", "Agent Two")
    responses: list[str] = []
    for line in (TRACES / scenario / "ami_sent.jsonl").read_text().splitlines():
        action = json.loads(line)
        kind = action["Action"]
        if kind in ("Login", "Logoff"):
            continue
        fields = [(k, str(v)) for k, v in action.items() if k not in ("_t", "ActionID", "Action")]

        def send(kind: str = kind, fields: list[tuple[str, str]] = fields) -> None:
            out = engine.actions.handle(kind, fields)
            assert out is not None, kind
            responses.append(dict(out[0])["Message"])

        if kind == "QueueAdd":
            send()
        else:
            engine.kernel.call_at(T0 + float(action["_t"]), send)
    # the caller's INVITE reached Asterisk ~0.1 s after SIPp started: place it then, so
    # app_queue's whole seconds fall as recorded when the caller is the one hanging up
    arrived = next(m["_t"] for m in _recorded(scenario) if m.get("Event") == "Newchannel")
    script = CallerScript(hangup_after=hangup_after)
    engine.place_call("710", num, name, script, at=T0 + arrived)
    engine.kernel.run_until(T0 + 70)
    recorded = [
        r["Message"]
        for r in map(json.loads, (TRACES / scenario / "ami.jsonl").read_text().splitlines())
        if r.get("Response") == "Success"
        and r.get("Message", "") not in ("Authentication accepted", "Thanks for all the fish.")
    ]
    assert responses == recorded
    return events, engine.queue_log_lines, engine


def settled_shape(msgs: list[dict[str, Any]]) -> dict[str, list[str]]:
    """event_shape, with a channel's AgentComplete and BridgeLeave at the end of the call
    in one order: both come at the same instant from two threads, and the recordings
    differ (calling_atxfer_complete: AgentComplete first; calling_phone_atxfer: after)."""
    shape = event_shape(msgs)
    for role, seq in shape.items():
        if role == "milestones":
            continue
        for i in range(len(seq) - 1):
            if (seq[i], seq[i + 1]) == ("BridgeLeave", "AgentComplete"):
                seq[i], seq[i + 1] = seq[i + 1], seq[i]
    return shape


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_keyed_transfer_follows_the_recording(scenario: str) -> None:
    events, qlog, engine = simulate(scenario)
    real_qlog = (TRACES / scenario / "queue_log").read_text().splitlines()
    assert queue_log_shape(qlog) == queue_log_shape(real_qlog)
    assert settled_shape(events) == settled_shape(_recorded(scenario))
    assert not engine.channels and not engine.consults


def test_keyed_blind_transfer_event_fields() -> None:
    """The keyed BlindTransfer is not "external" and names the agent channel's own
    context (no TRANSFER_CONTEXT set), unlike AMI BlindTransfer's IsExternal Yes."""
    scenario = "calling_phone_blind_transfer"
    events, _qlog, _engine = simulate(scenario)
    keys = ("Result", "IsExternal", "Context", "Extension", "TransfererChannel")

    def fields(msgs: list[dict[str, Any]]) -> list[tuple[str | None, ...]]:
        return [tuple(m.get(k) for k in keys) for m in msgs if m.get("Event") == "BlindTransfer"]

    assert fields(events) == fields(_recorded(scenario))
    assert fields(events) == [("Success", "No", "from-agents", "801", "PJSIP/agent1-00000001")]


def test_the_code_waits_the_digit_timeout_only_while_more_digits_could_match() -> None:
    """With the rig's `_X.` still matching longer digits, the caller is sent on 3 s after
    the last digit (as recorded); without it, at once."""
    scenario = "calling_phone_blind_transfer"
    recorded = _recorded(scenario)
    last_digit = max(m["_t"] for m in recorded if m.get("Event") == "DTMFEnd")
    sent = next(m["_t"] for m in recorded if m.get("Event") == "BlindTransfer")
    events, _qlog, _engine = simulate(scenario)
    simulated = next(m["_t"] for m in events if m.get("Event") == "BlindTransfer")
    assert sent - last_digit == pytest.approx(3.0, abs=0.05)
    assert simulated == pytest.approx(sent, abs=0.1)
    # the generated agents' context has no pattern: 801 can only be 801
    events, qlog, _engine = simulate(scenario, FROM_AGENTS.replace("exten => _X.,1,Hangup()", ""))
    at_once = next(m["_t"] for m in events if m.get("Event") == "BlindTransfer")
    assert at_once == pytest.approx(last_digit, abs=0.1)
    assert any("|BLINDTRANSFER|801|from-agents|" in line for line in qlog)


def test_a_cancelled_atxfer_leaves_its_context_for_the_keypad() -> None:
    """calling_phone_xfer_after_abort: after the panel's Atxfer to calling-transfer was
    cancelled, `#1 801` on the same call goes to 801@calling-transfer (TRANSFER_CONTEXT),
    at once, as calling-transfer has no pattern; not to from-agents."""
    scenario = "calling_phone_xfer_after_abort"
    recorded = _recorded(scenario)
    events, qlog, _engine = simulate(scenario)
    assert any("|BLINDTRANSFER|801|calling-transfer|" in line for line in qlog)
    last_digit = max(m["_t"] for m in recorded if m.get("Event") == "DTMFEnd")
    for msgs in (recorded, events):
        sent = next(m for m in msgs if m.get("Event") == "BlindTransfer")
        assert sent["Context"] == "calling-transfer" and sent["IsExternal"] == "No"
        assert sent["_t"] == pytest.approx(last_digit, abs=0.1)
