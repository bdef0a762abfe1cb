"""StoreServices against a real database (SQLite and PostgreSQL) and a real redis-server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import redis as redis_lib
from sqlalchemy import select

from ivr.services import (
    CallerIdentity,
    QueueStats,
    StoreServices,
    decode_ivr_var,
    desk_language,
    encode_ivr_var,
    estimated_wait_s,
    message_reason,
    message_texts,
)
from servicedesk.bus import Keys
from servicedesk.incidents import create_incident
from servicedesk.models import CallbackRequest, Contact, Contract, Incident, Organisation


def seed(cfg, session_factory) -> tuple[int, int]:
    with session_factory() as s:
        org = Organisation(name="Acme", customer_number="C-1", vip=True)
        s.add(org)
        s.flush()
        s.add(
            Contract(
                number="K-1",
                organisation_id=org.id,
                plan="advanced",
                starts_on=datetime(2026, 1, 1, tzinfo=UTC),
                ends_on=None,
            )
        )
        contact = Contact(organisation_id=org.id, name="Ana", language="en")
        s.add(contact)
        s.flush()
        inc = create_incident(s, cfg, title="VPN down", actor="agent:1001", priority="high")
        s.commit()
        return contact.id, inc.number


async def test_incident_status_and_message_incident(example_config, session_factory) -> None:
    contact_id, number = seed(example_config, session_factory)
    svc = StoreServices(example_config, session_factory, None)
    info = await svc.incident_status(f"00{number}")
    assert info is not None and (info.number, info.status, info.priority, info.level) == (
        number,
        "new",
        "high",
        1,
    )
    assert await svc.incident_status("999999") is None
    assert await svc.incident_status("12a") is None  # not digits: not found, no crash

    ident = CallerIdentity(status="found", contact_id=contact_id)
    kw = dict(
        identity=ident,
        recording_path="/var/spool/centralita/1795-0.wav",
        language="en",
        ani="+52 55 1234 5678",
        uniqueid="1795.0",
        category="network",
    )
    n1 = await svc.create_message_incident(**kw)
    n2 = await svc.create_message_incident(**kw)  # the h extension runs it again
    assert n1 == n2 and n1 != number
    with session_factory() as s:
        inc = s.scalars(select(Incident).where(Incident.number == n1)).one()
        assert inc.channel == "phone" and inc.recording_path == kw["recording_path"]
        assert inc.reporter_id == contact_id and inc.organisation_id is not None
        assert inc.contract_id is not None and inc.category == "network"
        # on this Spanish desk: in Spanish, the number with its +, a daytime message as such
        assert inc.title == "Mensaje de voz de +525512345678"
        assert inc.description.startswith("Mensaje de voz dejado en horario de atención.")
        assert "idioma del llamante: inglés" in inc.description


def test_message_texts_follow_the_desk_and_the_reason(example_config) -> None:
    assert desk_language(example_config) == "es"
    title, desc = message_texts("en", "+1 555 0100", "after_hours", uniqueid="9.1", language="es")
    assert title == "Voice message from +15550100"
    assert (
        desc == "Voice message left outside business hours. Call 9.1; caller's language: Spanish."
    )
    title, desc = message_texts("es", "anonymous", "holiday", uniqueid="9.2", language="es")
    assert title == "Mensaje de voz de número oculto"
    assert desc.startswith("Mensaje de voz dejado en día festivo.")
    assert message_texts("es", "5512", "no_agents", uniqueid="u", language="es")[0].endswith(
        " 5512"
    )
    assert message_reason({"hours": "closed"}) == "after_hours"
    assert message_reason({"hours": "holiday"}) == "holiday"
    assert message_reason({"menu": "agent", "no_agents": "1"}) == "no_agents"
    assert message_reason({}) == "open"


async def test_callback_is_idempotent_per_call(example_config, session_factory) -> None:
    svc = StoreServices(example_config, session_factory, None)
    a = await svc.request_callback(
        uniqueid="u1", number="+52 (55) 1234", identity=None, language="en"
    )
    b = await svc.request_callback(uniqueid="u1", number="5512", identity=None, language="en")
    assert a == b
    with session_factory() as s:
        rows = s.scalars(select(CallbackRequest)).all()
        assert [(r.call_uniqueid, r.number, r.language) for r in rows] == [("u1", "52551234", "en")]


async def test_live_state_from_redis_is_cached(example_config, session_factory, redis_url) -> None:
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(example_config.connections.redis.key_prefix)
    svc = StoreServices(example_config, session_factory, client, live_ttl=30)
    assert await svc.availability() is None  # nothing written by the listener yet
    client.sadd(keys.agents, "1001", "1002")
    client.hset(
        keys.agent_state("1001"), mapping={"state": "available", "queues": json.dumps({"a": 0})}
    )
    client.hset(keys.agent_state("1002"), mapping={"state": "paused", "queues": '{"a": 1}'})
    svc = StoreServices(example_config, session_factory, client, live_ttl=30)
    results = await asyncio.gather(*(svc.availability() for _ in range(20)))
    assert all(r is results[0] for r in results)  # one fetch shared by concurrent callers
    assert results[0].staffed("a") == 1
    client.hset(keys.agent_state("1002"), "state", "available")
    assert (await svc.availability()).staffed("a") == 1  # cached within the TTL
    fresh = StoreServices(example_config, session_factory, client, live_ttl=0)
    assert (await fresh.availability()).staffed("a") == 2

    from zoneinfo import ZoneInfo

    tz = ZoneInfo(example_config.service.timezone)
    day = datetime.now(UTC).astimezone(tz).date().isoformat()
    client.hset(
        keys.queue_state("network_es"),
        mapping={"waiting": "3", "available_agents": "0", "logged_in": "2"},
    )
    client.hset(
        keys.counters(day, "network_es"),
        mapping={
            "answered": "12",
            "hold_total_s": "480",
            "talk_total_s": "1800",
            "talk_count": "12",
        },
    )
    stats = await fresh.queue_stats("network_es")
    wrapup = example_config.queue_definitions()["network_es"].settings.wrapuptime
    assert stats == QueueStats(
        waiting=3, logged_in=2, available=0, asa_s=40.0, aht_s=150 + wrapup, handled=12
    )
    # 4 callers (3 ahead + this one) for 2 busy agents: two handle times
    assert estimated_wait_s(stats) == 2 * (150 + wrapup)
    assert await fresh.queue_stats("nope_es") is None
    client.close()


def test_estimate_rules() -> None:
    assert estimated_wait_s(QueueStats(0, 2, 1, None)) == 0
    assert estimated_wait_s(QueueStats(1, 3, 2, 30.0)) == 0  # a free agent for each caller
    assert estimated_wait_s(QueueStats(1, 2, 1, 30.0, 120.0, 10)) == 120
    assert estimated_wait_s(QueueStats(3, 3, 1, 30.0, 100.0, 10)) == 200  # 3 need, 2 serving
    assert estimated_wait_s(QueueStats(0, 0, 0, 30.0, 100.0, 10)) is None
    assert estimated_wait_s(QueueStats(2, 1, 0, None)) is None
    assert estimated_wait_s(QueueStats(0, 2, 0, 30.0, None)) is None  # no handle time yet
    assert estimated_wait_s(QueueStats(1, 2, 0, 30.0, 0.0, 10)) is None
    # one short call is no basis: the real PBX's 6 s call against a 10-minute wait
    assert estimated_wait_s(QueueStats(0, 1, 0, 3.0, 16.0, 1)) is None
    assert estimated_wait_s(QueueStats(0, 1, 0, 3.0, 16.0, 9)) is None


def test_estimate_is_not_asa_when_the_only_agent_is_on_a_long_call() -> None:
    """The case a real PBX showed: ASA 5 s, one agent on a 104 s call, max wait 20 s.
    The old ASA formula said 5 s ("less than a minute"); both callers timed out."""
    stats = QueueStats(waiting=0, logged_in=1, available=0, asa_s=5.0, aht_s=104.0, handled=20)
    assert estimated_wait_s(stats) == 104
    assert estimated_wait_s(stats, max_wait_s=20) is None  # no promise past the queue's exit
    assert estimated_wait_s(stats, max_wait_s=600) == 104


def test_ivr_variable_encoding_round_trips_hostile_values() -> None:
    choices = {"lang": "es", "menu": "new;incident=x", "name": 'Zoë "Z" \\ %'}
    text = encode_ivr_var(choices)
    assert ";" not in text.replace(";", "", len(choices) - 1)
    assert '"' not in text and "\\" not in text
    assert decode_ivr_var(text) == choices


async def test_identify_by_ani_and_customer_number(example_config, session_factory) -> None:
    from servicedesk.directory import add_phone

    with session_factory() as s:
        org = Organisation(name="Globex", customer_number="777001", vip=False)
        s.add(org)
        s.flush()
        covered = Contract(
            number="880055",
            organisation_id=org.id,
            plan="advanced",  # critical_24x7 in the plan
            starts_on=datetime(2026, 1, 1, tzinfo=UTC),
            ends_on=None,
        )
        s.add(covered)
        vip = Contact(organisation_id=org.id, name="Vera", language="en", vip=True)
        a = Contact(organisation_id=org.id, name="A")
        b = Contact(organisation_id=org.id, name="B")
        s.add_all([vip, a, b])
        s.flush()
        add_phone(s, vip, "+52 55 1234 5678")
        add_phone(s, a, "55 8888 0000")
        add_phone(s, b, "5588880000")
        s.commit()
        vip_id, org_id, contract_id = vip.id, org.id, covered.id
    svc = StoreServices(example_config, session_factory, None)
    found = await svc.identify("5512345678")
    assert (found.status, found.contact_id, found.organisation_id) == ("found", vip_id, org_id)
    assert found.vip and found.critical_24x7 and found.language == "en"
    assert found.contract_id == contract_id
    assert (await svc.identify("5588880000")).status == "ambiguous"
    assert (await svc.identify("5599990000")).status == "unknown"
    assert (await svc.identify("anonymous")).status == "withheld"
    by_customer = await svc.identify_by_number("777001")
    assert (by_customer.status, by_customer.via, by_customer.organisation_id) == (
        "found",
        "customer_number",
        org_id,
    )
    assert by_customer.critical_24x7 and by_customer.contract_id == contract_id
    by_contract = await svc.identify_by_number("880055")
    assert by_contract.known and by_contract.contract_id == contract_id
    assert not (await svc.identify_by_number("123")).known
    assert not (await svc.identify_by_number("")).known


async def test_survey_score_lands_on_the_call(example_config, session_factory) -> None:
    from servicedesk.models import Call

    with session_factory() as s:
        s.add(
            Call(
                pbx_id="pbx1",
                linkedid="1795.7",
                uniqueid="1795.7",
                started_at=datetime(2026, 11, 23, 17, 0, tzinfo=UTC),
            )
        )
        s.commit()
    svc = StoreServices(example_config, session_factory, None)
    assert await svc.record_survey(uniqueid="1795.7", score=5) is True
    assert await svc.record_survey(uniqueid="nope", score=3) is False
    with session_factory() as s:
        assert s.scalars(select(Call.satisfaction)).one() == 5


async def test_stuck_database_times_out(example_config, session_factory) -> None:
    import threading

    import pytest

    gate = threading.Event()

    class Stuck:
        def __call__(self):
            gate.wait(5)
            return session_factory()

    svc = StoreServices(example_config, Stuck(), None, db_timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await svc.incident_status("1")
    finally:
        gate.set()
