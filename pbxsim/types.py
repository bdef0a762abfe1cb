"""The seam between the AMI server (protocol) and the engine (calls, queues, channels).

The server owns framing, login, the event mask and generic actions (Login, Logoff,
Ping, Events, Challenge); the engine owns every telephony action and emits events.
Headers are ordered (name, value) pairs because Asterisk's field order is part of
what the trace comparison checks, and names may repeat (ChanVariable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Headers = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """One event; `category` is the manager.conf class that gates it (call, agent, dialplan, cdr, cel, system, reporting, user)."""

    category: str
    headers: Headers


EventSink = Callable[[AmiEvent], None]


class PbxEngine(Protocol):
    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        """Deliver every future event to `sink`; returns an unsubscribe function."""
        ...

    async def handle_action(self, name: str, headers: Headers) -> list[Headers] | None:
        """Responses (and any EventList items, in order) for one action, or None if the
        engine does not know the action; `headers` include ActionID when the client sent one."""
        ...
