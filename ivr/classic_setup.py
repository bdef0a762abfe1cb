"""What the classic AGI process needs, set up the way Asterisk starts it.

Asterisk runs ``centralita-ivr.agi`` with no environment of ours, in its own
working directory, with stderr on its console, once per call. So:

* secrets and URLs come from the config, or from the env file it names
  (``connections.env_file``, relative to the config's folder);
* a relative ``sqlite:///`` path is the config's folder, never Asterisk's cwd;
* no Redis URL means no live state (the flow routes without overflow or wait
  estimates); a Redis server that does not answer fails within half a second.
  An embedded Redis per call (a server process started and stopped for every
  call) is never used here;
* the log, call-log line included, goes to a file
  (``connections.fastagi.agi_log``, default ``$AST_LOG_DIR/centralita-agi.log``);
* the greeting goes out first: the main IVR's first command is known from the
  raw TOML (the line by the called number; :func:`predicted_greeting`), so it is
  sent before the configuration is validated and the flow built, and the flow
  finds its reply waiting (``ClassicAgiChannel.prefetch``). The database and Redis
  code (SQLAlchemy, redis-py) is imported and set up in a worker thread on first
  use, also while the greeting plays.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only (pydantic loads later, off the hot path)
    from servicedesk.config import CentralitaConfig

LOG_NAME = "centralita-agi.log"
REDIS_TIMEOUT_S = 0.5


def default_log_path(config_dir: Path) -> Path:
    """Asterisk tells AGI scripts its log directory in AST_LOG_DIR."""
    ast_log = os.environ.get("AST_LOG_DIR")
    return Path(ast_log) / LOG_NAME if ast_log else config_dir / LOG_NAME


def log_to_file(path: Path | None, config_path: str) -> None:
    """All logging to `path` (appended, one line per record); to stderr only if the file
    cannot be opened, with the reason, so a broken set-up is still seen."""
    from ivr.calllog import LOG_FORMAT

    target = path or default_log_path(Path(config_path).resolve().parent)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    try:
        handler: logging.Handler = logging.FileHandler(target, encoding="utf-8")
        problem = ""
    except OSError as exc:
        handler = logging.StreamHandler(sys.stderr)
        problem = f"centralita-ivr.agi: cannot write {target}: {exc.strerror}"
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if problem:
        logging.getLogger("centralita.ivr").warning(problem)


def store_services(
    cfg: CentralitaConfig, config_dir: Path, closers: list[Callable[[], None]] | None = None
) -> Any:
    """The production services for one call (imports SQLAlchemy and redis-py); what must
    be closed before the process leaves goes into `closers`."""
    from ivr.services import StoreServices
    from servicedesk.config_files import resolve_sqlite_url
    from servicedesk.db import make_engine, make_sessionmaker

    # Asterisk starts the script in its own working directory with none of our environment:
    # a relative SQLite file is the config's neighbour, as the README documents.
    url = resolve_sqlite_url(cfg.connections.database.raw_url(), config_dir)
    engine = make_engine(url)
    if closers is not None:  # SQLite folds its WAL back when the last connection closes
        closers.append(engine.dispose)
    sessions = make_sessionmaker(engine)
    client = None
    redis_url = cfg.connections.redis.resolved_url()
    if redis_url:
        import redis

        client = redis.Redis.from_url(
            redis_url,
            decode_responses=True,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            socket_timeout=REDIS_TIMEOUT_S,
        )
    return StoreServices(cfg, sessions, client)


class DeferredServices:
    """IvrServices whose real object is built in a worker thread on first use."""

    def __init__(
        self, build: Callable[[], Any], clock: Callable[[], datetime] | None = None
    ) -> None:
        self._build = build
        self._clock = clock
        self.closers: list[Callable[[], None]] = []
        self._task: Any = None  # the asyncio future of the build, once started

    async def _svc(self) -> Any:
        import asyncio

        if self._task is None:
            self._task = asyncio.ensure_future(asyncio.to_thread(self._build))
        return await asyncio.shield(self._task)

    def now(self) -> datetime:
        return self._clock() if self._clock is not None else datetime.now(UTC)

    def close(self) -> None:
        """Close what the build opened (the database pool)."""
        for close in self.closers:
            try:
                close()
            except Exception:  # leaving anyway; SQLite recovers its WAL on the next open
                logging.getLogger("centralita.ivr").exception("closing services")

    async def identify(self, ani: str) -> Any:
        return await (await self._svc()).identify(ani)

    async def identify_by_number(self, digits: str) -> Any:
        return await (await self._svc()).identify_by_number(digits)

    async def availability(self) -> Any:
        return await (await self._svc()).availability()

    async def queue_stats(self, queue: str) -> Any:
        return await (await self._svc()).queue_stats(queue)

    async def incident_status(self, digits: str) -> Any:
        return await (await self._svc()).incident_status(digits)

    async def create_message_incident(self, **kw: Any) -> int:
        return int(await (await self._svc()).create_message_incident(**kw))

    async def request_callback(self, **kw: Any) -> int:
        return int(await (await self._svc()).request_callback(**kw))

    async def record_survey(self, **kw: Any) -> bool:
        return bool(await (await self._svc()).record_survey(**kw))


def predicted_greeting(config_path: str, env: dict[str, str]) -> str | None:
    """The main IVR's first command line for this call, when it is certain: the line
    found by `agi_extension` (as `IvrFlow.find_line` and `line_by_did` find it), the
    channel already in the line's language (else a SET comes first), and a greeting
    recorded with the language offer. None otherwise, or when the file is unreadable
    (the real load then reports why)."""
    import tomllib

    from asterisk_conf.prompt_catalogue import LANGUAGE_DIGITS, greeting_key
    from ivr.agi_protocol import constant_line
    from ivr.prompts import PROMPT_DIR

    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    lines = data.get("lines")
    want = "".join(c for c in env.get("agi_extension", "") if c.isdigit())
    if not isinstance(lines, dict) or len(want) < 3:
        return None

    def did(line: object) -> str:
        return str(line.get("did", "")).lstrip("+") if isinstance(line, dict) else ""

    found = next(
        (
            (name, line)
            for name, line in lines.items()
            if did(line) and (did(line) == want or want.endswith(did(line)[-10:]))
        ),
        None,
    )
    if found is None:
        return None
    name, line = found
    language = line.get("language", "es")
    if env.get("agi_language", "") not in ("", language):
        return None
    key = greeting_key(name)
    if key is None:
        return None
    return constant_line("STREAM FILE", f"{PROMPT_DIR}/{key}", "".join(LANGUAGE_DIGITS.values()))


def build_classic_handlers(
    config_path: str, services: Any = None
) -> tuple[dict[str, Callable[[Any], Awaitable[None]]], Path, Callable[[], None]]:
    """(script → flow, log file, what to close at the end) for one call; the env file
    is applied first."""
    from ivr.app import build_handlers
    from servicedesk.config import load_config
    from servicedesk.config_files import apply_env_file, resolve_path

    path = Path(config_path).resolve()
    config_dir = path.parent
    cfg = load_config(path)
    if cfg.connections.env_file:
        apply_env_file(resolve_path(cfg.connections.env_file, config_dir))
    agi_log = cfg.connections.fastagi.agi_log
    log_path = resolve_path(agi_log, config_dir) if agi_log else default_log_path(config_dir)
    if services is None:
        deferred = DeferredServices(lambda: store_services(cfg, config_dir, deferred.closers))
        services = deferred
    close = getattr(services, "close", None) or (lambda: None)
    return build_handlers(cfg, services), log_path, close  # type: ignore[return-value]
