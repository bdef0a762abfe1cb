"""Which queues an agent joins, and the AMI commands the panel asks the listener to run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from servicedesk.bus import Bus
from servicedesk.config import AgentConfig, CentralitaConfig


def agent_config(cfg: CentralitaConfig, login: str | None) -> AgentConfig | None:
    return next((a for a in cfg.agents if a.login == login), None)


def memberships(cfg: CentralitaConfig, agent: AgentConfig) -> dict[str, int]:
    """Queues of every skill x language the agent speaks, with skill-level penalties (the IVR
    helper's routing module owns the rule)."""
    from servicedesk.routing import memberships as routing_memberships

    return dict(routing_memberships(cfg, agent))


def command(
    action: str,
    agent: AgentConfig,
    requested_by: str,
    *,
    queue: str = "",
    penalty: int | None = None,
    paused: bool | None = None,
    reason: str = "",
) -> dict[str, str]:
    fields = {
        "id": uuid.uuid4().hex,
        "action": action,
        "queue": queue,
        "interface": agent.interface,
        "member_name": agent.name,
        "penalty": "" if penalty is None else str(penalty),
        "paused": "" if paused is None else ("true" if paused else "false"),
        "reason": reason,
        "requested_by": requested_by,
    }
    return fields


def send_and_wait(
    bus: Bus, commands: Iterable[dict[str, str]], timeout_s: float = 3.0
) -> list[dict[str, str]]:
    """Publish commands, then wait (bounded) for the listener's results; missing ones are 'pending'."""
    results_key = bus.keys.command_results
    last = bus.r.xrevrange(results_key, count=1)
    last_id = str(last[0][0]) if last else "0-0"
    sent = list(commands)
    for c in sent:
        bus.publish(bus.keys.commands, c)
    wanted = {c["id"] for c in sent}
    got: dict[str, dict[str, str]] = {}
    deadline = time.monotonic() + timeout_s
    while wanted - set(got) and time.monotonic() < deadline:
        block = max(1, int((deadline - time.monotonic()) * 1000))
        for eid, fields in bus.read(results_key, last_id, block_ms=block):
            last_id = eid
            if fields.get("id") in wanted:
                got[fields["id"]] = fields
    out = []
    for c in sent:
        r = got.get(c["id"], {"response": "Pending", "message": ""})
        out.append(
            {
                "id": c["id"],
                "action": c["action"],
                "queue": c["queue"],
                "response": r.get("response", ""),
                "message": r.get("message", ""),
            }
        )
    return out
