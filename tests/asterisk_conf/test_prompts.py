"""The prompt catalogue's coverage, and rendering to 8 kHz mono 16-bit WAV."""

from __future__ import annotations

import re
import wave

import pytest

from asterisk_conf.prompt_catalogue import (
    AFTER_HOURS_DIGITS,
    LANGUAGE_DIGITS,
    MAIN_MENU_DIGITS,
    PROMPTS,
    category_prompts,
    full_catalogue,
    hours_prompts,
    missing_texts,
    welcome_key,
)
from asterisk_conf.prompts import (
    PromptRenderError,
    hours_descriptions,
    render_prompts,
    renderable,
)
from centralita.cli import main
from servicedesk.models import INCIDENT_STATUSES, PRIORITIES

REQUIRED = {
    "welcome_tollfree",
    "welcome_vip",
    "language_choice",
    "closed",
    "closed_hours",
    "holiday_closed",
    "oncall_offer",
    "message_offer",
    "record_after_tone",
    "callback_offer",
    "callback_confirm",
    "identify",
    "not_found",
    "main_menu",
    "category_intro",
    "enter_incident",
    "incident_not_found",
    "your_incident_number",
    "status_incident",
    "status_is",
    "priority_is",
    "support_level",
    "status_agent_offer",
    "invalid_option",
    "no_input",
    "transferring",
    "wait_estimate",
    "minutes",
    "all_busy",
    "please_hold",
    "goodbye",
    "survey_intro",
}


def test_catalogue_covers_every_ivr_prompt():
    assert set(PROMPTS) >= REQUIRED
    assert {f"status_{s}" for s in INCIDENT_STATUSES} <= set(PROMPTS)
    assert {f"priority_{p}" for p in PRIORITIES} <= set(PROMPTS)
    assert missing_texts(PROMPTS) == []
    for key, texts in PROMPTS.items():
        assert set(texts) == {"es", "en"}, key
        assert texts["es"] != texts["en"], key


def test_menus_say_the_digits_the_ivr_listens_for():
    assert f"oprima {LANGUAGE_DIGITS['es']}" in PROMPTS["language_choice"]["es"]
    assert f"press {LANGUAGE_DIGITS['en']}" in PROMPTS["language_choice"]["en"]
    for digit in MAIN_MENU_DIGITS.values():
        assert f"oprima {digit}" in PROMPTS["main_menu"]["es"]
        assert f"press {digit}" in PROMPTS["main_menu"]["en"]
    assert f"oprima {AFTER_HOURS_DIGITS['oncall']}" in PROMPTS["oncall_offer"]["es"]
    assert f"oprima {AFTER_HOURS_DIGITS['message']}" in PROMPTS["message_offer"]["es"]
    assert f"press {AFTER_HOURS_DIGITS['callback']}" in PROMPTS["callback_offer"]["en"]


def test_config_derived_prompts(example_config):
    cats = category_prompts(example_config)
    assert set(cats) == {
        f"category_{s}" for s, sk in example_config.skills.items() if sk.dtmf is not None
    }
    net = example_config.skills["network"]
    assert cats["category_network"]["es"].endswith(f"oprima {net.dtmf}.")
    assert net.name_en.lower() in cats["category_network"]["en"].lower()
    describe = hours_descriptions(example_config)
    hours = hours_prompts(example_config, describe)
    assert set(hours) == {f"closed_hours_{c}" for c in example_config.calendars}
    assert describe["office"]["es"] in hours["closed_hours_office"]["es"]
    assert "{hours}" not in hours["closed_hours_office"]["en"]
    full = full_catalogue(example_config, describe)
    assert list(full) == sorted(full)
    assert "closed_hours" not in renderable(example_config, describe)
    assert welcome_key("vip") == "welcome_vip" and welcome_key("other") == "welcome"


def _assert_asterisk_wav(path):
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == 8000
        assert w.getnchannels() == 1
        assert w.getsampwidth() == 2
        assert w.getcomptype() == "NONE"
        seconds = w.getnframes() / w.getframerate()
    assert 0.5 < seconds < 60, seconds
    return seconds


def test_render_two_prompts_in_both_languages(example_config, tmp_path):
    rendered = render_prompts(example_config, tmp_path, keys=["goodbye", "category_network"])
    assert [(r.key, r.lang) for r in rendered] == [
        ("category_network", "es"),
        ("category_network", "en"),
        ("goodbye", "es"),
        ("goodbye", "en"),
    ]
    for r in rendered:
        assert r.path == tmp_path / r.lang / "centralita" / f"{r.key}.wav"
        _assert_asterisk_wav(r.path)
    assert not list(tmp_path.rglob("*.tmp.wav"))


def test_longer_text_gives_longer_audio(example_config, tmp_path):
    render_prompts(example_config, tmp_path, keys=["minute", "main_menu"], languages=["es"])
    short = _assert_asterisk_wav(tmp_path / "es/centralita/minute.wav")
    long = _assert_asterisk_wav(tmp_path / "es/centralita/main_menu.wav")
    assert long > 4 * short


def test_unknown_key_is_refused(example_config, tmp_path):
    with pytest.raises(PromptRenderError, match="nope"):
        render_prompts(example_config, tmp_path, keys=["nope"])
    assert not any(tmp_path.iterdir())


def test_cli_prompts(tmp_path, capsys):
    from pathlib import Path

    example = str(Path(__file__).parents[2] / "centralita.example.toml")
    args = ["conf", "prompts", "--config", example, "--out", str(tmp_path)]
    assert main([*args, "--only", "closed_hours_office", "--lang", "en"]) == 0
    _assert_asterisk_wav(tmp_path / "en/centralita/closed_hours_office.wav")
    assert not (tmp_path / "es").exists()
    assert re.search(r"rendered 1 prompt", capsys.readouterr().out)
    assert main([*args, "--only", "closed_hours"]) == 1


def test_check_requires_sounds_for_every_played_prompt(example_config, generated, tmp_path):
    from asterisk_conf.check import check_texts

    report = check_texts(example_config, generated.files, {}, sounds_dir=tmp_path)
    missing = [e for e in report.errors if e.startswith("sound ")]
    assert len(missing) == 2 * len(generated.prompts_used)
    assert any(
        e.endswith("/es/centralita/goodbye.wav is missing (run `centralita conf prompts`)")
        for e in missing
    )
    played = sorted(generated.prompts_used)
    render_prompts(example_config, tmp_path, keys=played)
    report = check_texts(example_config, generated.files, {}, sounds_dir=tmp_path)
    assert report.errors == []


def test_every_catalogue_prompt_renders(example_config, tmp_path):
    describe = hours_descriptions(example_config)
    rendered = render_prompts(example_config, tmp_path, describe=describe, workers=2)
    keys = set(renderable(example_config, describe))
    assert {r.key for r in rendered} == keys
    assert {f"closed_hours_{c}" for c in example_config.calendars} <= keys
    assert len(rendered) == 2 * len(keys)
    for r in rendered:
        _assert_asterisk_wav(r.path)
