"""The calling contexts in the shape `asterisk_conf.calling` generates (outbound, supervise,
transfer, and the transfer codes of the agents' context).

pbxsim takes only config types from the project, so the shape is restated here, as
`pbxsim.dialplan.centralita_extensions` does for the inbound side; the e2e tests
hold both to the same behaviour.
"""

from __future__ import annotations

from typing import Any

SPY_OPTIONS = {"221": "qE", "222": "qEw", "223": "qEB"}


def calling_extensions(cfg: Any) -> str:
    calling = cfg.calling
    caller_id = calling.caller_id_num
    if not caller_id:
        dids = sorted(ln.did.lstrip("+") for ln in cfg.lines.values())
        caller_id = "+" + dids[0] if dids else ""
    out = [
        "[centralita-outbound]",
        "exten => _X.,1,NoOp(Centralita outbound ${CENTRALITA_OUTBOUND})",
        " same => n,Set(CENTRALITA_DIAL=${FILTER(0-9,${EXTEN})})",
        ' same => n,GotoIf($["${CENTRALITA_DIAL}" != "${EXTEN}"]?refused)',
        f" same => n,Set(CALLERID(num)={caller_id})",
        f" same => n,Set(CALLERID(name)={calling.caller_id_name})",
        f" same => n,Dial(PJSIP/+${{CENTRALITA_DIAL}}@trunk,{calling.customer_ring_s})",
        " same => n,Hangup()",
        " same => n(refused),Hangup(21)",
        "",
        "[centralita-supervise]",
    ]
    endpoints = sorted(
        {a.interface.split("/", 1)[1] for a in cfg.agents if a.interface.startswith("PJSIP/")}
    )
    for code, options in sorted(SPY_OPTIONS.items()):
        for ep in endpoints:
            out += [
                f"exten => {code}{ep},1,Answer()",
                f" same => n,ChanSpy(PJSIP/{ep}-,{options})",
                " same => n,Hangup()",
            ]
    out += ["", "[centralita-transfer]"]
    for name in sorted(cfg.queue_definitions()):
        out += [
            f"exten => {name},1,Set(CENTRALITA_QUEUE={name})",
            " same => n,Queue(${CENTRALITA_QUEUE},t,,,${CENTRALITA_MAXWAIT},,,${CENTRALITA_RULE})",
            " same => n,Goto(centralita-after-queue,s,1)",
        ]
    # the queues' keypad codes (#1 / *2 then digits on the agent's phone): in the agents'
    # context, where the transfer features look, and here (TRANSFER_CONTEXT after Atxfer)
    queues = cfg.queue_definitions()
    codes = sorted(
        ((name, code) for name, code in cfg.transfer_codes.items() if name in queues),
        key=lambda kv: kv[1],
    )
    out += [f"exten => {code},1,Goto(centralita-transfer,{name},1)" for name, code in codes]
    out += ["", "[centralita-agents]"]
    out += [f"exten => {code},1,Goto(centralita-transfer,{name},1)" for name, code in codes]
    return "\n".join(out) + "\n"
