"""`centralita stats interval | monthly | staffing | recipients | erlang`.

Calls come from the database's call records unless `--queue-log PATH` (the
file) or `--queue-log-table` (Asterisk's realtime table in the same database)
is given; incidents, satisfaction and contracts always come from the database.
The database is opened by `callstats.database`, which never creates one and
turns every way it can be unusable into one line naming the fix.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stats = sub.add_parser("stats", help="interval and monthly reports, Erlang C staffing")
    ssub = stats.add_subparsers(dest="stats_command", required=True, metavar="REPORT")

    def common(
        p: argparse.ArgumentParser, formats: tuple[str, ...] = ("text", "csv", "json")
    ) -> None:
        p.add_argument("--config", required=True, help="centralita.toml")
        p.add_argument("--queue-log", metavar="PATH", help="read calls from this queue_log file")
        p.add_argument(
            "--queue-log-table",
            action="store_true",
            help="read calls from the realtime queue_log table",
        )
        p.add_argument("--format", choices=formats, default="text")
        p.add_argument(
            "--output", "--out", "-o", metavar="FILE", help="write here instead of stdout"
        )

    iv = ssub.add_parser("interval", help="per queue per 15/30/60-minute interval")
    common(iv)
    iv.add_argument("--from", dest="start", help="YYYY-MM-DD or ISO datetime (local if no zone)")
    iv.add_argument("--to", dest="end", help="exclusive; default: one day after --from")
    iv.add_argument("--minutes", type=int, choices=(15, 30, 60), default=30)
    iv.set_defaults(func=_interval)

    mo = ssub.add_parser(
        "monthly", help="the monthly service report (overall, per organisation or contract)"
    )
    common(mo, formats=("text", "csv", "json", "html", "pdf", "xlsx"))
    mo.add_argument("--month", help="YYYY-MM (default: the previous month)")
    mo.add_argument("--from", dest="start", help="any date in the month (instead of --month)")
    scope = mo.add_mutually_exclusive_group()
    scope.add_argument("--organisation", help="one organisation (name or customer number)")
    scope.add_argument("--contract", help="one contract (its number)")
    mo.add_argument("--lang", choices=("es", "en"), help="default: [reports] language (es)")
    mo.add_argument(
        "--edition",
        choices=("client", "internal"),
        default="client",
        help="internal adds agents and staffing",
    )
    mo.add_argument(
        "--send",
        action="store_true",
        help="e-mail each organisation's report contacts their PDF (and XLSX)",
    )
    mo.set_defaults(func=_monthly)

    sf = ssub.add_parser("staffing", help="Erlang C per queue and half-hour for next week")
    sf.add_argument("--config", required=True, help="centralita.toml")
    sf.add_argument("--date", help="YYYY-MM-DD: plan the week after this day (default: today)")
    sf.add_argument("--all", action="store_true", help="every interval, not only flagged ones")
    sf.add_argument("--format", choices=("text", "csv", "json"), default="text")
    sf.add_argument("--output", "--out", "-o", metavar="FILE", help="write here instead of stdout")
    sf.set_defaults(func=_staffing)

    rc = ssub.add_parser("recipients", help="who receives each organisation's monthly report")
    rc.add_argument("--config", required=True, help="centralita.toml")
    rc.add_argument("action", choices=("list", "add", "remove"))
    rc.add_argument("--organisation", help="name or customer number (add, remove)")
    rc.add_argument("--email", help="address (add, remove)")
    rc.add_argument("--name", help="the person's name (add)")
    rc.add_argument("--lang", choices=("es", "en"), default="es", help="report language (add)")
    rc.set_defaults(func=_recipients)

    er = ssub.add_parser("erlang", help="agents needed for a service level (Erlang C)")
    er.add_argument("--calls-per-hour", type=float, required=True)
    er.add_argument("--handle-seconds", type=float, required=True, help="talk + wrap-up")
    er.add_argument("--target-sl", type=float, default=0.8, help="fraction, e.g. 0.8")
    er.add_argument("--target-seconds", type=float, default=20.0)
    er.add_argument("--target-asa", type=float, default=None)
    er.set_defaults(func=_erlang)


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """A date (local midnight) or an ISO datetime (local when it has no offset)."""
    try:
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=tz)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _load(path: str):  # type: ignore[no-untyped-def]
    from servicedesk.config import load_config

    return load_config(path)


def _calls(args: argparse.Namespace, cfg, session):  # type: ignore[no-untyped-def]
    """(calls or None for the records, source label)."""
    from callstats import aggregate, queue_log

    keys = aggregate.agent_keys_from_config(cfg)
    if args.queue_log:
        return queue_log.parse_file(args.queue_log, keys), f"queue_log file {args.queue_log}"
    if args.queue_log_table:
        # Asterisk's realtime driver writes datetime strings in the PBX's local time
        tz = ZoneInfo(cfg.service.timezone)
        return queue_log.parse_table(session, keys, tz=tz), "queue_log table"
    return None, "call records"


def _emit(args: argparse.Namespace, report) -> int:  # type: ignore[no-untyped-def]
    from callstats.reports import RENDERERS

    text = RENDERERS[args.format](report)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _open(cfg, config_path: str, tables: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
    """(engine, session) on the configured database; DatabaseUnavailable says what to do."""
    from callstats.database import NEEDED_TABLES, open_engine
    from servicedesk.db import make_sessionmaker

    engine = open_engine(cfg, config_path, tables or NEEDED_TABLES)
    return engine, make_sessionmaker(engine)()


def _logo(cfg, config_path: str) -> str | None:  # type: ignore[no-untyped-def]
    """The configured logo, relative paths taken from the config file's folder."""
    from pathlib import Path

    if not cfg.reports.logo:
        return None
    p = Path(cfg.reports.logo)
    return str(p if p.is_absolute() else Path(config_path).resolve().parent / p)


def _interval(args: argparse.Namespace) -> int:
    from servicedesk.config import ConfigError

    try:
        cfg = _load(args.config)
    except ConfigError as exc:
        return _fail(f"{args.config}: {exc}")
    tz = ZoneInfo(cfg.service.timezone)
    try:
        if args.start:
            start = parse_when(args.start, tz)
        else:
            today = datetime.now(tz).date()
            start = datetime(today.year, today.month, today.day, tzinfo=tz)
        end = parse_when(args.end, tz) if args.end else start + timedelta(days=1)
    except ValueError as exc:
        return _fail(f"bad --from/--to: {exc}")
    if end <= start:
        return _fail("--to must be after --from")
    from callstats.database import DatabaseUnavailable
    from callstats.records import load_calls
    from callstats.reports import interval_report

    try:
        engine, session = _open(cfg, args.config)
    except DatabaseUnavailable as exc:
        return _fail(str(exc))
    try:
        calls, source = _calls(args, cfg, session)
        if calls is None:
            calls = load_calls(session, start, end)
        report = interval_report(cfg, calls, start, end, args.minutes, source)
    finally:
        session.close()
        engine.dispose()
    return _emit(args, report)


def _month_of(args: argparse.Namespace, tz: ZoneInfo) -> tuple[int, int]:
    from callstats.reports import parse_month

    if args.month:
        return parse_month(args.month)
    if args.start:
        d = parse_when(args.start, tz)
        return d.year, d.month
    first = datetime.now(tz).date().replace(day=1) - timedelta(days=1)
    return first.year, first.month


def _monthly(args: argparse.Namespace) -> int:
    from callstats.database import DatabaseUnavailable
    from servicedesk.config import ConfigError

    try:
        cfg = _load(args.config)
    except ConfigError as exc:
        return _fail(f"{args.config}: {exc}")
    tz = ZoneInfo(cfg.service.timezone)
    try:
        year, month = _month_of(args, tz)
    except ValueError as exc:
        return _fail(str(exc))
    binary = args.format in ("pdf", "xlsx")
    if binary and not args.output and not args.send:
        return _fail(f"--format {args.format} writes a file: give --out FILE")
    if args.send and (args.output or args.contract or args.edition == "internal"):
        return _fail(
            "--send e-mails each organisation its client report: no --out, --contract or --edition internal"
        )
    tables = ("call", "incident", "organisation", "contract", "agent_session")
    if args.send:
        tables += ("report_recipient",)
    try:
        engine, session = _open(cfg, args.config, tables)
    except DatabaseUnavailable as exc:
        return _fail(str(exc))
    from callstats import service_render
    from callstats.service_report import ScopeError, build, resolve_scope

    try:
        try:
            scope = resolve_scope(session, args.organisation, args.contract)
        except ScopeError as exc:
            return _fail(str(exc))
        if args.send:
            return _send(args, cfg, session, year, month, scope.organisation_id)
        calls, source = _calls(args, cfg, session)
        report = build(
            session,
            cfg,
            year,
            month,
            scope=scope,
            edition=args.edition,
            calls=calls,
            calls_source=source,
        )
        lang = args.lang or cfg.reports.language
        logo = _logo(cfg, args.config)
        if args.format == "pdf":
            data: bytes | str = service_render.to_pdf(report, cfg, lang, logo=logo)
        elif args.format == "xlsx":
            data = service_render.to_xlsx(report, cfg, lang)
        elif args.format == "html":
            data = service_render.to_html(report, cfg, lang, logo=logo)
        else:
            from callstats.reports import RENDERERS

            data = RENDERERS[args.format](service_render.to_report(report, cfg, lang))
    finally:
        session.close()
        engine.dispose()
    return _write(args.output, data)


def _write(path: str | None, data: bytes | str) -> int:
    if path is None:
        sys.stdout.write(data if isinstance(data, str) else data.decode())
        return 0
    try:
        if isinstance(data, bytes):
            with open(path, "wb") as fh:
                fh.write(data)
        else:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(data)
    except OSError as exc:
        return _fail(f"cannot write {path}: {exc.strerror}")
    return 0


def _send(args, cfg, session, year: int, month: int, organisation_id: int | None) -> int:  # type: ignore[no-untyped-def]
    from callstats.delivery import send_monthly

    results = send_monthly(
        session, cfg, year, month, organisation_id=organisation_id, logo=_logo(cfg, args.config)
    )
    if not results:
        return _fail("no report recipients: add them with `centralita stats recipients add`")
    failed = 0
    for r in results:
        status = "sent" if r.error is None else f"FAILED: {r.error}"
        print(f"{r.organisation} [{r.language}] -> {', '.join(r.recipients)}: {status}")
        failed += r.error is not None
    return 1 if failed else 0


def _staffing(args: argparse.Namespace) -> int:
    from callstats.database import DatabaseUnavailable
    from servicedesk.config import ConfigError

    try:
        cfg = _load(args.config)
    except ConfigError as exc:
        return _fail(f"{args.config}: {exc}")
    tz = ZoneInfo(cfg.service.timezone)
    try:
        today = date.fromisoformat(args.date) if args.date else datetime.now(tz).date()
    except ValueError:
        return _fail(f"--date must be YYYY-MM-DD (got {args.date!r})")
    try:
        engine, session = _open(cfg, args.config)
    except DatabaseUnavailable as exc:
        return _fail(str(exc))
    from callstats.reports import RENDERERS, Report, Table
    from callstats.staffing import next_week_plan

    try:
        plan = next_week_plan(session, cfg, today)
    finally:
        session.close()
        engine.dispose()
    cols = [
        "queue",
        "weekday",
        "interval",
        "calls",
        "aht_s",
        "handle_s",
        "needed",
        "scheduled",
        "predicted_sl_percent",
        "logged_in",
        "flag",
    ]
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    t = Table("staffing", f"Agents per half-hour for the week of {plan.week_of}", cols)
    needs = plan.needs
    if not args.all:  # the flagged intervals, widest gap between need and logged-in first
        needs = sorted(plan.flagged(), key=lambda n: -abs((n.logged_in or 0.0) - n.needed))
    for n in needs:
        t.rows.append(
            [
                n.queue,
                days[n.weekday],
                n.start.strftime("%H:%M"),
                n.calls,
                n.aht,
                n.handle,
                n.needed,
                n.scheduled,
                n.service_level,
                n.logged_in,
                n.flag,
            ]
        )
    report = Report(
        "staffing",
        f"{cfg.service.name}: staffing from history",
        {
            "history_from": plan.history_from.isoformat(),
            "history_to": plan.history_to.isoformat(),
            "week_of": str(plan.week_of),
            "shrinkage_percent": f"{plan.shrinkage_percent:g}",
            "max_occupancy_percent": f"{plan.max_occupancy_percent:g}",
            "intervals": str(len(plan.needs)),
            "flagged": str(len(plan.flagged())),
        },
        [t],
    )
    return _write(args.output, RENDERERS[args.format](report))


def _recipients(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from callstats.database import DatabaseUnavailable
    from callstats.service_report import ScopeError, resolve_scope
    from servicedesk.config import ConfigError
    from servicedesk.models import Organisation, ReportRecipient

    try:
        cfg = _load(args.config)
    except ConfigError as exc:
        return _fail(f"{args.config}: {exc}")
    try:
        engine, session = _open(cfg, args.config, ("organisation", "report_recipient"))
    except DatabaseUnavailable as exc:
        return _fail(str(exc))
    try:
        if args.action == "list":
            for org, email, name, lang, active in session.execute(
                select(
                    Organisation.name,
                    ReportRecipient.email,
                    ReportRecipient.name,
                    ReportRecipient.language,
                    ReportRecipient.active,
                )
                .join(Organisation, Organisation.id == ReportRecipient.organisation_id)
                .order_by(Organisation.name, ReportRecipient.email)
            ):
                state = "" if active else " (inactive)"
                print(f"{org}: {email} {name or ''} [{lang}]{state}".replace("  ", " "))
            return 0
        if not args.organisation or not args.email:
            return _fail(f"recipients {args.action} needs --organisation and --email")
        email = args.email.strip()
        if "@" not in email or any(c.isspace() or c in ",;<>" for c in email):
            return _fail(f"not an e-mail address: {email!r}")
        try:
            scope = resolve_scope(session, args.organisation)
        except ScopeError as exc:
            return _fail(str(exc))
        existing = session.scalar(
            select(ReportRecipient).where(
                ReportRecipient.organisation_id == scope.organisation_id,
                ReportRecipient.email == email,
            )
        )
        if args.action == "add":
            if existing is None:
                existing = ReportRecipient(organisation_id=scope.organisation_id, email=email)
                session.add(existing)
            existing.name = args.name
            existing.language = args.lang
            existing.active = True
        elif existing is None:
            return _fail(f"{email} does not receive {scope.organisation}'s report")
        else:
            session.delete(existing)
        session.commit()
        print(f"{scope.organisation}: {email} {'added' if args.action == 'add' else 'removed'}")
        return 0
    finally:
        session.close()
        engine.dispose()


def _erlang(args: argparse.Namespace) -> int:
    from callstats import erlang

    try:
        s = erlang.agents_needed(
            args.calls_per_hour,
            args.handle_seconds,
            target_sl=args.target_sl,
            target_seconds=args.target_seconds,
            target_asa=args.target_asa,
        )
    except ValueError as exc:
        return _fail(str(exc))
    print(
        f"traffic {s.load:.2f} Erlangs: {s.agents} agents; "
        f"P(wait) {100 * s.wait_probability:.1f} %, "
        f"SL {100 * s.service_level:.1f} % in {args.target_seconds:g} s, "
        f"ASA {s.asa:.1f} s, occupancy {100 * s.occupancy:.1f} %"
    )
    return 0
