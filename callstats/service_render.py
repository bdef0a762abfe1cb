"""The service report rendered: HTML (and the panel), PDF, XLSX, CSV and JSON.

Every format is made from the same `Grid`s (`service_grids`), so the PDF a
client reads, the XLSX they sort and the JSON a script reads carry the same
numbers; the HTML/PDF add translated words, charts and the definitions page.
XLSX cells hold real numbers (with number formats), not text.
"""

from __future__ import annotations

import base64
import io
import mimetypes
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from callstats import charts  # re-exported too: callers warm matplotlib through it
from callstats import definitions_text as defs
from callstats import report_text as rt
from callstats.report_text import Lang
from callstats.reports import Report, Table
from callstats.service_grids import FORMATS, Grid, Value, _r, sections
from callstats.service_report import Headline, ServiceReport
from servicedesk.config import CentralitaConfig

# --- HTML / PDF -----------------------------------------------------------------------------

_ENV = Environment(
    loader=PackageLoader("callstats", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def show(value: Value, kind: str, lang: Lang) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if kind in ("pct", "sec"):
        return rt.num(float(value), lang, 1)
    if kind in ("dec", "h"):
        return rt.num(float(value), lang, 2)
    if isinstance(value, int):
        return rt.num(value, lang)
    return rt.num(float(value), lang, 1)


_ENV.filters["show"] = show
_ENV.filters["b64"] = lambda text: base64.b64encode(text.encode()).decode("ascii")
CSS = (Path(__file__).resolve().parent / "templates" / "service_report.css").read_text(
    encoding="utf-8"
)


def logo_data_uri(path: str | None) -> str | None:
    """The configured logo as a data: URI, so the HTML and PDF stand alone."""
    if not path:
        return None
    p = Path(path)
    if not p.is_file():
        return None
    mime = mimetypes.guess_type(p.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(p.read_bytes()).decode('ascii')}"


def desk_name(cfg: CentralitaConfig) -> str:
    return cfg.reports.desk_name or cfg.service.name


def to_html(
    report: ServiceReport,
    cfg: CentralitaConfig,
    lang: Lang = "es",
    *,
    logo: str | None = None,
    standalone: bool = True,
    for_print: bool = True,
) -> str:
    """The report as HTML: a whole page (`standalone`: styles and SVG inline) or a
    fragment for the panel, whose CSP allows no inline styles (charts as data: images,
    the stylesheet linked as `CSS`)."""
    tz = ZoneInfo(report.timezone)
    scope = report.scope
    if scope.contract:
        scope_text = f"{rt.t('contract', lang)} {scope.contract} — {scope.organisation}"
    elif scope.organisation:
        scope_text = f"{rt.t('organisation', lang)}: {scope.organisation}"
    else:
        scope_text = rt.t("whole_desk", lang)
    return _ENV.get_template("service_report.html").render(
        r=report,
        lang=lang,
        t=lambda k: rt.t(k, lang),
        desk=desk_name(cfg),
        logo=logo_data_uri(logo if logo is not None else cfg.reports.logo),
        month=rt.month_name(report.year, report.month, lang),
        scope_text=scope_text,
        generated=rt.when(datetime.now(tz), tz, lang),
        as_of=rt.when(report.as_of, tz, lang),
        period=f"{rt.when(report.start, tz, lang)} – {rt.when(report.end, tz, lang)}",
        sections=sections(report, cfg, lang, for_print=for_print),
        general=defs.general(report, lang),
        queue_rules=defs.queue_rules(report, lang),
        sla_rules=defs.sla_table(cfg, lang),
        excess=defs.excess_rule(cfg, lang),
        standalone=standalone,
        inline_svg=standalone,
        css=CSS,
    )


def to_pdf(
    report: ServiceReport, cfg: CentralitaConfig, lang: Lang = "es", *, logo: str | None = None
) -> bytes:
    """A4 PDF by WeasyPrint from the same HTML (page numbers and the desk's name in the
    margins); the charts as 150 dpi PNG, which WeasyPrint places faster than it draws SVG."""
    from weasyprint import HTML

    with charts.as_png():
        html = to_html(report, cfg, lang, logo=logo)
    return HTML(string=html).write_pdf()


# --- XLSX -------------------------------------------------------------------------------------


def all_grids(report: ServiceReport, cfg: CentralitaConfig, lang: Lang) -> list[Grid]:
    """Every table, unabridged (all breaches, every staffing interval), plus the definitions."""
    grids = [
        g for s in sections(report, cfg, lang, for_print=False, with_charts=False) for g in s.grids
    ]
    d = Grid(
        "definitions",
        rt.t("s_definitions", lang),
        ["term", "definition"],
        [rt.t("figure", lang), rt.t("s_definitions", lang)],
        ["text", "text"],
    )
    d.rows = [[a, b] for a, b in defs.general(report, lang)]
    d.rows.append(["", defs.excess_rule(cfg, lang)])
    q = Grid(
        "queue_rules",
        rt.t("queue", lang),
        ["queue", "sl_formula", "threshold_s", "short_abandon_s", "sl_target"],
        [
            rt.t("queue", lang),
            rt.t("sl_formula", lang),
            rt.t("threshold_s", lang),
            rt.t("short_abandoned", lang),
            rt.t("sl_target", lang),
        ],
        ["text"] * 5,
    )
    q.rows = [list(r) for r in defs.queue_rules(report, lang)]
    return [*grids, d, q]


def to_xlsx(report: ServiceReport, cfg: CentralitaConfig, lang: Lang = "es") -> bytes:
    """One sheet per table; numbers are numbers (with number formats), words are text."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DCE6F1")
    for g in all_grids(report, cfg, lang):
        name = _sheet_name(g.title, used)
        ws = wb.create_sheet(name)
        ws.append([g.title])
        ws["A1"].font = Font(bold=True, size=12)
        ws.append(g.headers)
        for cell in ws[2]:
            cell.font = bold
            cell.fill = head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in g.rows:
            ws.append([_xlsx_value(v) for v in row])
            r = ws.max_row
            for i, kind in enumerate(g.kinds, start=1):
                fmt = FORMATS.get(kind)
                if fmt and fmt != "@" and isinstance(row[i - 1], int | float):
                    ws.cell(r, i).number_format = fmt
        if g.total and g.rows:
            for cell in ws[ws.max_row]:
                cell.font = bold
        if g.note:
            ws.append([])
            ws.append([g.note])
        for i, header in enumerate(g.headers, start=1):
            width = max([len(str(header))] + [len(str(row[i - 1] or "")) for row in g.rows[:200]])
            ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, width + 2))
        ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_value(v: Value) -> Any:
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v  # a name is never run as a formula
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    return v


def _sheet_name(title: str, used: set[str]) -> str:
    base = "".join("-" if c in "[]:*?/\\" else c for c in title)[:28]
    name, n = base, 2
    while name in used:
        name = f"{base[:25]} {n}"
        n += 1
    used.add(name)
    return name


# --- CSV / JSON / text ------------------------------------------------------------------------


def to_report(report: ServiceReport, cfg: CentralitaConfig, lang: Lang = "en") -> Report:
    """The grids as the CLI's `Report` of `Table`s (machine column names, raw values)."""
    tz = ZoneInfo(report.timezone)
    tables = [
        Table(g.key, g.title, g.columns, [[_plain(v) for v in row] for row in g.rows])
        for g in all_grids(report, cfg, lang)
    ]
    for tb in tables:  # machine formats name the total row TOTAL, as before
        if tb.key in ("calls", "sla", "satisfaction", "incidents") and tb.rows:
            tb.rows[-1][0] = "TOTAL"
    scope = report.scope
    period = {
        "from": report.start.astimezone(tz).isoformat(),
        "to": report.end.astimezone(tz).isoformat(),
        "timezone": report.timezone,
        "calls_source": report.calls_source,
        "sla_as_of": report.as_of.astimezone(tz).isoformat(),
        "scope": scope.contract or scope.organisation or "desk",
        "edition": report.edition,
        "overall_sl_formula": report.overall_formula,
    }
    return Report(
        "monthly", f"{desk_name(cfg)}: monthly report {report.month_label}", period, tables
    )


def _plain(v: Value) -> str | int | float | None:
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


def headline_dict(h: Headline) -> dict[str, Any]:
    return {k: _r(v) if isinstance(v, float) else v for k, v in h.__dict__.items()}
