"""The monthly report counts closures verified by phone apart from the others."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from callstats import reports
from servicedesk import incidents, outbound
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope
from servicedesk.models import Contact, ContactPhone

T = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def _resolved(s: Session, cfg: CentralitaConfig, title: str):  # type: ignore[no-untyped-def]
    contact = Contact(name="Rosa")
    contact.phones.append(ContactPhone(e164="+525512345678", raw="5512345678"))
    s.add(contact)
    s.flush()
    inc = incidents.create_incident(
        s, cfg, title=title, actor="1001", reporter_id=contact.id, now=T
    )
    incidents.start_work(s, inc, actor="1001", now=T)
    incidents.resolve(s, inc, actor="1001", now=T)
    return inc


def test_closures_verified_by_phone(
    example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        by_phone = _resolved(s, example_config, "a")
        rejected = _resolved(s, example_config, "b")
        by_hand = _resolved(s, example_config, "c")
        for inc, accepted in ((by_phone, True), (rejected, False)):
            row = outbound.request_call(
                s,
                example_config,
                purpose="verification",
                agent_login="1001",
                requested_by="ana",
                raw_number="5512345678",
                incident=inc,
                now=T,
            )
            row.status = "ended"
            outbound.record_verdict(s, row, accepted=accepted, actor="1001", now=T)
        incidents.verify(s, by_hand, accepted=True, actor="1001", now=T)
    with session_scope(session_factory) as s:
        report = reports.monthly_report(s, example_config, 2026, 3, as_of=T)
    figures = dict(report.table("calling").rows)
    assert figures["closures_verified"] == 2
    assert figures["closures_verified_by_phone"] == 1
    assert figures["reopened_by_caller"] == 1 and figures["reopened_by_phone"] == 1
    assert figures["outbound_verification_ended"] == 2
    assert figures["callbacks_requested"] == 0 and figures["callbacks_pending"] == 0


def test_callbacks_are_counted_apart(
    example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    from servicedesk.calling_models import CallbackPlace
    from servicedesk.models import CallbackRequest

    with session_scope(session_factory) as s:
        for i, (status, tries) in enumerate((("done", 1), ("failed", 3), ("retry", 1), (None, 0))):
            req = CallbackRequest(call_uniqueid=f"u{i}", number="5512345678", requested_at=T)
            s.add(req)
            s.flush()
            if status is not None:
                s.add(
                    CallbackPlace(
                        callback_id=req.id, queue="erp_es", place_at=T, status=status, tries=tries
                    )
                )
    with session_scope(session_factory) as s:
        figures = dict(
            reports.monthly_report(s, example_config, 2026, 3, as_of=T).table("calling").rows
        )
    assert (figures["callbacks_requested"], figures["callbacks_done"]) == (4, 1)
    assert (figures["callbacks_failed"], figures["callbacks_pending"]) == (1, 2)
    assert figures["callback_tries"] == 5
