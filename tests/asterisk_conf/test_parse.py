"""The .conf parser, validated on the real configs Asterisk 22.10.1 loaded for the traces."""

from __future__ import annotations

import pytest

from asterisk_conf.parse import ConfParseError, parse_conf, parse_dialplan, split_args


@pytest.fixture(scope="module")
def trace_configs(traces_dir):
    conf_dir = traces_dir / "config"
    paths = sorted(conf_dir.glob("*.conf")) + sorted((conf_dir / "queues.d").glob("*.conf"))
    assert len(paths) >= 20
    return {p.relative_to(conf_dir).as_posix(): p.read_text(encoding="utf-8") for p in paths}


def test_every_trace_config_parses(trace_configs):
    for name, text in trace_configs.items():
        conf = parse_conf(text)
        assert conf.sections, name
        assert not conf.preamble, name


def test_trace_dialplan_structure(trace_configs):
    dp = parse_dialplan(parse_conf(trace_configs["extensions.conf"]))
    assert set(dp) == {"from-trunk", "from-agents", "scripts"}
    ivr = dp["from-trunk"].extensions["800"]
    assert ivr.apps() == ["NoOp", "Answer", "Set", "AGI", "NoOp", "Queue", "NoOp", "Hangup"]
    assert [s.priority for s in ivr.steps] == list(range(1, 9))
    assert ivr.steps[3].args == ["agi://127.0.0.1:4573/ivr", "arg1", "arg2"]
    # a comma inside a function call is not an argument separator
    assert ivr.steps[2].args == ["CDR(userfield)=ivr"]
    assert dp["from-trunk"].extensions["705"].steps[3].args == ["support", "", "", "", "10"]
    assert dp["scripts"].extensions["ivrcaller"].steps[2].args == ["1234", "250", "100"]


def test_trace_pjsip_templates_resolve(trace_configs):
    conf = parse_conf(trace_configs["pjsip.conf"])
    template = conf.named("endpoint-common")[0]
    assert template.template
    endpoints = {s.name for s in conf.by_type("endpoint") if not s.template}
    assert endpoints == {"trunk", "agent1", "agent2", "agent3"}
    agent1 = conf.resolved(next(s for s in conf.named("agent1") if s.inherits))
    assert agent1.get("send_connected_line") == "no"
    assert agent1.get("aors") == "agent1"
    assert {s.name for s in conf.by_type("aor")} == {"agent1", "agent2", "agent3"}
    assert conf.by_type("identify")[0].get("match") == "127.0.0.1"


def test_trace_manager_and_rules(trace_configs):
    manager = parse_conf(trace_configs["manager.conf"])
    user = manager.named("ceo")[0]
    assert user.option_keys()[:3] == ["secret", "deny", "permit"]
    rules = parse_conf(trace_configs["queuerules.conf"])
    opt = rules.named("widen")[0].options[0]
    assert (opt.key, opt.value, opt.arrow) == ("penaltychange", "5,+4", True)
    modules = parse_conf(trace_configs["modules.conf"])
    assert "chan_iax2.so" in modules.named("modules")[0].get_all("noload")


def test_comments_escapes_and_includes():
    conf = parse_conf(
        "; leading comment\n"
        "[a](!)\n"
        "x = 1 ; trailing\n"
        "y = semi\\;colon\n"
        ";-- block\n"
        "z = hidden\n"
        "--;\n"
        '#include "secrets.conf"\n'
        "[b](a)\n"
        "[a](+)\n"
        "w = 2\n"
    )
    a, b, a2 = conf.sections
    assert a.template and a.get("x") == "1" and a.get("y") == "semi;colon"
    assert a.get("z") is None
    assert b.inherits == ["a"] and conf.resolved(b).get("x") == "1"
    assert a2.append and a2.get("w") == "2"
    assert conf.includes == ["secrets.conf"]


@pytest.mark.parametrize(
    "text",
    ["[broken\n", "[s]\njust words\n", "#exec rm -rf /\n", "[s]\nx = 1\n;-- never closed\n"],
)
def test_rejects_what_asterisk_rejects(text):
    with pytest.raises(ConfParseError):
        parse_conf(text)


def test_dialplan_rejects_bad_priorities():
    with pytest.raises(ConfParseError):
        parse_dialplan(parse_conf("[c]\nsame => n,NoOp()\n"))
    with pytest.raises(ConfParseError):
        parse_dialplan(parse_conf("[c]\nexten => s,2,NoOp()\n"))


def test_split_args_respects_nesting_and_quotes():
    assert split_args('$["${A}" = "x,y"]?c,s,1') == ['$["${A}" = "x,y"]?c', "s", "1"]
    assert split_args("${CUT(X,.,1)}-${CUT(X,.,2)}.wav,5") == [
        "${CUT(X,.,1)}-${CUT(X,.,2)}.wav",
        "5",
    ]
    assert split_args("") == [""]
