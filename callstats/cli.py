"""`centralita stats interval | monthly | erlang`: reports on the command line.

Calls come from the database's call records unless `--queue-log PATH` (the
file) or `--queue-log-table` (Asterisk's realtime table in the same database)
is given; incidents, satisfaction and contracts always come from the database.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stats = sub.add_parser("stats", help="interval and monthly reports, Erlang C staffing")
    ssub = stats.add_subparsers(dest="stats_command", required=True, metavar="REPORT")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", required=True, help="centralita.toml")
        p.add_argument("--queue-log", metavar="PATH", help="read calls from this queue_log file")
        p.add_argument(
            "--queue-log-table",
            action="store_true",
            help="read calls from the realtime queue_log table",
        )
        p.add_argument("--format", choices=("text", "csv", "json"), default="text")
        p.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")

    iv = ssub.add_parser("interval", help="per queue per 15/30/60-minute interval")
    common(iv)
    iv.add_argument("--from", dest="start", help="YYYY-MM-DD or ISO datetime (local if no zone)")
    iv.add_argument("--to", dest="end", help="exclusive; default: one day after --from")
    iv.add_argument("--minutes", type=int, choices=(15, 30, 60), default=30)
    iv.set_defaults(func=_interval)

    mo = ssub.add_parser("monthly", help="calls, SLA compliance, satisfaction, contracts")
    common(mo)
    mo.add_argument("--month", help="YYYY-MM (default: the previous month)")
    mo.add_argument("--from", dest="start", help="any date in the month (instead of --month)")
    mo.set_defaults(func=_monthly)

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


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from servicedesk.config import load_config

    return load_config(args.config)


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


def _session(cfg):  # type: ignore[no-untyped-def]
    from servicedesk.db import make_engine, make_sessionmaker

    engine = make_engine(cfg.connections.database.resolved_url())
    return engine, make_sessionmaker(engine)()


def _interval(args: argparse.Namespace) -> int:
    from servicedesk.config import ConfigError

    try:
        cfg = _load(args)
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
    from callstats.records import load_calls
    from callstats.reports import interval_report

    engine, session = _session(cfg)
    try:
        calls, source = _calls(args, cfg, session)
        if calls is None:
            calls = load_calls(session, start, end)
        report = interval_report(cfg, calls, start, end, args.minutes, source)
    finally:
        session.close()
        engine.dispose()
    return _emit(args, report)


def _monthly(args: argparse.Namespace) -> int:
    from servicedesk.config import ConfigError

    try:
        cfg = _load(args)
    except ConfigError as exc:
        return _fail(f"{args.config}: {exc}")
    from callstats.reports import monthly_report, parse_month

    tz = ZoneInfo(cfg.service.timezone)
    try:
        if args.month:
            year, month = parse_month(args.month)
        elif args.start:
            d = parse_when(args.start, tz)
            year, month = d.year, d.month
        else:
            first = datetime.now(tz).date().replace(day=1) - timedelta(days=1)
            year, month = first.year, first.month
    except ValueError as exc:
        return _fail(str(exc))
    engine, session = _session(cfg)
    try:
        calls, source = _calls(args, cfg, session)
        report = monthly_report(session, cfg, year, month, calls=calls, source=source)
    finally:
        session.close()
        engine.dispose()
    return _emit(args, report)


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
