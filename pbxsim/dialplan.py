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


def expand(text: str, lookup: Any) -> str:
    """Replace ${NAME} with lookup(NAME) until none are left (inner first)."""
    for _ in range(10):
        new = _VAR.sub(lambda m: lookup(m.group(1)), text)
        if new == text:
            return new
        text = new
    return text


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


def centralita_dialplan(cfg: Any, agi_host: str, agi_port: int) -> Dialplan:
    """The generated Centralita dialplan shape for every line DID (see the common brief)."""
    plan: Dialplan = {}
    for line_name, line in cfg.lines.items():
        did = line.did.lstrip("+")
        plan[("from-trunk", did)] = [
            Step("", "NoOp", f"Inbound ${{CALLERID(all)}} on {line_name}"),
            Step("", "Set", f"CENTRALITA_LINE={line_name}"),
            Step("", "Answer", ""),
            Step("", "AGI", f"agi://{agi_host}:{agi_port}/ivr"),
            Step("", "Set", "CHANNEL(language)=${IVR_LANG}"),
            Step("", "GotoIf", '$["${CENTRALITA_ACTION}" = "queue"]?queue'),
            Step("", "GotoIf", '$["${CENTRALITA_ACTION}" = "oncall"]?oncall'),
            Step("", "GotoIf", '$["${CENTRALITA_ACTION}" = "voicemail"]?voicemail'),
            Step("", "Hangup", ""),
            Step(
                "queue",
                "Queue",
                "${CENTRALITA_QUEUE},t,,,${CENTRALITA_MAXWAIT},,,,${CENTRALITA_RULE}",
            ),
            Step("", "Hangup", ""),
            Step("oncall", "Playback", "centralita/transfer-oncall"),
            Step("", "Hangup", ""),
            Step("voicemail", "Playback", "vm-nobodyavail"),
            Step("", "Hangup", ""),
        ]
    plan[("from-trunk", "h")] = [
        Step("", "NoOp", "hangup ${CHANNEL} cause ${HANGUPCAUSE} QUEUESTATUS=${QUEUESTATUS}")
    ]
    return plan
