"""An in-memory IvrServices for driving every flow branch deterministically."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ivr.services import CallerIdentity, IncidentInfo, QueueStats
from servicedesk.routing import AgentAvailability

# Monday 2026-11-23 11:00 in Mexico City (UTC-6): the office is open.
OPEN = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
# Monday 2026-11-23 20:00 local: closed.
CLOSED = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
# Monday 2026-11-23 19:00 local: the office is closed, the extended (VIP) calendar open.
EVENING = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
# Wednesday 2026-09-16 11:00 local: Independence Day.
HOLIDAY = datetime(2026, 9, 16, 17, 0, tzinfo=UTC)


@dataclass
class FakeServices:
    at: datetime = OPEN
    by_ani: dict[str, CallerIdentity] = field(default_factory=dict)
    by_number: dict[str, CallerIdentity] = field(default_factory=dict)
    incidents: dict[int, IncidentInfo] = field(default_factory=dict)
    staffed: dict[str, int] | None = None
    stats: dict[str, QueueStats] = field(default_factory=dict)
    calls: list[tuple[str, object]] = field(default_factory=list)
    messages: list[dict[str, object]] = field(default_factory=list)
    callbacks: list[dict[str, object]] = field(default_factory=list)
    surveys: list[tuple[str, int]] = field(default_factory=list)

    def now(self) -> datetime:
        return self.at

    async def identify(self, ani: str) -> CallerIdentity:
        self.calls.append(("identify", ani))
        return self.by_ani.get(ani, CallerIdentity(status="unknown"))

    async def identify_by_number(self, digits: str) -> CallerIdentity:
        self.calls.append(("identify_by_number", digits))
        return self.by_number.get(digits, CallerIdentity(status="unknown", via="customer_number"))

    async def availability(self) -> AgentAvailability | None:
        return None if self.staffed is None else AgentAvailability(self.staffed)

    async def queue_stats(self, queue: str) -> QueueStats | None:
        return self.stats.get(queue)

    async def incident_status(self, digits: str) -> IncidentInfo | None:
        self.calls.append(("incident_status", digits))
        return self.incidents.get(int(digits.lstrip("0") or 0))

    async def create_message_incident(self, **kw: object) -> int:
        self.messages.append(kw)
        return 9000 + len(self.messages)

    async def request_callback(self, **kw: object) -> int:
        self.callbacks.append(kw)
        return len(self.callbacks)

    async def record_survey(self, *, uniqueid: str, score: int) -> bool:
        self.surveys.append((uniqueid, score))
        return True
