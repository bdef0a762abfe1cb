"""app_queue's data: queue settings, members, waiting entries and the running statistics.

Settings come either from a queues.conf text (the traces' own configs) or from
`servicedesk.config` queue definitions, so the replay tests and the demo share one model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

EMPTY_PENALTY = 1
EMPTY_PAUSED = 2
EMPTY_INUSE = 4
EMPTY_RINGING = 8
EMPTY_UNAVAILABLE = 16
EMPTY_INVALID = 32
EMPTY_UNKNOWN = 64
EMPTY_WRAPUP = 128
_EMPTY_WORDS = {
    "penalty": EMPTY_PENALTY,
    "paused": EMPTY_PAUSED,
    "inuse": EMPTY_INUSE,
    "ringing": EMPTY_RINGING,
    "unavailable": EMPTY_UNAVAILABLE,
    "invalid": EMPTY_INVALID,
    "unknown": EMPTY_UNKNOWN,
    "wrapup": EMPTY_WRAPUP,
}
STRATEGIES = ("ringall", "rrmemory", "leastrecent", "fewestcalls", "linear", "random", "rrordered")


def parse_empty(value: str, joinempty: bool) -> int:
    """app_queue's parse_empty_options: 'yes'/'no' map differently for join and leave."""
    v = value.strip().lower()
    if v in ("no", "false", "0", "off"):
        return (EMPTY_PENALTY | EMPTY_PAUSED | EMPTY_INVALID) if joinempty else 0
    if v in ("yes", "true", "1", "on"):
        return 0 if joinempty else (EMPTY_PENALTY | EMPTY_PAUSED | EMPTY_INVALID)
    mask = 0
    for word in re.split(r"[,\s]+", v):
        if word == "strict":
            mask |= EMPTY_UNAVAILABLE
        elif word in ("loose",):
            mask |= EMPTY_PENALTY | EMPTY_INVALID
        elif word:
            mask |= _EMPTY_WORDS.get(word, 0)
    return mask


@dataclass
class QueueConf:
    name: str
    strategy: str = "ringall"
    timeout: int = 15
    retry: int = 5
    joinempty: int = 0
    leavewhenempty: int = 0
    wrapuptime: int = 0
    maxlen: int = 0
    ringinuse: bool = False
    servicelevel: int = 0
    weight: int = 0
    defaultrule: str = ""
    context: str = ""  # a digit with an extension here takes the caller out (EXITWITHKEY)
    autofill: bool = True
    static_members: list[tuple[str, int, str, str]] = field(default_factory=list)
    autopause: str = "no"  # no | yes (this queue) | all (every queue): after RINGNOANSWER
    periodic_announce: str = ""  # the first periodic-announce file
    periodic_announce_frequency: int = 0
    announce_to_first_user: bool = False  # the head caller hears the announcements too


@dataclass
class PenaltyChange:
    after: int
    max_relative: bool
    max_value: int
    min_relative: bool = False
    min_value: int | None = None


def parse_queuerules(text: str) -> dict[str, list[PenaltyChange]]:
    """`[rule]` sections with `penaltychange => secs,max[,min]` (max/min may be +N/-N)."""
    rules: dict[str, list[PenaltyChange]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            current = line.strip("[]")
            if current != "general":
                rules[current] = []
            continue
        if current and current != "general" and line.startswith("penaltychange"):
            parts = [p.strip() for p in line.split("=>", 1)[1].split(",")]
            mx = parts[1]
            pc = PenaltyChange(int(parts[0]), mx[:1] in "+-", int(mx))
            if len(parts) > 2 and parts[2]:
                pc.min_relative = parts[2][:1] in "+-"
                pc.min_value = int(parts[2])
            rules[current].append(pc)
    for v in rules.values():
        v.sort(key=lambda p: p.after)
    return rules


def parse_queues_conf(text: str) -> dict[str, QueueConf]:
    general: dict[str, str] = {}
    sections: dict[str, dict[str, Any]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            current = line.strip("[]")
            if current != "general":
                sections[current] = {"members": []}
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        value = value.lstrip(">").strip()
        if current == "general":
            general[key] = value
        elif current:
            if key == "member":
                p = [x.strip() for x in value.split(",")]
                iface = p[0]
                pen = int(p[1]) if len(p) > 1 and p[1] else 0
                name = p[2] if len(p) > 2 and p[2] else iface
                state = p[3] if len(p) > 3 and p[3] else iface
                sections[current]["members"].append((iface, pen, name, state))
            else:
                sections[current][key] = value
    out: dict[str, QueueConf] = {}
    for name, s in sections.items():
        out[name] = QueueConf(
            name=name,
            strategy=s.get("strategy", "ringall"),
            timeout=int(s.get("timeout", 15)),
            retry=int(s.get("retry", 5)),
            joinempty=parse_empty(s.get("joinempty", "yes"), True),
            leavewhenempty=parse_empty(s.get("leavewhenempty", "no"), False),
            wrapuptime=int(s.get("wrapuptime", 0)),
            maxlen=int(s.get("maxlen", 0)),
            ringinuse=s.get("ringinuse", "yes").lower() in ("yes", "true", "1"),
            servicelevel=int(s.get("servicelevel", 0)),
            weight=int(s.get("weight", 0)),
            defaultrule=s.get("defaultrule", ""),
            context=s.get("context", ""),
            autofill=general.get("autofill", "yes").lower() in ("yes", "true", "1"),
            static_members=s["members"],
            autopause=_autopause(s.get("autopause", "no")),
            periodic_announce=s.get("periodic-announce", "").split(",")[0].strip(),
            periodic_announce_frequency=int(s.get("periodic-announce-frequency", 0) or 0),
            announce_to_first_user=s.get("announce-to-first-user", "no").lower()
            in ("yes", "true", "1", "on"),
        )
    return out


ALL_BUSY_PROMPT = "centralita/all_busy"


def queues_from_config(cfg: Any) -> dict[str, QueueConf]:
    """QueueConf per `<skill>_<lang>` queue of a servicedesk CentralitaConfig."""
    out: dict[str, QueueConf] = {}
    for name, qd in cfg.queue_definitions().items():
        s = qd.settings
        out[name] = QueueConf(
            name=name,
            strategy=s.strategy,
            timeout=s.timeout,
            retry=s.retry,
            joinempty=parse_empty(s.joinempty, True),
            leavewhenempty=parse_empty(s.leavewhenempty, False),
            wrapuptime=s.wrapuptime,
            ringinuse=False,
            servicelevel=s.servicelevel,
            weight=s.weight,
            autopause=s.autopause,
            # as asterisk_conf/queues.py writes them (pbxsim does not import the generator)
            periodic_announce=ALL_BUSY_PROMPT if s.announce_frequency else "",
            periodic_announce_frequency=s.announce_frequency,
            announce_to_first_user=bool(s.announce_frequency),
        )
    return out


def _autopause(value: str) -> str:
    """app_queue autopause2int: "all", a true value (yes) or off."""
    v = value.strip().lower()
    if v == "all":
        return "all"
    return "yes" if v in ("yes", "true", "y", "t", "1", "on") else "no"


def rules_from_config(cfg: Any) -> dict[str, list[PenaltyChange]]:
    out: dict[str, list[PenaltyChange]] = {}
    for name, rule in cfg.routing.rules.items():
        out[name] = [PenaltyChange(st.after_seconds, False, st.max_penalty) for st in rule.steps]
    return out


@dataclass(eq=False)
class Member:
    interface: str
    name: str
    state_interface: str
    penalty: int = 0
    dynamic: bool = True
    paused: bool = False
    reason: str = ""
    calls: int = 0
    lastcall: float = 0.0  # epoch of the end of the last call (wrapup base)
    lastpause: int = 0
    logintime: int = 0
    in_call: bool = False
    ringinuse: bool = False
    wrapuptime: int = 0
    added_seq: int = 0


@dataclass(eq=False)
class QueueEntry:
    call: Any  # engine.Call
    prio: int
    start: float
    pos: int = 0
    orig_pos: int = 0
    min_penalty: int | None = None
    max_penalty: int | None = None
    rule: list[PenaltyChange] = field(default_factory=list)
    rule_idx: int = 0
    pending: bool = False
    last_periodic: float = 0.0  # when the last periodic announcement started (join time first)
    ended_by: str = ""  # who ended the bridge: "caller" or "agent"


@dataclass(eq=False)
class QueueState:
    conf: QueueConf
    members: dict[str, Member] = field(default_factory=dict)
    entries: list[QueueEntry] = field(default_factory=list)
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    rrpos: int = 0
    wrapped: bool = False
    members_by_endpoint: dict[str, list[Member]] = field(default_factory=dict)

    def add_member(self, m: Member) -> None:
        self.members[m.interface] = m
        endpoint = m.state_interface.split("/", 1)[-1]
        self.members_by_endpoint.setdefault(endpoint, []).append(m)

    def remove_member(self, m: Member) -> None:
        self.members.pop(m.interface, None)
        endpoint = m.state_interface.split("/", 1)[-1]
        group = self.members_by_endpoint.get(endpoint, [])
        if m in group:
            group.remove(m)

    @property
    def name(self) -> str:
        return self.conf.name

    def sl_perf(self) -> str:
        v = 100.0 * self.completed_in_sl / self.completed if self.completed else 0.0
        return f"{v:.1f}"

    def sl_perf2(self) -> str:
        total = self.completed + self.abandoned
        v = 100.0 * (self.completed_in_sl + self.abandoned_in_sl) / total if total else 0.0
        return f"{v:.1f}"

    def record_hold(self, holdtime: int) -> None:
        """app_queue's recalc_holdtime: a running average (3*old + new)/4, in integers."""
        self.holdtime = (self.holdtime * 3 + holdtime) // 4

    def insert(self, entry: QueueEntry) -> int:
        """Insert by priority (higher first, FIFO among equals); returns the 1-based position."""
        idx = len(self.entries)
        for i, e in enumerate(self.entries):
            if entry.prio > e.prio:
                idx = i
                break
        self.entries.insert(idx, entry)
        for i, e in enumerate(self.entries):
            e.pos = i + 1
        return idx + 1

    def remove(self, entry: QueueEntry) -> int:
        pos = entry.pos
        if entry in self.entries:
            self.entries.remove(entry)
        for i, e in enumerate(self.entries):
            e.pos = i + 1
        return pos
