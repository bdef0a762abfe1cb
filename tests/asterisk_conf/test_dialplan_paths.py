"""Walk the generated dialplan through each IVR outcome and queue exit."""

from __future__ import annotations

import pytest

from asterisk_conf import names
from asterisk_conf.parse import parse_dialplan

from .dialplan_walker import Walker

TOLLFREE = "528008906000"


@pytest.fixture
def walker(parsed):
    return Walker(
        parse_dialplan(parsed["extensions.conf"]), variables={"UNIQUEID": "1763805123.45"}
    )


def _agi(script_vars: dict[str, dict[str, str]], status: str = "SUCCESS"):
    def effect(w: Walker, args: list[str]) -> None:
        script = args[0].rsplit("/", 1)[1]
        w.variables.update(script_vars.get(script, {}))
        w.variables["AGISTATUS"] = status

    return effect


def _queue(status: str):
    def effect(w: Walker, args: list[str]) -> None:
        w.variables["QUEUESTATUS"] = status

    return effect


def _hangup_after(app: str):
    def effect(w: Walker, args: list[str]) -> None:
        w.hung_up = True

    return effect


def _finish(w: Walker, context: str) -> None:
    """What Asterisk does after the caller is gone: run h in the last context."""
    w.hung_up = False
    w.run(context, "h")


def test_ivr_queue_decision_reaches_queue_with_its_arguments(walker):
    walker.effects["AGI"] = _agi(
        {
            "ivr": {
                "CENTRALITA_ACTION": "queue",
                "CENTRALITA_QUEUE": "network_en",
                "CENTRALITA_MAXWAIT": "300",
                "CENTRALITA_RULE": "critical",
                "IVR_LANG": "en",
            }
        }
    )
    walker.effects["Queue"] = _hangup_after("Queue")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert walker.calls("Queue") == [["network_en", "t", "", "", "300", "", "", "critical"]]
    assert ["CHANNEL(language)=en"] in walker.calls("Set")
    assert walker.variables["CENTRALITA_LINE"] == "tollfree"


def test_ivr_down_still_reaches_the_general_queue(walker):
    walker.effects["AGI"] = _agi({}, status="FAILURE")
    walker.effects["Queue"] = _hangup_after("Queue")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert walker.calls("Queue") == [["general_es", "t", "", "", "600", "", "", "standard"]]


def test_national_and_plus_forms_run_the_same_line(walker):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "hangup"}})
    walker.run(names.INBOUND_CONTEXT, "8008906000")
    assert walker.variables["CENTRALITA_LINE"] == "tollfree"
    assert walker.calls("Playback")[-1] == ["centralita/goodbye"] and walker.hung_up


@pytest.mark.parametrize("status", ["TIMEOUT", "JOINEMPTY", "LEAVEEMPTY", "FULL"])
def test_queue_exit_offers_callback_or_message(walker, status):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "queue"}, "callback": {}})
    walker.effects["Queue"] = _queue(status)

    def press_3(w: Walker, args: list[str]) -> None:
        assert args[1] == "centralita/message_offer&centralita/callback_offer"
        w.variables[args[0]] = "3"

    walker.effects["Read"] = press_3
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert walker.variables["CENTRALITA_EXIT"] == status
    assert walker.calls("AGI")[-1][0].endswith("/callback")
    assert ["centralita/callback_registered"] in walker.calls("Playback")


def test_silence_at_the_overflow_menu_records_a_message(walker):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "queue"}})
    walker.effects["Queue"] = _queue("TIMEOUT")
    walker.effects["Read"] = lambda w, args: w.variables.__setitem__(args[0], "")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    rec = walker.calls("Record")
    assert len(rec) == 1 and rec[0][3] == "k"
    assert rec[0][0] == walker.variables["CENTRALITA_RECORDING"]
    assert rec[0][0] == "/var/spool/asterisk/centralita/messages/1763805123-45.wav"
    assert walker.calls("AGI")[-1][0].endswith("/voicemail")
    assert ["centralita/message_saved"] in walker.calls("Playback")


def test_answered_call_ends_without_overflow(walker):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "queue"}})
    walker.effects["Queue"] = _queue("")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert "Read" not in walker.apps() and walker.hung_up


def test_caller_hangs_up_while_recording_the_h_hook_files_it(walker):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "voicemail"}})
    walker.effects["Record"] = _hangup_after("Record")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert [a[0].rsplit("/", 1)[1] for a in walker.calls("AGI")] == ["ivr"]
    _finish(walker, names.VOICEMAIL_CONTEXT)
    assert [a[0].rsplit("/", 1)[1] for a in walker.calls("AGI")] == ["ivr", "voicemail"]
    assert walker.variables["CENTRALITA_VM_DONE"] == "1"


def test_message_filed_once_not_again_at_hangup(walker):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "voicemail"}})
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    _finish(walker, names.VOICEMAIL_CONTEXT)
    scripts = [a[0].rsplit("/", 1)[1] for a in walker.calls("AGI")]
    assert scripts == ["ivr", "voicemail"]


def test_oncall_dials_the_filtered_number_then_falls_back(walker):
    walker.effects["AGI"] = _agi(
        {"ivr": {"CENTRALITA_ACTION": "oncall", "CENTRALITA_ONCALL": "+52 55;1234&x"}}
    )

    def no_answer(w: Walker, args: list[str]) -> None:
        w.variables["DIALSTATUS"] = "NOANSWER"

    walker.effects["Dial"] = no_answer
    walker.effects["Record"] = _hangup_after("Record")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert walker.calls("Dial") == [[f"PJSIP/+52551234@{names.TRUNK_ENDPOINT}", "45"]]
    assert ["centralita/oncall_unavailable"] in walker.calls("Playback")
    assert walker.calls("Record")


def test_oncall_without_number_uses_the_configured_one(walker, example_config):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "oncall"}})
    walker.effects["Dial"] = lambda w, args: w.variables.__setitem__("DIALSTATUS", "ANSWER")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    number = example_config.escalation.on_call_number
    assert walker.calls("Dial") == [[f"PJSIP/{number}@{names.TRUNK_ENDPOINT}", "45"]]
    assert walker.hung_up and "Record" not in walker.apps()


def test_survey_hook_runs_only_when_enabled(walker):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "queue"}})
    walker.effects["Queue"] = _hangup_after("Queue")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    _finish(walker, names.INBOUND_CONTEXT)
    assert not any(a[0].endswith("/survey") for a in walker.calls("AGI"))
    walker.variables["CENTRALITA_SURVEY"] = "1"
    _finish(walker, names.INBOUND_CONTEXT)
    assert walker.calls("AGI")[-1][0].endswith("/survey")
