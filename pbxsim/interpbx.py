"""Two pbxsim boxes of one desk joined by the inter-PBX trunk (`asterisk_conf.crosspbx`).

PBX A's caller, blind-transferred to `centralita-transfer-<B>`, runs
`Dial(PJSIP/<queue>@pbx-<B>,<timeout>,b(centralita-xpbx-header^s^1(<A>/<linkedid>)))`.
Here that Dial places a call on B's engine, in `centralita-from-pbx` at the queue's
extension, whose INVITE carries the headers the pre-dial handler's
`Set(PJSIP_HEADER(add,NAME)=...)` steps add; B's dialplan reads them with
PJSIP_HEADER(read,...) and checks them as the generated one does (LEN, FILTER,
substrings and REGEX are modelled for that). A's leg is answered when B's channel is,
stays bridged until B's leg ends, and a hang-up on A hangs B's leg up.

Each box keeps its own simulated clock, so the two only meet when the caller runs both
(e.g. alternately in one-second steps). The event order of A's Dial follows
`outbound.dial_trunk`; it is a model of app_dial, not of a recording of two boxes.
The dialplan shape is restated from `asterisk_conf.crosspbx` (pbxsim takes only config
types from the project); the e2e test holds both to the same behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from pbxsim.behaviour import CallerScript
from pbxsim.dialplan import expand, parse_extensions, steps_for
from pbxsim.kernel import Event

if TYPE_CHECKING:
    from pbxsim.channels import Channel
    from pbxsim.engine import Call, Engine

FROM_PBX_CONTEXT = "centralita-from-pbx"
HEADER = "X-Centralita-Call"
CALLER_HEADER = "X-Centralita-Caller"
CALLER_VARS = (
    "CENTRALITA_CONTACT",
    "CENTRALITA_INCIDENT",
    "CENTRALITA_CATEGORY",
    "CENTRALITA_PRIORITY",
    "CENTRALITA_VIP",
)
POLL_S = 0.2  # how often A's leg looks at B's (the boxes share no clock)
_DIAL_PEER = re.compile(r"^PJSIP/([A-Za-z0-9_.-]{1,80})@(pbx-[A-Za-z0-9_-]{1,32})$")
_REGEX = re.compile(r'^REGEX\("(.*)" ?(.*)\)$', re.S)
_SUBSTR = re.compile(r"^([A-Za-z0-9_]+):(-?[0-9]+)(?::([0-9]+))?$")


def _peers(cfg: Any, pbx_id: str) -> list[str]:
    links = cfg.connections.pbxs
    own = links.get(pbx_id)
    if own is None or own.trunk is None:
        return []
    return sorted(p for p, link in links.items() if p != pbx_id and link.trunk is not None)


def crosspbx_extensions(cfg: Any, pbx_id: str) -> str:
    """The contexts `asterisk_conf.crosspbx` generates for PBX `pbx_id`."""
    peers = _peers(cfg, pbx_id)
    if not peers:
        return ""
    defs = cfg.queue_definitions()
    r = cfg.routing
    rule = r.rule_normal
    out = [f"[{FROM_PBX_CONTEXT}]"]
    for q in sorted(defs):
        lang = defs[q].language
        out += [
            f"exten => {q},1,NoOp(Centralita transfer from another PBX to {q})",
            " same => n,Gosub(centralita-xpbx-origin,s,1)",
            f" same => n,Set(CENTRALITA_QUEUE={q})",
            f" same => n,Set(IVR_LANG={lang})",
            f" same => n,Set(CHANNEL(language)={lang})",
            f" same => n,Set(CENTRALITA_MAXWAIT={defs[q].settings.max_wait})",
            f" same => n,Set(CENTRALITA_RULE={rule})",
            f" same => n,Set(QUEUE_PRIO={r.prio_normal})",
            f" same => n,Set(QUEUE_MAX_PENALTY={r.rules[rule].start_max_penalty})",
            " same => n,Set(CENTRALITA_ACTION=queue)",
            " same => n,Answer()",
            " same => n,Queue(${CENTRALITA_QUEUE},tc,,,${CENTRALITA_MAXWAIT},,,${CENTRALITA_RULE})",
            " same => n,Goto(centralita-after-queue,s,1)",
        ]
    ids = "|".join(peers)
    out += [
        "",
        "[centralita-xpbx-origin]",
        f"exten => s,1,Set(CENTRALITA_XPBX_RAW=${{PJSIP_HEADER(read,{HEADER})}})",
        " same => n,GotoIf($[${LEN(${CENTRALITA_XPBX_RAW})} = 0]?done)",
        " same => n,Set(CENTRALITA_XPBX=${FILTER(-./0-9A-Z_a-z,${CENTRALITA_XPBX_RAW:0:100})})",
        " same => n,GotoIf($[${LEN(${CENTRALITA_XPBX})} != ${LEN(${CENTRALITA_XPBX_RAW})}]?bad)",
        f' same => n,GotoIf(${{REGEX("^({ids})/[-.0-9A-Z_a-z]+$" ${{CENTRALITA_XPBX}})}}?ok)',
        f" same => n(bad),Log(NOTICE,Centralita: {HEADER} refused from ${{CHANNEL(name)}})",
        " same => n,Return()",
        " same => n(ok),Set(CENTRALITA_ORIGIN=${CENTRALITA_XPBX})",
        f" same => n,Set(CENTRALITA_XPBX_RAW=${{PJSIP_HEADER(read,{CALLER_HEADER})}})",
        " same => n,Set(CENTRALITA_XPBX=${FILTER(-./0-9A-Z_a-z,${CENTRALITA_XPBX_RAW:0:100})})",
        " same => n,GotoIf($[${LEN(${CENTRALITA_XPBX})} != ${LEN(${CENTRALITA_XPBX_RAW})}]?done)",
        ' same => n,GotoIf(${REGEX("^[0-9]*/[0-9]*/[a-z0-9_]*/[a-z0-9_]*/[01]?$"'
        " ${CENTRALITA_XPBX})}?:done)",
    ]
    out += [
        f" same => n,Set({var}=${{CUT(CENTRALITA_XPBX,/,{i})}})"
        for i, var in enumerate(CALLER_VARS, start=1)
    ]
    out += [
        " same => n(done),Return()",
        "",
        "[centralita-xpbx-header]",
        f"exten => s,1,Set(PJSIP_HEADER(add,{HEADER})=${{ARG1}})",
        f" same => n,Set(PJSIP_HEADER(add,{CALLER_HEADER})=${{ARG2}})",
        " same => n,Return()",
    ]
    caller = "/".join(f"${{{var}}}" for var in CALLER_VARS)
    handler = f"centralita-xpbx-header^s^1(${{CENTRALITA_PBX}}/${{CHANNEL(linkedid)}}^{caller})"
    for peer in peers:
        out += ["", f"[centralita-transfer-{peer}]"]
        for q in sorted(defs):
            out += [
                f"exten => {q},1,Set(CENTRALITA_HANDOFF={peer})",
                f" same => n,Dial(PJSIP/{q}@pbx-{peer},30,b({handler}))",
                ' same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)',
                " same => n,Set(CENTRALITA_HANDOFF=)",
                f" same => n,Goto(centralita-transfer,{q},1)",
                " same => n(done),Hangup()",
            ]
    return "\n".join(out) + "\n"


@dataclass(eq=False)
class PeerLeg:
    """The call a box placed on another box for one Dial()."""

    engine: Engine
    call: Call

    @property
    def answered(self) -> bool:
        chan = self.call.chan
        return chan is not None and chan.state == 6

    @property
    def ended(self) -> bool:
        done = self.call.done
        return done is not None and done.triggered

    def hangup(self) -> None:
        """The far side (A) hung up: B's leg gets a BYE."""
        engine = self.engine
        engine.kernel.call_soon(engine.caller_hangup, self.call)
        engine.poke()


def connect(cfg: Any, boxes: dict[str, Engine]) -> None:
    """Join the boxes (pbx id -> engine) as the desk config's trunks say: each gets the
    crosspbx contexts, its CENTRALITA_PBX global and a `pbx-<id>` peer per other box."""
    for pbx_id, engine in boxes.items():
        engine.globals["CENTRALITA_PBX"] = pbx_id
        engine.dialplan.update(parse_extensions(crosspbx_extensions(cfg, pbx_id)))
        for other in _peers(cfg, pbx_id):
            if other in boxes:
                engine.peer_pbxs[f"pbx-{other}"] = partial(receive, boxes[other], f"pbx-{pbx_id}")


def receive(
    engine: Engine, endpoint: str, exten: str, num: str, name: str, headers: dict[str, str]
) -> PeerLeg | None:
    """An INVITE from the peer `endpoint`: a new call in centralita-from-pbx (None: 404)."""
    from pbxsim.engine import Call

    if steps_for(engine.dialplan, FROM_PBX_CONTEXT, exten) is None:
        return None
    call = Call(chan=None, script=CallerScript())  # type: ignore[arg-type]
    call.done = engine.kernel.event()

    def start() -> None:
        chan = engine.new_channel(endpoint, num, name, FROM_PBX_CONTEXT, exten, 4)
        chan.dnid = exten
        chan.sip_headers = dict(headers)
        call.chan = chan
        call.proc = engine.kernel.process(engine._run(call), chan.name)

    engine.calls.append(call)
    engine.kernel.call_soon(start)
    engine.poke()
    return PeerLeg(engine, call)


def peer_target(engine: Engine, data: str) -> tuple[str, str, float, str] | None:
    """(exten, peer endpoint, timeout, options) when Dial() goes to another box of the desk."""
    parts = data.split(",", 2)
    m = _DIAL_PEER.match(parts[0].strip())
    if m is None or m.group(2) not in engine.peer_pbxs:
        return None
    timeout = float(parts[1]) if len(parts) > 1 and parts[1].strip() else 60.0
    return m.group(1), m.group(2), timeout, parts[2] if len(parts) > 2 else ""


def predial_headers(engine: Engine, options: str) -> dict[str, str]:
    """The headers Dial's `b(context^exten^priority(args))` handler adds (its
    `Set(PJSIP_HEADER(add,NAME)=value)` steps, ${ARGn} from the handler's arguments)."""
    start = options.find("b(")
    if start < 0:
        return {}
    depth, i = 0, start + 1
    for i in range(start + 1, len(options)):
        depth += {"(": 1, ")": -1}.get(options[i], 0)
        if depth == 0:
            break
    spec = options[start + 2 : i]
    target, _, args = spec.partition("(")
    args = args[:-1] if args.endswith(")") else args
    context, exten, *_prio = target.split("^")
    argv = {f"ARG{n}": a for n, a in enumerate(args.split("^") if args else [], start=1)}
    out: dict[str, str] = {}
    for step in steps_for(engine.dialplan, context, exten) or []:
        name, _, value = step.data.partition("=")
        if step.app == "Set" and name.startswith("PJSIP_HEADER(add,"):
            out[name[len("PJSIP_HEADER(add,") : -1]] = expand(value, lambda n: argv.get(n, ""))
    return out


def dial_peer(
    engine: Engine, call: Call, exten: str, endpoint: str, timeout: float, options: str
) -> Generator[Event, Any, None]:
    """Dial() to a queue on another box; DIALSTATUS as app_dial sets it. CallerGone propagates."""
    from pbxsim.engine import CallerGone
    from pbxsim.outbound import _unbridge

    caller = call.chan
    out = engine.new_channel(
        endpoint, caller.caller_num, caller.caller_name, FROM_PBX_CONTEXT, "s", 0,
        linkedid=caller.linkedid,
    )  # fmt: skip
    out.connected_num, out.connected_name = caller.caller_num, caller.caller_name
    engine.pair_event("DialBegin", caller, out, [("DialString", f"{exten}@{endpoint}")])
    leg = engine.peer_pbxs[endpoint](
        exten, caller.caller_num, caller.caller_name, predial_headers(engine, options)
    )
    if leg is None:  # 404 from the peer
        engine.pair_event("DialEnd", caller, out, [("DialStatus", "CHANUNAVAIL")])
        engine.destroy(out, 1)
        engine.setvar(caller, "DIALSTATUS", "CHANUNAVAIL")
        return
    engine.set_state(out, 5)
    engine.pair_event("DialState", caller, out, [("DialStatus", "RINGING")])
    waited = 0.0
    try:
        while not leg.answered and not leg.ended and waited < timeout:
            yield from engine._wait(call, POLL_S)
            waited += POLL_S
    except CallerGone:
        engine.pair_event("DialEnd", caller, out, [("DialStatus", "CANCEL")])
        engine.destroy(out, 16)
        leg.hangup()
        raise
    if not leg.answered:
        engine.pair_event("DialEnd", caller, out, [("DialStatus", "NOANSWER")])
        engine.destroy(out, 16)
        engine.setvar(caller, "DIALSTATUS", "NOANSWER")
        leg.hangup()
        return
    engine.set_state(out, 6)
    out.answered_at = engine.kernel.now
    engine.pair_event("DialEnd", caller, out, [("DialStatus", "ANSWER")])
    bridge = engine.new_bridge()
    engine.emit("call", "BridgeCreate", bridge.headers(0))
    engine.setvar(caller, "DIALSTATUS", "ANSWER")
    for n, chan in enumerate((out, caller), start=1):
        engine.emit("call", "BridgeEnter", bridge.headers(n) + chan.headers(engine.channelvars))
    try:
        while not leg.ended:
            yield from engine._wait(call, POLL_S)
    except CallerGone:
        _unbridge(engine, bridge, caller, out)
        engine.destroy(out, 16)
        leg.hangup()
        raise
    out.hangup_requested = True
    engine.chan_event("HangupRequest", out)
    _unbridge(engine, bridge, out, caller)
    engine.destroy(out, 16)


def lookup(chan: Channel, name: str) -> str | None:
    """The dialplan functions the origin check uses; None for any other name."""
    if "(" not in name and ":" not in name:
        return None  # a plain variable: the common case, kept cheap
    if name == "CHANNEL(linkedid)":
        return chan.linkedid
    if name == "CHANNEL(name)":
        return chan.name
    if name.startswith("PJSIP_HEADER(read,") and name.endswith(")"):
        return chan.sip_headers.get(name[len("PJSIP_HEADER(read,") : -1], "")
    if name.startswith("LEN(") and name.endswith(")"):
        return str(len(name[4:-1]))
    m = _REGEX.match(name)
    if m is not None:
        return "1" if re.search(m.group(1), m.group(2)) else "0"
    s = _SUBSTR.match(name)
    if s is not None:
        value = chan.vars.get(s.group(1), "")
        value = value[int(s.group(2)) :]
        return value[: int(s.group(3))] if s.group(3) is not None else value
    return None
