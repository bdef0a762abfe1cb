"""The follow-up scenarios recorded on Asterisk 22.10.1 with the generated config.

`listener_ami.raw` is what Asterisk sent to the generated manager user (`centralita`,
Events: call,agent,dialplan) while the scenario ran: the static eventfilter lines at
work. It must hold only events the listener reads, and, replayed byte for byte into
the listener, give the record Asterisk's own queue_log describes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.parser import WANTED_EVENTS, WANTED_VARIABLES
from servicedesk.config import CentralitaConfig
from tests.ami_listener.harness import (
    calls_by_uniqueid,
    replay_raw,
)
from tests.ami_listener.replay_server import frames_of
from tests.ami_listener.test_trace_replay import check_against_queue_log

RECORDED = Path(__file__).resolve().parents[1] / "data" / "asterisk-traces"
SCENARIOS = sorted(p.name for p in RECORDED.iterdir() if (p / "listener_ami.raw").exists())


def _frames(path: Path) -> list[dict[str, str]]:
    out = []
    for frame in frames_of(path.read_bytes()):
        fields: dict[str, str] = {}
        for line in frame.decode("utf-8").split("\r\n"):
            key, sep, value = line.partition(": ")
            if sep:
                fields.setdefault(key, value)
        out.append(fields)
    return out


def test_recordings_are_present() -> None:
    assert set(SCENARIOS) == {
        "after_hours_callback",
        "after_hours_message",
        "hangup_mid_menu",
        "new_incident_email",
        "new_incident_erp",
        "new_incident_hardware",
        "new_incident_network",
        "queue_timeout_callback",
        "status_by_number",
        "survey_hangup",
        "vip_widening_survey",
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_asterisk_sent_the_listener_only_what_it_reads(scenario: str) -> None:
    """The listener's user, on the real PBX: no Newexten, Bridge*, CEL, DTMF or other VarSet,
    although the full recording of the same calls has them."""
    mine = [f for f in _frames(RECORDED / scenario / "listener_ami.raw") if "Event" in f]
    full = [f for f in _frames(RECORDED / scenario / "ami.raw") if "Event" in f]
    assert mine and {f["Event"] for f in mine} <= WANTED_EVENTS
    assert {f["Variable"] for f in mine if f["Event"] == "VarSet"} <= WANTED_VARIABLES
    assert any(f["Event"] == "Newexten" for f in full)
    assert len(mine) < len(full) / 5
    # nothing the listener reads was lost on the way
    wanted_full = [
        (f["Event"], f.get("Uniqueid"), f.get("Variable"))
        for f in full
        if f["Event"] in WANTED_EVENTS
        and (f["Event"] != "VarSet" or f["Variable"] in WANTED_VARIABLES)
        and f["Event"] != "FullyBooted"
    ]
    got = [
        (f["Event"], f.get("Uniqueid"), f.get("Variable"))
        for f in mine
        if f["Event"] != "FullyBooted"
    ]
    assert got == wanted_full


def _seed_contacts(factory) -> None:  # type: ignore[no-untyped-def]
    """The IVR identified the recorded callers as contacts 1..5 of the rig's directory."""
    from servicedesk.models import Contact, Organisation

    with factory() as s:
        if s.get(Contact, 1) is None:
            org = Organisation(name="Rig", customer_number="100001")
            s.add(org)
            s.flush()
            s.add_all(
                Contact(id=i, organisation_id=org.id, name=f"Caller {i}") for i in range(1, 6)
            )
            s.commit()


async def _replay(scenario: str, cfg: CentralitaConfig, factory, redis_url: str):  # type: ignore[no-untyped-def]
    _seed_contacts(factory)
    await replay_raw(RECORDED / scenario / "listener_ami.raw", cfg, factory, redis_url, 10)
    return calls_by_uniqueid(factory)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_filtered_stream_gives_the_records_queue_log_describes(
    scenario: str,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    calls = await _replay(scenario, example_config, session_factory, redis_url)
    assert calls and all(c.ended_at is not None and c.outcome for c in calls.values())
    if "ENTERQUEUE" in (RECORDED / scenario / "queue_log").read_text():
        check_against_queue_log(RECORDED / scenario, calls)


async def test_survey_call_record(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    """The agent hung up (Queue option c): answered, agent 1001, 19 s hold, 6 s talk."""
    calls = await _replay("vip_widening_survey", example_config, session_factory, redis_url)
    (call,) = calls.values()
    assert (call.outcome, call.agent_member, call.hung_up_by) == ("answered", "1001", "agent")
    assert (call.hold_seconds, call.talk_seconds, call.queue) == (19, 6, "general_es")
    assert call.ivr_choices.get("menu") == "agent"
    rings = sorted((r.agent_login, r.result) for r in call.rings)
    assert rings == [("1001", "answered"), ("1003", "noanswer")]


@pytest.mark.parametrize(
    ("scenario", "hung_up_by", "choice"),
    [
        ("hangup_mid_menu", "caller", {}),
        ("status_by_number", "system", {"menu": "status", "incident": "2"}),
    ],
)
async def test_ivr_only_paths(
    scenario: str,
    hung_up_by: str,
    choice: dict[str, str],
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    calls = await _replay(scenario, example_config, session_factory, redis_url)
    (call,) = calls.values()
    assert (call.outcome, call.hung_up_by, call.queue) == ("ivr_only", hung_up_by, None)
    assert choice.items() <= call.ivr_choices.items()


async def test_after_hours_calls_are_ivr_only(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    calls = await _replay("after_hours_callback", example_config, session_factory, redis_url)
    (call,) = calls.values()
    assert call.outcome == "ivr_only" and call.queue is None
    assert call.ivr_choices["after_hours"] == "callback"
