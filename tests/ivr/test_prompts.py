"""Every prompt the IVR can play exists in the catalogue (static or derived from the config)."""

from __future__ import annotations

import pytest

from asterisk_conf.prompt_catalogue import PROMPTS, category_prompts, hours_prompts
from ivr.flows.main_ivr import IvrFlow
from ivr.prompts import sound, sound_in, welcome_sound
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
