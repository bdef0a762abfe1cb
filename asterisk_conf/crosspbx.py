"""Transfers between the PBXs of one desk: the inter-PBX trunk and the call's origin header.

An agent on PBX A blind-transfers a caller to a queue on PBX B (`centralita-transfer-<B>`,
reached by AMI BlindTransfer like the local `centralita-transfer`). A's dialplan dials the
queue's name at B through the trunk endpoint `pbx-<B>`; a pre-dial handler (Dial option
`b()`, run on the outgoing channel) adds `X-Centralita-Call: <A>/<linkedid>`, so B's
listener can record the continued leg as part of the same caller call. If B cannot be
reached the caller queues locally instead. `CENTRALITA_HANDOFF` tells A's listener that
the call left the box (its talk on A ends at the transfer).

B receives the call in `centralita-from-pbx`, one extension per queue. The header is
untrusted (anyone who can send SIP from a peer's address can set it), so
`centralita-xpbx-origin` reads it once and accepts it only when it is at most
ORIGIN_MAX characters, all of them ASCII letters, digits or `-._/` (FILTER must remove
nothing: the lengths are compared, no string comparison that a quote could break), and
it matches `<known other PBX id>/<token>`. Only then is `CENTRALITA_ORIGIN` set — the
variable the listener reads (manager.conf lets its VarSet through), and checks again. A
second header, `X-Centralita-Caller: <contact>/<incident>/<category>/<priority>/<vip>`,
carries what the IVR found on A so the pop on B shows it too; it passes the same checks and
a regex of its own, or sets nothing.

Both boxes need `connections.pbxs.<id>.trunk` (the address the others reach it at and
recognise it by, pjsip `identify` on address and port); a box without one neither sends
nor takes such transfers.
"""

from __future__ import annotations

from servicedesk.config import CentralitaConfig
from servicedesk.crosspbx_config import PbxTrunk, transfer_context, transfer_peers
from servicedesk.routing import route

from . import names
from .calling import TRANSFER_CONTEXT
from .dialplan import QUEUE_APP, Context
from .render import Section, UnsafeValue, render_file

HEADER = "X-Centralita-Call"
# what the pop needs, as the IVR set it on the first box: <contact>/<incident>/<category>/
# <priority>/<vip>; read only once the origin is accepted, each field checked by one regex
CALLER_HEADER = "X-Centralita-Caller"
CALLER_VARS = (
    "CENTRALITA_CONTACT",
    "CENTRALITA_INCIDENT",
    "CENTRALITA_CATEGORY",
    "CENTRALITA_PRIORITY",
    "CENTRALITA_VIP",
)
CALLER_REGEX = "^[0-9]*/[0-9]*/[a-z0-9_]*/[a-z0-9_]*/[01]?$"
FROM_PBX_CONTEXT = "centralita-from-pbx"
HEADER_CONTEXT = "centralita-xpbx-header"
ORIGIN_CONTEXT = "centralita-xpbx-origin"
EXTENSIONS_FILE = "extensions_crosspbx.conf"
PJSIP_FILE = "pjsip_crosspbx.conf"
ORIGIN_MAX = 100  # characters of the header considered; longer is refused
DIAL_TIMEOUT_S = 30
ORIGIN_CHARS = "-./0-9A-Z_a-z"  # FILTER's spelling: '-' first is a literal


def peer_endpoint(pbx_id: str) -> str:
    return f"pbx-{pbx_id}"


def peers(cfg: CentralitaConfig) -> list[tuple[str, PbxTrunk]]:
    """The other PBXs this one exchanges transfers with: both ends need a trunk address."""
    conns = cfg.connections
    out = []
    for pid in transfer_peers(conns.pbxs, conns.pbx_id):
        trunk = conns.pbxs[pid].trunk
        assert trunk is not None  # transfer_peers keeps only PBXs with one
        out.append((pid, trunk))
    return out


def origin_regex(cfg: CentralitaConfig) -> str:
    """The POSIX ERE a (FILTERed) header must match: a known other PBX, '/', a token."""
    ids = "|".join(pid for pid, _trunk in peers(cfg))
    return f"^({ids})/[-.0-9A-Z_a-z]+$"


def build_trunks(cfg: CentralitaConfig) -> str:
    """pjsip_crosspbx.conf (included by pjsip.conf): one endpoint + aor + identify per peer."""
    parts: list[str] = []
    phones = {names.endpoint_of(a.interface) for a in cfg.agents}
    phones |= set(cfg.calling.supervisor_endpoints)
    for pid, trunk in peers(cfg):
        ep = peer_endpoint(pid)
        if ep in phones:
            raise UnsafeValue(f"connections.pbxs.{pid}: endpoint {ep!r} is also a phone's name")
        parts.append(
            Section(
                ep,
                inherits=(names.ENDPOINT_TEMPLATE,),
                comments=[f"PBX {pid} of the same desk: transfers both ways, by source address."],
            )
            .add("context", FROM_PBX_CONTEXT)
            .add("aors", ep)
            .add("send_connected_line", "no")
            .add("trust_id_inbound", "yes")
            .add("trust_id_outbound", "yes")
            .render()
        )
        parts.append(
            Section(ep)
            .add("type", "aor")
            .add("contact", f"sip:{trunk.host}:{trunk.port}")
            .add("qualify_frequency", 60)
            .render()
        )
        parts.append(
            Section(f"{ep}-identify")
            .add("type", "identify")
            .add("endpoint", ep)
            .add("match", f"{trunk.host}:{trunk.port}")
            .render()
        )
    intro = [] if parts else ["No other PBX with a trunk address (connections.pbxs.<id>.trunk)."]
    return render_file(parts, intro=intro)


def _to_peer(cfg: CentralitaConfig, pid: str) -> Context:
    ctx = Context(
        transfer_context(pid),
        comments=[
            f"Blind transfer to a queue on PBX {pid} through the inter-PBX trunk, carrying",
            f"{HEADER}: <this PBX>/<linkedid>; unreachable: the caller queues here instead.",
        ],
    )
    caller = "/".join(f"${{{var}}}" for var in CALLER_VARS)
    handler = f"{HEADER_CONTEXT}^s^1(${{CENTRALITA_PBX}}/${{CHANNEL(linkedid)}}^{caller})"
    for queue in sorted(cfg.queue_definitions()):
        ext = ctx.exten(queue)
        ext.add(f"Set(CENTRALITA_HANDOFF={pid})")
        ext.add(f"Dial(PJSIP/{queue}@{peer_endpoint(pid)},{DIAL_TIMEOUT_S},b({handler}))")
        ext.add('GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)')
        ext.add("Set(CENTRALITA_HANDOFF=)")
        ext.add(f"Goto({TRANSFER_CONTEXT},{queue},1)")
        ext.add("Hangup()", label="done")
    ctx.exten("h").add(f"Gosub({names.END_CONTEXT},s,1)")
    return ctx


def _header() -> Context:
    ctx = Context(
        HEADER_CONTEXT,
        comments=["Pre-dial handler on the outgoing channel: the call's origin and the caller's",
                  "IVR results (for the pop on the other box) as SIP headers."],
    )  # fmt: skip
    ext = ctx.exten("s")
    ext.add(f"Set(PJSIP_HEADER(add,{HEADER})=${{ARG1}})")
    ext.add(f"Set(PJSIP_HEADER(add,{CALLER_HEADER})=${{ARG2}})")
    ext.add("Return()")
    return ctx


def _origin(cfg: CentralitaConfig) -> Context:
    ctx = Context(
        ORIGIN_CONTEXT,
        comments=[
            f"Read {HEADER} once and keep it only if it is a known PBX's call:",
            f"at most {ORIGIN_MAX} ASCII letters, digits or -._/ and <pbx>/<linkedid>.",
        ],
    )
    raw = "CENTRALITA_XPBX_RAW"
    ext = ctx.exten("s")
    ext.add(f"Set({raw}=${{PJSIP_HEADER(read,{HEADER})}})")
    ext.add(f"GotoIf($[${{LEN(${{{raw}}})}} = 0]?done)")
    ext.add(f"Set(CENTRALITA_XPBX=${{FILTER({ORIGIN_CHARS},${{{raw}:0:{ORIGIN_MAX}}})}})")
    ext.add(f"GotoIf($[${{LEN(${{CENTRALITA_XPBX}})}} != ${{LEN(${{{raw}}})}}]?bad)")
    ext.add(f'GotoIf(${{REGEX("{origin_regex(cfg)}" ${{CENTRALITA_XPBX}})}}?ok)')
    ext.add(f"Log(NOTICE,Centralita: {HEADER} refused from ${{CHANNEL(name)}})", label="bad")
    ext.add("Return()")
    ext.add("Set(CENTRALITA_ORIGIN=${CENTRALITA_XPBX})", label="ok")
    # the caller's IVR results, all or none: same checks, then one field each
    ext.add(f"Set({raw}=${{PJSIP_HEADER(read,{CALLER_HEADER})}})")
    ext.add(f"Set(CENTRALITA_XPBX=${{FILTER({ORIGIN_CHARS},${{{raw}:0:{ORIGIN_MAX}}})}})")
    ext.add(f"GotoIf($[${{LEN(${{CENTRALITA_XPBX}})}} != ${{LEN(${{{raw}}})}}]?done)")
    ext.add(f'GotoIf(${{REGEX("{CALLER_REGEX}" ${{CENTRALITA_XPBX}})}}?:done)')
    for i, var in enumerate(CALLER_VARS, start=1):
        ext.add(f"Set({var}=${{CUT(CENTRALITA_XPBX,/,{i})}})")
    ext.add("Return()", label="done")
    return ctx


def _from_peers(cfg: CentralitaConfig) -> Context:
    ctx = Context(
        FROM_PBX_CONTEXT,
        comments=[
            "Callers transferred here by another PBX of the desk: straight to the queue named",
            "by the extension, with the queue's language and the normal rule (no IVR again).",
        ],
    )
    defs = cfg.queue_definitions()
    normal = route(cfg, None, "es", None, False)
    rule = cfg.routing.rules[normal.rule]
    for queue in sorted(defs):
        qdef = defs[queue]
        ext = ctx.exten(queue)
        ext.add(f"NoOp(Centralita transfer from another PBX to {queue})")
        ext.add(f"Gosub({ORIGIN_CONTEXT},s,1)")
        ext.add(f"Set(CENTRALITA_QUEUE={queue})")
        ext.add(f"Set(IVR_LANG={qdef.language})")
        ext.add(f"Set(CHANNEL(language)={qdef.language})")
        ext.add(f"Set(CENTRALITA_MAXWAIT={qdef.settings.max_wait})")
        ext.add(f"Set(CENTRALITA_RULE={normal.rule})")
        ext.add(f"Set(QUEUE_PRIO={normal.queue_prio})")
        ext.add(f"Set(QUEUE_MAX_PENALTY={rule.start_max_penalty})")
        ext.add("Set(CENTRALITA_ACTION=queue)")
        ext.add("Answer()")
        ext.add(QUEUE_APP)
        ext.add(f"Goto({names.AFTER_QUEUE_CONTEXT},s,1)")
    ctx.exten("h").add(f"Gosub({names.END_CONTEXT},s,1)")
    return ctx


def build_extensions(cfg: CentralitaConfig) -> str:
    """extensions_crosspbx.conf (included by extensions.conf): new contexts only."""
    pids = [pid for pid, _trunk in peers(cfg)]
    if not pids:
        return render_file(
            [], intro=["No other PBX with a trunk address (connections.pbxs.<id>.trunk)."]
        )
    contexts = [_from_peers(cfg), _origin(cfg), _header()]
    contexts += [_to_peer(cfg, pid) for pid in pids]
    return render_file([c.render() for c in contexts])
