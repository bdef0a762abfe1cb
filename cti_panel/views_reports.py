"""Reports in the panel, for supervisors and admins: the monthly service report
(the same HTML the PDF is made from, with its charts) and the interval report,
each downloadable as PDF, XLSX, CSV or JSON.

Everything the browser sends is parsed here: month as ASCII YYYY-MM, day as
ASCII YYYY-MM-DD, organisation as an id from the list, the rest from fixed sets.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale
from sqlalchemy import select

from callstats import service_render
from callstats.reports import RENDERERS, interval_report
from callstats.service_report import Scope, build
from cti_panel.context import ctx, db
from cti_panel.security import STAFF, roles_required
from servicedesk.models import Contract, Organisation

bp = Blueprint("reports", __name__, url_prefix="/reports")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ID = re.compile(r"^[0-9]{1,9}$")
DOWNLOADS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def _lang() -> str:
    return "en" if str(get_locale()) == "en" else "es"


def _month() -> tuple[int, int]:
    text = request.args.get("month", "")
    if not text:
        tz = ZoneInfo(ctx().cfg.service.timezone)
        last = datetime.now(tz).date().replace(day=1) - timedelta(days=1)
        return last.year, last.month
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        abort(400, description="month must be YYYY-MM")
    return int(m.group(1)), int(m.group(2))


def _scope() -> Scope:
    org, contract = request.args.get("organisation", ""), request.args.get("contract", "")
    if contract:
        if not _ID.match(contract):
            abort(400, description="bad contract")
        row = (
            db()
            .execute(
                select(Contract.id, Contract.number, Organisation.id, Organisation.name)
                .join(Organisation, Organisation.id == Contract.organisation_id)
                .where(Contract.id == int(contract))
            )
            .first()
        )
        if row is None:
            abort(404)
        return Scope(row[2], row[3], row[0], row[1])
    if org:
        if not _ID.match(org):
            abort(400, description="bad organisation")
        name = db().scalar(select(Organisation.name).where(Organisation.id == int(org)))
        if name is None:
            abort(404)
        return Scope(int(org), name)
    return Scope()


def _edition() -> str:
    edition = request.args.get("edition", "client")
    if edition not in ("client", "internal"):
        abort(400, description="bad edition")
    return edition


@bp.route("/")
@roles_required(*STAFF)
def monthly():  # type: ignore[no-untyped-def]
    year, month = _month()
    scope, edition = _scope(), _edition()
    cfg = ctx().cfg
    report = build(db(), cfg, year, month, scope=scope, edition=edition)  # type: ignore[arg-type]
    lang = _lang()
    body = service_render.to_html(report, cfg, lang, standalone=False)  # type: ignore[arg-type]
    orgs = (
        db().execute(select(Organisation.id, Organisation.name).order_by(Organisation.name)).all()
    )
    contracts = db().execute(select(Contract.id, Contract.number).order_by(Contract.number)).all()
    query = {
        k: v
        for k, v in request.args.items()
        if k in ("month", "organisation", "contract", "edition")
    }
    query.setdefault("month", f"{year:04d}-{month:02d}")
    return render_template(
        "reports.html",
        body=body,
        month=f"{year:04d}-{month:02d}",
        orgs=orgs,
        contracts=contracts,
        scope=scope,
        edition=edition,
        query=query,
    )


@bp.route("/service_report.css")
@roles_required(*STAFF)
def stylesheet():  # type: ignore[no-untyped-def]
    return Response(service_render.CSS, mimetype="text/css")


@bp.route("/monthly.<fmt>")
@roles_required(*STAFF)
def monthly_download(fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in DOWNLOADS:
        abort(404)
    year, month = _month()
    scope, edition = _scope(), _edition()
    cfg = ctx().cfg
    report = build(db(), cfg, year, month, scope=scope, edition=edition)  # type: ignore[arg-type]
    lang = _lang()
    if fmt == "pdf":
        data: bytes | str = service_render.to_pdf(report, cfg, lang)  # type: ignore[arg-type]
    elif fmt == "xlsx":
        data = service_render.to_xlsx(report, cfg, lang)  # type: ignore[arg-type]
    else:
        data = RENDERERS[fmt](service_render.to_report(report, cfg, lang))  # type: ignore[arg-type]
    name = f"{'informe' if lang == 'es' else 'report'}-{year:04d}-{month:02d}"
    if scope.contract_id is not None:
        name += f"-contract-{scope.contract_id}"
    elif scope.organisation_id is not None:
        name += f"-org-{scope.organisation_id}"
    return Response(
        data,
        mimetype=DOWNLOADS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _interval():  # type: ignore[no-untyped-def]
    cfg = ctx().cfg
    tz = ZoneInfo(cfg.service.timezone)
    text = request.args.get("day", "")
    if text and not _DAY.match(text):
        abort(400, description="day must be YYYY-MM-DD")
    try:
        day = datetime.fromisoformat(text).date() if text else datetime.now(tz).date()
    except ValueError:
        abort(400, description="day must be YYYY-MM-DD")
    minutes = request.args.get("minutes", "30")
    if minutes not in ("15", "30", "60"):
        abort(400, description="minutes must be 15, 30 or 60")
    from callstats.records import load_calls

    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)
    calls = load_calls(db(), start, end)
    return day, int(minutes), interval_report(cfg, calls, start, end, int(minutes))


def _interval_chart(report, lang: str) -> str | None:  # type: ignore[no-untyped-def]
    """SL per interval, all queues, as answered within ÷ answered (each call against its
    own queue's threshold), against the desk's target; base64 SVG for an <img>."""
    import base64

    from callstats import charts
    from callstats import report_text as rt

    per: dict[str, list[int]] = {}
    for row in report.table("intervals").records():
        acc = per.setdefault(str(row["interval"])[11:16], [0, 0])
        acc[0] += int(row["answered_within_sl"] or 0)
        acc[1] += int(row["answered"] or 0)
    if not per:
        return None
    labels = sorted(per)
    values = [None if per[k][1] == 0 else 100.0 * per[k][0] / per[k][1] for k in labels]
    title = f"{rt.t('k_sl', lang)} ({rt.t('f_answered', lang)})"  # type: ignore[arg-type]
    svg = charts.sl_per_day(
        labels,
        values,
        ctx().cfg.reports.targets.service_level_percent,
        title,
        rt.t("target", lang),  # type: ignore[arg-type]
    )
    return base64.b64encode(svg.encode()).decode("ascii")


@bp.route("/interval")
@roles_required(*STAFF)
def interval():  # type: ignore[no-untyped-def]
    day, minutes, report = _interval()
    return render_template(
        "reports_interval.html",
        report=report,
        day=day.isoformat(),
        minutes=minutes,
        chart=_interval_chart(report, _lang()),
    )


@bp.route("/interval.<fmt>")
@roles_required(*STAFF)
def interval_download(fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in ("csv", "json"):
        abort(404)
    day, minutes, report = _interval()
    return Response(
        RENDERERS[fmt](report),
        mimetype=DOWNLOADS[fmt],
        headers={"Content-Disposition": f'attachment; filename="interval-{day}-{minutes}.{fmt}"'},
    )
