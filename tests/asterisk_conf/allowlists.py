"""Option names Asterisk 22 accepts, per file, taken from its sample configs and sources.

Sources (asterisk/asterisk, read through the search tool):
* configs/samples/queues.conf.sample ([general] and the [markq] sample queue) and
  apps/app_queue.c queue_set_param() (the names it strcasecmp()s; an unknown one logs
  "Unknown keyword in queue");
* configs/samples/queuerules.conf.sample (`penaltychange => time,max[,min[,raise]]`);
* configs/samples/pjsip.conf.sample (global / transport / endpoint / aor / auth / identify);
* configs/samples/manager.conf.sample ([general] and the [mark] user) plus the advanced
  `eventfilter(<criteria>) =` syntax documented for Asterisk 22 (AMI Event Filtering);
* configs/samples/musiconhold.conf.sample;
* configs/samples/extensions.conf.sample ([general] static/writeprotect/clearglobalvars).
Only names we might plausibly emit are listed; a typo in the generator fails the test.
"""

from __future__ import annotations

QUEUES_GENERAL = {
    "persistentmembers",
    "autofill",
    "monitor-type",
    "shared_lastcall",
    "negative_penalty_invalid",
    "log_membername_as_agent",
    "log-restricted-caller-id",
    "force_longest_waiting_caller",
    "enable_cidname_logging",
    "updatecdr",
}

QUEUE = {
    "musicclass",
    "music",
    "musiconhold",
    "announce",
    "context",
    "timeout",
    "retry",
    "timeoutpriority",
    "weight",
    "wrapuptime",
    "penaltymemberslimit",
    "autofill",
    "autopause",
    "autopausedelay",
    "autopausebusy",
    "autopauseunavail",
    "maxlen",
    "servicelevel",
    "strategy",
    "joinempty",
    "leavewhenempty",
    "reportholdtime",
    "memberdelay",
    "timeoutrestart",
    "defaultrule",
    "ringinuse",
    "setinterfacevar",
    "setqueuevar",
    "setqueueentryvar",
    "membergosub",
    "announce-frequency",
    "min-announce-frequency",
    "announce-round-seconds",
    "announce-holdtime",
    "announce-position",
    "announce-position-limit",
    "announce-to-first-user",
    "periodic-announce",
    "periodic-announce-frequency",
    "random-periodic-announce",
    "relative-periodic-announce",
    "queue-youarenext",
    "queue-thereare",
    "queue-callswaiting",
    "queue-holdtime",
    "queue-minutes",
    "queue-minute",
    "queue-seconds",
    "queue-thankyou",
    "queue-callerannounce",
    "queue-reporthold",
    "monitor-format",
    "member",
}

QUEUERULES = {"penaltychange"}

PJSIP = {
    "global": {"type", "user_agent", "endpoint_identifier_order", "default_outbound_endpoint"},
    "transport": {"type", "protocol", "bind", "external_media_address", "local_net"},
    "endpoint": {
        "type",
        "transport",
        "context",
        "disallow",
        "allow",
        "aors",
        "auth",
        "outbound_auth",
        "direct_media",
        "rtp_symmetric",
        "force_rport",
        "rewrite_contact",
        "dtmf_mode",
        "callerid",
        "send_connected_line",
        "trust_id_inbound",
        "send_pai",
        "language",
        "media_address",
        "bind_rtp_to_media_address",
    },
    "aor": {"type", "contact", "max_contacts", "remove_existing", "qualify_frequency"},
    "auth": {"type", "auth_type", "username", "password"},
    "identify": {"type", "endpoint", "match"},
}

MANAGER_GENERAL = {
    "enabled",
    "webenabled",
    "port",
    "bindaddr",
    "displayconnects",
    "timestampevents",
    "channelvars",
    "authtimeout",
    "authlimit",
    "allowmultiplelogin",
}
MANAGER_USER = {
    "secret",
    "deny",
    "permit",
    "acl",
    "read",
    "write",
    "writetimeout",
    "eventfilter",
    "setvar",
    "displayconnects",
}
MANAGER_CLASSES = {
    "all",
    "system",
    "call",
    "log",
    "verbose",
    "agent",
    "user",
    "config",
    "command",
    "dtmf",
    "reporting",
    "cdr",
    "dialplan",
    "originate",
    "agi",
    "cc",
    "aoc",
    "test",
    "security",
    "message",
}

MUSICONHOLD = {"mode", "directory", "sort", "application", "format"}
EXTENSIONS_GENERAL = {"static", "writeprotect", "clearglobalvars", "autofallthrough"}

# Dialplan applications that exist in Asterisk 22 (Macro was removed in 21).
APPLICATIONS = {
    "Answer",
    "AGI",
    "Dial",
    "ExecIf",
    "Gosub",
    "Goto",
    "GotoIf",
    "Hangup",
    "NoOp",
    "Playback",
    "Queue",
    "Read",
    "Record",
    "Return",
    "Set",
    "Wait",
    "SendDTMF",
}
