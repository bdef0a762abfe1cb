"""The calling features' generated files: outbound and supervision contexts, the dialer's
AMI user (least privilege) and supervisor phones, each in a file of its own."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from asterisk_conf import calling, names
from asterisk_conf.generate import generate
from asterisk_conf.parse import parse_conf, parse_dialplan
from asterisk_conf.site import SiteOptions

from . import allowlists as allow


def _plan(parsed, name="extensions_calling.conf"):
    return parse_dialplan(parsed[name])


def test_main_files_include_the_calling_files(parsed):
    assert calling.CALLING_EXTENSIONS_FILE in parsed["extensions.conf"].includes
    assert calling.DIALER_MANAGER_FILE in parsed["manager.conf"].includes
    assert calling.SUPERVISORS_PJSIP_FILE in parsed["pjsip.conf"].includes


def test_outbound_context_dials_digits_only_with_the_desk_caller_id(parsed):
    ctx = _plan(parsed)[calling.OUTBOUND_CONTEXT]
    (ext,) = ctx.extensions.values()
    assert ext.name == "_X."
    apps = [s.app for s in ext.steps]
    assert apps.index("GotoIf") < apps.index("Dial")  # the FILTER check comes first
    dial = next(s for s in ext.steps if s.app == "Dial")
    assert dial.args[0] == f"PJSIP/+${{CENTRALITA_DIAL}}@{names.TRUNK_ENDPOINT}"
    assert any(s.raw.endswith("Set(CALLERID(num)=+525591380000)") for s in ext.steps)
    for step in ext.steps:
        assert step.app in allow.APPLICATIONS | {"ChanSpy"}


def test_no_phone_reaches_the_calling_contexts(parsed):
    """Agents' and the trunk's contexts neither are nor include the new contexts."""
    main = parse_dialplan(parsed["extensions.conf"])
    for ctx in main.values():
        assert calling.OUTBOUND_CONTEXT not in ctx.includes
        assert calling.SUPERVISE_CONTEXT not in ctx.includes
        for ext in ctx.extensions.values():
            for step in ext.steps:
                assert calling.OUTBOUND_CONTEXT not in step.raw
                assert calling.SUPERVISE_CONTEXT not in step.raw
    endpoints = [s for s in parsed["pjsip.conf"].sections if s.get("context")]
    assert {s.get("context") for s in endpoints} <= {names.AGENTS_CONTEXT, names.INBOUND_CONTEXT}


def test_supervise_context_has_three_modes_per_agent(example_config, parsed):
    ctx = _plan(parsed)[calling.SUPERVISE_CONTEXT]
    endpoints = sorted(names.endpoint_of(a.interface) for a in example_config.agents)
    for code, (_mode, options) in calling.SPY_MODES.items():
        for ep in endpoints:
            ext = ctx.extensions[f"{code}{ep}"]
            spy = next(s for s in ext.steps if s.app == "ChanSpy")
            assert spy.args == [f"PJSIP/{ep}-", options]
    assert calling.SPY_MODES["222"][1] == "qEw" and calling.SPY_MODES["223"][1] == "qEB"


def test_dialer_user_has_only_what_it_sends(example_config, parsed):
    conf = parsed["manager_dialer.conf"]
    (user,) = conf.named(example_config.calling.dialer_username)
    assert user.get("deny") == "0.0.0.0/0.0.0.0"
    assert set(user.get("read").split(",")) == {"call", "agent"}
    assert set(user.get("write").split(",")) == {"originate", "call"}
    assert user.get("secret") is None
    assert conf.includes == [calling.DIALER_SECRETS_FILE]
    # the listener's own user is unchanged: no originate for it
    (listener,) = parsed["manager.conf"].named(example_config.connections.ami.username)
    assert "originate" not in listener.get("write")


def test_supervisor_phones_and_secrets(example_config, tmp_path):
    cfg = example_config.model_copy(
        update={
            "calling": example_config.calling.model_copy(update={"supervisor_endpoints": ["sup1"]})
        }
    )
    env = {"CENTRALITA_SIP_SECRET_SUP1": "pw-sup", "CENTRALITA_DIALER_SECRET": "d1al"}
    result = generate(cfg, SiteOptions(trunk_host="203.0.113.10", env=env))
    pj = parse_conf(result.files[calling.SUPERVISORS_PJSIP_FILE])
    (ep,) = [
        s
        for s in pj.sections
        if s.name == "sup1" and "type" not in dict((o.key, o.value) for o in s.options)
    ]
    assert calling.SUPERVISOR_TEMPLATE in ep.inherits
    tpl = next(s for s in pj.sections if s.name == calling.SUPERVISOR_TEMPLATE)
    assert tpl.get("context") == calling.SUPERVISE_CONTEXT
    assert "pw-sup" in result.secrets[calling.SUPERVISOR_SECRETS_FILE]
    assert "d1al" in result.secrets[calling.DIALER_SECRETS_FILE]
    assert all("pw-sup" not in t and "d1al" not in t for t in result.files.values())


@pytest.mark.parametrize("name", ['Mesa "x"', "a;b", "${SHELL(id)}", "x\ny"])
def test_hostile_caller_id_name_is_refused(example_config, name):
    with pytest.raises(ValidationError):
        example_config.calling.model_validate({"caller_id_name": name})


def test_features_give_agents_transfer_codes(parsed):
    (fm,) = parsed["features.conf"].named("featuremap")
    assert fm.get("atxfer") == calling.ATTENDED_TRANSFER_CODE
    assert fm.get("blindxfer") == calling.BLIND_TRANSFER_CODE
