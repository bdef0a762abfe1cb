"""Per-app shared objects: the configuration, the database sessions and the Redis bus."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, g
from sqlalchemy.orm import Session, sessionmaker

from cti_panel.throttle import Limits
from cti_panel.wallboard import IncidentRiskCache
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig


@dataclass
class PanelContext:
    cfg: CentralitaConfig
    sessions: sessionmaker[Session]
    bus: Bus
    sse_max_seconds: float = 300.0
    risk: IncidentRiskCache = field(default_factory=IncidentRiskCache)
    command_timeout_s: float = 3.0  # how long an API call waits for the listener's result
    sse_block_ms: int = 2000  # below redis-py 8's default 5 s socket timeout
    config_path: str = "centralita.toml"  # shown on the admin's configuration pages
    login_limits: Limits | None = None  # None: from cfg.panel.login_attempts_per_minute


def ctx() -> PanelContext:
    return current_app.extensions["centralita"]


def db() -> Session:
    """One database session per request, closed at teardown."""
    if "db" not in g:
        g.db = ctx().sessions()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
