"""The interval report and the monthly report, as tables rendered to text, CSV or JSON.

A report is data first (`Report` of `Table`s of plain values) so the CLI, the
panel and the tests read the same figures; rendering is a separate step.

Monthly report sections (the month is the local calendar month of the service
time zone):
* **calls**: per queue and in total, over calls that entered a queue in the month;
* **agents**: per agent, the calls they answered, logged-in and paused hours and
  occupancy (talk ÷ logged-in-and-not-paused time);
* **sla**: incidents *created* in the month, per priority, each clock judged at
  `as_of` (default: now) with `servicedesk.sla`: met, breached (late, or still
  open past due), pending (open, not yet due), no clock; compliance % =
  met ÷ (met + breached);
* **satisfaction**: survey scores (Call.satisfaction, 1–5) of calls started in
  the month: responses, mean, CSAT % = scores 4–5 ÷ responses, per queue;
* **contracts**: per contract active in the month and priority: tickets used vs
  allotted (`servicedesk.contracts`), over the excess threshold this month,
  and the excess rule's run of consecutive months.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from callstats import aggregate, erlang
from callstats.agent_time import AgentTime, agent_times
from callstats.definitions import Figures, QueueCall, total
from callstats.records import load_calls
from servicedesk import contracts as contracts_mod
from servicedesk.config import PRIORITIES, CentralitaConfig, QueueSettings
from servicedesk.models import Call, Contract, Incident, Organisation
from servicedesk.sla import sla_status_for

Cell = str | int | float | None


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    def records(self) -> list[dict[str, Cell]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class Report:
    kind: str
    title: str
    period: dict[str, str]
    tables: list[Table]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "title": self.title,
            "period": self.period,
            "tables": {t.key: t.records() for t in self.tables},
        }


# --- rendering ---------------------------------------------------------------------


_CONTROL = {c: "?" for c in [*range(0x00, 0x20), 0x7F]}


def _fmt(value: Cell) -> str:
    """A cell for the terminal: control characters (escape sequences) neutralised."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).translate(_CONTROL)


def _csv_cell(value: Cell) -> Cell:
    """Spreadsheets run cells starting with = + - @ as formulas: quote such text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_text(report: Report) -> str:
    out = [report.title, "=" * len(report.title)]
    out.append("  ".join(f"{k}: {v}" for k, v in report.period.items()))
    for t in report.tables:
        out += ["", t.title, "-" * len(t.title)]
        cells = [t.columns] + [[_fmt(v) for v in row] for row in t.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(t.columns))]
        for n, row in enumerate(cells):
            out.append(
                "  ".join(
                    c.ljust(w) if i == 0 or n == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                ).rstrip()
            )
        if not t.rows:
            out.append("(none)")
    return "\n".join(out) + "\n"


def to_csv(report: Report) -> str:
    """One CSV: each table's header row then its rows, the first column naming the table."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, t in enumerate(report.tables):
        if i:
            w.writerow([])
        w.writerow(["section", *t.columns])
        for row in t.rows:
            w.writerow([t.key, *(_csv_cell(v) for v in row)])
    return buf.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)


RENDERERS: dict[str, Callable[[Report], str]] = {"text": to_text, "csv": to_csv, "json": to_json}


# --- call tables ----------------------------------------------------------------------

CALL_COLUMNS = [
    "offered",
    "answered",
    "answered_within_sl",
    "abandoned",
    "short_abandoned",
    "timeout",
    "exit_empty",
    "exit_key",
    "withdraw",
    "join_empty",
    "sl_percent",
    "sl_formula",
    "asa_s",
    "aht_s",
    "longest_wait_s",
    "abandon_percent",
]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def call_cells(f: Figures) -> list[Cell]:
    return [
        f.offered,
        f.answered,
        f.answered_within_sl,
        f.abandoned,
        f.short_abandoned,
        f.timeout,
        f.exit_empty,
        f.exit_key,
        f.withdraw,
        f.join_empty,
        _r(f.service_level),
        f.sl_formula,
        _r(f.asa),
        _r(f.aht),
        f.longest_wait,
        _r(f.abandon_rate),
    ]


def queue_table(per_queue: dict[str, Figures], title: str = "Calls per queue") -> Table:
    t = Table("calls", title, ["queue", *CALL_COLUMNS])
    for queue, f in per_queue.items():
        t.rows.append([queue or "(unknown)", *call_cells(f)])
    t.rows.append(["TOTAL", *call_cells(total(per_queue.values()))])
    return t


def agent_table(
    calls: Iterable[QueueCall],
    rules_for: aggregate.RulesFor,
    times: dict[str, AgentTime] | None = None,
) -> Table:
    """Per agent: answered calls, AHT/ASA, rings not answered; with `times`, also
    logged-in and paused hours and occupancy (see `callstats.agent_time`)."""
    cols = [
        "agent",
        "answered",
        "answered_within_sl",
        "transferred",
        "aht_s",
        "asa_s",
        "ring_noanswer",
    ]
    if times is not None:
        cols += ["logged_in_h", "paused_h", "occupancy_percent"]
    t = Table("agents", "Calls per agent", cols)
    per_agent = aggregate.by_agent(calls, rules_for)
    names = sorted(set(per_agent) | set(times or {}))
    for agent in names:
        a = per_agent.get(agent) or aggregate.AgentFigures(agent)
        row: list[Cell] = [
            agent,
            a.answered,
            a.answered_within_sl,
            a.transferred,
            _r(a.aht),
            _r(a.asa),
            a.ring_noanswer,
        ]
        if times is not None:
            at = times.get(agent) or AgentTime(agent, talk_s=a.talk_total)
            at.talk_s = a.talk_total
            row += [round(at.logged_in_s / 3600, 2), round(at.paused_s / 3600, 2), _r(at.occupancy)]
        t.rows.append(row)
    return t


def _zone(cfg: CentralitaConfig) -> ZoneInfo:
    return ZoneInfo(cfg.service.timezone)


def interval_report(
    cfg: CentralitaConfig,
    calls: Iterable[QueueCall],
    start: datetime,
    end: datetime,
    minutes: int = 30,
    source: str = "records",
) -> Report:
    """Per queue per interval over calls that entered a queue in [start, end)."""
    tz = _zone(cfg)
    rules_for = aggregate.rules_from_config(cfg)
    chosen = aggregate.in_range(calls, start.timestamp(), end.timestamp())
    per_interval = aggregate.by_interval(chosen, rules_for, minutes, tz)
    t = Table(
        "intervals",
        f"Calls per queue per {minutes}-minute interval",
        ["interval", "queue", *CALL_COLUMNS, "erlang_agents"],
    )
    settings_for = aggregate.settings_from_config(cfg)
    for (queue, begin), f in per_interval.items():
        agents = erlang_agents(f, settings_for(queue), minutes)
        t.rows.append([begin.isoformat(), queue or "(unknown)", *call_cells(f), agents])
    per_queue = aggregate.by_queue(chosen, rules_for)
    return Report(
        "interval",
        f"{cfg.service.name}: interval report",
        _period(start, end, tz, source, interval_minutes=str(minutes)),
        [t, queue_table(per_queue, "Totals per queue")],
    )


def erlang_agents(f: Figures, settings: QueueSettings, minutes: int) -> int | None:
    """Erlang C agents the interval's traffic needed to meet the queue's SL target.

    Arrivals = offered calls over the interval; handle time = measured AHT
    (talk) + the queue's wrapuptime; target = the wallboard's warning level
    (`sl_warn_percent`) within `servicelevel` seconds. None without a measured AHT.
    """
    if f.offered == 0:
        return 0
    aht = f.aht
    target = settings.wallboard.sl_warn_percent / 100.0
    if aht is None or not 0 < target < 1:
        return None
    handle = aht + settings.wrapuptime
    if handle <= 0:
        return None
    per_hour = f.offered * 60.0 / minutes
    return erlang.agents_needed(
        per_hour, handle, target_sl=target, target_seconds=settings.servicelevel
    ).agents


def _period(
    start: datetime, end: datetime, tz: tzinfo, source: str, **extra: str
) -> dict[str, str]:
    return {
        "from": start.astimezone(tz).isoformat(),
        "to": end.astimezone(tz).isoformat(),
        "timezone": str(tz),
        "calls_source": source,
        **extra,
    }


# --- monthly sections -----------------------------------------------------------------


SLA_STATES = ("met", "breached", "pending", "none")


def sla_table(
    session: Session, cfg: CentralitaConfig, start: datetime, end: datetime, as_of: datetime
) -> Table:
    counts = {
        p: {"response": dict.fromkeys(SLA_STATES, 0), "resolution": dict.fromkeys(SLA_STATES, 0)}
        for p in PRIORITIES
    }
    opened = dict.fromkeys(PRIORITIES, 0)
    rows = session.execute(
        select(
            Incident.priority,
            Incident.created_at,
            Incident.first_response_at,
            Incident.resolved_at,
            Incident.response_due_at,
            Incident.resolution_due_at,
        ).where(Incident.created_at >= start, Incident.created_at < end)
    ).all()
    for priority, created, responded, resolved, resp_due, res_due in rows:
        status = sla_status_for(
            cfg,
            priority,
            created,
            responded,
            resolved,
            as_of,
            response_due=resp_due,
            resolution_due=res_due,
        )
        opened[priority] += 1
        for clock, state in (
            ("response", status.response_state),
            ("resolution", status.resolution_state),
        ):
            bucket = "pending" if state in ("on_track", "at_risk") else state
            counts[priority][clock][bucket] += 1
    cols = ["priority", "incidents"]
    for clock in ("response", "resolution"):
        cols += [f"{clock}_{s}" for s in SLA_STATES] + [f"{clock}_compliance_percent"]
    t = Table("sla", "SLA compliance of incidents opened in the month", cols)
    grand = {"response": dict.fromkeys(SLA_STATES, 0), "resolution": dict.fromkeys(SLA_STATES, 0)}
    for p in PRIORITIES:
        row: list[Cell] = [p, opened[p]]
        for clock in ("response", "resolution"):
            c = counts[p][clock]
            for s in SLA_STATES:
                grand[clock][s] += c[s]
            row += [c[s] for s in SLA_STATES] + [_compliance(c)]
        t.rows.append(row)
    row = ["TOTAL", sum(opened.values())]
    for clock in ("response", "resolution"):
        row += [grand[clock][s] for s in SLA_STATES] + [_compliance(grand[clock])]
    t.rows.append(row)
    return t


def _compliance(c: dict[str, int]) -> float | None:
    judged = c["met"] + c["breached"]
    return None if judged == 0 else round(100.0 * c["met"] / judged, 1)


def satisfaction_table(session: Session, start: datetime, end: datetime) -> Table:
    rows = session.execute(
        select(Call.queue, Call.satisfaction).where(
            Call.started_at >= start, Call.started_at < end, Call.satisfaction.is_not(None)
        )
    ).all()
    per: dict[str, list[int]] = {}
    for queue, score in rows:
        if 1 <= score <= 5:
            per.setdefault(queue or "(no queue)", []).append(score)
    t = Table(
        "satisfaction",
        "Caller satisfaction (survey 1-5)",
        ["queue", "responses", "mean", "csat_percent", "s1", "s2", "s3", "s4", "s5"],
    )
    everything: list[int] = []
    for queue in sorted(per):
        everything += per[queue]
        t.rows.append(_satisfaction_row(queue, per[queue]))
    t.rows.append(_satisfaction_row("TOTAL", everything))
    return t


def _satisfaction_row(label: str, scores: Sequence[int]) -> list[Cell]:
    n = len(scores)
    return [
        label,
        n,
        None if n == 0 else round(sum(scores) / n, 2),
        None if n == 0 else round(100.0 * sum(s >= 4 for s in scores) / n, 1),
        *(sum(s == k for s in scores) for k in range(1, 6)),
    ]


def _months_back(year: int, month: int, n: int) -> list[tuple[int, int]]:
    out = []
    for _ in range(n):
        out.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def contracts_table(
    session: Session, cfg: CentralitaConfig, year: int, month: int, start: datetime, end: datetime
) -> Table:
    rule = cfg.contracts.excess
    t = Table(
        "contracts",
        f"Contract allotments (excess: > {rule.percent_over:g} % over for {rule.consecutive_months} months)",
        [
            "contract",
            "organisation",
            "plan",
            "priority",
            "used",
            "allotted",
            "percent",
            "over",
            "streak",
            "flagged",
        ],
    )
    active = session.execute(
        select(Contract.id, Contract.number, Contract.plan, Organisation.name)
        .join(Organisation, Organisation.id == Contract.organisation_id)
        .where(Contract.starts_on < end, (Contract.ends_on.is_(None)) | (Contract.ends_on >= start))
        .order_by(Contract.number)
    ).all()
    for cid, number, plan, org in active:
        if plan not in cfg.contracts.plans:
            t.rows.append([number, org, plan, "(unknown plan)", None, None, None, None, None, None])
            continue
        history = {
            ym: contracts_mod.usage_for_contract(session, cfg, cid, *ym)
            for ym in _months_back(year, month, rule.consecutive_months)
        }
        status = contracts_mod.excess_months(cfg, history, latest=(year, month))
        for p, usage in history[(year, month)].items():
            t.rows.append(
                [
                    number,
                    org,
                    plan,
                    p,
                    usage.used,
                    usage.allotted,
                    _r(usage.percent),
                    "yes" if usage.exceeds(rule.percent_over) else "no",
                    status.streaks[p],
                    "yes" if status.streaks[p] >= rule.consecutive_months else "no",
                ]
            )
    return t


def parse_month(text: str) -> tuple[int, int]:
    """'YYYY-MM' → (year, month), with a clear error."""
    try:
        y, m = text.split("-")
        year, month = int(y), int(m)
    except ValueError:
        raise ValueError(f"month must be YYYY-MM (got {text!r})") from None
    if not 1 <= month <= 12:
        raise ValueError(f"month must be YYYY-MM (got {text!r})")
    return year, month


def monthly_report(
    session: Session,
    cfg: CentralitaConfig,
    year: int,
    month: int,
    *,
    calls: Iterable[QueueCall] | None = None,
    as_of: datetime | None = None,
    source: str = "records",
) -> Report:
    """The month's report; `calls` overrides the call records (e.g. from queue_log)."""
    tz = _zone(cfg)
    start, end = contracts_mod.month_bounds(year, month, tz)
    as_of = as_of or datetime.now(UTC)
    if calls is None:
        chosen = load_calls(session, start, end)
    else:
        chosen = aggregate.in_range(calls, start.timestamp(), end.timestamp())
    rules_for = aggregate.rules_from_config(cfg)
    per_queue = aggregate.by_queue(chosen, rules_for)
    return Report(
        "monthly",
        f"{cfg.service.name}: monthly report {year:04d}-{month:02d}",
        _period(start, end, tz, source, sla_as_of=as_of.astimezone(tz).isoformat()),
        [
            queue_table(per_queue),
            agent_table(chosen, rules_for, agent_times(session, start, end, as_of)),
            sla_table(session, cfg, start, end, as_of),
            satisfaction_table(session, start, end),
            contracts_table(session, cfg, year, month, start, end),
            calling_table(session, start, end),
        ],
    )


def calling_table(session: Session, start: datetime, end: datetime) -> Table:
    """Closures verified by phone and outbound calls (definitions in callstats.calling_report)."""
    from callstats.calling_report import calling_rows

    return Table(
        "calling",
        "Verification by phone and outbound calls",
        ["figure", "count"],
        calling_rows(session, start, end),
    )
