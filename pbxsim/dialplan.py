"""A dialplan model: extensions.conf parsing, ${VAR} expansion and GotoIf.

The replay tests load the traces' own extensions.conf; the demo builds the
Centralita shape from `servicedesk.config` (see `centralita_dialplan`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_VAR = re.compile(r"\$\{([^{}]+)\}")


@dataclass(frozen=True)
class Step:
    label: str
    app: str
    data: str


Dialplan = dict[tuple[str, str], list[Step]]


def parse_extensions(text: str) -> Dialplan:
    plan: Dialplan = {}
    context = ""
    last: tuple[str, str] | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].rstrip() if not raw.lstrip().startswith(";") else ""
        line = line.strip()
        if not line:
            continue
        if line.startswith("["):
            context = line.strip("[]")
            continue
        if line.startswith("exten") or line.startswith("same"):
            kind, _, rest = line.partition("=>")
            rest = rest.strip()
            if kind.strip() == "exten":
                exten, _, rest = rest.partition(",")
                last = (context, exten.strip())
            _prio, _, app_part = rest.partition(",")
            label = ""
            m = re.match(r"n\((\w+)\)", _prio.strip())
            if m:
                label = m.group(1)
            app, _, data = app_part.partition("(")
            data = data[:-1] if data.endswith(")") else data
            assert last is not None
            plan.setdefault(last, []).append(Step(label, app.strip(), data))
    return plan


_PATTERN_CHARS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}
_patterns: dict[str, re.Pattern[str]] = {}


def _pattern(ext: str) -> re.Pattern[str]:
    pat = _patterns.get(ext)
    if pat is None:
        body = "".join(_PATTERN_CHARS.get(ch, re.escape(ch)) for ch in ext[1:])
        pat = _patterns[ext] = re.compile("^" + body + "$")
    return pat


def steps_for(plan: Dialplan, context: str, exten: str) -> list[Step] | None:
    """The steps of `exten` in `context`: the literal extension, else the first `_` pattern
    (X, Z, N, `.` and `!`; bracket classes are not modelled) that matches it."""
    steps = plan.get((context, exten))
    if steps is not None:
        return steps
    for (ctx, ext), found in plan.items():
        if ctx == context and ext.startswith("_") and _pattern(ext).match(exten):
            return found
    return None


def expand(text: str, lookup: Any) -> str:
    """Replace ${NAME} with lookup(NAME) until none are left (inner first)."""
    for _ in range(10):
        new = _VAR.sub(lambda m: lookup(m.group(1)), text)
        if new == text:
            return new
        text = new
    return text


_EXPR = re.compile(r"\$\[([^\[\]]*)\]")


def expand_expressions(text: str) -> str:
    """`$[a = b]` / `$[a != b]` replaced by 1 or 0, as Asterisk substitutes them before the
    application runs (so Newexten's AppData reads `1?done`); other expressions are kept."""

    def one(m: re.Match[str]) -> str:
        inner = m.group(1)
        if "=" not in inner:
            return m.group(0)
        return "1" if eval_condition(f"$[{inner}]") else "0"

    return _EXPR.sub(one, text)


def eval_condition(expr: str) -> bool:
    """`$["a" = "b"]`, `$[a != b]` or a bare value (true if non-empty and not 0)."""
    e = expr.strip()
    if e.startswith("$[") and e.endswith("]"):
        e = e[2:-1].strip()
        for op in ("!=", "="):
            if op in e:
                left, right = (s.strip().strip('"') for s in e.split(op, 1))
                return (left == right) if op == "=" else (left != right)
    e = e.strip('"')
    return e not in ("", "0")


def centralita_extensions(cfg: Any, agi_host: str, agi_port: int) -> str:
    """extensions.conf text with the shape `asterisk_conf` generates (defaults, AGI, branch, Queue).

    The pre-AGI defaults come from `servicedesk.routing.line_defaults`, as in the
    generated dialplan (a pure function on the config types: the IVR skips the
    SET VARIABLEs that would repeat them, so both dialplans must set the same).
    """
    from servicedesk.routing import line_defaults  # the one definition of the defaults

    agi = f"agi://{agi_host}:{agi_port}"
    out = ["[centralita-inbound]"]
    for name, line in cfg.lines.items():
        did = line.did.lstrip("+")
        out += [
            f"exten => {did},1,NoOp(Centralita line {name})",
            f" same => n,Set(CENTRALITA_LINE={name})",
            f" same => n,Set(CDR(userfield)={name})",
        ]
        out += [f" same => n,Set({var}={value})" for var, value in line_defaults(cfg, name).items()]
        out += [
            f" same => n,Set(CHANNEL(language)={line.language})",
            " same => n,Answer()",
            f" same => n,AGI({agi}/ivr)",
            ' same => n,GotoIf($["${CENTRALITA_ACTION}" = "voicemail"]?centralita-voicemail,s,1)',
            ' same => n,GotoIf($["${CENTRALITA_ACTION}" = "callback"]?centralita-callback,s,1)',
            ' same => n,GotoIf($["${CENTRALITA_ACTION}" = "oncall"]?centralita-oncall,s,1)',
            ' same => n,GotoIf($["${CENTRALITA_ACTION}" = "hangup"]?centralita-hangup,s,1)',
            " same => n(queue),Set(CHANNEL(language)=${IVR_LANG})",
            " same => n,Queue(${CENTRALITA_QUEUE},tc,,,${CENTRALITA_MAXWAIT},,,${CENTRALITA_RULE})",
            " same => n,Goto(centralita-after-queue,s,1)",
            "",
        ]
    out += [
        "exten => h,1,NoOp(Centralita end ${UNIQUEID} status=${QUEUESTATUS} cause=${HANGUPCAUSE})",
        "",
        "[centralita-after-queue]",
        "exten => s,1,NoOp(QUEUESTATUS=${QUEUESTATUS})",
        ' same => n,GotoIf($["${QUEUESTATUS}" = "TIMEOUT"]?centralita-voicemail,s,1)',
        ' same => n,GotoIf($["${QUEUESTATUS}" = "JOINEMPTY"]?centralita-voicemail,s,1)',
        ' same => n,GotoIf($["${QUEUESTATUS}" = "LEAVEEMPTY"]?centralita-voicemail,s,1)',
        " same => n,Hangup()",
        "exten => h,1,NoOp(Centralita end ${UNIQUEID} status=${QUEUESTATUS} cause=${HANGUPCAUSE})",
        "",
        "[centralita-voicemail]",
        "exten => s,1,Playback(centralita/record_after_tone)",
        " same => n,Record(/tmp/${UNIQUEID}.wav,5,300,k)",
        f" same => n,AGI({agi}/voicemail)",
        " same => n,Playback(centralita/goodbye)",
        " same => n,Hangup()",
        "exten => h,1,NoOp(Centralita end ${UNIQUEID} status=${QUEUESTATUS} cause=${HANGUPCAUSE})",
        "",
        "[centralita-callback]",
        'exten => s,1,GotoIf($["${CENTRALITA_CALLBACK_ID}" != ""]?done)',
        f" same => n,AGI({agi}/callback)",
        " same => n(done),Playback(centralita/callback_registered)",
        " same => n,Hangup()",
        "exten => h,1,NoOp(Centralita end ${UNIQUEID} status=${QUEUESTATUS} cause=${HANGUPCAUSE})",
        "",
        "[centralita-oncall]",
        "exten => s,1,Playback(centralita/oncall_connecting)",
        " same => n,Dial(PJSIP/${CENTRALITA_ONCALL}@trunk,45)",
        " same => n,Hangup()",
        "exten => h,1,NoOp(Centralita end ${UNIQUEID} status=${QUEUESTATUS} cause=${HANGUPCAUSE})",
        "",
        "[centralita-hangup]",
        "exten => s,1,Playback(centralita/goodbye)",
        " same => n,Hangup()",
        "exten => h,1,NoOp(Centralita end ${UNIQUEID} status=${QUEUESTATUS} cause=${HANGUPCAUSE})",
    ]
    return "\n".join(out) + "\n"


def centralita_dialplan(cfg: Any, agi_host: str, agi_port: int) -> Dialplan:
    """The Centralita dialplan model for every line DID (see `centralita_extensions`),
    plus the calling contexts (`pbxsim.calling_dialplan`)."""
    from pbxsim.calling_dialplan import calling_extensions

    text = centralita_extensions(cfg, agi_host, agi_port) + "\n" + calling_extensions(cfg)
    return parse_extensions(text)
