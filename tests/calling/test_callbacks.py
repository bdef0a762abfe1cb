"""Callback places: head-of-queue order, one claim per try, the retry plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicedesk import callbacks
from servicedesk.calling_config import CallbackPlan
from servicedesk.calling_models import CallbackPlace, OutboundCall
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope
from servicedesk.models import Call, CallbackRequest

T = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def P(pid: int, queue: str, at: float) -> callbacks.Pending:  # noqa: N802
    return callbacks.Pending(pid, queue, at)


def test_pick_offers_respects_callers_who_joined_earlier() -> None:
    pending = [P(1, "q", 100.0), P(2, "q", 200.0), P(3, "r", 50.0)]
    # a live caller joined q at 150: place 1 (joined at 100) goes first, place 2 waits
    offers = callbacks.pick_offers(pending, {"q": [150.0]}, {"q": ["a", "b"], "r": ["a"]})
    assert [(p.place_id, a) for p, a in offers] == [(3, "a"), (1, "b")]
    # nobody free: nothing is offered
    assert callbacks.pick_offers(pending, {}, {}) == []
    # the caller who joined at 90 is ahead of place 1
    assert callbacks.pick_offers([P(1, "q", 100.0)], {"q": [90.0]}, {"q": ["a"]}) == []


def _request(s: Session, uid: str, number: str = "5512345678") -> CallbackRequest:
    req = CallbackRequest(call_uniqueid=uid, number=number, language="es", requested_at=T)
    s.add(req)
    s.flush()
    return req


def test_places_come_from_the_call_record_or_the_general_queue(
    example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        s.add(
            Call(
                pbx_id="p",
                linkedid="u1",
                uniqueid="u1",
                started_at=T,
                queue="erp_es",
                entered_queue_at=T + timedelta(seconds=5),
            )
        )
        _request(s, "u1")
        _request(s, "u2")  # no call record (yet)
        assert callbacks.place_new_requests(s, example_config, T + timedelta(seconds=1)) == 1
        assert callbacks.place_new_requests(s, example_config, T + timedelta(seconds=9)) == 1
        places = {p.queue: p.place_at for p in s.scalars(select(CallbackPlace))}
    assert places == {"erp_es": T + timedelta(seconds=5), "general_es": T}


def test_a_try_is_claimed_once_and_retried_by_the_plan(
    example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    plan = CallbackPlan(tries=2, retry_minutes=10)
    with session_scope(session_factory) as s:
        req = _request(s, "u1")
        s.add(CallbackPlace(callback_id=req.id, queue="erp_es", place_at=T))
        s.flush()
        (pending,) = callbacks.ready(s, T)
        first = callbacks.offer(s, example_config, pending.place_id, "1001", T)
        assert first is not None and first.number == "+525512345678"
        # a second scheduler racing for the same try gets nothing
        assert callbacks.offer(s, example_config, pending.place_id, "1002", T) is None
        assert callbacks.ready(s, T) == []
        assert callbacks.settle(s, req.id, "no_answer", plan, T) == "retry"
        assert callbacks.ready(s, T + timedelta(minutes=9)) == []
        later = T + timedelta(minutes=10)
        (again,) = callbacks.ready(s, later)
        second = callbacks.offer(s, example_config, again.place_id, "1002", later)
        assert second is not None and second.request_id != first.request_id
        assert callbacks.settle(s, req.id, "busy", plan, later) == "failed"
        assert req.done_at == later
        place = s.scalars(select(CallbackPlace)).one()
        assert (place.tries, place.dial_token) == (2, f"{place.id}:2")
        assert len(s.scalars(select(OutboundCall)).all()) == 2


def test_agent_not_answering_keeps_the_try(
    example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    plan = CallbackPlan(tries=1)
    with session_scope(session_factory) as s:
        req = _request(s, "u1")
        s.add(CallbackPlace(callback_id=req.id, queue="erp_es", place_at=T))
        s.flush()
        (p,) = callbacks.ready(s, T)
        assert callbacks.offer(s, example_config, p.place_id, "1001", T) is not None
        assert callbacks.settle(s, req.id, "agent_unreachable", plan, T) == "waiting"
        (p,) = callbacks.ready(s, T)
        assert callbacks.offer(s, example_config, p.place_id, "1002", T) is not None
        assert callbacks.settle(s, req.id, "answered", plan, T) == "done"


def test_a_refused_number_fails_without_dialling(
    example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        req = _request(s, "u1", number="9001234567")  # premium
        s.add(CallbackPlace(callback_id=req.id, queue="erp_es", place_at=T))
        s.flush()
        (p,) = callbacks.ready(s, T)
        assert callbacks.offer(s, example_config, p.place_id, "1001", T) is None
        (row,) = s.scalars(select(OutboundCall)).all()
        assert (row.status, row.number_kind) == ("failed", "premium")
        assert s.scalars(select(CallbackPlace.status)).one() == "failed"
