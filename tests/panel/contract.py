"""Test doubles that speak the Redis contract exactly as the listener does (fields per the brief).

Until the listener and pbxsim run in these tests, these play their part: a pop
publisher, and a command executor that answers `keys.commands` on
`keys.command_results` and keeps `keys.agent_state(login)` current.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from servicedesk.bus import Bus


def ivr_json(**choices: str) -> str:
    """The listener turns CENTRALITA_IVR (`k=v;k=v`, percent-encoded) into a JSON object."""
    raw = ";".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in choices.items())
    parsed = dict(
        (k, urllib.parse.unquote(v)) for k, v in (part.split("=", 1) for part in raw.split(";"))
    )
    return json.dumps(parsed, ensure_ascii=False)


def pop_fields(login: str, call_id: str, kind: str = "ring", **over: Any) -> dict[str, str]:
    fields: dict[str, Any] = {
        "type": kind,
        "call_id": call_id,
        "uniqueid": call_id,
        "caller_num": "+525512340001",
        "caller_name": "Lucía Pérez",
        "contact_id": "",
        "contact_name": "",
        "organisation": "",
        "queue": "network_es",
        "language": "es",
        "category": "network",
        "incident": "",
        "priority": "medium",
        "vip": "0",
        "ivr": ivr_json(lang="es", menu="new_incident", category="network", ident="ani"),
        "wait_s": "7",
        "at": datetime.now(UTC).isoformat(),
        "agent": login,
    }
    fields.update(over)
    return {k: str(v) for k, v in fields.items()}


def publish_pop(bus: Bus, login: str, call_id: str, kind: str = "ring", **over: Any) -> str:
    return bus.publish(bus.keys.agent_pops(login), pop_fields(login, call_id, kind, **over))


class FakeListener:
    """Executes queue commands against a tiny member table, like the listener over AMI."""

    def __init__(self, bus: Bus, agents: dict[str, tuple[str, str]]) -> None:
        self.bus = bus
        self.by_interface = {iface: (login, name) for login, (iface, name) in agents.items()}
        self.executed: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FakeListener:
        self._start = self.start_id()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def start_id(self) -> str:
        """The stream's newest id now: reads continue from there, so a command that
        arrives between two reads is never skipped (re-reading with `$` would be)."""
        newest = self.bus.r.xrevrange(self.bus.keys.commands, count=1)
        return str(newest[0][0]) if newest else "0-0"

    def _run(self) -> None:
        last = self._start
        r = self.bus.r
        while not self._stop.is_set():
            reply = r.xread({self.bus.keys.commands: last}, block=100, count=50)
            for _, entries in reply or []:
                for eid, cmd in entries:
                    last = eid
                    self.executed.append(cmd)
                    self._apply(cmd)

    def _apply(self, cmd: dict[str, str]) -> None:
        login, name = self.by_interface.get(cmd["interface"], (None, ""))
        ok, message = login is not None, ""
        if login:
            key = self.bus.keys.agent_state(login)
            st = self.bus.get_state(key)
            queues = json.loads(st.get("queues") or "{}")
            state = st.get("state", "logged_out")
            reason = st.get("pause_reason", "")
            if cmd["action"] == "QueueAdd":
                queues[cmd["queue"]] = int(cmd["penalty"] or 0)
                state = "available" if state == "logged_out" else state
                message = "Added interface to queue"
            elif cmd["action"] == "QueueRemove":
                queues.pop(cmd["queue"], None)
                state = state if queues else "logged_out"
                message = "Removed interface from queue"
            elif cmd["action"] == "QueuePause":
                paused = cmd["paused"] == "true"
                state, reason = ("paused", cmd["reason"]) if paused else ("available", "")
                message = (
                    "Interface paused successfully" if paused else "Interface unpaused successfully"
                )
            self.bus.set_state(
                key,
                {
                    "login": login,
                    "name": name,
                    "interface": cmd["interface"],
                    "state": state,
                    "pause_reason": reason,
                    "since": datetime.now(UTC).isoformat(),
                    "queues": json.dumps(queues),
                },
            )
            self.bus.r.sadd(self.bus.keys.agents, login)
        self.bus.publish(
            self.bus.keys.command_results,
            {
                "id": cmd["id"],
                "response": "Success" if ok else "Error",
                "message": message or "Interface not found",
            },
        )
