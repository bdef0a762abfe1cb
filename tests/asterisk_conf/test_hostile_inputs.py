"""Config values that would change .conf syntax are refused, never written."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from asterisk_conf.check import check_texts
from asterisk_conf.generate import generate
from asterisk_conf.parse import parse_conf
from asterisk_conf.render import UnsafeValue, conf_value
from asterisk_conf.site import SiteOptions
from centralita.cli import main
from servicedesk.config import parse_config

EXAMPLE = Path(__file__).parents[2] / "centralita.example.toml"


def _config(mutate):
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    mutate(data)
    return parse_config(data)


def _set_agent_interface(data):
    data["agents"][0]["interface"] = "PJSIP/10]01"


def _set_fastagi_host(data):
    data["connections"]["fastagi"]["host"] = "10.0.0.1),Dial(PJSIP"


def _set_rule_name(data):
    data["routing"]["rules"]["bad]rule"] = {"start_max_penalty": 0, "steps": []}


def _set_joinempty(data):
    data["queue_defaults"]["joinempty"] = "paused,bogus"


def _set_permit(data):
    data["connections"]["ami"]["permit"] = ["127.0.0.1/255.255.255.255\nsecret = x"]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (_set_agent_interface, "agents[0].interface"),
        (_set_fastagi_host, "connections.fastagi.host"),
        (_set_rule_name, "routing.rules.bad]rule"),
        (_set_joinempty, "joinempty: unknown option 'bogus'"),
        (_set_permit, "connections.ami.permit[0]"),
    ],
)
def test_unsafe_config_values_are_refused(mutate, where):
    cfg = _config(mutate)
    with pytest.raises(UnsafeValue, match=re.escape(where)):
        generate(cfg, SiteOptions(env={}))


@pytest.mark.parametrize(
    "site",
    [
        {"trunk_host": "1.2.3.4\n[evil]"},
        {"sip_bind": "0.0.0.0:5060,x"},
        {"recordings_dir": "/tmp/a,b)"},
    ],
)
def test_unsafe_site_options_are_refused(example_config, site):
    with pytest.raises(UnsafeValue):
        generate(example_config, SiteOptions(env={}, **site))


def test_secret_with_newline_is_refused_and_semicolon_escaped(example_config):
    with pytest.raises(UnsafeValue):
        generate(example_config, SiteOptions(env={"CENTRALITA_AMI_SECRET": "a\n[x]"}))
    assert conf_value("a;b") == "a\\;b"
    result = generate(example_config, SiteOptions(env={"CENTRALITA_AMI_SECRET": "a;b ; c"}))
    sec = parse_conf(result.secrets["manager_secrets.conf"]).sections[0]
    assert sec.append and sec.get("secret") == "a;b ; c"


def test_agent_names_cannot_break_the_callerid(example_config):
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["agents"][0]["name"] = 'Zoë "Z" <evil>; Adams\\'
    cfg = parse_config(data)
    text = generate(cfg, SiteOptions(env={})).files["pjsip.conf"]
    conf = parse_conf(text)
    ep = next(s for s in conf.sections if s.name == "1001" and s.inherits)
    assert ep.get("callerid") == '"Zoë Z evil Adams" <1001>'
    assert check_texts(cfg, generate(cfg, SiteOptions(env={})).files, {}).ok


def test_check_flags_hand_edited_empty_options(example_config, generated):
    files = dict(generated.files)
    files["queues.conf"] = files["queues.conf"].replace(
        "joinempty = paused,invalid,unavailable", "joinempty = paused,sometimes", 1
    )
    report = check_texts(example_config, files, {})
    assert any("sometimes" in e for e in report.errors)


def test_cli_reports_unsafe_values(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            'interface = "PJSIP/1001"', 'interface = "PJSIP/10(01"'
        ),
        encoding="utf-8",
    )
    assert main(["conf", "generate", "--config", str(bad), "--out", str(tmp_path / "o")]) == 1
    assert "agents[0].interface" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["conf", "check", "--config", str(bad)]) == 1
