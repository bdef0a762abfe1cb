"""Structure of the generated files, read back with the parser, and option allowlists."""

from __future__ import annotations

from asterisk_conf import calling, crosspbx, names
from asterisk_conf.parse import parse_conf, parse_dialplan

from . import allowlists as allow


def _dialplan(parsed):
    return parse_dialplan(parsed["extensions.conf"])


def test_each_did_runs_the_ivr_then_the_queue(example_config, parsed):
    dp = _dialplan(parsed)
    inbound = dp[names.INBOUND_CONTEXT]
    fa = example_config.connections.fastagi
    for name, line in example_config.lines.items():
        did = line.did.lstrip("+")
        ext = inbound.extensions[did]
        apps = ext.apps()
        assert ext.steps[1].args == [f"CENTRALITA_LINE={name}"]
        i_answer, i_agi, i_queue = apps.index("Answer"), apps.index("AGI"), apps.index("Queue")
        assert i_answer < i_agi < i_queue
        assert ext.steps[i_agi].args == [f"agi://{fa.host}:{fa.port}/ivr"]
        # Asterisk 22: queuename,options,URL,announceoverride,timeout,AGI,gosub,rule,position
        queue = ext.steps[i_queue].args
        assert len(queue) == 8
        assert queue[0] == "${CENTRALITA_QUEUE}"
        assert queue[1] == "tc"  # c: the caller stays for the survey when the agent hangs up
        assert queue[4] == "${CENTRALITA_MAXWAIT}"
        assert queue[7] == "${CENTRALITA_RULE}"
        assert queue[2] == queue[3] == queue[5] == queue[6] == ""
        # the language is set right before Queue(), at the label the branches fall to
        before = ext.steps[i_queue - 1]
        assert before.label == "queue" and before.args == ["CHANNEL(language)=${IVR_LANG}"]
        # every action other than queue leaves for its own context
        targets = [s.args[0].rpartition("?")[0] for s in ext.steps if s.app == "GotoIf"]
        for action in ("voicemail", "callback", "oncall", "hangup"):
            assert any(f'"{action}"' in t for t in targets), action
        plus = inbound.extensions[f"+{did}"]
        assert plus.steps[0].args == [names.INBOUND_CONTEXT, did, "1"]


def test_defaults_before_the_ivr_reach_a_real_queue_and_rule(example_config, parsed):
    dp = _dialplan(parsed)
    queues = {s.name for s in parsed["queues.conf"].sections}
    rules = {s.name for s in parsed["queuerules.conf"].sections}
    vip_did = example_config.lines["vip"].did.lstrip("+")
    steps = dp[names.INBOUND_CONTEXT].extensions[vip_did].steps
    sets = dict(s.args[0].split("=", 1) for s in steps if s.app == "Set" and "(" not in s.args[0])
    assert sets["CENTRALITA_QUEUE"] in queues
    assert sets["CENTRALITA_RULE"] == example_config.routing.rule_vip in rules
    assert sets["QUEUE_PRIO"] == str(example_config.routing.prio_vip)
    assert sets["QUEUE_MAX_PENALTY"] == str(
        example_config.routing.rules[example_config.routing.rule_vip].start_max_penalty
    )
    assert sets["CENTRALITA_VIP"] == "1"
    assert sets["CENTRALITA_ACTION"] == "queue"


def test_queue_exits_and_hangup_hooks(parsed):
    dp = _dialplan(parsed)
    after = dp[names.AFTER_QUEUE_CONTEXT].extensions["s"]
    statuses = [s.args[0] for s in after.steps if s.app == "GotoIf"]
    for status in ("TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY"):
        assert any(f'"{status}"' in s and names.OVERFLOW_CONTEXT in s for s in statuses)
    assert any('"CONTINUE"' in s and names.SURVEY_CONTEXT in s for s in statuses)
    for ctx in (
        names.INBOUND_CONTEXT,
        names.AFTER_QUEUE_CONTEXT,
        names.SURVEY_CONTEXT,
        names.OVERFLOW_CONTEXT,
        names.VOICEMAIL_CONTEXT,
        names.CALLBACK_CONTEXT,
        names.ONCALL_CONTEXT,
        names.HANGUP_CONTEXT,
    ):
        h = dp[ctx].extensions["h"]
        assert h.steps[0].app == "Gosub" and h.steps[0].args[0] == names.END_CONTEXT, ctx
    end = dp[names.END_CONTEXT].extensions["s"]
    agis = [s.args[0] for s in end.steps if s.app == "AGI"]
    # the h path never talks to the caller: no survey on a dead channel
    assert [a.rsplit("/", 1)[1] for a in agis] == ["voicemail"]
    assert end.steps[-1].app == "Return"
    survey = dp[names.SURVEY_CONTEXT].extensions["s"]
    assert [s.args[0].rsplit("/", 1)[1] for s in survey.steps if s.app == "AGI"] == ["survey"]
    gates = [s.args[0] for s in survey.steps if s.app == "GotoIf"]
    assert gates[0].startswith('$["${CENTRALITA_SURVEY}" != "1"]')
    assert gates[1].startswith('$["${CENTRALITA_SURVEY_DONE}" = "1"]')


def test_voicemail_records_to_a_path_then_runs_the_hook(parsed):
    vm = _dialplan(parsed)[names.VOICEMAIL_CONTEXT].extensions["s"]
    apps = vm.apps()
    rec = vm.steps[apps.index("Record")]
    assert rec.args[0] == "${CENTRALITA_RECORDING}" and rec.args[3] == "k"
    setrec = next(s for s in vm.steps if s.args and s.args[0].startswith("CENTRALITA_RECORDING="))
    assert setrec.args[0].endswith(".wav") and "/var/spool/asterisk/" in setrec.args[0]
    assert apps.index("Record") < apps.index("AGI")
    assert vm.steps[apps.index("AGI")].args[0].endswith("/voicemail")


def test_oncall_dials_only_filtered_digits_through_the_trunk(parsed):
    oc = _dialplan(parsed)[names.ONCALL_CONTEXT].extensions["s"]
    dial = next(s for s in oc.steps if s.app == "Dial")
    assert dial.args[0] == f"PJSIP/${{CENTRALITA_ONCALL}}@{names.TRUNK_ENDPOINT}"
    filt = oc.steps[oc.apps().index("Dial") - 2]
    assert filt.args[0] == "CENTRALITA_ONCALL=${FILTER(0-9+,${CENTRALITA_ONCALL})}"


def test_only_asterisk_22_applications(parsed):
    for ctx in _dialplan(parsed).values():
        for ext in ctx.extensions.values():
            for step in ext.steps:
                assert step.app in allow.APPLICATIONS, (ctx.name, ext.name, step.app)


def test_queues_have_every_key_and_no_static_members(example_config, parsed):
    conf = parsed["queues.conf"]
    sections = {s.name: s for s in conf.sections}
    general = sections.pop("general")
    assert general.get("persistentmembers") == "no"
    assert general.get("autofill") == "yes"
    assert general.get("shared_lastcall") == "yes"
    assert general.get("log_membername_as_agent") == "no"
    assert set(sections) == set(example_config.queue_definitions())
    rules = {s.name for s in parsed["queuerules.conf"].sections}
    for name, qdef in example_config.queue_definitions().items():
        sec = sections[name]
        s = qdef.settings
        assert sec.get("servicelevel") == str(s.servicelevel)
        assert sec.get("strategy") == s.strategy
        assert sec.get("timeout") == str(s.timeout)
        assert sec.get("wrapuptime") == str(s.wrapuptime)
        assert sec.get("joinempty") == s.joinempty
        assert sec.get("leavewhenempty") == s.leavewhenempty
        assert sec.get("ringinuse") == "no"
        for var in ("setinterfacevar", "setqueueentryvar", "setqueuevar"):
            assert sec.get(var) == "yes"
        assert sec.get("defaultrule") in rules
        assert sec.get("periodic-announce") == "centralita/all_busy"
        assert not sec.get_all("member")
    assert sections["general_es"].get("servicelevel") == "30"
    assert sections["general_es"].get("strategy") == "leastrecent"


def test_queuerules_are_absolute_steps(example_config, parsed):
    conf = parsed["queuerules.conf"]
    got = {
        s.name: [tuple(int(x) for x in o.value.split(",")) for o in s.options]
        for s in conf.sections
        if s.name != "general"
    }
    want = {
        name: [(st.after_seconds, st.max_penalty) for st in rule.steps]
        for name, rule in example_config.routing.rules.items()
    }
    assert got == want
    assert all(o.arrow for s in conf.sections for o in s.options)


def test_pjsip_references_exist(example_config, parsed):
    conf = parsed["pjsip.conf"]
    aors = {s.name for s in conf.by_type("aor")}
    auths = {s.name for s in conf.by_type("auth")}
    endpoints = {s.name: conf.resolved(s) for s in conf.by_type("endpoint") if not s.template}
    for agent in example_config.agents:
        ep = endpoints[names.endpoint_of(agent.interface)]
        assert ep.get("aors") in aors
        assert ep.get("auth") in auths
        assert ep.get("context") == names.AGENTS_CONTEXT
        assert ep.get("direct_media") == "no"
        assert ep.get("disallow") == "all"
        assert agent.name in ep.get("callerid")
    trunk = endpoints[names.TRUNK_ENDPOINT]
    assert trunk.get("context") == names.INBOUND_CONTEXT
    assert conf.by_type("identify")[0].get("match") == "203.0.113.10"
    assert conf.includes == [
        names.PJSIP_SECRETS_FILE,
        calling.SUPERVISORS_PJSIP_FILE,
        crosspbx.PJSIP_FILE,
    ]
    assert all(s.get("password") is None for s in conf.sections)


def test_manager_user_is_least_privilege(example_config, parsed, generated):
    conf = parsed["manager.conf"]
    general = conf.named("general")[0]
    channelvars = general.get("channelvars").split(",")
    for var in ("IVR_LANG", "QUEUE_PRIO", "CENTRALITA_QUEUE", "CENTRALITA_INCIDENT"):
        assert var in channelvars
    assert general.get("timestampevents") == "yes"
    user = conf.named(example_config.connections.ami.username)[0]
    keys = user.option_keys()
    assert keys.index("deny") < keys.index("permit")
    assert user.get("deny") == "0.0.0.0/0.0.0.0"
    assert user.get_all("permit") == example_config.connections.ami.permit
    assert set(user.get("read").split(",")) == {"call", "agent", "dialplan", "system"}
    assert set(user.get("write").split(",")) == {"agent", "reporting"}
    assert user.get("secret") is None
    code_lines = [
        line for line in generated.files["manager.conf"].splitlines() if not line.startswith(";")
    ]
    assert not [line for line in code_lines if "secret" in line.lower() and "#include" not in line]
    assert conf.includes == [names.MANAGER_SECRETS_FILE, calling.DIALER_MANAGER_FILE]


def test_options_are_in_the_sample_allowlists(parsed):
    _assert_allowed(parsed)


def test_allowlists_accept_the_trace_configs(traces_dir):
    """The allowlists themselves: every option of the traces' real configs is in them."""
    conf_dir = traces_dir / "config"
    parsed = {
        "queues.conf": parse_conf((conf_dir / "queues.conf").read_text()),
        "queuerules.conf": parse_conf((conf_dir / "queuerules.conf").read_text()),
        "pjsip.conf": parse_conf((conf_dir / "pjsip.conf").read_text()),
        "manager.conf": parse_conf((conf_dir / "manager.conf").read_text()),
        "musiconhold.conf": parse_conf((conf_dir / "musiconhold.conf").read_text()),
        "extensions.conf": parse_conf((conf_dir / "extensions.conf").read_text()),
    }
    _assert_allowed(parsed)
    for path in sorted((conf_dir / "queues.d").glob("*.conf")):
        _assert_allowed({"queues.conf": parse_conf(path.read_text())})


def _assert_allowed(parsed):
    if "queues.conf" in parsed:
        for sec in parsed["queues.conf"].sections:
            allowed = allow.QUEUES_GENERAL if sec.name == "general" else allow.QUEUE
            assert set(sec.option_keys()) <= allowed, (sec.name, set(sec.option_keys()) - allowed)
    if "queuerules.conf" in parsed:
        for sec in parsed["queuerules.conf"].sections:
            assert set(sec.option_keys()) <= allow.QUEUERULES
    if "pjsip.conf" in parsed:
        conf = parsed["pjsip.conf"]
        for sec in conf.sections:
            type_ = conf.resolved(sec).get("type")
            assert type_ in allow.PJSIP, sec.name
            assert set(sec.option_keys()) <= allow.PJSIP[type_], (sec.name, set(sec.option_keys()))
    if "manager.conf" in parsed:
        for sec in parsed["manager.conf"].sections:
            allowed = allow.MANAGER_GENERAL if sec.name == "general" else allow.MANAGER_USER
            keys = {k.split("(", 1)[0] for k in sec.option_keys()}
            assert keys <= allowed, (sec.name, keys - allowed)
            for key in ("read", "write"):
                if sec.get(key):
                    assert set(sec.get(key).split(",")) <= allow.MANAGER_CLASSES
    if "musiconhold.conf" in parsed:
        for sec in parsed["musiconhold.conf"].sections:
            assert set(sec.option_keys()) <= allow.MUSICONHOLD
    if "extensions.conf" in parsed:
        general = parsed["extensions.conf"].named("general")[0]
        assert set(general.option_keys()) <= allow.EXTENSIONS_GENERAL


def test_did_aliases_reach_the_line_extension(example_config, parsed):
    inbound = _dialplan(parsed)[names.INBOUND_CONTEXT]
    for line in example_config.lines.values():
        did = line.did.lstrip("+")
        for alias in (f"+{did}", did[-10:]):
            step = inbound.extensions[alias].steps[0]
            assert (step.app, step.args) == ("Goto", [names.INBOUND_CONTEXT, did, "1"])


def test_manager_filters_admit_exactly_what_the_listener_reads(parsed, example_config):
    """The static eventfilters cover the listener's events; list replies are never filtered."""
    from ami_listener.parser import WANTED_EVENTS, WANTED_VARIABLES
    from asterisk_conf.manager import LISTENER_EVENTS, LISTENER_VARIABLES

    list_replies = {
        "QueueParams",
        "QueueMember",
        "QueueEntry",
        "QueueStatusComplete",
        "QueueSummary",
        "QueueSummaryComplete",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
    }
    assert set(LISTENER_EVENTS) | {"VarSet"} | list_replies == set(WANTED_EVENTS)
    assert set(LISTENER_VARIABLES) == set(WANTED_VARIABLES)
    user = parsed["manager.conf"].named(example_config.connections.ami.username)[0]
    filters = [k for k in user.option_keys() if k.startswith("eventfilter")]
    assert all("action(include)" in k for k in filters)
    assert len(filters) == len(LISTENER_EVENTS) + 1


def test_queues_announce_to_the_head_caller_without_delaying_the_first_ring(parsed):
    """Only the periodic announcement (its clock starts at join) with the shipped defaults;
    position/hold-time announcements, which play at once and hold the head caller's first
    ring behind them, only when announce_holdtime asks for them; autopause on."""
    for sec in parsed["queues.conf"].sections:
        if sec.name == "general":
            continue
        assert sec.get("announce-to-first-user") == "yes", sec.name
        assert sec.get("periodic-announce-frequency") == "60", sec.name
        assert sec.get("announce-frequency") == "0", sec.name
        assert sec.get("announce-position") == "no", sec.name
        assert sec.get("autopause") == "all", sec.name


def test_position_announcements_follow_announce_holdtime(example_config):
    from asterisk_conf.queues import queue_section

    qdef = example_config.queue_definitions()["network_es"]
    once = qdef.model_copy(
        update={"settings": qdef.settings.model_copy(update={"announce_holdtime": "once"})}
    )
    sec = dict(queue_section(example_config, once).options)
    assert (sec["announce-frequency"], sec["announce-position"]) == (60, "yes")
    silent = qdef.model_copy(
        update={"settings": qdef.settings.model_copy(update={"announce_frequency": 0})}
    )
    sec = dict(queue_section(example_config, silent).options)
    assert (sec["announce-to-first-user"], sec["periodic-announce-frequency"]) == ("no", 0)
