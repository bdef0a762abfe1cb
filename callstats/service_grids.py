"""The service report as tables (`Grid`s) and page sections, before any format.

A `Grid` keeps raw values (numbers stay numbers) plus machine column names,
translated headers and how each column is shown; `sections` orders them with
their charts for HTML/PDF, `all_grids` (in `service_render`) takes them whole
for XLSX, CSV and JSON. Print-only limits (breaches, staffing intervals,
allotment bars) apply only when `for_print`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from callstats import charts
from callstats import definitions_text as defs
from callstats import report_text as rt
from callstats.definitions import Figures
from callstats.report_text import Lang
from callstats.service_report import ServiceReport
from servicedesk.config import PRIORITIES, CentralitaConfig

Value = str | int | float | None | datetime | date

# column kinds: how a raw value is shown and which XLSX number format it gets
FORMATS = {"int": "#,##0", "pct": "0.0", "sec": "0.0", "dec": "0.00", "h": "0.00", "text": "@"}


@dataclass
class Grid:
    key: str
    title: str
    columns: list[str]  # machine names (CSV, JSON)
    headers: list[str]  # words (HTML, PDF, XLSX)
    kinds: list[str]
    rows: list[list[Value]] = field(default_factory=list)
    total: bool = False  # the last row is a total
    note: str = ""


@dataclass
class Section:
    key: str
    title: str
    grids: list[Grid] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    intro: str = ""
    page_break: bool = True


def _r(v: float | None, digits: int = 1) -> float | None:
    return None if v is None else round(v, digits)


# --- grids --------------------------------------------------------------------------------

_CALL_COLS = [
    ("offered", "int"),
    ("answered", "int"),
    ("answered_within_sl", "int"),
    ("abandoned", "int"),
    ("short_abandoned", "int"),
    ("timeout", "int"),
    ("exit_empty", "int"),
    ("exit_key", "int"),
    ("withdraw", "int"),
    ("join_empty", "int"),
    ("sl_percent", "pct"),
    ("asa_s", "sec"),
    ("aht_s", "sec"),
    ("longest_wait_s", "int"),
    ("abandon_percent", "pct"),
]


def _call_values(f: Figures) -> list[Value]:
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
        _r(f.asa),
        _r(f.aht),
        f.longest_wait,
        _r(f.abandon_rate),
    ]


_VOLUME = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "timeout",
    "exit_empty",
    "exit_key",
    "withdraw",
    "join_empty",
)
_QUALITY = (
    "sl_formula",
    "threshold_s",
    "sl_target",
    "answered_within_sl",
    "sl_percent",
    "asa_s",
    "aht_s",
    "longest_wait_s",
    "abandon_percent",
)


def calls_grid(report: ServiceReport, lang: Lang) -> Grid:
    """Per queue and in total: every count, then the queue's SL rule and the ratios."""
    cols = [
        ("queue", "text"),
        *_CALL_COLS[:11],
        ("sl_formula", "text"),
        ("threshold_s", "int"),
        ("sl_target", "pct"),
        *_CALL_COLS[11:],
    ]
    g = Grid(
        "calls",
        rt.t("s_calls_queue", lang),
        [c for c, _ in cols],
        [rt.t(c, lang) for c, _ in cols],
        [k for _, k in cols],
        total=True,
    )
    for q in report.queues:
        v = _call_values(q.figures)
        g.rows.append(
            [
                q.queue or "—",
                *v[:11],
                q.rules.sl_formula,
                q.rules.servicelevel,
                q.target_percent,
                *v[11:],
            ]
        )
    v = _call_values(report.overall)
    g.rows.append([rt.t("total", lang), *v[:11], report.overall_formula, None, None, *v[11:]])
    return g


def _subgrid(g: Grid, key: str, title: str, names: Sequence[str], lang: Lang) -> Grid:
    idx = [0] + [g.columns.index(n) for n in names]
    out = Grid(
        key,
        title,
        [g.columns[i] for i in idx],
        [g.headers[i] for i in idx],
        [g.kinds[i] for i in idx],
        total=True,
    )
    for row in g.rows:
        cells = [row[i] for i in idx]
        if "sl_formula" in names:
            k = out.columns.index("sl_formula")
            cells[k] = rt.t(_FORMULA_KEY[str(cells[k])], lang)
        out.rows.append(cells)
    return out


_FORMULA_KEY = {
    "answered": "f_answered",
    "offered": "f_offered",
    "offered_minus_short": "f_offered_minus_short",
}


def calls_print_grids(report: ServiceReport, lang: Lang) -> list[Grid]:
    """The per-queue table split in two for A4: volumes, then service level and times."""
    g = calls_grid(report, lang)
    return [
        _subgrid(g, "calls_volume", rt.t("s_calls_queue", lang), _VOLUME, lang),
        _subgrid(g, "calls_quality", rt.t("k_sl", lang), _QUALITY, lang),
    ]


def _compact(
    key: str, title: str, first: tuple[str, str], items: Sequence[tuple[Value, Figures]], lang: Lang
) -> Grid:
    cols = [
        first,
        ("offered", "int"),
        ("answered", "int"),
        ("abandoned", "int"),
        ("short_abandoned", "int"),
        ("sl_percent", "pct"),
        ("asa_s", "sec"),
        ("aht_s", "sec"),
        ("abandon_percent", "pct"),
    ]
    g = Grid(
        key, title, [c for c, _ in cols], [rt.t(c, lang) for c, _ in cols], [k for _, k in cols]
    )
    for label, f in items:
        g.rows.append(
            [
                label,
                f.offered,
                f.answered,
                f.abandoned,
                f.short_abandoned,
                _r(f.service_level),
                _r(f.asa),
                _r(f.aht),
                _r(f.abandon_rate),
            ]
        )
    return g


def abandon_grid(report: ServiceReport, lang: Lang) -> Grid:
    g = Grid(
        "abandon_causes",
        rt.t("s_abandon", lang),
        ["cause", "calls", "percent_of_offered"],
        [
            rt.t("s_abandon", lang),
            rt.t("calls", lang).capitalize(),
            "% " + rt.t("offered", lang).lower(),
        ],
        ["text", "int", "pct"],
    )
    offered = report.overall.offered
    for cause, n in report.abandon_causes().items():
        pct = None if cause == "join_empty" or not offered else _r(100.0 * n / offered)
        g.rows.append([rt.t(cause, lang), n, pct])
    return g


def incidents_grid(report: ServiceReport, lang: Lang) -> Grid:
    measures = ("opened", "resolved", "closed", "reopened")
    g = Grid(
        "incidents",
        rt.t("s_incidents", lang),
        ["priority", *measures],
        [rt.t("priority", lang), *(rt.t(m, lang) for m in measures)],
        ["text", "int", "int", "int", "int"],
        total=True,
    )
    for p in PRIORITIES:
        g.rows.append([rt.t(f"p_{p}", lang), *(report.incidents[m].get(p, 0) for m in measures)])
    g.rows.append([rt.t("total", lang), *(sum(report.incidents[m].values()) for m in measures)])
    return g


def channels_grid(report: ServiceReport, lang: Lang) -> Grid:
    g = Grid(
        "incidents_by_channel",
        rt.t("s_channels", lang),
        ["channel", *PRIORITIES, "total"],
        [rt.t("channel", lang), *(rt.t(f"p_{p}", lang) for p in PRIORITIES), rt.t("total", lang)],
        ["text", *(["int"] * (len(PRIORITIES) + 1))],
    )
    for channel, per in report.incidents_by_channel.items():
        g.rows.append(
            [rt.t(f"c_{channel}", lang), *(per.get(p, 0) for p in PRIORITIES), sum(per.values())]
        )
    return g


def sla_grid(report: ServiceReport, lang: Lang) -> Grid:
    cols: list[tuple[str, str, str]] = [
        ("priority", rt.t("priority", lang), "text"),
        ("incidents", rt.t("incidents", lang), "int"),
    ]
    for clock in ("response", "resolution"):
        c = rt.t(clock, lang)
        cols.append((f"{clock}_target", f"{c}: {rt.t('target_time', lang).lower()}", "text"))
        for st in ("met", "breached", "pending", "none"):
            cols.append((f"{clock}_{st}", f"{c}: {rt.t(st, lang).lower()}", "int"))
        cols.append((f"{clock}_compliance_percent", f"{c}: {rt.t('compliance', lang)}", "pct"))
    g = Grid(
        "sla",
        rt.t("s_sla", lang),
        [c[0] for c in cols],
        [c[1] for c in cols],
        [c[2] for c in cols],
        total=True,
    )
    totals: dict[str, Any] = {}
    for line in report.sla:
        row: list[Value] = [rt.t(f"p_{line.priority}", lang), line.incidents]
        for clock, counts, mins in (
            ("response", line.response, line.response_minutes),
            ("resolution", line.resolution, line.resolution_minutes),
        ):
            row.append(rt.minutes(mins, lang) if line.calendar else rt.t("no_clock", lang))
            for st in ("met", "breached", "pending", "none"):
                row.append(getattr(counts, st))
                totals[f"{clock}_{st}"] = totals.get(f"{clock}_{st}", 0) + getattr(counts, st)
            row.append(_r(counts.compliance))
        g.rows.append(row)
    row = [rt.t("total", lang), sum(s.incidents for s in report.sla)]
    for clock in ("response", "resolution"):
        row.append("")
        for st in ("met", "breached", "pending", "none"):
            row.append(totals.get(f"{clock}_{st}", 0))
        judged = totals.get(f"{clock}_met", 0) + totals.get(f"{clock}_breached", 0)
        row.append(None if judged == 0 else _r(100.0 * totals[f"{clock}_met"] / judged))
    g.rows.append(row)
    return g


def sla_print_grids(report: ServiceReport, lang: Lang) -> list[Grid]:
    """The SLA table split per clock for A4: response, then resolution."""
    g = sla_grid(report, lang)
    out = []
    for clock in ("response", "resolution"):
        idx = [0, 1] + [i for i, c in enumerate(g.columns) if c.startswith(clock + "_")]
        sub = Grid(
            f"sla_{clock}",
            f"{rt.t('s_sla', lang)}: {rt.t(clock, lang).lower()}",
            [g.columns[i] for i in idx],
            [g.headers[i].split(": ", 1)[-1].capitalize() for i in idx],
            [g.kinds[i] for i in idx],
            total=True,
        )
        sub.rows = [[row[i] for i in idx] for row in g.rows]
        out.append(sub)
    return out


def breaches_grid(report: ServiceReport, lang: Lang, limit: int | None) -> Grid:
    tz = ZoneInfo(report.timezone)
    g = Grid(
        "breaches",
        rt.t("s_breaches", lang),
        ["number", "title", "priority", "clock", "created", "due", "done", "late_by"],
        [
            rt.t(c, lang)
            for c in ("number", "title", "priority", "clock", "created", "due", "done", "late_by")
        ],
        ["text", "text", "text", "text", "text", "text", "text", "text"],
    )
    items = report.breaches if limit is None else report.breaches[:limit]
    for b in items:
        until = b.done_at or report.as_of
        g.rows.append(
            [
                f"INC-{b.number:06d}",
                b.title,
                rt.t(f"p_{b.priority}", lang),
                rt.t(b.clock, lang),
                rt.when(b.created_at, tz, lang),
                rt.when(b.due_at, tz, lang),
                rt.when(b.done_at, tz, lang) if b.done_at else rt.t("still_open", lang),
                rt.duration((until - b.due_at).total_seconds(), lang),
            ]
        )
    if limit is not None and len(report.breaches) > limit:
        g.note = rt.t("more_breaches", lang).format(n=len(report.breaches) - limit)
    return g


def satisfaction_grid(report: ServiceReport, lang: Lang) -> Grid:
    g = Grid(
        "satisfaction",
        rt.t("s_satisfaction", lang),
        ["queue", "responses", "mean", "csat_percent", "s1", "s2", "s3", "s4", "s5"],
        [
            rt.t("queue", lang),
            rt.t("responses", lang),
            rt.t("mean", lang),
            rt.t("csat_percent", lang),
            "1",
            "2",
            "3",
            "4",
            "5",
        ],
        ["text", "int", "dec", "pct", "int", "int", "int", "int", "int"],
        total=True,
    )
    for s in report.satisfaction:
        label = (
            rt.t("total", lang)
            if s.label == ""
            else (rt.t("no_queue", lang) if s.label == "(no queue)" else s.label)
        )
        g.rows.append([label, s.responses, _r(s.mean, 2), _r(s.csat), *s.scores])
    return g


def contracts_grid(report: ServiceReport, cfg: CentralitaConfig, lang: Lang) -> Grid:
    def plan_name(key: str) -> str:
        plan = cfg.contracts.plans.get(key)
        # the description's first clause ("Avanzado, con guardia 24x7…" → "Avanzado")
        return plan.description.split(",")[0] if plan is not None and plan.description else key

    months = [f"{y:04d}-{m:02d}" for y, m in report.excess_months]
    cols = [
        ("contract", "text"),
        ("organisation", "text"),
        ("plan", "text"),
        ("priority", "text"),
        *((f"used_{m}", "int") for m in months[:-1]),
        ("used", "int"),
        ("allotted", "int"),
        ("percent_used", "pct"),
        ("over", "text"),
        ("streak", "int"),
        ("flagged", "text"),
    ]
    headers = [
        f"{rt.t('used', lang)} {c[5:]}"
        if c.startswith("used_")
        else f"{rt.t('used', lang)} {months[-1]}"
        if c == "used"
        else rt.t(c, lang)
        for c, _ in cols
    ]
    g = Grid(
        "contracts", rt.t("s_contracts", lang), [c for c, _ in cols], headers, [k for _, k in cols]
    )
    g.note = defs.excess_rule(cfg, lang)
    for a in report.allotments:
        if a.used is None:
            g.rows.append(
                [
                    a.contract,
                    a.organisation,
                    a.plan,
                    rt.t("unknown_plan", lang),
                    *([None] * (len(cols) - 4)),
                ]
            )
            continue
        g.rows.append(
            [
                a.contract,
                a.organisation,
                plan_name(a.plan),
                rt.t(f"p_{a.priority}", lang),
                *a.history[:-1],
                a.used,
                a.allotted,
                _r(a.percent),
                rt.t("yes" if a.over else "no", lang),
                a.streak,
                rt.t("flag_on" if a.flagged else "flag_off", lang),
            ]
        )
    return g


def agents_grid(report: ServiceReport, lang: Lang) -> Grid:
    cols = [
        ("agent", "text"),
        ("answered", "int"),
        ("answered_within_sl", "int"),
        ("talk_h", "h"),
        ("aht_s", "sec"),
        ("logged_in_h", "h"),
        ("paused_h", "h"),
        ("occupancy_percent", "pct"),
        ("ring_noanswer", "int"),
    ]
    g = Grid(
        "agents",
        rt.t("s_agents", lang),
        [c for c, _ in cols],
        [rt.t(c, lang) for c, _ in cols],
        [k for _, k in cols],
    )
    for a in report.agents:
        g.rows.append(
            [
                f"{a.name} ({a.agent})" if a.name != a.agent else a.agent,
                a.figures.answered,
                a.figures.answered_within_sl,
                round(a.figures.talk_total / 3600, 2),
                _r(a.figures.aht),
                round(a.time.logged_in_s / 3600, 2),
                round(a.time.paused_s / 3600, 2),
                _r(a.time.occupancy),
                a.figures.ring_noanswer,
            ]
        )
    return g


def pauses_grid(report: ServiceReport, lang: Lang) -> Grid:
    reasons = sorted({r for a in report.agents for r in a.pauses})
    g = Grid(
        "pauses",
        rt.t("s_pauses", lang),
        ["agent", *(r or "(none)" for r in reasons)],
        [rt.t("agent", lang), *(r or rt.t("no_reason", lang) for r in reasons)],
        ["text", *(["h"] * len(reasons))],
    )
    for a in report.agents:
        if a.pauses:
            g.rows.append([a.agent, *(round(a.pauses.get(r, 0.0) / 3600, 2) for r in reasons)])
    return g


STAFFING_LISTED = 120  # flagged intervals listed in HTML/PDF
ALLOTMENT_BARS = 30  # bars in the allotment chart (the most used first when there are more)


def staffing_grid(report: ServiceReport, lang: Lang, flagged_only: bool) -> Grid:
    cols = [
        ("queue", "text"),
        ("weekday", "text"),
        ("interval", "text"),
        ("mean_calls", "dec"),
        ("aht_s", "sec"),
        ("handle_s", "sec"),
        ("needed", "int"),
        ("scheduled", "int"),
        ("predicted_sl", "pct"),
        ("logged_in", "dec"),
        ("flag", "text"),
    ]
    g = Grid(
        "staffing",
        rt.t("s_staffing", lang),
        [c for c, _ in cols],
        [rt.t(c, lang) for c, _ in cols],
        [k for _, k in cols],
    )
    plan = report.staffing
    if plan is None:
        return g
    needs = plan.needs
    if flagged_only:
        # the widest gaps first, as many as a reader can act on; every interval is in the XLSX
        gap = {id(n): abs((n.logged_in or 0.0) - n.needed) for n in needs}
        needs = sorted(plan.flagged(), key=lambda n: -gap[id(n)])[:STAFFING_LISTED]
    for n in needs:
        g.rows.append(
            [
                n.queue,
                rt.WEEKDAYS[lang][n.weekday],
                n.start.strftime("%H:%M"),
                n.calls,
                n.aht,
                n.handle,
                n.needed,
                n.scheduled,
                n.service_level,
                n.logged_in,
                {"under": rt.t("under", lang), "over": rt.t("over_staffed", lang)}.get(n.flag, ""),
            ]
        )
    if flagged_only:
        g.note = rt.t("staffing_flagged_only", lang)
    return g


def summary_grid(report: ServiceReport, cfg: CentralitaConfig, lang: Lang) -> Grid:
    tg = cfg.reports.targets
    cur, prev = report.headline, report.previous
    # key, unit kind, target (value, "min" | "max" | None), higher is better
    items: list[tuple[str, str, str, float | None, str | None]] = [
        ("k_offered", "offered", "int", None, None),
        ("k_answered", "answered", "int", None, None),
        ("k_sl", "service_level", "pct", tg.service_level_percent, "min"),
        ("k_abandon", "abandon_rate", "pct", tg.abandon_percent, "max"),
        ("k_asa", "asa", "sec", tg.asa_seconds, "max"),
        ("k_aht", "aht", "sec", None, None),
        ("k_incidents", "incidents_opened", "int", None, None),
        ("k_response", "response_compliance", "pct", tg.response_compliance_percent, "min"),
        ("k_resolution", "resolution_compliance", "pct", tg.resolution_compliance_percent, "min"),
        ("k_csat", "csat", "pct", tg.csat_percent, "min"),
    ]  # type: ignore[assignment]
    g = Grid(
        "summary",
        rt.t("s_summary", lang),
        ["figure", "this_month", "target", "status", "previous_month", "trend"],
        [
            rt.t(c, lang)
            for c in ("figure", "this_month", "target", "status", "previous_month", "trend")
        ],
        ["text", "num", "text", "text", "num", "text"],
    )
    for label, attr, kind, target, sense in items:
        now, before = getattr(cur, attr), getattr(prev, attr)
        status = ""
        target_text = ""
        if target is not None and sense is not None:
            target_text = f"{rt.t('at_least' if sense == 'min' else 'at_most', lang)} {target:g}{' %' if kind == 'pct' else ' s'}"
            if now is None:
                status = rt.t("no_data", lang)
            else:
                # judged on the figure as printed: "85.0 ≥ 85 %: no cumple" would read as
                # an error to the client (84.96 rounds to 85.0)
                shown = _r(now) if isinstance(now, float) else now
                ok = shown >= target if sense == "min" else shown <= target
                status = rt.t("met_target" if ok else "missed_target", lang)
        trend = ""
        if now is not None and before is not None:
            trend = rt.t("up" if now > before else "down" if now < before else "same", lang)
        g.rows.append(
            [
                rt.t(label, lang),
                _r(now) if isinstance(now, float) else now,
                target_text,
                status,
                _r(before) if isinstance(before, float) else before,
                trend,
            ]
        )
    return g


# --- sections -------------------------------------------------------------------------------


def sections(
    report: ServiceReport,
    cfg: CentralitaConfig,
    lang: Lang,
    *,
    for_print: bool = True,
    with_charts: bool = True,
) -> list[Section]:
    """Everything the HTML/PDF shows, in order (the XLSX takes the grids with no limits)."""
    limit = cfg.reports.breaches_listed if for_print else None
    out: list[Section] = []
    summary = Section(
        "summary", rt.t("s_summary", lang), [summary_grid(report, cfg, lang)], page_break=False
    )
    out.append(summary)

    first = calls_print_grids(report, lang) if for_print else [calls_grid(report, lang)]
    calls = Section("calls", rt.t("s_calls", lang), first)
    abandon = Section(
        "abandon", rt.t("s_abandon", lang), [abandon_grid(report, lang)], page_break=False
    )
    days = [(rt.day(d, lang), f) for d, f in report.by_day.items()]
    hours = [(f"{h:02d}:00", f) for h, f in report.by_hour.items()]
    by_day = Section(
        "calls_by_day",
        rt.t("s_calls_day", lang),
        [_compact("calls_by_day", rt.t("s_calls_day", lang), ("day", "text"), days, lang)],
        page_break=False,
    )
    by_hour = Section(
        "calls_by_hour",
        rt.t("s_calls_hour", lang),
        [_compact("calls_by_hour", rt.t("s_calls_hour", lang), ("hour", "text"), hours, lang)],
        page_break=False,
    )
    sla = sla_print_grids(report, lang) if for_print else [sla_grid(report, lang)]
    incidents = Section(
        "incidents",
        rt.t("s_incidents", lang),
        [incidents_grid(report, lang), channels_grid(report, lang), *sla],
    )
    breaches = Section("breaches", rt.t("s_breaches", lang), [breaches_grid(report, lang, limit)])
    if not report.breaches:
        breaches.intro = rt.t("no_breaches", lang)
    satisfaction = Section(
        "satisfaction", rt.t("s_satisfaction", lang), [satisfaction_grid(report, lang)]
    )
    contracts = Section(
        "contracts",
        rt.t("s_contracts", lang),
        [contracts_grid(report, cfg, lang)],
        page_break=False,
    )
    if not report.allotments:
        contracts.intro = rt.t("no_contracts", lang)
    if with_charts:
        _add_charts(report, cfg, lang, summary, abandon, by_day, contracts)
    out += [calls, abandon, by_day, by_hour, incidents, breaches, satisfaction, contracts]
    if report.edition == "internal":
        out.append(
            Section(
                "agents",
                rt.t("s_agents", lang),
                [agents_grid(report, lang), pauses_grid(report, lang)],
            )
        )
        if report.staffing is not None:
            p = report.staffing
            st = Section(
                "staffing", rt.t("s_staffing", lang), [staffing_grid(report, lang, for_print)]
            )
            st.intro = rt.t("staffing_intro", lang).format(
                start=p.history_from.isoformat(),
                end=p.history_to.isoformat(),
                shrink=f"{p.shrinkage_percent:g}",
                occ=f"{p.max_occupancy_percent:g}",
                tol=f"{p.tolerance:g}",
                n=len(p.flagged()),
                total=len(p.needs),
            )
            out.append(st)
    return out


def _add_charts(
    report: ServiceReport,
    cfg: CentralitaConfig,
    lang: Lang,
    summary: Section,
    abandon: Section,
    by_day: Section,
    contracts: Section,
) -> None:
    target = cfg.reports.targets.service_level_percent
    if report.by_day:
        summary.charts.append(
            charts.sl_per_day(
                [rt.day(d, lang) for d in report.by_day],
                [report.by_day[d].service_level for d in report.by_day],
                target,
                rt.t("ch_sl_day", lang),
                rt.t("target", lang),
            )
        )
        days = sorted({d for d, _h in report.heat} | set(report.by_day))
        grid = [[report.heat.get((d, h), 0) for h in range(24)] for d in days]
        by_day.charts.append(
            charts.heatmap(
                [rt.day(d, lang) for d in days], grid, rt.t("ch_heat", lang), rt.t("hour", lang)
            )
        )
    causes = report.abandon_causes()
    abandon.charts.append(
        charts.horizontal_bars(
            [rt.t(c, lang) for c in causes], list(causes.values()), rt.t("ch_abandon", lang)
        )
    )
    clocked = [line for line in report.sla if line.calendar]
    tg = cfg.reports.targets
    summary.charts.append(
        charts.compliance(
            [rt.t(f"p_{line.priority}", lang) for line in clocked],
            [line.response.compliance for line in clocked],
            [line.resolution.compliance for line in clocked],
            (rt.t("response", lang), rt.t("resolution", lang)),
            (tg.response_compliance_percent, tg.resolution_compliance_percent),
            rt.t("ch_sla", lang),
        )
    )
    usage = [a for a in report.allotments if a.percent is not None]
    if len(usage) > ALLOTMENT_BARS:
        usage = sorted(usage, key=lambda a: -(a.percent or 0.0))[:ALLOTMENT_BARS]
    if usage:
        contracts.charts.append(
            charts.allotment_usage(
                [f"{a.contract} · {rt.t(f'p_{a.priority}', lang)}" for a in usage],
                [a.percent or 0.0 for a in usage],
                100 + cfg.contracts.excess.percent_over,
                rt.t("ch_allot", lang),
            )
        )
