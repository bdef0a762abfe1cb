"""The calling features' share of the generated files, in sections of their own.

* extensions.conf: `centralita-outbound` (click-to-call, callbacks, verification
  calls: AMI Originate rings the agent's phone, then this context dials the customer
  through the trunk with the desk's caller ID) and `centralita-supervise` (ChanSpy:
  listen, whisper, barge per agent), which only supervisor phones reach — their
  endpoints use it as their context, and no other context includes either one.
* manager.conf: the dialer's own AMI user, separate from the listener's, with only
  what it sends: `originate` (Originate) and `call` (Redirect, BlindTransfer, Atxfer
  and, read side, OriginateResponse, Hangup and the ChanSpy/transfer events).
* pjsip.conf: supervisor phones (endpoint + aor + auth, passwords from a 0600 file).

ChanSpy options (app_chanspy.c): q no beep or name, E leave when the spied-on channel
hangs up, w whisper (the agent hears the supervisor, the caller does not), B barge
(both hear, "Barge mode: ... audio to both channels"). The spied channel is matched
by the prefix `PJSIP/<endpoint>-`, so 1001 never matches 10011.
"""

from __future__ import annotations

from collections.abc import Mapping

from servicedesk.config import CentralitaConfig

from . import names
from .dialplan import Context
from .render import Section, render_file, safe_token
from .site import sip_secret_env

OUTBOUND_CONTEXT = "centralita-outbound"
SUPERVISE_CONTEXT = "centralita-supervise"
TRANSFER_CONTEXT = "centralita-transfer"
SUPERVISOR_TEMPLATE = "centralita-supervisor"
SUPERVISOR_SECRETS_FILE = "pjsip_supervisor_secrets.conf"
DIALER_SECRETS_FILE = "manager_dialer_secrets.conf"
CALLING_EXTENSIONS_FILE = "extensions_calling.conf"
DIALER_MANAGER_FILE = "manager_dialer.conf"
SUPERVISORS_PJSIP_FILE = "pjsip_supervisors.conf"

# feature code prefix -> (mode, ChanSpy options)
SPY_MODES = {"221": ("listen", "qE"), "222": ("whisper", "qEw"), "223": ("barge", "qEB")}
SPY_CODE = {mode: code for code, (mode, _opts) in SPY_MODES.items()}

# what the dialer's AMI user may read and write (manager.c / app_*.c registrations)
DIALER_READ = ("call", "agent")  # agent: AgentConnect/Complete name the agent's channel
DIALER_WRITE = ("originate", "call")
DIALER_EVENTS = (
    "OriginateResponse",
    "Hangup",
    "DialEnd",
    "ChanSpyStart",
    "ChanSpyStop",
    "BlindTransfer",
    "AttendedTransfer",
    "AgentConnect",
    "AgentComplete",
)


def desk_caller_id(cfg: CentralitaConfig) -> str:
    """The number customers see: `calling.caller_id_num`, else the first line's DID."""
    if cfg.calling.caller_id_num:
        return cfg.calling.caller_id_num
    first = sorted(cfg.lines.values(), key=lambda ln: ln.did.lstrip("+"))
    return "+" + first[0].did.lstrip("+") if first else ""


def spy_exten(mode: str, endpoint: str) -> str:
    return f"{SPY_CODE[mode]}{endpoint}"


def outbound_context(cfg: CentralitaConfig) -> Context:
    calling = cfg.calling
    ctx = Context(
        OUTBOUND_CONTEXT,
        comments=[
            "Click-to-call, callbacks and verification calls. Only AMI Originate enters here:",
            "the agent's phone has answered; dial the customer (E.164 digits as the extension)",
            "with the desk's caller ID. Anything but digits is refused before Dial().",
        ],
    )
    ext = ctx.exten("_X.")
    ext.add("NoOp(Centralita outbound ${CENTRALITA_OUTBOUND})")
    ext.add("Set(CENTRALITA_DIAL=${FILTER(0-9,${EXTEN})})")
    ext.add('GotoIf($["${CENTRALITA_DIAL}" != "${EXTEN}"]?refused)')
    ext.add(f"Set(CALLERID(num)={desk_caller_id(cfg)})")
    ext.add(f"Set(CALLERID(name)={calling.caller_id_name})")
    ext.add(f"Dial(PJSIP/+${{CENTRALITA_DIAL}}@{names.TRUNK_ENDPOINT},{calling.customer_ring_s})")
    ext.add("Hangup()")
    ext.add("Hangup(21)", label="refused")
    return ctx


def supervise_context(cfg: CentralitaConfig) -> Context:
    ctx = Context(
        SUPERVISE_CONTEXT,
        comments=[
            "Supervisor phones only (their endpoints' context): 221<agent> listen,",
            "222<agent> whisper to the agent, 223<agent> barge in. The wallboard reaches it",
            "by Originate to the supervisor's phone; every ChanSpyStart is audited.",
        ],
    )
    endpoints = sorted(
        {ep for a in cfg.agents if (ep := names.endpoint_of(a.interface)) is not None}
    )
    for code, (_mode, options) in sorted(SPY_MODES.items()):
        for endpoint in endpoints:
            ext = ctx.exten(f"{code}{endpoint}")
            ext.add("Answer()")
            ext.add(f"ChanSpy(PJSIP/{endpoint}-,{options})")
            ext.add("Hangup()")
    return ctx


FEATURES_FILE = "features.conf"
BLIND_TRANSFER_CODE = "#1"
ATTENDED_TRANSFER_CODE = "*2"


def build_features() -> str:
    """features.conf: transfer codes for agents' phones (Queue() option t lets the agent
    transfer). The AMI Atxfer action also needs `atxfer`: without it Asterisk 22 answers
    "No attended transfer feature code found" (calling_attended_transfer trace)."""
    general = Section("general")
    featuremap = (
        Section("featuremap", comments=["Transfer codes keyed on the agent's phone."])
        .add("blindxfer", BLIND_TRANSFER_CODE)
        .add("atxfer", ATTENDED_TRANSFER_CODE)
    )
    return render_file([general.render(), featuremap.render()])


def include_line(name: str) -> str:
    """The line a main file ends with to pull in one of these files."""
    return f'#include "{name}"\n'


def transfer_context(cfg: CentralitaConfig) -> Context:
    ctx = Context(
        TRANSFER_CONTEXT,
        comments=[
            "Blind transfer of a caller to another queue (AMI BlindTransfer from the dialer):",
            "one extension per queue; the caller keeps their variables, so the pop follows.",
            "Also the queues' keypad codes, for a phone whose channel an Atxfer pointed here.",
        ],
    )
    for name in sorted(cfg.queue_definitions()):
        ext = ctx.exten(name)
        ext.add(f"Set(CENTRALITA_QUEUE={name})")
        ext.add("Queue(${CENTRALITA_QUEUE},t,,,${CENTRALITA_MAXWAIT},,,${CENTRALITA_RULE})")
        ext.add(f"Goto({names.AFTER_QUEUE_CONTEXT},s,1)")
    # AMI Atxfer leaves TRANSFER_CONTEXT=<this context> on the agent's channel
    # (calling_atxfer_abort): a later transfer keyed on that phone looks here
    add_transfer_codes(ctx, cfg)
    return ctx


def add_transfer_codes(ctx: Context, cfg: CentralitaConfig) -> None:
    """The queues' keypad codes (`[transfer_codes]`) as extensions of the agents' context.

    A transfer keyed on the phone (#1 or *2, then digits) looks in the transferer's
    TRANSFER_CONTEXT, else its own context; a Queue member's channel keeps its
    endpoint's context (calling_phone_* traces: `from-agents`). Each code goes to the
    queue's entry in `centralita-transfer`, so a blind-transferred caller keeps their
    variables and the pop follows, as with the panel's transfer."""
    queues = cfg.queue_definitions()  # config check refuses others; never jump to nothing
    for queue, code in sorted(cfg.transfer_codes.items(), key=lambda kv: kv[1]):
        if queue not in queues:
            continue
        ext = ctx.exten(code)
        ext.add(f"Goto({TRANSFER_CONTEXT},{queue},1)")


def build_calling_extensions(cfg: CentralitaConfig) -> str:
    """extensions_calling.conf (included by extensions.conf): new contexts only."""
    return render_file(
        [
            outbound_context(cfg).render(),
            supervise_context(cfg).render(),
            transfer_context(cfg).render(),
        ]
    )


def build_dialer_user(cfg: CentralitaConfig) -> str:
    """manager_dialer.conf (included by manager.conf): the dialer's user and its secret."""
    ami, calling = cfg.connections.ami, cfg.calling
    user = Section(
        calling.dialer_username,
        comments=[
            "Centralita calling features (click-to-call, callbacks, transfers, supervision);",
            f"secret from ${calling.dialer_secret_env} via the include.",
        ],
    )
    user.add("deny", "0.0.0.0/0.0.0.0")
    for permit in ami.permit:
        user.add("permit", permit)
    user.add("read", ",".join(DIALER_READ))
    user.add("write", ",".join(DIALER_WRITE))
    user.add("writetimeout", 5000)
    for event in DIALER_EVENTS:
        user.add(f"eventfilter(action(include),name({event}))", "")
    text = render_file([user.render()])
    return text + f'\n#tryinclude "{DIALER_SECRETS_FILE}"\n'


def dialer_secrets(cfg: CentralitaConfig, env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    calling = cfg.calling
    secret = env.get(calling.dialer_secret_env)
    if not secret:
        return None, [calling.dialer_secret_env]
    sec = Section(calling.dialer_username, append=True).add("secret", secret)
    return render_file([sec.render()], intro=["SECRETS: keep mode 0600, never commit."]), []


def build_supervisor_endpoints(cfg: CentralitaConfig) -> str:
    """pjsip_supervisors.conf (included by pjsip.conf): one endpoint/aor/auth per supervisor phone."""
    eps = sorted(cfg.calling.supervisor_endpoints)
    for i, ep in enumerate(eps):
        safe_token(ep, f"calling.supervisor_endpoints[{i}]")
    if not eps:
        return render_file(
            [], intro=["No supervisor phones configured (calling.supervisor_endpoints)."]
        )
    parts = [
        Section(
            SUPERVISOR_TEMPLATE,
            template=True,
            inherits=(names.ENDPOINT_TEMPLATE,),
            comments=["Supervisor phones: they reach only the supervision context."],
        )
        .add("context", SUPERVISE_CONTEXT)
        .render()
    ]
    for ep in eps:
        parts.append(
            Section(ep, inherits=(SUPERVISOR_TEMPLATE,), comments=[f"supervisor phone {ep}"])
            .add("aors", ep)
            .add("auth", f"{ep}-auth")
            .render()
        )
        parts.append(
            Section(ep)
            .add("type", "aor")
            .add("max_contacts", 1)
            .add("remove_existing", "yes")
            .render()
        )
        parts.append(Section(f"{ep}-auth").add("type", "auth").add("username", ep).render())
    text = render_file(parts)
    return text + f'\n#tryinclude "{SUPERVISOR_SECRETS_FILE}"\n'


def supervisor_secrets(
    cfg: CentralitaConfig, env: Mapping[str, str]
) -> tuple[str | None, list[str]]:
    if not cfg.calling.supervisor_endpoints:
        return None, []
    missing: list[str] = []
    parts: list[str] = []
    for ep in sorted(cfg.calling.supervisor_endpoints):
        secret = env.get(sip_secret_env(ep))
        if not secret:
            missing.append(sip_secret_env(ep))
            continue
        parts.append(Section(f"{ep}-auth", append=True).add("password", secret).render())
    if missing:
        return None, missing
    return render_file(parts, intro=["SECRETS: keep mode 0600, never commit."]), []
