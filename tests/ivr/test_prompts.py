"""Every prompt the IVR can play exists in the catalogue (static or derived from the config)."""

from __future__ import annotations

import pytest

from asterisk_conf.prompt_catalogue import PROMPTS, category_prompts, hours_prompts
from ivr.flows.main_ivr import IvrFlow
from ivr.prompts import greeting_sound, sound, sound_in, welcome_sound
from servicedesk.calendar import BusinessCalendar
from servicedesk.models import INCIDENT_STATUSES, PRIORITIES
from tests.ivr.fake_services import FakeServices


def test_derived_prompts_cover_the_config(example_config) -> None:
    flow = IvrFlow(example_config, FakeServices())  # type: ignore[arg-type]
    categories = {f"centralita/{k}" for k in category_prompts(example_config)}
    assert set(flow.category_sounds) == categories
    describe = {
        name: {
            lang: BusinessCalendar.from_config(cal).describe_hours(lang) for lang in ("es", "en")
        }
        for name, cal in example_config.calendars.items()
    }
    hours = hours_prompts(example_config, describe)
    for line in example_config.lines.values():
        assert f"closed_hours_{line.calendar}" in hours


def test_status_and_priority_read_back_prompts_exist() -> None:
    for status in INCIDENT_STATUSES:
        assert f"status_{status}" in PROMPTS
    for prio in PRIORITIES:
        assert f"priority_{prio}" in PROMPTS


def test_sound_names() -> None:
    assert sound("main_menu") == "centralita/main_menu"
    assert sound_in("en", "language_choice") == "en/centralita/language_choice"
    assert welcome_sound("vip") == "centralita/welcome_vip"
    assert welcome_sound("no_such_line") == "centralita/welcome"
    with pytest.raises(KeyError):
        sound("no_such_prompt")


def test_greeting_is_the_welcome_and_both_offer_halves() -> None:
    from asterisk_conf.prompt_catalogue import LANGUAGE_DIGITS, greeting_key

    for line in ("tollfree", "vip", "no_such_line"):
        key = greeting_key(line)
        assert key is not None and greeting_sound(line) == f"centralita/{key}"
        welcome = key.removesuffix("_language")
        for lang in ("es", "en"):
            text = PROMPTS[key][lang]
            assert text.startswith(PROMPTS[welcome][lang])
            assert f"oprima {LANGUAGE_DIGITS['es']}" in text
            assert f"press {LANGUAGE_DIGITS['en']}" in text
    prompts = {"welcome": {}, "welcome_language": {}, "welcome_new": {}}
    assert greeting_key("new", prompts) is None  # its own welcome, not merged yet
    assert greeting_key("other", prompts) == "welcome_language"


async def test_line_without_merged_greeting_plays_welcome_then_offer(
    example_config, monkeypatch, caplog
) -> None:
    import ivr.flows.main_ivr as main_ivr
    from tests.ivr.fake_asterisk import Caller
    from tests.ivr.test_flow import known, place

    monkeypatch.setattr(main_ivr, "greeting_sound", lambda line: None)
    conv, _ = await place(
        example_config, known(FakeServices()), Caller([("main_menu", "0")]), caplog
    )
    assert conv.commands[:3] == [
        ["STREAM FILE", "centralita/welcome_tollfree", "12"],
        ["STREAM FILE", "es/centralita/language_choice", "12"],
        ["STREAM FILE", "en/centralita/language_choice", "12"],
    ]
