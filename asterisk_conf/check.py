"""`centralita conf check`: cross-references between the TOML and the generated files.

Asterisk would only tell us at load time (or worse, at call time) that a queue
named by the IVR does not exist; this reads the files back with our parser and
reports every dangling name at once. Errors make the command exit 1; warnings
(missing secret files, placeholder trunk) are deploy steps still to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from servicedesk.config import CentralitaConfig

from . import names
from .calling import CALLING_EXTENSIONS_FILE
from .parse import ConfFile, ConfParseError, parse_conf, parse_dialplan
from .prompt_catalogue import LANGUAGES, full_catalogue, missing_texts
from .site import TRUNK_HOST_PLACEHOLDER

REQUIRED_FILES = (
    "extensions.conf",
    "manager.conf",
    "musiconhold.conf",
    "pjsip.conf",
    "queuerules.conf",
    "queues.conf",
)
QUEUE_KEYS = (
    "strategy",
    "servicelevel",
    "timeout",
    "retry",
    "wrapuptime",
    "joinempty",
    "leavewhenempty",
    "ringinuse",
    "setinterfacevar",
    "setqueueentryvar",
    "setqueuevar",
    "defaultrule",
)
QUEUE_ARGS = (
    "${CENTRALITA_QUEUE}",
    "tc",
    "",
    "",
    "${CENTRALITA_MAXWAIT}",
    "",
    "",
    "${CENTRALITA_RULE}",
)


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _set_values(steps: list, var: str) -> list[str]:
    """Literal values a dialplan assigns to `var` with Set(var=value)."""
    out = []
    for step in steps:
        if step.app == "Set" and step.args and step.args[0].startswith(f"{var}="):
            value = step.args[0].split("=", 1)[1]
            if "${" not in value:
                out.append(value)
    return out


def check_texts(
    cfg: CentralitaConfig,
    files: dict[str, str],
    secrets: dict[str, str] | None = None,
    prompts_extra: dict[str, dict[str, str]] | None = None,
    sounds_dir: Path | None = None,
) -> CheckReport:
    """Check generated file texts against the config (secrets: name → text, if any).

    With `sounds_dir`, every prompt the dialplan and queues play must exist there as
    ``<lang>/centralita/<key>.wav`` for both languages.
    """
    report = CheckReport()
    err, warn = report.errors.append, report.warnings.append
    parsed: dict[str, ConfFile] = {}
    for name in REQUIRED_FILES:
        if name not in files:
            err(f"{name}: missing")
            continue
        try:
            parsed[name] = parse_conf(files[name])
        except ConfParseError as exc:
            err(f"{name}: {exc}")
            continue
        if parsed[name].preamble:
            err(f"{name}: options before the first [section]")
    if report.errors:
        return report

    fa = cfg.connections.fastagi
    agi_prefix = f"agi://{fa.host}:{fa.port}/"

    # --- extensions.conf ---------------------------------------------------
    dialplan = parse_dialplan(parsed["extensions.conf"])
    all_steps = [
        s for ctx in dialplan.values() for ext in ctx.extensions.values() for s in ext.steps
    ]
    # contexts extensions.conf #includes (calling features): jump targets only
    included: dict = {}
    if CALLING_EXTENSIONS_FILE in files:
        try:
            included = parse_dialplan(parse_conf(files[CALLING_EXTENSIONS_FILE]))
        except ConfParseError as exc:
            err(f"{CALLING_EXTENSIONS_FILE}: {exc}")
    inbound = dialplan.get(names.INBOUND_CONTEXT)
    if inbound is None:
        err(f"extensions.conf: no [{names.INBOUND_CONTEXT}] context")
    else:
        for lname, line in sorted(cfg.lines.items()):
            did = line.did.lstrip("+")
            ext = inbound.extensions.get(did)
            if ext is None:
                err(f"extensions.conf: line {lname} DID {line.did} has no exten {did}")
                continue
            apps = ext.apps()
            if f"CENTRALITA_LINE={lname}" not in [a for s in ext.steps for a in s.args]:
                err(f"extensions.conf: exten {did} does not set CENTRALITA_LINE={lname}")
            if "Answer" not in apps or "AGI" not in apps or "Queue" not in apps:
                err(f"extensions.conf: exten {did} lacks Answer, AGI or Queue")
                continue
            agi = ext.steps[apps.index("AGI")]
            if agi.args[0] != f"{agi_prefix}ivr":
                err(f"extensions.conf: exten {did} runs {agi.args[0]}, expected {agi_prefix}ivr")
            if not apps.index("Answer") < apps.index("AGI") < apps.index("Queue"):
                err(f"extensions.conf: exten {did} must Answer, then AGI, then Queue")
            queue = ext.steps[apps.index("Queue")]
            if tuple(queue.args) != QUEUE_ARGS:
                err(
                    f"extensions.conf: exten {did} Queue({','.join(queue.args)}) is not "
                    f"Queue({','.join(QUEUE_ARGS)}) (Asterisk 22 argument order)"
                )
    for step in all_steps:
        if step.app == "AGI" and not step.args[0].startswith(agi_prefix):
            err(f"extensions.conf line {step.lineno}: AGI {step.args[0]} is not {agi_prefix}...")
        if step.app in ("Goto", "Gosub", "GotoIf"):
            target = ",".join(step.args)
            if step.app == "GotoIf":
                target = target.rpartition("?")[2]
            parts = target.split(",")
            if "${" in target or len(parts) not in (1, 3):
                continue
            if len(parts) == 3:
                ctx = dialplan.get(parts[0]) or included.get(parts[0])
                if ctx is None or parts[1] not in ctx.extensions:
                    err(f"extensions.conf line {step.lineno}: jump to missing {target}")
            elif not any(
                s.label == target
                for ctx in dialplan.values()
                for ext in ctx.extensions.values()
                if step in ext.steps
                for s in ext.steps
            ):
                err(f"extensions.conf line {step.lineno}: jump to missing label {target}")

    # --- queues.conf / queuerules.conf ---------------------------------------
    queues_conf = parsed["queues.conf"]
    queue_sections = {s.name: s for s in queues_conf.sections if s.name != "general"}
    rules = {s.name for s in parsed["queuerules.conf"].sections if s.name != "general"}
    for qname in cfg.queue_definitions():
        sec = queue_sections.get(qname)
        if sec is None:
            err(f"queues.conf: queue {qname} (skill × language) is missing")
            continue
        for key in QUEUE_KEYS:
            if sec.get(key) is None:
                err(f"queues.conf: [{qname}] lacks {key}")
        for key in ("joinempty", "leavewhenempty"):
            bad = [
                t
                for t in (sec.get(key) or "").split(",")
                if t.strip().lower() not in names.EMPTY_OPTIONS
            ]
            if bad:
                err(f"queues.conf: [{qname}] {key} has unknown option(s) {', '.join(bad)}")
        if sec.get_all("member"):
            err(f"queues.conf: [{qname}] has static members; members must be dynamic")
        rule = sec.get("defaultrule")
        if rule and rule not in rules:
            err(f"queues.conf: [{qname}] defaultrule {rule} is not in queuerules.conf")
    for qname in _set_values(all_steps, "CENTRALITA_QUEUE"):
        if qname not in queue_sections:
            err(f"extensions.conf: default queue {qname} is not in queues.conf")
    routing = cfg.routing
    for rule in sorted(
        {routing.rule_normal, routing.rule_vip, routing.rule_critical}
        | set(routing.rules)
        | set(_set_values(all_steps, "CENTRALITA_RULE"))
    ):
        if rule not in rules:
            err(f"queuerules.conf: rule {rule} used by routing is missing")
    for sec in parsed["queuerules.conf"].sections:
        for opt in sec.options:
            if opt.key != "penaltychange" or not opt.arrow:
                err(f"queuerules.conf: [{sec.name}] unexpected line {opt.key}")
                continue
            fields = opt.value.split(",")
            if not (2 <= len(fields) <= 4) or not fields[0].isdigit():
                err(f"queuerules.conf: [{sec.name}] bad penaltychange {opt.value!r}")

    # --- pjsip.conf ----------------------------------------------------------
    pjsip = parsed["pjsip.conf"]
    endpoints = {s.name: pjsip.resolved(s) for s in pjsip.by_type("endpoint") if not s.template}
    aors = {s.name for s in pjsip.by_type("aor")}
    auths = {s.name for s in pjsip.by_type("auth")}
    for agent in cfg.agents:
        endpoint = names.endpoint_of(agent.interface)
        if endpoint is None:
            warn(f"agent {agent.login}: interface {agent.interface} is not a PJSIP endpoint")
            continue
        sec = endpoints.get(endpoint)
        if sec is None:
            err(f"pjsip.conf: agent {agent.login} interface {agent.interface} has no endpoint")
            continue
        for aor in (sec.get("aors") or "").split(","):
            if aor.strip() not in aors:
                err(f"pjsip.conf: endpoint {endpoint} names missing aor {aor!r}")
        auth = sec.get("auth")
        if not auth or auth not in auths:
            err(f"pjsip.conf: endpoint {endpoint} names missing auth {auth!r}")
        if sec.get("context") != names.AGENTS_CONTEXT:
            err(f"pjsip.conf: endpoint {endpoint} is not in context {names.AGENTS_CONTEXT}")
    trunk = endpoints.get(names.TRUNK_ENDPOINT)
    if trunk is None:
        err(f"pjsip.conf: no {names.TRUNK_ENDPOINT} endpoint")
    elif trunk.get("context") != names.INBOUND_CONTEXT:
        err(f"pjsip.conf: trunk context is not {names.INBOUND_CONTEXT}")
    if any(s.get("password") for s in pjsip.sections):
        err("pjsip.conf: contains a password; passwords belong in pjsip_secrets.conf")
    for sec in pjsip.by_type("identify"):
        if sec.get("match") == TRUNK_HOST_PLACEHOLDER:
            warn("pjsip.conf: trunk host is the placeholder 192.0.2.1 (use --trunk-host)")

    # --- manager.conf --------------------------------------------------------
    manager = parsed["manager.conf"]
    users = manager.named(cfg.connections.ami.username)
    if not users:
        err(f"manager.conf: no [{cfg.connections.ami.username}] user")
    else:
        keys = users[0].option_keys()
        if "deny" not in keys or "permit" not in keys or keys.index("deny") > keys.index("permit"):
            err("manager.conf: the user needs deny before permit")
        if sorted(users[0].get_all("permit")) != sorted(cfg.connections.ami.permit):
            err("manager.conf: permit lines differ from connections.ami.permit")
    if any(s.get("secret") for s in manager.sections):
        err("manager.conf: contains a secret; it belongs in manager_secrets.conf")

    # --- prompts -------------------------------------------------------------
    catalogue = full_catalogue(cfg)
    if prompts_extra:
        catalogue.update(prompts_extra)
    for problem in missing_texts(catalogue):
        err(problem)
    used: set[str] = set()
    prefix = f"{names.PROMPT_DIR}/"
    for step in all_steps:
        if step.app in ("Playback", "Background", "Read"):
            sounds = step.args[1] if step.app == "Read" and len(step.args) > 1 else step.args[0]
            used.update(s[len(prefix) :] for s in sounds.split("&") if s.startswith(prefix))
    for sec in queue_sections.values():
        for value in sec.get_all("periodic-announce"):
            used.update(s[len(prefix) :] for s in value.split(",") if s.startswith(prefix))
    for key in sorted(used - set(catalogue)):
        err(f"prompt {key!r} is played but not in the catalogue")
    if sounds_dir is not None:
        for key in sorted(used):
            for lang in LANGUAGES:
                wav = sounds_dir / lang / names.PROMPT_DIR / f"{key}.wav"
                if not wav.is_file():
                    err(f"sound {wav} is missing (run `centralita conf prompts`)")

    # --- secrets -------------------------------------------------------------
    secrets = secrets or {}
    for name in names.SECRET_FILES:
        if name not in secrets:
            warn(f"{name}: not present; the deployer must supply it before Asterisk loads")
    if names.PJSIP_SECRETS_FILE in secrets:
        sp = parse_conf(secrets[names.PJSIP_SECRETS_FILE])
        have = {s.name for s in sp.sections if s.append and s.get("password")}
        for auth in sorted(auths - have):
            err(f"{names.PJSIP_SECRETS_FILE}: no password for [{auth}](+)")
    return report


def check_dir(
    cfg: CentralitaConfig, directory: Path, sounds_dir: Path | None = None
) -> CheckReport:
    files = {}
    for name in (*REQUIRED_FILES, CALLING_EXTENSIONS_FILE):
        path = directory / name
        if path.exists():
            files[name] = path.read_text(encoding="utf-8")
    secrets = {}
    for name in names.SECRET_FILES:
        path = directory / name
        if path.exists():
            secrets[name] = path.read_text(encoding="utf-8")
    report = check_texts(cfg, files, secrets, sounds_dir=sounds_dir)
    for name in names.SECRET_FILES:
        path = directory / name
        if path.exists() and path.stat().st_mode & 0o077:
            report.warnings.append(f"{name}: readable by group/others; chmod 600")
    return report
