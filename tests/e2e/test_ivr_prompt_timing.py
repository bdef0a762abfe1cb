"""Every IVR path through pbxsim with prompts as long as the rendered files, on the shipped
defaults (centralita.example.toml's [connections.fastagi]).

On pbxsim's virtual clock a prompt costs no wall time, so a reply deadline can never
fire there. These calls run pbxsim paced at ×SPEED with the IVR's deadlines scaled
alike (`build_server(time_scale=SPEED)`): a 16 s main menu takes 0.8 s of wall time
and the IVR waits for it as it would for 16 s on a real PBX. With one deadline for
every command (the old 10 s) each of them ended "no AGI reply in time" at the
greeting. One call runs on the real clock, so the 16 s main menu really is longer
than the old deadline.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ivr.services import decode_ivr_var
from servicedesk.incidents import create_incident
from servicedesk.models import Incident
from tests.e2e.test_ivr_pbxsim import (
    AGI_START_S,
    CLOSED,
    HOLIDAY,
    OPEN,
    directory,  # noqa: F401 - fixture
    heard_s,
    named,
    run_call,
    varsets,
)

SPEED = 20.0
OLD_COMMAND_TIMEOUT_S = 10.0


def call_records(caplog) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "centralita.ivr.calls"]


@pytest.fixture()
def open_incident(example_config, directory):  # noqa: F811 - the imported fixture
    with directory() as s:
        inc = create_incident(
            s, example_config, title="Printer offline", actor="test", priority="high"
        )
        s.commit()
        return inc.number


PATHS = {
    # name: (when, keys the caller presses after each prompt, ANI, expected action, ...)
    "new_incident": (OPEN, {"main_menu": "1", "category_intro": "2"}, None, "queue"),
    "critical": (OPEN, {"main_menu": "3"}, None, "queue"),
    "agent_in_english": (
        OPEN,
        {"welcome_tollfree_language": "2", "main_menu": "0"},
        None,
        "queue",
    ),
    "silent_caller": (OPEN, {}, None, "queue"),
    "customer_number": (OPEN, {"identify": "777001#", "main_menu": "0"}, "5599990000", "queue"),
    "status": (OPEN, {"main_menu": "2", "status_agent_offer": "1"}, None, "queue"),
    "after_hours_message": (CLOSED, {"message_offer": "2"}, None, "voicemail"),
    "after_hours_callback": (
        CLOSED,
        {"callback_offer": "3", "callback_confirm": "1"},
        None,
        "callback",
    ),
    "after_hours_oncall": (CLOSED, {"oncall_offer": "1"}, None, "oncall"),
    "holiday_message": (HOLIDAY, {"message_offer": "2"}, None, "voicemail"),
}


@pytest.mark.parametrize("path", sorted(PATHS))
async def test_every_ivr_path_completes_with_real_prompt_lengths(
    example_config,
    directory,  # noqa: F811
    redis_url,
    caplog,
    open_incident,
    path,
) -> None:
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    when, keys, ani, action = PATHS[path]
    if path == "status":
        keys = dict(keys, enter_incident=f"{open_incident}#")
    kwargs = {"ani": ani} if ani else {}
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        when,
        keys,
        agents=[
            ("PJSIP/1003", "email_es"),
            ("PJSIP/1005", "general_es"),
            ("PJSIP/1006", "general_en"),
        ],
        speed=SPEED,
        **kwargs,
    )
    (record,) = [r for r in call_records(caplog) if r["script"] == "ivr"]
    assert (record["outcome"], record["errors"]) == ("completed", [])
    assert record["action"] == action
    v = varsets(events, call.chan.uniqueid)
    assert v["AGISTATUS"] == "SUCCESS"
    assert v.get("CENTRALITA_ACTION", "queue") == action
    if path == "agent_in_english":
        assert v["IVR_LANG"] == "en"
    if path == "status":
        assert decode_ivr_var(v["CENTRALITA_IVR"])["incident"] == str(open_incident)
    if path == "silent_caller":  # every menu timed out, then the general queue
        assert call.prompts.count("centralita/main_menu") == example_config.routing.menu_retries
    if action == "queue":
        assert len(named(events, "QueueCallerJoin")) == 1
    # the prompts really took their rendered length: the call outlived the old deadline
    ivr_s = record["duration_ms"] / 1000 * SPEED
    assert ivr_s > OLD_COMMAND_TIMEOUT_S


async def test_a_main_menu_longer_than_the_old_deadline_on_the_real_clock(
    example_config,
    directory,  # noqa: F811
    redis_url,
    caplog,
) -> None:
    """Real wall-clock time, no scaling: the caller picks Spanish during the greeting,
    then hears the whole main menu (16 s in Spanish, more than the old 10 s deadline
    for every command) and asks for an agent; once queued it hangs up."""
    caplog.set_level("INFO", logger="centralita.ivr.calls")
    menu_s = heard_s(example_config, "main_menu")
    assert menu_s > OLD_COMMAND_TIMEOUT_S
    call, events = await run_call(
        example_config,
        directory,
        redis_url,
        OPEN,
        {"welcome_tollfree_language": "1", "main_menu": "0"},
        agents=[("PJSIP/1005", "general_es")],
        patience=AGI_START_S + 0.8 + menu_s + heard_s(example_config, "please_hold") + 1.0,
        speed=1.0,
    )
    (record,) = call_records(caplog)
    assert (record["outcome"], record["errors"], record["action"]) == ("completed", [], "queue")
    starts = [h for h in named(events, "AGIExecStart") if "main_menu" in h["Command"]]
    ends = [h for h in named(events, "AGIExecEnd") if "main_menu" in h["Command"]]
    assert len(starts) == len(ends) == 1
    took = float(ends[0]["Timestamp"]) - float(starts[0]["Timestamp"])
    assert took >= menu_s - 0.01 and menu_s > OLD_COMMAND_TIMEOUT_S
    assert record["duration_ms"] / 1000 > menu_s
    assert [j["Queue"] for j in named(events, "QueueCallerJoin")] == ["general_es"]
    with directory() as s:  # nothing written on a queued call
        assert s.scalars(select(Incident)).all() == []
