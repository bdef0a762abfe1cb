"""Every branch of the main IVR, driven over real FastAGI by a scripted fake Asterisk."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from ivr.app import build_server
from ivr.services import CallerIdentity, IncidentInfo, QueueStats, decode_ivr_var
from servicedesk.config import CentralitaConfig
from servicedesk.routing import line_defaults
from tests.ivr.fake_asterisk import (
    Caller,
    Conversation,
    FakeAsterisk,
    default_env,
    dialplan_defaults,
    parse_args,
)
from tests.ivr.fake_services import CLOSED, EVENING, HOLIDAY, FakeServices

ANI = "5551010"
KNOWN = CallerIdentity(status="found", contact_id=42, organisation_id=7, contract_id=3)
VIP_LINE_DID = "525591380000"


async def place(
    cfg: CentralitaConfig,
    svc: FakeServices,
    caller: Caller,
    caplog: pytest.LogCaptureFixture,
    preset: dict[str, str] | None = None,
    **env: str,
) -> tuple[Conversation, dict]:
    """One call; `conv.vars` starts with what the dialplan set before the AGI."""
    caplog.set_level(logging.INFO, logger="centralita.ivr.calls")
    server = build_server(cfg, svc, host="127.0.0.1", port=0)  # type: ignore[arg-type]
    await server.start()
    full_env = default_env(**env)
    if preset is None:
        preset = dialplan_defaults(cfg, full_env)
    try:
        conv = await FakeAsterisk(caller, preset=preset).run(server.port, full_env)
        for _ in range(200):
            if server.completed:
                break
            await asyncio.sleep(0.01)
    finally:
        await server.shutdown(1)
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("calls")]
    assert len(records) == 1
    return conv, records[0]


def known(svc: FakeServices, identity: CallerIdentity = KNOWN) -> FakeServices:
    svc.by_ani[ANI] = identity
    return svc


async def test_new_incident_standard_path(example_config, caplog) -> None:
    svc = known(FakeServices())
    conv, rec = await place(
        example_config, svc, Caller([("main_menu", "1"), ("category_intro", "2")]), caplog
    )
    v = conv.vars
    assert v["CENTRALITA_ACTION"] == "queue"
    assert (v["CENTRALITA_QUEUE"], v["QUEUE_PRIO"], v["CENTRALITA_RULE"]) == (
        "email_es",
        "0",
        "standard",
    )
    assert (v["QUEUE_MAX_PENALTY"], v["CENTRALITA_MAXWAIT"]) == ("2", "600")
    assert (v["IVR_LANG"], v["CENTRALITA_CONTACT"], v["CENTRALITA_VIP"]) == ("es", "42", "0")
    assert v["CENTRALITA_CATEGORY"] == "email"
    assert "CENTRALITA_INCIDENT" not in v and "CENTRALITA_PRIORITY" not in v
    assert decode_ivr_var(v["CENTRALITA_IVR"]) == {
        "lang": "es",
        "ident": "ani",
        "menu": "new_incident",
        "category": "email",
    }
    # the standard path: one greeting with the language offer, two menus, the wait,
    # and only the variables that differ from the dialplan's defaults
    ivr = conv.set_vars["CENTRALITA_IVR"]
    timeout = str(example_config.routing.digit_timeout_ms)
    assert conv.commands == [
        ["STREAM FILE", "centralita/welcome_tollfree_language", "12"],
        ["GET DATA", "centralita/main_menu", timeout, "1"],
        ["STREAM FILE", "centralita/category_intro", "1234"],
        ["STREAM FILE", "centralita/please_hold", ""],
        ["SET VARIABLE", "CENTRALITA_CONTACT", "42"],
        ["SET VARIABLE", "CENTRALITA_CATEGORY", "email"],
        ["SET VARIABLE", "CENTRALITA_QUEUE", "email_es"],
        ["SET VARIABLE", "CENTRALITA_IVR", ivr],
    ]
    defaults = line_defaults(example_config, "tollfree")
    assert all(v[k] == defaults[k] for k in ("QUEUE_PRIO", "CENTRALITA_RULE", "IVR_LANG"))
    assert svc.calls == [("identify", ANI)]
    assert rec["outcome"] == "completed" and rec["queue"] == "email_es"
    assert rec["menu_path"] == ["main_menu:new_incident", "category:email"]
    assert rec["commands"] == len(conv.commands)
    assert rec["language"] == "es" and rec["line"] == "tollfree" and rec["ident"] == "ani"


async def test_switch_to_english(example_config, caplog) -> None:
    svc = known(FakeServices())
    caller = Caller([("welcome", "2"), ("main_menu", "1"), ("category_network", "1")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert rec["menu_path"][:2] == ["language:en", "main_menu:new_incident"]
    assert conv.commands[:2] == [
        ["STREAM FILE", "centralita/welcome_tollfree_language", "12"],
        ["SET VARIABLE", "CHANNEL(language)", "en"],
    ]
    assert conv.set_vars["IVR_LANG"] == "en"  # not the line's default: SET
    assert conv.set_vars["CENTRALITA_QUEUE"] == "network_en"
    maxwait = example_config.queue_definitions()["network_en"].settings.max_wait
    assert conv.vars["CENTRALITA_MAXWAIT"] == str(maxwait)


async def test_channel_language_differing_from_the_line_is_corrected(
    example_config, caplog
) -> None:
    """A dialplan that did not set CHANNEL(language) to the line's language: set it first."""
    svc = known(FakeServices())
    conv, _ = await place(
        example_config, svc, Caller([("main_menu", "0")]), caplog, agi_language="en"
    )
    assert conv.commands[0] == ["SET VARIABLE", "CHANNEL(language)", "es"]
    assert conv.commands[1] == ["STREAM FILE", "centralita/welcome_tollfree_language", "12"]
    assert "IVR_LANG" not in conv.set_vars  # es is the line's default


async def test_unknown_line_sets_every_variable(example_config, caplog) -> None:
    """No DID match and no CENTRALITA_LINE: the defaults are not ours, so nothing is skipped."""
    svc = known(FakeServices())
    conv, rec = await place(
        example_config, svc, Caller([("main_menu", "0")]), caplog, agi_extension="s", agi_dnid=""
    )
    v = conv.set_vars
    for name in ("IVR_LANG", "CENTRALITA_VIP", "CENTRALITA_QUEUE", "QUEUE_PRIO"):
        assert name in v, name
    assert {"QUEUE_MAX_PENALTY", "CENTRALITA_RULE", "CENTRALITA_MAXWAIT"} <= set(v)
    assert list(v)[-1] == "CENTRALITA_ACTION" and v["CENTRALITA_ACTION"] == "queue"
    assert rec["errors"]
    # the ERP category does not exist in English: its digit falls back to general_en


async def test_unknown_caller_keys_customer_number(example_config, caplog) -> None:
    svc = FakeServices()
    svc.by_number["12345"] = CallerIdentity(
        status="found", via="customer_number", organisation_id=9, vip=True
    )
    caller = Caller([("identify", "12345#"), ("main_menu", "0")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert svc.calls == [("identify", ANI), ("identify_by_number", "12345")]
    assert decode_ivr_var(conv.set_vars["CENTRALITA_IVR"])["ident"] == "customer_number"
    # a VIP caller on the normal line: the VIP values differ from the line's, so all are SET
    v = conv.set_vars
    assert (v["CENTRALITA_VIP"], v["QUEUE_PRIO"], v["CENTRALITA_RULE"]) == ("1", "10", "vip")
    assert v["QUEUE_MAX_PENALTY"] == "1"
    assert conv.vars["CENTRALITA_QUEUE"] == "general_es"
    assert "CENTRALITA_QUEUE" not in v  # the line's general queue is the default
    assert rec["ident"] == "customer_number"


async def test_unknown_caller_who_keys_nothing_still_reaches_menu(example_config, caplog) -> None:
    svc = FakeServices()
    caller = Caller([("identify", "999#"), ("main_menu", "3")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert conv.played.count("centralita/identify") == example_config.routing.menu_retries
    assert "centralita/not_found" in conv.played
    v = conv.set_vars  # critical: priority, rule and its penalty all differ from the line's
    assert (v["CENTRALITA_PRIORITY"], v["QUEUE_PRIO"], v["CENTRALITA_RULE"]) == (
        "critical",
        "20",
        "critical",
    )
    rules = example_config.routing.rules
    assert v["QUEUE_MAX_PENALTY"] == str(rules["critical"].start_max_penalty)
    assert "CENTRALITA_CONTACT" not in conv.set_vars
    assert rec["ident"] == "unknown"


async def test_withheld_number_is_not_looked_up(example_config, caplog) -> None:
    svc = FakeServices()
    conv, rec = await place(
        example_config, svc, Caller([("main_menu", "0")]), caplog, agi_callerid="unknown"
    )
    assert svc.calls == []
    assert rec["ident"] == "withheld"
    assert conv.vars["CENTRALITA_QUEUE"] == "general_es"


async def test_invalid_and_no_input_fall_back_to_general_after_retries(
    example_config, caplog
) -> None:
    svc = known(FakeServices())
    caller = Caller([("main_menu", "9"), ("main_menu", "*")])  # then silence
    conv, rec = await place(example_config, svc, caller, caplog)
    retries = example_config.routing.menu_retries
    assert conv.played.count("centralita/main_menu") == retries
    assert conv.played.count("centralita/invalid_option") == 2
    assert conv.played.count("centralita/no_input") == retries - 2
    assert conv.vars["CENTRALITA_ACTION"] == "queue"
    assert conv.vars["CENTRALITA_QUEUE"] == "general_es"
    assert "main_menu_fallback" in rec["menu_path"]


async def test_category_menu_retries_then_general(example_config, caplog) -> None:
    svc = known(FakeServices())
    caller = Caller([("main_menu", "1"), ("WAIT", "7")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert conv.played.count("centralita/category_intro") == example_config.routing.menu_retries
    assert conv.vars["CENTRALITA_QUEUE"] == "general_es"
    assert "CENTRALITA_CATEGORY" not in conv.set_vars
    assert rec["menu_path"][-1] == "category_fallback"


async def test_slow_dtmf_partial_entry_is_used(example_config, caplog) -> None:
    svc = known(FakeServices())
    svc.incidents[4217] = IncidentInfo(4217, "in_progress", "high", 2)
    caller = Caller([("main_menu", "2"), ("enter_incident", "004217"), ("status_agent", "1")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert ("incident_status", "004217") in svc.calls  # GET DATA ended in (timeout)
    assert conv.set_vars["CENTRALITA_INCIDENT"] == "4217"


async def test_status_read_back_and_agent(example_config, caplog) -> None:
    svc = known(FakeServices())
    svc.incidents[4217] = IncidentInfo(4217, "in_progress", "high", 2)
    caller = Caller([("main_menu", "2"), ("enter_incident", "4217#"), ("status_agent", "1")])
    conv, rec = await place(example_config, svc, caller, caplog)
    i = conv.played.index("centralita/status_incident")
    assert conv.played[i : i + 8] == [
        "centralita/status_incident",
        "digits:4217",
        "centralita/status_is",
        "centralita/status_in_progress",
        "centralita/priority_is",
        "centralita/priority_high",
        "centralita/support_level",
        "2",  # SAY NUMBER level
    ]
    v = conv.vars
    assert (v["CENTRALITA_INCIDENT"], v["CENTRALITA_PRIORITY"], v["CENTRALITA_ACTION"]) == (
        "4217",
        "high",
        "queue",
    )
    assert v["CENTRALITA_QUEUE"] == "general_es"
    assert decode_ivr_var(v["CENTRALITA_IVR"])["incident"] == "4217"


async def test_status_without_agent_ends_call(example_config, caplog) -> None:
    svc = known(FakeServices())
    svc.incidents[5] = IncidentInfo(5, "resolved", "low", 1)
    caller = Caller([("main_menu", "2"), ("enter_incident", "5#")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert conv.set_vars["CENTRALITA_ACTION"] == "hangup"
    assert "CENTRALITA_QUEUE" not in conv.set_vars
    assert rec["action"] == "hangup"


async def test_status_not_found_falls_back(example_config, caplog) -> None:
    svc = known(FakeServices())
    caller = Caller([("main_menu", "2"), ("enter_incident", "1#"), ("enter_incident", "2#")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert conv.played.count("centralita/incident_not_found") == 2
    assert conv.played.count("centralita/no_input") == 1
    assert conv.vars["CENTRALITA_QUEUE"] == "general_es"
    assert "status_fallback" in rec["menu_path"]


async def test_vip_line_uses_vip_rule_and_extended_calendar(example_config, caplog) -> None:
    svc = known(FakeServices(at=EVENING))  # 19:00 Monday: the office is closed, extended open
    caller = Caller([("main_menu", "1"), ("category_intro", "1")])
    conv, rec = await place(example_config, svc, caller, caplog, agi_extension=VIP_LINE_DID)
    v = conv.vars
    assert conv.played[0] == "centralita/welcome_vip_language"
    assert (v["CENTRALITA_VIP"], v["QUEUE_PRIO"], v["CENTRALITA_RULE"]) == ("1", "10", "vip")
    assert v["QUEUE_MAX_PENALTY"] == "1" and v["CENTRALITA_QUEUE"] == "network_es"
    # the VIP line's dialplan already set the VIP values: only the queue differs
    assert [k for k in conv.set_vars if k != "CENTRALITA_IVR"] == [
        "CENTRALITA_CONTACT",
        "CENTRALITA_CATEGORY",
        "CENTRALITA_QUEUE",
    ]
    assert rec["line"] == "vip"


async def test_after_hours_24x7_contract_reaches_on_call(example_config, caplog) -> None:
    svc = known(FakeServices(at=CLOSED), CallerIdentity(status="found", critical_24x7=True))
    conv, rec = await place(example_config, svc, Caller([("oncall_offer", "1")]), caplog)
    assert conv.played[1:4] == [
        "centralita/closed",
        "centralita/closed_hours_office",
        "centralita/oncall_offer",
    ]
    v = conv.set_vars
    assert v["CENTRALITA_ACTION"] == "oncall"
    assert v["CENTRALITA_ONCALL"] == example_config.escalation.on_call_number
    assert "CENTRALITA_QUEUE" not in v
    assert rec["action"] == "oncall"


async def test_after_hours_without_cover_cannot_pick_on_call(example_config, caplog) -> None:
    svc = known(FakeServices(at=CLOSED))
    caller = Caller([("WAIT", "1"), ("message_offer", "2")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert "centralita/oncall_offer" not in conv.played
    assert conv.played.count("centralita/invalid_option") == 1
    assert conv.set_vars["CENTRALITA_ACTION"] == "voicemail"


async def test_after_hours_callback(example_config, caplog) -> None:
    svc = known(FakeServices(at=CLOSED))
    caller = Caller([("callback_offer", "3"), ("callback_confirm", "1")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert conv.set_vars["CENTRALITA_ACTION"] == "callback"
    assert conv.set_vars["CENTRALITA_CALLBACK_ID"] == "1"
    assert svc.callbacks == [
        {"uniqueid": "1795339738.0", "number": ANI, "identity": KNOWN, "language": "es"}
    ]
    assert rec["menu_path"] == ["closed", "after_hours:callback"]  # under the step that chose


async def test_after_hours_silence_defaults_to_message(example_config, caplog) -> None:
    svc = known(FakeServices(at=CLOSED))
    conv, rec = await place(example_config, svc, Caller(), caplog)
    retries = example_config.routing.menu_retries
    assert sum(c[0] == "WAIT FOR DIGIT" for c in conv.commands) == retries
    assert conv.set_vars["CENTRALITA_ACTION"] == "voicemail"
    assert "after_hours_default" in rec["menu_path"]


async def test_holiday(example_config, caplog) -> None:
    svc = known(FakeServices(at=HOLIDAY))
    conv, rec = await place(example_config, svc, Caller([("message_offer", "2")]), caplog)
    assert "centralita/holiday_closed" in conv.played
    assert "centralita/closed" not in conv.played
    assert decode_ivr_var(conv.set_vars["CENTRALITA_IVR"])["hours"] == "holiday"
    assert conv.set_vars["CENTRALITA_ACTION"] == "voicemail"


async def test_overflow_to_general_when_skill_unstaffed(example_config, caplog) -> None:
    svc = known(FakeServices(staffed={"general_es": 2}))
    caller = Caller([("main_menu", "1"), ("category_intro", "1")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert conv.vars["CENTRALITA_QUEUE"] == "general_es"
    assert conv.set_vars["CENTRALITA_CATEGORY"] == "network"
    assert decode_ivr_var(conv.set_vars["CENTRALITA_IVR"])["overflow"] == "network_es"


async def test_no_agents_at_all_offers_message_or_callback(example_config, caplog) -> None:
    svc = known(FakeServices(staffed={}))
    caller = Caller([("main_menu", "0"), ("message_offer", "2")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert "centralita/no_agents" in conv.played
    assert conv.set_vars["CENTRALITA_ACTION"] == "voicemail"
    assert rec["menu_path"] == ["main_menu:agent", "no_agents", "no_agents:message"]
    # a choice made during business hours is not logged as an after-hours one
    choices = decode_ivr_var(conv.set_vars["CENTRALITA_IVR"])
    assert choices["no_agents"] == "message" and "after_hours" not in choices


async def test_wait_estimate_announced(example_config, caplog) -> None:
    svc = known(FakeServices())
    svc.stats["general_es"] = QueueStats(
        waiting=2, logged_in=1, available=0, asa_s=20.0, aht_s=100.0, handled=30
    )
    conv, _ = await place(example_config, svc, Caller([("main_menu", "0")]), caplog)
    i = conv.played.index("centralita/wait_estimate")
    assert conv.played[i : i + 3] == ["centralita/wait_estimate", "5", "centralita/minutes"]
    svc.stats["general_es"] = QueueStats(waiting=0, logged_in=3, available=1, asa_s=90.0)
    caplog.clear()
    conv, _ = await place(example_config, svc, Caller([("main_menu", "0")]), caplog)
    assert "centralita/wait_less_than_minute" in conv.played


@pytest.mark.parametrize(
    ("hangup_on", "at"),
    [
        ("welcome", None),
        ("identify", None),
        ("main_menu", None),
        ("category_intro", None),
        ("category_hardware", None),
        ("WAIT", None),
        ("enter_incident", None),
        ("status_incident", None),
        ("SAY DIGITS", None),
        ("status_agent_offer", None),
        ("wait_less_than_minute", None),
        ("closed", CLOSED),
        ("oncall_offer", CLOSED),
        ("callback_confirm", CLOSED),
    ],
)
async def test_hangup_at_each_step(example_config, caplog, hangup_on, at) -> None:
    svc = FakeServices() if at is None else FakeServices(at=at)
    svc.stats["general_es"] = QueueStats(waiting=0, logged_in=1, available=1, asa_s=None)
    svc.incidents[7] = IncidentInfo(7, "new", "medium", 1)
    if hangup_on != "identify":
        known(svc, CallerIdentity(status="found", contact_id=42, critical_24x7=True))
    menu = "2" if hangup_on in ("enter_incident", "status_incident", "SAY DIGITS") else "1"
    menu = "2" if hangup_on == "status_agent_offer" else menu
    presses = [("main_menu", menu), ("enter_incident", "7#")]
    if hangup_on == "wait_less_than_minute":
        presses = [("main_menu", "0")]
    if hangup_on == "callback_confirm":
        presses = [("oncall_offer", "3")]
    conv, rec = await place(example_config, svc, Caller(presses, hangup_on=hangup_on), caplog)
    assert conv.hung_up
    media = {"STREAM FILE", "GET DATA", "WAIT FOR DIGIT", "SAY DIGITS", "SAY NUMBER"}
    last_media = max(i for i, c in enumerate(conv.commands) if c[0] in media)
    assert all(c[0] == "SET VARIABLE" for c in conv.commands[last_media + 1 :])
    last = conv.commands[last_media]  # the caller hung up during the intended step
    heard = {"WAIT FOR DIGIT": "WAIT", "SAY DIGITS": "SAY DIGITS"}.get(last[0], last[1])
    assert hangup_on in heard
    assert conv.set_vars["CENTRALITA_ACTION"] == "hangup"
    assert "CENTRALITA_QUEUE" not in conv.set_vars
    assert rec["outcome"] == "hangup" and rec["action"] == "hangup"
    assert conv.closed_by_server


async def test_hostile_caller_data_cannot_inject(example_config, caplog) -> None:
    svc = FakeServices()
    conv, rec = await place(
        example_config,
        svc,
        Caller([("main_menu", "0")]),
        caplog,
        agi_callerid='555" "1\\',
        agi_calleridname='Evil" \\"; EXEC System reboot',
    )
    assert svc.calls == [("identify", "5551")]
    for raw in conv.raw:
        args = parse_args(raw)
        if args[:2] == ["SET", "VARIABLE"]:
            assert len(args) == 4, raw
    assert not any(c[0] == "EXEC" for c in conv.commands)


async def test_unknown_did_uses_dialplan_line_variable(example_config, caplog) -> None:
    svc = known(FakeServices())
    caller = Caller([("main_menu", "0")], variables={"CENTRALITA_LINE": "vip"})
    conv, rec = await place(
        example_config,
        svc,
        caller,
        caplog,
        preset={"CENTRALITA_LINE": "vip", **line_defaults(example_config, "vip")},
        agi_extension="s",
        agi_dnid="unknown",
    )
    assert conv.commands[0] == ["GET VARIABLE", "CENTRALITA_LINE"]
    assert rec["line"] == "vip" and conv.vars["CENTRALITA_VIP"] == "1"
    assert "CENTRALITA_VIP" not in conv.set_vars  # the vip line's default


async def test_ambiguous_ani_asks_for_customer_number(example_config, caplog) -> None:
    svc = FakeServices()
    svc.by_ani[ANI] = CallerIdentity(status="ambiguous")
    svc.by_number["42"] = CallerIdentity(status="found", via="customer_number", organisation_id=1)
    conv, rec = await place(
        example_config, svc, Caller([("identify", "42#"), ("main_menu", "0")]), caplog
    )
    assert svc.calls == [("identify", ANI), ("identify_by_number", "42")]
    assert rec["ident"] == "customer_number"


class _BrokenDirectory(FakeServices):
    async def identify(self, ani: str) -> CallerIdentity:
        raise RuntimeError("database is down")

    async def incident_status(self, digits: str):
        raise RuntimeError("database is down")


async def test_directory_failure_still_reaches_an_agent(example_config, caplog) -> None:
    svc = _BrokenDirectory()
    caller = Caller([("main_menu", "2"), ("enter_incident", "7#")])
    conv, rec = await place(example_config, svc, caller, caplog)
    assert conv.vars["CENTRALITA_ACTION"] == "queue"
    assert conv.vars["CENTRALITA_QUEUE"] == "general_es"
    assert rec["ident"] == "failed" and rec["outcome"] == "completed"
    assert any("database is down" in e for e in rec["errors"])


async def test_english_line_sets_only_what_differs_from_its_fallback_defaults(
    example_config, tmp_path, caplog
) -> None:
    """A line whose defaults fall back (no general_en, general_es waits 420 s): a skill
    queue with another max wait gets CENTRALITA_MAXWAIT SET, the fallback does not."""
    from tests.e2e.test_ivr_dialplan_defaults import english_line_config

    cfg = english_line_config(tmp_path)
    did = "525500000001"
    svc = known(FakeServices())
    conv, _ = await place(cfg, svc, Caller([("main_menu", "0")]), caplog, agi_extension=did)
    assert conv.vars["CENTRALITA_QUEUE"] == "general_es" and conv.vars["IVR_LANG"] == "en"
    assert not {"CENTRALITA_QUEUE", "CENTRALITA_MAXWAIT", "IVR_LANG"} & set(conv.set_vars)
    assert conv.vars["CENTRALITA_MAXWAIT"] == "420"
    caplog.clear()
    caller = Caller([("main_menu", "1"), ("category_intro", "1")])
    conv, _ = await place(cfg, svc, caller, caplog, agi_extension=did, agi_language="en")
    assert (conv.set_vars["CENTRALITA_QUEUE"], conv.set_vars["CENTRALITA_MAXWAIT"]) == (
        "network_en",
        "600",
    )
    assert "IVR_LANG" not in conv.set_vars and conv.commands[0][0] == "STREAM FILE"
