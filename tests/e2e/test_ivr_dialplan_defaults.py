"""The pre-AGI defaults: one definition, the same in both dialplans, skipped by the IVR.

`servicedesk.routing.line_defaults` is what the generated extensions.conf and
pbxsim's dialplan model set before AGI(); the IVR leaves out every SET VARIABLE
that would repeat one of them. If the three drifted apart, a skipped variable
would silently keep a wrong value, so each is checked against the function.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asterisk_conf.dialplan import build_extensions
from asterisk_conf.site import SiteOptions
from pbxsim.dialplan import centralita_extensions, parse_extensions
from servicedesk.config import CentralitaConfig, load_config
from servicedesk.routing import line_defaults, route

EXAMPLE = Path(__file__).resolve().parents[2] / "centralita.example.toml"
NOT_ROUTING = {"CENTRALITA_LINE", "CDR(userfield)", "CHANNEL(language)", "CENTRALITA_SURVEY"}


def english_line_config(tmp_path: Path) -> CentralitaConfig:
    """An English line whose general skill only speaks Spanish, with its own max wait:
    the defaults must fall back exactly as the routing does."""
    text = EXAMPLE.read_text()
    general = 'name_en = "General support"\nlanguages = ["es", "en"]'
    assert general in text
    text = text.replace(general, 'name_en = "General support"\nlanguages = ["es"]')
    text = text.replace('general_en = "809"\n', "")  # its transfer code goes with the queue
    text = text.replace(
        "[lines.vip]",
        '[lines.english]\ndid = "+525500000001"\nlanguage = "en"\ncalendar = "office"\n'
        'description = "English line"\n\n[lines.vip]',
    )
    text = text.replace("[queues.general_es]", "[queues.general_es]\nmax_wait = 420")
    path = tmp_path / "english.toml"
    path.write_text(text)
    return load_config(path)


def pre_agi_sets(text: str, did: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for step in parse_extensions(text)[("centralita-inbound", did)]:
        if step.app == "AGI":
            return out
        if step.app == "Set":
            name, _, value = step.data.partition("=")
            out[name] = value
    raise AssertionError(f"no AGI() for {did}")


@pytest.fixture(params=["example", "english_line"])
def cfg(request, example_config, tmp_path) -> CentralitaConfig:
    return example_config if request.param == "example" else english_line_config(tmp_path)


@pytest.mark.parametrize("dialplan", ["generated", "pbxsim"])
def test_both_dialplans_set_exactly_the_line_defaults(cfg, dialplan) -> None:
    if dialplan == "generated":
        text = build_extensions(cfg, SiteOptions())[0]
    else:
        text = centralita_extensions(cfg, "127.0.0.1", 4573)
    for name, line in cfg.lines.items():
        sets = pre_agi_sets(text, line.did.lstrip("+"))
        assert sets["CENTRALITA_LINE"] == name
        assert sets["CHANNEL(language)"] == line.language  # so agi_language is the line's
        routing = {k: v for k, v in sets.items() if k not in NOT_ROUTING}
        assert routing == line_defaults(cfg, name)
        assert list(routing)[-1] == "CENTRALITA_ACTION"


def test_defaults_are_the_route_of_a_caller_who_chose_nothing(tmp_path) -> None:
    cfg = english_line_config(tmp_path)
    d = line_defaults(cfg, "english")
    assert d["CENTRALITA_QUEUE"] == "general_es"  # no general_en: the skill's first language
    assert d["CENTRALITA_MAXWAIT"] == "420" and d["IVR_LANG"] == "en"
    r = route(cfg, None, "en", None, False)
    assert (d["QUEUE_PRIO"], d["CENTRALITA_RULE"], d["QUEUE_MAX_PENALTY"]) == (
        str(r.queue_prio),
        r.rule,
        str(r.max_penalty),
    )
    vip = line_defaults(cfg, "vip")
    assert (vip["CENTRALITA_VIP"], vip["QUEUE_PRIO"], vip["CENTRALITA_RULE"]) == (
        "1",
        str(cfg.routing.prio_vip),
        cfg.routing.rule_vip,
    )
