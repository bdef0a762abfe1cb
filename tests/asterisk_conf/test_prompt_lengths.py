"""Prompt lengths: the committed table is what espeak-ng renders, estimates err long,
and the IVR's limits are checked against them."""

from __future__ import annotations

import json

import pytest

from asterisk_conf.prompt_catalogue import PROMPTS, full_catalogue, has_placeholder
from asterisk_conf.prompt_lengths import (
    TABLE,
    catalogue_table,
    estimate_seconds,
    hours_upper_bound_s,
    longest_by_sound,
    longest_ivr_seconds,
    measure_dir,
    prompt_lengths,
    timing_problems,
)
from asterisk_conf.prompts import hours_descriptions, render_prompts


def test_the_table_matches_a_fresh_render(example_config, tmp_path) -> None:
    static = [k for k, t in PROMPTS.items() if not any(has_placeholder(x) for x in t.values())]
    render_prompts(example_config, tmp_path, keys=static)
    measured = measure_dir(tmp_path)
    table = catalogue_table()
    assert sorted(measured) == sorted(table)
    off = {k: (v, table[k]) for k, v in measured.items() if abs(v - table[k]) > 0.02}
    assert off == {}, "run `python -m asterisk_conf.prompt_lengths` after changing a text"
    assert json.loads(TABLE.read_text())["renderer"].startswith("eSpeak NG")


def test_derived_prompts_are_estimated_on_the_long_side(example_config, tmp_path) -> None:
    describe = hours_descriptions(example_config)
    derived = [k for k in full_catalogue(example_config, describe) if k not in PROMPTS]
    assert any(k.startswith("closed_hours_") for k in derived)
    assert any(k.startswith("category_") for k in derived)
    render_prompts(example_config, tmp_path, keys=derived, describe=describe)
    lengths = prompt_lengths(example_config, describe)
    for name, seconds in measure_dir(tmp_path).items():
        assert seconds <= lengths[name] <= seconds * 1.6 + 1.0, name
        if "/closed_hours_" in name:  # the FastAGI server's bound, without Babel
            assert hours_upper_bound_s(example_config, name.split("closed_hours_")[1]) > seconds
    # and measured files win over the estimate when a sounds directory is given
    measured = prompt_lengths(example_config, describe, sounds_dir=tmp_path)
    assert (
        measured["es/centralita/closed_hours_office"]
        == measure_dir(tmp_path)["es/centralita/closed_hours_office"]
    )


def test_estimate_grows_with_text_and_digits() -> None:
    assert estimate_seconds("Para red, oprima 1.") < estimate_seconds("lunes de 9:00 a 13:00")
    assert estimate_seconds("a" * 100) == pytest.approx(10.5)


def test_longest_by_sound_takes_the_longer_language() -> None:
    by = longest_by_sound({"es/centralita/x": 3.0, "en/centralita/x": 4.0, "beep": 0.4})
    assert by["centralita/x"] == 4.0 and by["es/centralita/x"] == 3.0 and by["beep"] == 0.4


def test_the_shipped_session_limit_covers_the_longest_ivr_path(example_config) -> None:
    need = longest_ivr_seconds(example_config)
    # a silent caller on the toll-free line: greeting, 3 x identify, after-hours offers...
    assert 120 < need < example_config.connections.fastagi.session_limit
    assert timing_problems(example_config) == []
    routing = example_config.routing.model_copy(update={"digit_timeout_ms": 10000})
    longer = example_config.model_copy(update={"routing": routing})
    assert longest_ivr_seconds(longer) > need + 5 * 3  # every menu attempt waits longer
    fa = example_config.connections.fastagi.model_copy(update={"session_limit": 100.0})
    conns = example_config.connections.model_copy(update={"fastagi": fa})
    short = example_config.model_copy(update={"connections": conns})
    (problem,) = timing_problems(short)
    assert problem.startswith("connections.fastagi.session_limit: 100 s is shorter than")
