"""Names shared by the generated files and `conf check` (contexts, files, endpoints)."""

from __future__ import annotations

INBOUND_CONTEXT = "centralita-inbound"
AGENTS_CONTEXT = "centralita-agents"
AFTER_QUEUE_CONTEXT = "centralita-after-queue"
OVERFLOW_CONTEXT = "centralita-overflow"
VOICEMAIL_CONTEXT = "centralita-voicemail"
CALLBACK_CONTEXT = "centralita-callback"
ONCALL_CONTEXT = "centralita-oncall"
HANGUP_CONTEXT = "centralita-hangup"
END_CONTEXT = "centralita-end"
SURVEY_CONTEXT = "centralita-survey"

TRUNK_ENDPOINT = "trunk"
TRANSPORT = "transport-udp"
ENDPOINT_TEMPLATE = "centralita-endpoint"
AGENT_TEMPLATE = "centralita-agent"

PJSIP_SECRETS_FILE = "pjsip_secrets.conf"
MANAGER_SECRETS_FILE = "manager_secrets.conf"
SECRET_FILES = (PJSIP_SECRETS_FILE, MANAGER_SECRETS_FILE)

PROMPT_DIR = "centralita"  # sounds/<lang>/centralita/<key>.wav

# Queue() exits that mean "nobody took the call": offer a message or a callback.
OVERFLOW_STATUSES = ("TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL")

# joinempty / leavewhenempty tokens app_queue's parse_empty_options() understands.
EMPTY_OPTIONS = frozenset(
    {
        "paused",
        "penalty",
        "inuse",
        "ringing",
        "unavailable",
        "invalid",
        "unknown",
        "wrapup",
        "loose",
        "strict",
        "yes",
        "no",
        "true",
        "false",
    }
)

# Channel variables the screen-pop needs on every channel event (manager.conf channelvars).
CHANNEL_VARS = (
    "IVR_LANG",
    "QUEUE_PRIO",
    "CENTRALITA_LINE",
    "CENTRALITA_ACTION",
    "CENTRALITA_QUEUE",
    "CENTRALITA_CONTACT",
    "CENTRALITA_INCIDENT",
    "CENTRALITA_CATEGORY",
    "CENTRALITA_PRIORITY",
    "CENTRALITA_VIP",
    "CENTRALITA_IVR",
)


def endpoint_of(interface: str) -> str | None:
    """`PJSIP/1001` → `1001`; None for interfaces that are not PJSIP endpoints."""
    tech, _, rest = interface.partition("/")
    if tech != "PJSIP" or not rest:
        return None
    return rest


def agi_url(host: str, port: int, script: str) -> str:
    return f"agi://{host}:{port}/{script}"
