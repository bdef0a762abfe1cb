"""A small hand-made month (March 2026, Mexico City) whose every figure is worked
out by hand in the tests: two organisations, a few calls of each outcome, incidents
with stored due times, satisfaction scores, one agent shift with a lunch pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from servicedesk.models import (
    AgentSession,
    AgentStateChange,
    Call,
    Contact,
    Contract,
    Incident,
    IncidentEvent,
    Organisation,
)

MX = ZoneInfo("America/Mexico_City")
AS_OF = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
ALFA = "Alfa Manufacturas S.A. de C.V."
BETA = "Beta & Hijos"


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MX).astimezone(UTC)


def _call(
    n: int,
    contact: int,
    queue: str,
    at: datetime,
    outcome: str,
    hold: int | None,
    talk: int | None = None,
    agent: str | None = None,
    score: int | None = None,
) -> Call:
    joined = outcome != "join_empty"
    return Call(
        pbx_id="pbx1",
        linkedid=f"L{n}",
        uniqueid=f"U{n}",
        contact_id=contact,
        queue=queue,
        started_at=at - timedelta(seconds=20),
        entered_queue_at=at if joined else None,
        answered_at=at + timedelta(seconds=hold or 0) if agent else None,
        ended_at=at + timedelta(seconds=(hold or 0) + (talk or 0)),
        hold_seconds=hold,
        talk_seconds=talk,
        agent_login=agent,
        outcome=outcome,
        satisfaction=score,
    )


def seed_month(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        alfa = Organisation(name=ALFA, customer_number="100")
        beta = Organisation(name=BETA, customer_number="200")
        s.add_all([alfa, beta])
        s.flush()
        ca = Contact(organisation_id=alfa.id, name="Ana")
        cb = Contact(organisation_id=beta.id, name="Beto")
        s.add_all([ca, cb])
        a1 = Contract(
            number="A-1", organisation_id=alfa.id, plan="basic", starts_on=local(1, 0, month=1)
        )
        b1 = Contract(
            number="B-1", organisation_id=beta.id, plan="advanced", starts_on=local(1, 0, month=1)
        )
        s.add_all([a1, b1])
        s.flush()
        s.add_all(
            [
                _call(1, ca.id, "network_es", local(2, 10, 5), "answered", 10, 100, "1001", 5),
                _call(2, ca.id, "network_es", local(2, 10, 20), "answered", 25, 200, "1001", 4),
                _call(3, ca.id, "network_es", local(2, 11, 10), "abandoned", 3),
                _call(4, ca.id, "network_es", local(3, 10, 40), "abandoned", 40),
                _call(5, ca.id, "general_es", local(3, 10, 50), "answered", 30, 60, "1003", 2),
                _call(6, ca.id, "general_es", local(3, 16, 0), "timeout", 600),
                _call(7, ca.id, "general_es", local(3, 16, 5), "exit_empty", 0),
                _call(8, ca.id, "general_es", local(3, 16, 6), "join_empty", None),
                _call(9, ca.id, "general_es", local(3, 16, 10), "callback_requested", 50),
                _call(10, cb.id, "network_es", local(2, 10, 7), "answered", 5, 50, "1001", 1),
                _call(
                    11, ca.id, "network_es", local(10, 10, 0, month=2), "answered", 50, 100, "1001"
                ),
            ]
        )
        number = 0

        def inc(
            priority: str,
            created: datetime,
            *,
            org: int = alfa.id,
            contract: int | None = a1.id,
            channel: str = "phone",
            first: datetime | None = None,
            resolved: datetime | None = None,
            closed: datetime | None = None,
            resp_due: datetime | None = None,
            res_due: datetime | None = None,
        ) -> Incident:
            nonlocal number
            number += 1
            i = Incident(
                number=number,
                title=f"Incidente {number}",
                priority=priority,
                created_by="test",
                created_at=created,
                organisation_id=org,
                contract_id=contract,
                channel=channel,
                first_response_at=first,
                resolved_at=resolved,
                closed_at=closed,
                response_due_at=resp_due,
                resolution_due_at=res_due,
                status="closed" if closed else "resolved" if resolved else "assigned",
            )
            s.add(i)
            return i

        c = local(2, 10)
        inc(
            "high",
            c,
            first=c + timedelta(minutes=30),
            resp_due=c + timedelta(hours=1),
            res_due=local(2, 16),
            resolved=local(2, 17),
            closed=local(3, 10),
        )
        c = local(4, 9)
        inc("medium", c, channel="email", resp_due=local(4, 11), res_due=local(4, 15))
        c = local(30, 12)
        inc("critical", c, channel="web", first=c, resp_due=c, res_due=local(5, 12, month=4))
        inc("planned", local(5, 9))
        old = inc(
            "high",
            local(27, 9, month=2),
            first=local(27, 9, 30, month=2),
            resp_due=local(27, 10, month=2),
            res_due=local(27, 15, month=2),
            resolved=local(1, 10),
        )
        inc("low", local(6, 9), org=beta.id, contract=b1.id)
        for month in (1, 2, 3):
            for k in range(9):
                c = local(9 + k, 9, month=month)
                inc(
                    "low",
                    c,
                    first=c + timedelta(hours=1),
                    resolved=c + timedelta(hours=2),
                    resp_due=c + timedelta(days=1),
                    res_due=c + timedelta(days=1),
                )
        s.flush()
        s.add(IncidentEvent(incident_id=old.id, at=local(6, 12), actor="t", kind="reopened"))
        s.add(
            AgentSession(
                agent_login="1001",
                interface="PJSIP/1001",
                queue="network_es",
                login_at=local(2, 8),
                logout_at=local(2, 16),
            )
        )
        s.add(
            AgentStateChange(
                agent_login="1001", at=local(2, 13), kind="pause", reason="lunch", queue=""
            )
        )
        s.add(AgentStateChange(agent_login="1001", at=local(2, 13, 45), kind="unpause", queue=""))
        s.commit()
        return {"alfa": alfa.id, "beta": beta.id}
