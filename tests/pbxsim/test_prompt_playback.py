"""pbxsim plays each prompt for as long as its rendered file lasts, in the channel's language."""

from __future__ import annotations

from pbxsim.sim import PbxSim


def test_prompts_last_their_rendered_length_per_language(example_config) -> None:
    sim = PbxSim(example_config)
    e = sim.engine
    assert e.prompt_length("centralita/main_menu", "es") == 16.189
    assert e.prompt_length("centralita/main_menu", "en") == 13.601
    assert e.prompt_length("centralita/welcome_tollfree_language", "es") == 12.455
    # an explicit-language sound, a stock sound, one from the config, one unknown
    assert e.prompt_length("en/centralita/language_choice", "es") < 3.0
    assert e.prompt_length("beep", "es") == 0.424
    assert e.prompt_length("centralita/category_network", "es") > 2.8
    assert e.prompt_length("custom/unknown", "es") == e.default_prompt_s
    e.close()


def test_sounds_dir_and_overrides(example_config, tmp_path) -> None:
    import wave

    d = tmp_path / "es" / "centralita"
    d.mkdir(parents=True)
    with wave.open(str(d / "main_menu.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000 * 3)  # a 3 s recording replaces the rendered one
    sim = PbxSim(example_config, sounds_dir=tmp_path, prompt_seconds={"beep": 1.0})
    assert sim.engine.prompt_length("centralita/main_menu", "es") == 3.0
    assert sim.engine.prompt_length("centralita/main_menu", "en") == 13.601
    assert sim.engine.prompt_length("beep", "en") == 1.0
    sim.engine.close()
