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
    assert walker.calls("Queue") == [["network_en", "tc", "", "", "300", "", "", "critical"]]
    assert ["CHANNEL(language)=en"] in walker.calls("Set")
    assert walker.variables["CENTRALITA_LINE"] == "tollfree"


def test_ivr_down_still_reaches_the_general_queue(walker):
    walker.effects["AGI"] = _agi({}, status="FAILURE")
    walker.effects["Queue"] = _hangup_after("Queue")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert walker.calls("Queue") == [["general_es", "tc", "", "", "600", "", "", "standard"]]


def test_national_and_plus_forms_run_the_same_line(walker):
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "hangup"}})
    walker.run(names.INBOUND_CONTEXT, "8008906000")
    assert walker.variables["CENTRALITA_LINE"] == "tollfree"
    assert walker.calls("Playback")[-1] == ["centralita/goodbye"] and walker.hung_up


def _keys(answers: dict[str, str]):
    """Read() answers by prompt: the overflow offer, then the callback confirmation."""

    def effect(w: Walker, args: list[str]) -> None:
        w.variables[args[0]] = answers.get(args[1], "")

    return effect


OFFER = "centralita/message_offer&centralita/callback_offer"
CONFIRM = "centralita/callback_confirm"


@pytest.mark.parametrize("status", ["TIMEOUT", "JOINEMPTY", "LEAVEEMPTY", "FULL"])
def test_queue_exit_offers_callback_or_message(walker, status):
    walker.effects["AGI"] = _agi(
        {"ivr": {"CENTRALITA_ACTION": "queue"}, "callback": {"CENTRALITA_CALLBACK_ID": "9"}}
    )
    walker.effects["Queue"] = _queue(status)
    walker.effects["Read"] = _keys({OFFER: "3", CONFIRM: "1"})
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert walker.variables["CENTRALITA_EXIT"] == status
    assert [a[1] for a in walker.calls("Read")] == [OFFER, CONFIRM]
    assert walker.calls("AGI")[-1][0].endswith("/callback")
    assert ["centralita/callback_registered"] in walker.calls("Playback")


@pytest.mark.parametrize("confirm", ["", "2"])
def test_overflow_callback_unconfirmed_records_a_message(walker, confirm):
    """As in the IVR's own callback offer: nothing is stored without the confirm key."""
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "queue"}})
    walker.effects["Queue"] = _queue("TIMEOUT")
    walker.effects["Read"] = _keys({OFFER: "3", CONFIRM: confirm})
    walker.effects["Record"] = _hangup_after("Record")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert not [a for a in walker.calls("AGI") if a[0].endswith("/callback")]
    assert walker.calls("Record")


def test_callback_script_that_stores_nothing_falls_back_to_a_message(walker):
    """No caller number: the script stores nothing, so "registered" is never said."""
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "callback"}, "callback": {}})
    walker.effects["Record"] = _hangup_after("Record")
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert ["centralita/callback_registered"] not in walker.calls("Playback")
    assert walker.calls("Record")


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


def _surveys(walker: Walker) -> int:
    return sum(a[0].endswith("/survey") for a in walker.calls("AGI"))


@pytest.mark.parametrize("enabled", [True, False])
def test_survey_runs_once_on_the_live_caller_after_the_agent_hangs_up(walker, enabled):
    flag = "1" if enabled else "0"  # as `conf generate --survey` sets it before the IVR
    walker.effects["AGI"] = _agi({"ivr": {"CENTRALITA_ACTION": "queue", "CENTRALITA_SURVEY": flag}})
    walker.effects["Queue"] = _queue("CONTINUE")  # Queue(...,tc,...): the agent hung up
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    assert _surveys(walker) == (1 if enabled else 0)
    assert walker.hung_up
    _finish(walker, names.SURVEY_CONTEXT)
    assert _surveys(walker) == (1 if enabled else 0)  # never again from h
    # a second pass through the survey context (e.g. a transfer back) does not repeat it
    walker.hung_up = False
    walker.run(names.SURVEY_CONTEXT, "s")
    assert _surveys(walker) == (1 if enabled else 0)


@pytest.mark.parametrize(
    ("action", "queue", "last"),
    [
        ("queue", "", names.AFTER_QUEUE_CONTEXT),  # the caller hung up on the agent
        ("callback", "", names.CALLBACK_CONTEXT),
        ("voicemail", "", names.VOICEMAIL_CONTEXT),
        ("hangup", "", names.HANGUP_CONTEXT),
        ("queue", "TIMEOUT", names.VOICEMAIL_CONTEXT),
    ],
)
def test_no_survey_on_a_dead_channel_or_without_an_agent(walker, action, queue, last):
    walker.effects["AGI"] = _agi(
        {
            "ivr": {"CENTRALITA_ACTION": action, "CENTRALITA_SURVEY": "1"},
            "callback": {"CENTRALITA_CALLBACK_ID": "4"},
        }
    )
    walker.effects["Queue"] = _hangup_after("Queue") if not queue else _queue(queue)
    walker.effects["Read"] = _keys({})
    walker.run(names.INBOUND_CONTEXT, TOLLFREE)
    _finish(walker, last)
    assert _surveys(walker) == 0
