"""The follow-up scenarios re-run on Asterisk 22.10.1 with the SHIPPED defaults.

`../data/asterisk-traces/` holds the first recordings, made with `command_timeout = 30`
because the per-command reply deadlines were not yet in that branch. These were made
after both were merged, with `centralita.example.toml` as shipped (command_timeout 5 s,
media_margin 15 s). They hold the IVR's reply deadlines to what Asterisk really took
for every AGI command, and the listener to what the generated manager user received.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.app import reply_deadlines
from servicedesk.config import CentralitaConfig
from tests.ami_listener.test_followup_traces import _frames, _replay
from tests.ami_listener.test_trace_replay import check_against_queue_log

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "asterisk-traces" / "shipped_defaults"
SCENARIOS = sorted(p.name for p in SHIPPED.iterdir() if (p / "listener_ami.raw").exists())


def _agi_commands(scenario: str) -> list[tuple[str, float]]:
    """(command line, seconds Asterisk took to answer it), from AGIExecStart/AGIExecEnd."""
    started: dict[str, float] = {}
    out = []
    for f in _frames(SHIPPED / scenario / "ami.raw"):
        if f.get("Event") == "AGIExecStart":
            started[f["CommandId"]] = float(f["Timestamp"])
        elif f.get("Event") == "AGIExecEnd" and f["CommandId"] in started:
            out.append((f["Command"], float(f["Timestamp"]) - started.pop(f["CommandId"])))
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
def test_every_reply_came_within_the_shipped_deadline(
    scenario: str, example_config: CentralitaConfig
) -> None:
    """Each command Asterisk answered was answered before the IVR would have given up."""
    deadlines = reply_deadlines(example_config)
    commands = _agi_commands(scenario)
    assert commands
    for line, took in commands:
        limit = deadlines.seconds(line)
        assert limit is None or took < limit, (line, took, limit)


def test_the_closed_hours_prompt_outlasts_command_timeout(example_config: CentralitaConfig) -> None:
    """The prompt that made the first rig raise command_timeout: 15 s of non-interruptible
    speech, three times the shipped 5 s, answered in time only thanks to its own deadline."""
    timeout = example_config.connections.fastagi.command_timeout
    deadlines = reply_deadlines(example_config)
    for scenario in ("after_hours_callback", "after_hours_message"):
        (took,) = [t for c, t in _agi_commands(scenario) if "closed_hours_office" in c]
        limit = deadlines.seconds('STREAM FILE "centralita/closed_hours_office" ""')
        assert 3 * timeout < took < limit


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_filtered_stream_gives_the_records_queue_log_describes(
    scenario: str,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tests.ami_listener.test_followup_traces.RECORDED", SHIPPED)
    calls = await _replay(scenario, example_config, session_factory, redis_url)
    assert calls and all(c.ended_at is not None and c.outcome for c in calls.values())
    if "ENTERQUEUE" in (SHIPPED / scenario / "queue_log").read_text():
        check_against_queue_log(SHIPPED / scenario, calls)
