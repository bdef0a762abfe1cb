"""The monthly service report a desk manager sends the client: the figures, as data.

Everything is counted by the database (GROUP BY; see `sql_figures`) and kept
as plain values here; `service_render` turns this into HTML, PDF, XLSX, CSV or
JSON in Spanish or English. The figures follow `callstats.definitions`, and the
report's definitions page is generated from the same configuration the figures
used (each queue's service-level formula and thresholds, the SLA table, the
excess rule), so a number can always be traced to its formula.

Scope: the whole desk, one organisation (its contacts' calls, its incidents) or
one contract (the contract's incidents; the calls of its organisation, since a
call is not tied to a contract). The *client* edition leaves out agents and
staffing; the *internal* edition has them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, String, and_, case, func, or_, select, text, type_coerce
from sqlalchemy.orm import Session

from callstats import aggregate
from callstats.agent_time import AgentTime, agent_times
from callstats.aggregate import AgentFigures
from callstats.definitions import EXIT_OUTCOMES, Figures, QueueCall, QueueRules
from callstats.sql_figures import (
    CallScope,
    agent_figures,
    configured_queues,
    merge,
    slot_figures,
    slot_figures_from_calls,
)
from callstats.staffing import StaffingPlan, history_plan_for_month
from callstats.summary_figures import survey_counts
from servicedesk import contracts as contracts_mod
from servicedesk.config import PRIORITIES, CentralitaConfig
from servicedesk.models import (
    CHANNELS,
    AgentStateChange,
    Call,
    Contact,
    Contract,
    Incident,
    IncidentEvent,
    Organisation,
)
from servicedesk.sla import sla_status_for

Edition = Literal["client", "internal"]
CLOCK_STATES = ("met", "breached", "pending", "none")


class ScopeError(LookupError):
    """The organisation or contract asked for does not exist."""


@dataclass(frozen=True)
class Scope:
    organisation_id: int | None = None
    organisation: str | None = None
    contract_id: int | None = None
    contract: str | None = None

    @property
    def is_desk(self) -> bool:
        return self.organisation_id is None and self.contract_id is None


def resolve_scope(
    session: Session, organisation: str | None = None, contract: str | None = None
) -> Scope:
    """By organisation name (or customer number) or contract number; ScopeError if unknown."""
    if contract:
        row = session.execute(
            select(Contract.id, Contract.number, Organisation.id, Organisation.name)
            .join(Organisation, Organisation.id == Contract.organisation_id)
            .where(Contract.number == contract)
        ).first()
        if row is None:
            raise ScopeError(f"no contract numbered {contract!r}")
        return Scope(row[2], row[3], row[0], row[1])
    if organisation:
        row = session.execute(
            select(Organisation.id, Organisation.name).where(
                (Organisation.name == organisation) | (Organisation.customer_number == organisation)
            )
        ).first()
        if row is None:
            raise ScopeError(f"no organisation named {organisation!r}")
        return Scope(row[0], row[1])
    return Scope()


@dataclass
class QueueLine:
    queue: str
    rules: QueueRules
    figures: Figures
    target_percent: float


@dataclass
class Headline:
    """The executive summary's key figures for one month (None: nothing to measure)."""

    offered: int = 0
    answered: int = 0
    service_level: float | None = None
    abandon_rate: float | None = None
    asa: float | None = None
    aht: float | None = None
    incidents_opened: int = 0
    response_compliance: float | None = None
    resolution_compliance: float | None = None
    csat: float | None = None


@dataclass
class ClockCounts:
    met: int = 0
    breached: int = 0
    pending: int = 0
    none: int = 0

    @property
    def compliance(self) -> float | None:
        judged = self.met + self.breached
        return None if judged == 0 else 100.0 * self.met / judged

    def add(self, state: str, n: int = 1) -> None:
        bucket = "pending" if state in ("on_track", "at_risk") else state
        setattr(self, bucket, getattr(self, bucket) + n)


@dataclass
class SlaLine:
    priority: str
    incidents: int
    response_minutes: int | None
    resolution_minutes: int | None
    calendar: str | None
    response: ClockCounts = field(default_factory=ClockCounts)
    resolution: ClockCounts = field(default_factory=ClockCounts)


@dataclass(slots=True)
class Breach:
    number: int
    title: str
    priority: str
    clock: str  # response | resolution
    created_at: datetime
    due_at: datetime
    done_at: datetime | None  # None: still open past due


@dataclass
class Satisfaction:
    label: str
    scores: list[int]  # count of 1..5

    @property
    def responses(self) -> int:
        return sum(self.scores)

    @property
    def mean(self) -> float | None:
        n = self.responses
        return None if n == 0 else sum((k + 1) * c for k, c in enumerate(self.scores)) / n

    @property
    def csat(self) -> float | None:
        n = self.responses
        return None if n == 0 else 100.0 * (self.scores[3] + self.scores[4]) / n


@dataclass
class AllotmentLine:
    contract: str
    organisation: str
    plan: str
    priority: str
    used: int | None
    allotted: int | None
    percent: float | None
    over: bool
    streak: int
    flagged: bool
    history: list[int | None] = field(default_factory=list)  # used, oldest month first


@dataclass
class AgentLine:
    agent: str
    name: str
    figures: AgentFigures
    time: AgentTime
    pauses: dict[str, float]  # reason → seconds


@dataclass
class ServiceReport:
    year: int
    month: int
    timezone: str
    start: datetime
    end: datetime
    as_of: datetime
    scope: Scope
    edition: Edition
    calls_source: str
    overall_formula: str
    queues: list[QueueLine]
    overall: Figures
    by_day: dict[date, Figures]
    by_hour: dict[int, Figures]
    heat: dict[tuple[date, int], int]  # (local day, hour) → offered
    headline: Headline
    previous: Headline
    incidents: dict[str, dict[str, int]]  # measure → priority → n
    incidents_by_channel: dict[str, dict[str, int]]  # channel → priority → opened
    sla: list[SlaLine]
    breaches: list[Breach]
    satisfaction: list[Satisfaction]
    allotments: list[AllotmentLine]
    excess_months: list[tuple[int, int]]
    agents: list[AgentLine] = field(default_factory=list)
    staffing: StaffingPlan | None = None

    @property
    def month_label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def satisfaction_total(self) -> Satisfaction:
        return next(s for s in self.satisfaction if s.label == "")

    def abandon_causes(self) -> dict[str, int]:
        f = self.overall
        return {
            "abandoned_long": f.abandoned - f.short_abandoned,
            "short_abandoned": f.short_abandoned,
            **{o: getattr(f, o) for o in EXIT_OUTCOMES if o != "abandoned"},
            "join_empty": f.join_empty,
        }


# --- calls ----------------------------------------------------------------------------


def _common_formula(formulas: Iterable[str]) -> str:
    """The formula of merged queues: theirs when they share one, else ``answered``
    (see `definitions.total`); the definitions page says which applied."""
    found = set(formulas)
    return found.pop() if len(found) == 1 else "answered"


def _call_figures(
    session: Session,
    cfg: CentralitaConfig,
    scope: Scope,
    start: datetime,
    end: datetime,
    calls: Iterable[QueueCall] | None,
) -> dict[tuple[str, int], Figures]:
    rules_for = aggregate.rules_from_config(cfg)
    if calls is not None:
        return slot_figures_from_calls(calls, rules_for, start.timestamp(), end.timestamp())
    return slot_figures(
        session, CallScope(start, end, scope.organisation_id), rules_for, configured_queues(cfg)
    )


class _Local:
    """UTC 15-minute slot → local datetime, converted once per slot."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.cache: dict[int, datetime] = {}

    def __call__(self, slot: int) -> datetime:
        hit = self.cache.get(slot)
        if hit is None:
            hit = self.cache[slot] = datetime.fromtimestamp(slot * 900, UTC).astimezone(self.tz)
        return hit


# --- incidents ------------------------------------------------------------------------


def _incident_scope(scope: Scope) -> list[Any]:
    if scope.contract_id is not None:
        return [Incident.contract_id == scope.contract_id]
    if scope.organisation_id is not None:
        return [Incident.organisation_id == scope.organisation_id]
    return []


def _counts_by_priority(
    session: Session, column: Any, start: datetime, end: datetime, where: list[Any]
) -> dict[str, int]:
    rows = session.execute(
        select(Incident.priority, func.count())
        .where(column >= start, column < end, *where)
        .group_by(Incident.priority)
    ).all()
    return {p: int(n) for p, n in rows}


# (priority, channel, stored without due times, response state, resolution state, n)
OpenedGroup = tuple[str, str, int, str, str, int]


def opened_groups(
    session: Session,
    cfg: CentralitaConfig,
    scope: Scope,
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> list[OpenedGroup]:
    """The month's opened incidents grouped by priority, channel and both clocks' states:
    one pass over them serves the opened counts, the channels and the SLA table."""
    clocked = [p for p in PRIORITIES if cfg.sla.priorities[p].calendar is not None]
    both_missing = and_(Incident.response_due_at.is_(None), Incident.resolution_due_at.is_(None))
    legacy = case((and_(both_missing, Incident.priority.in_(clocked)), 1), else_=0)
    resp = _clock_state_sql(Incident.first_response_at, Incident.response_due_at, as_of)
    reso = _clock_state_sql(Incident.resolved_at, Incident.resolution_due_at, as_of)
    stmt = (
        select(Incident.priority, Incident.channel, legacy, resp, reso, func.count())
        .where(Incident.created_at >= start, Incident.created_at < end, *_incident_scope(scope))
        .group_by(Incident.priority, Incident.channel, legacy, resp, reso)
    )
    return [
        (p, ch, int(lg), rs, ss, int(n))
        for p, ch, lg, rs, ss, n in session.connection().execute(stmt)
    ]


def incident_counts(
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    groups: list[OpenedGroup] | None = None,
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """opened / resolved / closed / reopened per priority, and opened per channel
    (the opened ones from `groups` when given)."""
    where = _incident_scope(scope)
    out = {
        "opened": {}
        if groups is not None
        else _counts_by_priority(session, Incident.created_at, start, end, where),
        "resolved": _counts_by_priority(session, Incident.resolved_at, start, end, where),
        "closed": _counts_by_priority(session, Incident.closed_at, start, end, where),
    }
    reopened = session.execute(
        select(Incident.priority, func.count())
        .join(IncidentEvent, IncidentEvent.incident_id == Incident.id)
        .where(
            IncidentEvent.kind == "reopened",
            IncidentEvent.at >= start,
            IncidentEvent.at < end,
            *where,
        )
        .group_by(Incident.priority)
    ).all()
    out["reopened"] = {p: int(n) for p, n in reopened}
    channels: dict[str, dict[str, int]] = {c: {} for c in CHANNELS}
    if groups is not None:
        opened = out["opened"]
        for priority, channel, _legacy, _rs, _ss, n in groups:
            opened[priority] = opened.get(priority, 0) + n
            per = channels.setdefault(channel, {})
            per[priority] = per.get(priority, 0) + n
        return out, channels
    for channel, priority, n in session.execute(
        select(Incident.channel, Incident.priority, func.count())
        .where(Incident.created_at >= start, Incident.created_at < end, *where)
        .group_by(Incident.channel, Incident.priority)
    ):
        channels.setdefault(channel, {})[priority] = int(n)
    return out, channels


def _clock_state_sql(done: Any, due: Any, as_of: datetime) -> Any:
    """`sla.clock_state` without the at-risk split (pending = on_track or at_risk)."""
    return case(
        (due.is_(None), "none"),
        (and_(done.is_not(None), done <= due), "met"),
        (done.is_not(None), "breached"),
        (due < as_of, "breached"),
        else_="pending",
    )


def sla_lines(
    session: Session,
    cfg: CentralitaConfig,
    scope: Scope,
    start: datetime,
    end: datetime,
    as_of: datetime,
    groups: list[OpenedGroup] | None = None,
) -> list[SlaLine]:
    """Both clocks of the incidents opened in the month, per priority, judged at `as_of`
    against the due times stored on each incident (fixed when it was opened);
    `groups`: `opened_groups` of the same month, already counted."""
    lines = {
        p: SlaLine(
            p,
            0,
            cfg.sla.priorities[p].response_minutes,
            cfg.sla.priorities[p].resolution_minutes,
            cfg.sla.priorities[p].calendar,
        )
        for p in PRIORITIES
    }
    clocked = [p for p in PRIORITIES if cfg.sla.priorities[p].calendar is not None]
    where = [Incident.created_at >= start, Incident.created_at < end, *_incident_scope(scope)]
    both_missing = and_(Incident.response_due_at.is_(None), Incident.resolution_due_at.is_(None))
    if groups is None:
        groups = opened_groups(session, cfg, scope, start, end, as_of)
    for priority, _channel, legacy, rs, ss, n in groups:
        if legacy:
            continue  # below
        line = lines[priority]
        line.incidents += int(n)
        if priority not in clocked:
            rs = ss = "none"
        line.response.add(rs, int(n))
        line.resolution.add(ss, int(n))
    if not any(g[2] for g in groups):
        return [lines[p] for p in PRIORITIES]
    # incidents stored without due times: computed from the policy, as the panel does
    for priority, created, responded, resolved in session.execute(
        select(
            Incident.priority,
            Incident.created_at,
            Incident.first_response_at,
            Incident.resolved_at,
        ).where(*where, both_missing, Incident.priority.in_(clocked))
    ):
        status = sla_status_for(cfg, priority, created, responded, resolved, as_of)
        line = lines[priority]
        line.incidents += 1
        line.response.add(status.response_state)
        line.resolution.add(status.resolution_state)
    return [lines[p] for p in PRIORITIES]


def _times(session: Session) -> Callable[[Any], Any]:
    """A datetime column as something cheap to read: SQLite's stored text (parsed by
    `datetime.fromisoformat`, ten times faster than the generic processor), else the
    driver's own datetimes (`_as_utc` makes either aware UTC)."""
    if session.get_bind().dialect.name != "sqlite":
        # the driver's aware datetimes, without the UtcDateTime processor per value
        return lambda column: type_coerce(column, DateTime(timezone=True))
    return lambda column: type_coerce(column, String)


def _as_utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite's naive UTC text; the suffix is cheaper than replace()
        return datetime.fromisoformat(value + "+00:00")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def breaches(
    session: Session,
    cfg: CentralitaConfig,
    scope: Scope,
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> list[Breach]:
    """Every clock breached among the incidents opened in the month (stored due times)."""
    clocked = [p for p in PRIORITIES if cfg.sla.priorities[p].calendar is not None]
    where = [
        Incident.created_at >= start,
        Incident.created_at < end,
        Incident.priority.in_(clocked),
        *_incident_scope(scope),
    ]
    clocks = (
        ("response", Incident.first_response_at, Incident.response_due_at),
        ("resolution", Incident.resolved_at, Incident.resolution_due_at),
    )
    late = [
        (due.is_not(None)) & ((done.is_not(None) & (done > due)) | (done.is_(None) & (due < as_of)))
        for _clock, done, due in clocks
    ]
    # one pass over the month's incidents, in the list's order; the database judges
    # each clock, and times are read as text on SQLite (see `_times`)
    times = _times(session)
    out: list[Breach] = []
    for (
        number,
        title,
        priority,
        created,
        r_late,
        r_due,
        r_done,
        s_late,
        s_due,
        s_done,
    ) in session.connection().execute(
        select(
            Incident.number,
            Incident.title,
            Incident.priority,
            times(Incident.created_at),
            *(
                c
                for (_clock, done, due), is_late in zip(clocks, late, strict=True)
                for c in (case((is_late, 1), else_=0), times(due), times(done))
            ),
        )
        .where(*where, or_(*late))
        .order_by(Incident.created_at, Incident.number)
    ):
        created = _as_utc(created)
        if r_late:
            out.append(
                Breach(
                    number, title, priority, "response", created, _as_utc(r_due), _as_utc(r_done)
                )
            )
        if s_late:
            out.append(
                Breach(
                    number, title, priority, "resolution", created, _as_utc(s_due), _as_utc(s_done)
                )
            )
    return out


# --- satisfaction, contracts ------------------------------------------------------------


def satisfaction(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> list[Satisfaction]:
    """Survey scores 1–5 of calls started in the month, per queue and in total ("")."""
    where = [Call.started_at >= start, Call.started_at < end, Call.satisfaction.between(1, 5)]
    query = select(Call.queue, Call.satisfaction, func.count())
    if scope.organisation_id is not None:
        # from its contacts (ix_call_contact_started), not every call of the month
        query = query.join(Contact, Contact.id == Call.contact_id)
        where.append(Contact.organisation_id == scope.organisation_id)
    per: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    total = [0] * 5
    counted = None if scope.organisation_id is not None else survey_counts(session, start, end)
    if counted is None:
        counted = session.execute(query.where(*where).group_by(Call.queue, Call.satisfaction)).all()
    for queue, score, n in counted:
        per[queue or "(no queue)"][score - 1] += int(n)
        total[score - 1] += int(n)
    return [Satisfaction(q, per[q]) for q in sorted(per)] + [Satisfaction("", total)]


def _month_back(year: int, month: int, n: int) -> tuple[int, int]:
    m = year * 12 + month - 1 - n
    return m // 12, m % 12 + 1


def allotments(
    session: Session, cfg: CentralitaConfig, scope: Scope, year: int, month: int
) -> tuple[list[AllotmentLine], list[tuple[int, int]]]:
    """Per active contract and priority: used vs allotted this month, the excess rule's run."""
    tz = ZoneInfo(cfg.service.timezone)
    rule = cfg.contracts.excess
    months = [
        _month_back(year, month, k) for k in range(max(3, rule.consecutive_months) - 1, -1, -1)
    ]
    start, end = contracts_mod.month_bounds(year, month, tz)
    q = (
        select(Contract.id, Contract.number, Contract.plan, Organisation.name)
        .join(Organisation, Organisation.id == Contract.organisation_id)
        .where(Contract.starts_on < end, (Contract.ends_on.is_(None)) | (Contract.ends_on >= start))
        .order_by(Contract.number)
    )
    if scope.contract_id is not None:
        q = q.where(Contract.id == scope.contract_id)
    elif scope.organisation_id is not None:
        q = q.where(Contract.organisation_id == scope.organisation_id)
    active = session.execute(q).all()
    ids = [row[0] for row in active]
    used: dict[tuple[int, int], dict[int, dict[str, int]]] = {}
    for ym in months:
        a, b = contracts_mod.month_bounds(*ym, tz)
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        if ids:
            for cid, priority, n in session.execute(
                select(Incident.contract_id, Incident.priority, func.count())
                .where(
                    Incident.contract_id.in_(ids), Incident.created_at >= a, Incident.created_at < b
                )
                .group_by(Incident.contract_id, Incident.priority)
            ):
                counts[cid][priority] = int(n)
        used[ym] = counts
    out: list[AllotmentLine] = []
    for cid, number, plan_name, org in active:
        plan = cfg.contracts.plans.get(plan_name)
        if plan is None:
            out.append(AllotmentLine(number, org, plan_name, "", None, None, None, False, 0, False))
            continue
        history = {
            ym: {
                p: contracts_mod.AllotmentUsage(
                    p, used[ym].get(cid, {}).get(p, 0), plan.allotments.get(p, 0)
                )
                for p in PRIORITIES
            }
            for ym in months
        }
        status = contracts_mod.excess_months(cfg, history, latest=(year, month))
        for p in PRIORITIES:
            usage = history[(year, month)][p]
            if usage.allotted == 0 and usage.used == 0:
                continue
            out.append(
                AllotmentLine(
                    number,
                    org,
                    plan_name,
                    p,
                    usage.used,
                    usage.allotted,
                    usage.percent,
                    usage.exceeds(rule.percent_over),
                    status.streaks[p],
                    status.streaks[p] >= rule.consecutive_months,
                    [history[ym][p].used for ym in months],
                )
            )
    return out, months


# --- agents -----------------------------------------------------------------------------


def pauses_by_reason(
    session: Session, start: datetime, end: datetime, as_of: datetime
) -> dict[str, dict[str, float]]:
    """agent → pause reason → seconds paused in [start, end) (a pause runs to its
    unpause or logout; the reason is the one given when the pause began)."""
    s, until = start.timestamp(), min(end, as_of).timestamp()
    rows = session.execute(
        select(
            AgentStateChange.agent_login,
            AgentStateChange.at,
            AgentStateChange.kind,
            AgentStateChange.reason,
        )
        .where(
            AgentStateChange.at < end,
            AgentStateChange.at >= start - timedelta(days=1),
            AgentStateChange.kind.in_(("pause", "unpause", "logout")),
        )
        .order_by(AgentStateChange.agent_login, AgentStateChange.at)
    ).all()
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    open_at: dict[str, tuple[float, str]] = {}
    for login, at, kind, reason in rows:
        t = at.timestamp()
        if kind == "pause":
            if login not in open_at:
                open_at[login] = (t, reason or "")
            continue
        began = open_at.pop(login, None)
        if began is not None:
            a, b = max(began[0], s), min(t, until)
            if b > a:
                out[login][began[1]] += b - a
    for login, (t, reason) in open_at.items():
        a = max(t, s)
        if until > a:
            out[login][reason] += until - a
    return {k: dict(v) for k, v in out.items()}


def agent_lines(
    session: Session,
    cfg: CentralitaConfig,
    scope: Scope,
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> list[AgentLine]:
    rules_for = aggregate.rules_from_config(cfg)
    figs = agent_figures(
        session, CallScope(start, end, scope.organisation_id), rules_for, configured_queues(cfg)
    )
    times = agent_times(session, start, end, as_of)
    pauses = pauses_by_reason(session, start, end, as_of)
    names = {a.login: a.name for a in cfg.agents}
    out: list[AgentLine] = []
    for login in sorted((set(figs) | set(times)) - {""}):
        f = figs.get(login) or AgentFigures(login)
        t = times.get(login) or AgentTime(login)
        t.talk_s = f.talk_total
        out.append(AgentLine(login, names.get(login, login), f, t, pauses.get(login, {})))
    return out


# --- the report -------------------------------------------------------------------------


def _headline(overall: Figures, opened: int, sla: list[SlaLine], sat: Satisfaction) -> Headline:
    resp, reso = ClockCounts(), ClockCounts()
    for line in sla:
        for name in CLOCK_STATES:
            setattr(resp, name, getattr(resp, name) + getattr(line.response, name))
            setattr(reso, name, getattr(reso, name) + getattr(line.resolution, name))
    return Headline(
        offered=overall.offered,
        answered=overall.answered,
        service_level=overall.service_level,
        abandon_rate=overall.abandon_rate,
        asa=overall.asa,
        aht=overall.aht,
        incidents_opened=opened,
        response_compliance=resp.compliance,
        resolution_compliance=reso.compliance,
        csat=sat.csat,
    )


def _regroup(
    groups: dict[Any, Figures], key: Callable[[Any], Any], formula_for: Callable[[Any], str]
) -> dict[Any, Figures]:
    out: dict[Any, Figures] = {}
    for k, fig in groups.items():
        g = key(k)
        acc = out.get(g)
        if acc is None:
            acc = out[g] = Figures(sl_formula=formula_for(g))
        acc.add(fig)
    return out


def _overall(slots: dict[tuple[str, int], Figures], formula: str) -> Figures:
    out = Figures(sl_formula=formula)
    for f in slots.values():
        out.add(f)
    return out


def previous_headline(
    session: Session,
    cfg: CentralitaConfig,
    scope: Scope,
    year: int,
    month: int,
    as_of: datetime,
    calls: list[QueueCall] | None = None,
) -> Headline:
    """The same key figures for the month before (judged at the same `as_of`)."""
    tz = ZoneInfo(cfg.service.timezone)
    py, pm = _month_back(year, month, 1)
    start, end = contracts_mod.month_bounds(py, pm, tz)
    slots = _call_figures(session, cfg, scope, start, end, calls)
    formula = _common_formula(f.sl_formula for f in slots.values())
    sla = sla_lines(session, cfg, scope, start, end, as_of)
    return _headline(
        _overall(slots, formula),
        sum(s.incidents for s in sla),
        sla,
        satisfaction(session, scope, start, end)[-1],
    )


REPORT_WORK_MEM = "64MB"


def _report_memory(session: Session) -> None:
    """On PostgreSQL, let this transaction's sorts and hash aggregates use 64 MB: with
    the server's default 4 MB a month's 100,000 incidents or 23,000 summary slots spill
    to disk (measured: 108 and 100 ms of a 0.93 s report). SET LOCAL: it ends with the
    report's transaction, and a report runs rarely, one at a time per worker."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))


def build(
    session: Session,
    cfg: CentralitaConfig,
    year: int,
    month: int,
    *,
    scope: Scope | None = None,
    edition: Edition = "client",
    as_of: datetime | None = None,
    calls: Iterable[QueueCall] | None = None,
    calls_source: str = "call records",
) -> ServiceReport:
    """The month's service report; `calls` (e.g. from queue_log) replaces the call records."""
    _report_memory(session)
    scope = scope or Scope()
    calls = None if calls is None else list(calls)
    tz = ZoneInfo(cfg.service.timezone)
    start, end = contracts_mod.month_bounds(year, month, tz)
    as_of = as_of or datetime.now(UTC)
    rules_for = aggregate.rules_from_config(cfg)
    settings_for = aggregate.settings_from_config(cfg)
    slots = _call_figures(session, cfg, scope, start, end, calls)
    local = _Local(tz)
    # slots → (queue, local day, local hour) once; every other grouping merges those
    hourly = merge(
        slots,
        lambda q, s: (q, local(s).date(), local(s).hour),
        lambda k: rules_for(k[0]).sl_formula,
    )
    per_queue = _regroup(hourly, lambda k: k[0], lambda q: rules_for(q).sl_formula)
    formula = _common_formula(f.sl_formula for f in per_queue.values())
    by_day = _regroup(hourly, lambda k: k[1], lambda _k: formula)
    by_hour = _regroup(hourly, lambda k: k[2], lambda _k: formula)
    heat: dict[tuple[date, int], int] = defaultdict(int)
    for (_q, day, hour), f in hourly.items():
        heat[(day, hour)] += f.offered
    overall = _overall({(q, 0): f for q, f in per_queue.items()}, formula)
    queues = [
        QueueLine(
            q,
            rules_for(q),
            f,
            settings_for(q).wallboard.sl_warn_percent,
        )
        for q, f in sorted(per_queue.items())
    ]
    groups = opened_groups(session, cfg, scope, start, end, as_of)
    counts, channels = incident_counts(session, scope, start, end, groups)
    sla = sla_lines(session, cfg, scope, start, end, as_of, groups)
    sat = satisfaction(session, scope, start, end)
    allot, months = allotments(session, cfg, scope, year, month)
    report = ServiceReport(
        year=year,
        month=month,
        timezone=str(tz),
        start=start,
        end=end,
        as_of=as_of,
        scope=scope,
        edition=edition,
        calls_source=calls_source,
        overall_formula=formula,
        queues=queues,
        overall=overall,
        by_day=dict(sorted(by_day.items())),
        by_hour=dict(sorted(by_hour.items())),
        heat=dict(heat),
        headline=_headline(overall, sum(s.incidents for s in sla), sla, sat[-1]),
        previous=previous_headline(session, cfg, scope, year, month, as_of, calls),
        incidents=counts,
        incidents_by_channel=channels,
        sla=sla,
        breaches=breaches(session, cfg, scope, start, end, as_of),
        satisfaction=sat,
        allotments=allot,
        excess_months=months,
    )
    if edition == "internal":
        report.agents = agent_lines(session, cfg, scope, start, end, as_of)
        # the desk's own calls for this month are counted already unless scoped or replaced
        reuse = slots if scope.organisation_id is None and calls is None else None
        report.staffing = history_plan_for_month(session, cfg, year, month, reuse)
    return report
