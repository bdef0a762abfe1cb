"""manager.conf: AMI for the listener, least privilege, reachable only from permitted nets.

Classes, from app_queue.c / manager.c registrations:
* read  call (Newchannel, Hangup, Dial*, Bridge*), agent (Queue*/Agent* events),
        dialplan (VarSet), system (FullyBooted, Reload, Shutdown: counters reset);
* write agent (QueueAdd/QueueRemove/QueuePause/QueuePenalty/QueueLog: EVENT_FLAG_AGENT),
        reporting (CoreShowChannels: EVENT_FLAG_SYSTEM|EVENT_FLAG_REPORTING);
        QueueStatus, QueueSummary and Ping need no class (registered with 0).

Event filtering is static, in the user: the `Filter` action is registered with
EVENT_FLAG_SYSTEM (manager.c), and granting `write = system` would also allow
Reload, Restart and ModuleLoad, far beyond what the listener needs. manager.c
applies `eventfilter` lines to events it broadcasts; with include filters only,
everything not included is dropped (should_send_event: "implied exclude all").
Replies to actions (the QueueStatus / QueueSummary / CoreShowChannels lists, the
FullyBooted after Login) are written to the session directly and never filtered,
so only broadcast events are listed. VarSet is let through only for the variables
the listener reads: it is otherwise one event per Set() of every channel.
The secret lives in manager_secrets.conf (`[user](+)`), never here.
"""

from __future__ import annotations

from collections.abc import Mapping

from servicedesk.config import CentralitaConfig

from . import names
from .render import Section, render_file

READ_CLASSES = ("call", "agent", "dialplan", "system")
WRITE_CLASSES = ("agent", "reporting")
LOOPBACK_PREFIX = "127."

# The broadcast events the listener acts on (ami_listener.parser.WANTED_EVENTS minus
# the list replies; a test holds the two together). asterisk_conf imports no listener code.
LISTENER_EVENTS = (
    "AgentCalled",
    "AgentComplete",
    "AgentConnect",
    "AgentDump",
    "AgentRingNoAnswer",
    "DialEnd",
    "FullyBooted",
    "Hangup",
    "HangupRequest",
    "Newchannel",
    "QueueCallerAbandon",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueMemberAdded",
    "QueueMemberPause",
    "QueueMemberPenalty",
    "QueueMemberRemoved",
    "Shutdown",
)
# The channel variables whose VarSet the listener reads (ami_listener.parser.WANTED_VARIABLES).
LISTENER_VARIABLES = (
    "CENTRALITA_ACTION",
    "CENTRALITA_CATEGORY",
    "CENTRALITA_CONTACT",
    "CENTRALITA_HANDOFF",
    "CENTRALITA_INCIDENT",
    "CENTRALITA_IVR",
    "CENTRALITA_LINE",
    "CENTRALITA_ORIGIN",
    "CENTRALITA_OUTBOUND",
    "CENTRALITA_PRIORITY",
    "CENTRALITA_QUEUE",
    "CENTRALITA_RULE",
    "CENTRALITA_VIP",
    "IVR_LANG",
    "QUEUESTATUS",
    "QUEUE_PRIO",
)


def event_filters() -> list[tuple[str, str]]:
    """manager.conf `eventfilter(...) = pattern` lines: include only what the listener reads."""
    lines = [(f"eventfilter(action(include),name({name}))", "") for name in LISTENER_EVENTS]
    variables = "|".join(LISTENER_VARIABLES)
    lines.append(
        (
            "eventfilter(action(include),name(VarSet),header(Variable),method(regex))",
            f"^({variables})$",
        )
    )
    return lines


def bind_address(cfg: CentralitaConfig) -> str:
    """Loopback when only loopback may connect; otherwise every address (ACL still applies)."""
    permits = cfg.connections.ami.permit
    if permits and all(p.startswith(LOOPBACK_PREFIX) for p in permits):
        return "127.0.0.1"
    return "0.0.0.0"


def build_manager(cfg: CentralitaConfig) -> str:
    ami = cfg.connections.ami
    general = (
        Section("general")
        .add("enabled", "yes")
        .add("webenabled", "no")
        .add("port", ami.port)
        .add("bindaddr", bind_address(cfg))
        .add("displayconnects", "yes")
        .add("timestampevents", "yes")
        .add("channelvars", ",".join(names.CHANNEL_VARS))
    )
    user = Section(
        ami.username,
        comments=[f"The Centralita listener; secret from ${ami.secret_env} via the include."],
    )
    user.add("deny", "0.0.0.0/0.0.0.0")
    for permit in ami.permit:
        user.add("permit", permit)
    user.add("read", ",".join(READ_CLASSES))
    user.add("write", ",".join(WRITE_CLASSES))
    user.add("writetimeout", 5000)
    for key, pattern in event_filters():
        user.add(key, pattern)
    text = render_file([general.render(), user.render()])
    return text + f'\n#include "{names.MANAGER_SECRETS_FILE}"\n'


def manager_secrets(cfg: CentralitaConfig, env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    ami = cfg.connections.ami
    secret = env.get(ami.secret_env)
    if not secret:
        return None, [ami.secret_env]
    sec = Section(ami.username, append=True).add("secret", secret)
    return render_file([sec.render()], intro=["SECRETS: keep mode 0600, never commit."]), []


def build_musiconhold(directory: str) -> str:
    general = Section("general")
    default = (
        Section("default", comments=["Hold music for the queues (musicclass = default)."])
        .add("mode", "files")
        .add("directory", directory)
        .add("sort", "alpha")
    )
    return render_file([general.render(), default.render()])
