"""What each scenario.md states, and the listener's records for the same trace.

The expected outcome is read from each scenario's "Queue calls according to
queue_log" table (written by the recorder, not by our parser), so the tests
compare callstats against an account it did not produce.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ami_listener.ingest import Ingest
from ami_listener.store import CallStore

SCENARIOS = [
    "answered_caller_hangup",
    "answered_agent_hangup",
    "ringnoanswer_then_answer",
    "abandoned",
    "exit_timeout",
    "join_empty_leave_empty",
    "member_management",
    "priority_and_penalty",
    "fastagi_ivr",
    "fastagi_hangup_midway",
    "load_mix",
]
# wrapuptime of the scenario's queues.conf (only load_mix sets one)
WRAPUP = {"load_mix": 2}


@dataclass(frozen=True)
class StatedCall:
    uniqueid: str
    caller: str
    queue: str
    position: int
    outcome: str  # the queue_log event named in the table
    agent: str
    hold: int
    talk: int | None
    rna: int
    rc: int


def stated_calls(trace: Path) -> list[StatedCall]:
    """Rows of the scenario's queue-call table (empty when the scenario has no queue call)."""
    text = (trace / "scenario.md").read_text()
    head = "| uniqueid | caller | queue |"
    if head not in text:
        return []
    rows: list[StatedCall] = []
    lines = text[text.index(head) :].splitlines()[2:]
    for line in lines:
        if not line.startswith("| "):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        uid, caller, queue, pos, outcome, agent, hold, talk, rna, rc = cells
        rows.append(
            StatedCall(
                uid,
                caller,
                queue,
                int(pos),
                outcome.split(" ")[0],
                agent,
                int(hold),
                int(talk) if talk else None,
                int(rna),
                int(rc),
            )
        )
    return rows


def member_logins(trace: Path) -> dict[str, str]:
    """Member name → the listener's login for it (interface `PJSIP/agent1` → `agent1`).

    Taken from the trace's own QueueMemberAdded / QueueMember events.
    """
    out: dict[str, str] = {}
    for line in (trace / "ami.jsonl").read_text().splitlines():
        msg = json.loads(line)
        if msg.get("Event") in ("QueueMemberAdded", "QueueMember"):
            name = msg.get("MemberName") or msg.get("Name")
            iface = msg.get("Interface") or msg.get("Location")
            if name and iface:
                out[name] = iface.split("/", 1)[-1]
    return out


def records_from_trace(trace: Path, factory: sessionmaker[Session], pbx_id: str = "pbx1") -> int:
    """Replay ami.raw through the listener's ingest (parser → state machine → store)."""
    ingest = Ingest(
        pbx_id,
        store=CallStore(factory, pbx_id),
        wrapup_for=lambda _q: WRAPUP.get(trace.name, 0),
    )
    data = (trace / "ami.raw").read_bytes()
    for i in range(0, len(data), 4093):  # odd-sized chunks, as TCP delivers them
        ingest.feed(data[i : i + 4093])
    assert ingest.flush()
    assert ingest.handler_errors == 0
    return ingest.events
