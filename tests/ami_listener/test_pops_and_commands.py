"""Screen-pops reach only the right agent; panel commands run on the AMI link."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from ami_listener import live
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig
from servicedesk.models import Contact, Organisation
from tests.ami_listener.harness import configured, drain, make_service
from tests.ami_listener.replay_server import ReplayServer, frames_of
from tests.ami_listener.replay_server import Session as ReplaySession
from tests.ami_listener.test_link_resilience import wait_for
from tests.ami_listener.test_trace_replay import replay


def pops(r: redis.Redis, bus: Bus, login: str) -> list[dict[str, str]]:
    return [fields for _id, fields in r.xrange(bus.keys.agent_pops(login))]


async def test_pops_go_to_that_agent_only(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    _calls, service = await replay(
        traces_dir / "answered_caller_hangup", example_config, session_factory, redis_url
    )
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    bus = service.bus
    one, two = pops(r, bus, "agent1"), pops(r, bus, "agent2")
    assert [p["type"] for p in one] == ["ring", "answer", "end"]
    # rang, cancelled when agent1 answered: its pop is closed, never "answer"
    assert [p["type"] for p in two] == ["ring", "end"]
    assert all(p["agent"] == "agent1" for p in one) and {p["agent"] for p in two} == {"agent2"}
    assert two[1]["at"] == one[1]["at"][:19] + two[1]["at"][19:]  # closed at the answer
    answer = one[1]
    assert answer["call_id"] == "1795339491.0" and answer["caller_name"] == "Alice Caller"
    assert answer["queue"] == "support" and answer["wait_s"] == "3"
    assert answer["at"].startswith("2026-11-22T09:24:54")
    assert json.loads(answer["ivr"]) == {}


async def test_pops_in_load_mix_match_records(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every pop of the run kept, to hold each against the records (a live stream keeps
    # the newest AGENT_POPS_KEPT: tests/ami_listener/test_redis_footprint.py)
    monkeypatch.setattr(live, "POP_STREAM_MAXLEN", 10_000)
    calls, service = await replay(
        traces_dir / "load_mix", example_config, session_factory, redis_url
    )
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    by_lid = {c.linkedid: c for c in calls.values()}
    answers = 0
    for login in ("agent1", "agent2", "agent3"):
        for p in pops(r, service.bus, login):
            assert p["agent"] == login
            call = by_lid[p["call_id"]]
            assert login in {ring.agent_login for ring in call.rings}
            if p["type"] == "answer":
                assert call.agent_login == login
                answers += 1
        rings = [p["call_id"] for p in pops(r, service.bus, login) if p["type"] == "ring"]
        ends = [p["call_id"] for p in pops(r, service.bus, login) if p["type"] == "end"]
        assert sorted(set(rings)) == sorted(set(ends))  # every pop shown is closed
    assert answers == 24
    names = {
        p["caller_name"]
        for login in ("agent1", "agent2", "agent3")
        for p in pops(r, service.bus, login)
    }
    assert "O'Brien, Ann" in names and 'Zoë \\"Z\\" Adams' in names  # raw, AMI-unescaped


async def test_pop_carries_ivr_choices_and_contact(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    with session_factory() as s:
        org = Organisation(name="Cementos del Valle")
        contact = Contact(name="Ana <b>Pérez</b>", organisation=org)
        s.add_all([org, contact])
        s.commit()
        cid = contact.id
    ts = 1795339491.0

    def ev(name: str, t: float, **fields: str) -> bytes:
        base = {"Event": name, "Timestamp": f"{t:.6f}", "Uniqueid": "9.0", "Linkedid": "9.0"}
        base.update(fields)
        return "".join(f"{k}: {v}\r\n" for k, v in base.items()).encode() + b"\r\n"

    ivr = "lang=es;menu=new_incident;category=network;note=caf%C3%A9%3Bx"
    stream = [
        ev(
            "QueueMemberAdded",
            ts - 60,
            Queue="network_es",
            Interface="PJSIP/1001",
            MemberName="Ana López",
            Penalty="0",
            Paused="0",
        ),
        ev("Newchannel", ts, CallerIDNum="5550100", CallerIDName="Ana \\'P\\'", Exten="8005550100"),
        ev("VarSet", ts + 1, Variable="CENTRALITA_IVR", Value=ivr),
        ev("VarSet", ts + 1, Variable="CENTRALITA_CONTACT", Value=str(cid)),
        ev("VarSet", ts + 1, Variable="CENTRALITA_INCIDENT", Value="4217"),
        ev("VarSet", ts + 1, Variable="CENTRALITA_VIP", Value="1"),
        ev("VarSet", ts + 1, Variable="IVR_LANG", Value="es"),
        ev("QueueCallerJoin", ts + 2, Queue="network_es", Position="1", CallerIDNum="5550100"),
        ev(
            "AgentCalled",
            ts + 5,
            Queue="network_es",
            Interface="PJSIP/1001",
            MemberName="Ana López",
            DestUniqueid="9.1",
        ),
    ]
    server = ReplayServer([ReplaySession(frames=stream)])
    port = await server.start()
    service = make_service(configured(example_config, port), session_factory, redis_url)
    await service.start()
    try:
        await drain(service, server)
    finally:
        await service.stop()
        await server.close()
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    (pop,) = pops(r, service.bus, "1001")  # PJSIP/1001 is login 1001 in the config
    assert pop["type"] == "ring" and pop["wait_s"] == "3" and pop["vip"] == "1"
    assert json.loads(pop["ivr"]) == {
        "lang": "es",
        "menu": "new_incident",
        "category": "network",
        "note": "café;x",
    }
    assert (pop["contact_id"], pop["contact_name"], pop["organisation"]) == (
        str(cid),
        "Ana <b>Pérez</b>",
        "Cementos del Valle",
    )
    assert pop["incident"] == "4217" and pop["caller_name"] == "Ana 'P'"
    assert r.hgetall(service.bus.keys.agent_state("1001"))["state"] == "ringing"
    for login in ("1002", "1003"):
        assert r.xlen(service.bus.keys.agent_pops(login)) == 0


async def test_commands_run_on_the_link_and_resume(
    example_config: CentralitaConfig, redis_url: str
) -> None:
    def responder(action: dict[str, str]) -> list[dict[str, str]]:
        if action["Action"] == "QueueAdd":
            return [{"Response": "Success", "Message": "Added interface to queue"}]
        return [{"Response": "Error", "Message": "Interface not found"}]

    server = ReplayServer([ReplaySession()], responder=responder)
    port = await server.start()
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    bus = Bus(r)
    bus.publish(
        bus.keys.commands,
        {
            "id": "c1",
            "action": "QueueAdd",
            "queue": "network_es",
            "interface": "PJSIP/1001",
            "member_name": "Ana López",
            "penalty": "2",
            "requested_by": "sup",
        },
    )
    bus.publish(
        bus.keys.commands,
        {
            "id": "c2",
            "action": "QueuePause",
            "queue": "network_es",
            "interface": "PJSIP/1001",
            "paused": "true",
            "reason": "lunch\r\nAction: Originate",
        },
    )
    bus.publish(
        bus.keys.commands,
        {"id": "c3", "action": "QueuePause", "interface": "PJSIP/1001", "paused": "false"},
    )
    service = make_service(configured(example_config, port), None, redis_url)
    await service.start()
    try:
        await wait_for(lambda: r.xlen(bus.keys.command_results) == 3)
    finally:
        await service.stop()
    results = {f["id"]: f for _i, f in r.xrange(bus.keys.command_results)}
    assert results["c1"] == {
        "id": "c1",
        "response": "Success",
        "message": "Added interface to queue",
    }
    assert results["c2"]["response"] == "Error" and "reason" in results["c2"]["message"]
    assert results["c3"]["response"] == "Error"
    sent = [
        a
        for a in server.actions
        if a.get("Action", "").startswith("Queue")
        and a["Action"] not in ("QueueStatus", "QueueSummary")
    ]
    assert [a["Action"] for a in sent] == ["QueueAdd", "QueuePause"]
    assert sent[0]["MemberName"] == "Ana López" and sent[0]["Penalty"] == "2"
    assert "Reason" not in sent[1] and sent[1]["Paused"] == "false"
    assert not any(a.get("Action") == "Originate" for a in server.actions)

    # a restarted listener resumes after the last executed command
    service2 = make_service(configured(example_config, port), None, redis_url)
    await service2.start()
    await asyncio.sleep(0.5)
    await service2.stop()
    await server.close()
    assert r.xlen(bus.keys.command_results) == 3 and service2.commands_done == 0


async def test_redis_outage_loses_no_record(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    from tests.servers import free_port

    frames = frames_of((traces_dir / "answered_agent_hangup" / "ami.raw").read_bytes())
    server = ReplayServer([ReplaySession(frames=frames)])
    port = await server.start()
    dead = f"redis://127.0.0.1:{free_port()}/0"
    service = make_service(configured(example_config, port), session_factory, dead)
    await service.start()
    try:
        await drain(service, server)
        assert service.live.failures >= 1 and service.live.pending
        assert service.link.status == "up"
    finally:
        await service.stop()
        await server.close()
    from tests.ami_listener.harness import calls_by_uniqueid

    call = calls_by_uniqueid(session_factory)["1795339510.0"]
    assert (call.outcome, call.hung_up_by) == ("answered", "agent")
    # Redis is back: the buffered pops and states are delivered, nothing lost
    service.live.bus.r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert service.live.flush()
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert [f["type"] for _i, f in r.xrange(service.bus.keys.agent_pops("agent1"))] == [
        "ring",
        "answer",
        "end",
    ]
