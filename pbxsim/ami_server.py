"""The simulator's AMI server: Asterisk 22.10.1's manager, as the traces show it.

The server owns the session: greeting, Login (plaintext and MD5 Challenge),
Logoff, Ping, Events, the per-session event mask and manager.conf read/write
classes, Asterisk's error texts, and the security events a real Asterisk emits
on the same connection (SuccessfulAuth, RequestBadFormat, RequestNotAllowed).
Event filters come from the user's `eventfilter` lines and the `Filter` action
(which, as in manager.c, needs `write = system`); see `pbxsim.ami_filters`.
Every other action goes to the engine (`PbxEngine.handle_action`).

Why asyncio.Protocol and not streams: an event is serialised once (only if some
session wants it) and its bytes are queued on every interested session, which
writes everything of one loop iteration with a single `transport.write`; there
is no await per line or per client. Slow readers are dropped when their write
buffer passes a limit, flooding clients are paused (`pause_reading`) while their
actions queue up, and more than `authlimit` unauthenticated connections are
refused, as manager.conf's authlimit does.

Events from the engine: `AmiEvent.headers` start with ("Event", name). If the
second header is not `Privilege`, the server inserts `Privilege: <category>,all`
and (with `timestamp_events`, as the traces' manager.conf sets) a `Timestamp`
from `clock`, which is how manager_event() lays them out. An engine with a
virtual clock either passes `clock=` or supplies both headers itself.
Events emitted while a session's own action runs reach that session after the
action's response, as Asterisk's session thread delivers them
(process_events after the action): e.g. QueueAdd's Response precedes
QueueMemberAdded in member_management/ami.raw.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pbxsim import ami_filters as af
from pbxsim import ami_protocol as p
from pbxsim.types import AmiEvent, Headers, PbxEngine

if TYPE_CHECKING:
    from servicedesk.config import AmiConnection

log = logging.getLogger(__name__)

_SECURITY_MASK, _SECURITY_PRIV = p.category_mask("security")
_SYSTEM = p.FLAG["system"]


@dataclass(frozen=True, slots=True)
class AmiUser:
    """One manager.conf user: secret, `read=` and `write=` class lists, `eventfilter` lines."""

    secret: str
    read: str = "all"
    write: str = "all"
    eventfilters: tuple[tuple[str, str], ...] = ()


UserSpec = AmiUser | tuple[str, str, str] | str


def _user(spec: UserSpec) -> AmiUser:
    if isinstance(spec, AmiUser):
        return spec
    if isinstance(spec, str):
        return AmiUser(spec)
    return AmiUser(*spec)


@dataclass(slots=True)
class AmiServerOptions:
    """Limits and timings; defaults are Asterisk's where Asterisk has one."""

    authtimeout: float = 30.0  # manager.conf authtimeout
    authlimit: int = 50  # manager.conf authlimit: unauthenticated sessions at once
    login_fail_delay: float = 1.0  # manager.c sleep(1) before "Authentication failed"
    timestamp_events: bool = True  # manager.conf timestampevents (yes in the traces)
    max_line: int = p.MAX_LINE_BYTES
    max_headers: int = p.MAX_HEADERS
    max_pending_actions: int = 64  # parsed actions queued before reading pauses
    max_write_buffer: int = 8 * 1024 * 1024  # a reader this far behind is dropped


class _Session(asyncio.Protocol):
    """One AMI connection."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.opts = server.options
        self.transport: asyncio.Transport | None = None
        self.parser = p.FrameParser(self.opts.max_line, self.opts.max_headers)
        self.authenticated = False
        self.username = ""
        self.readperm = 0
        self.writeperm = 0
        self.send_events = p.ALL_EVENTS  # manager.c: session->send_events = -1
        self.filters: list[af.EventFilter] = []
        self.challenge = ""
        self.pending: deque[p.ParsedMessage] = deque()
        self.wakeup = asyncio.Event()
        self.in_action = False
        self.deferred: list[bytes] = []
        self.out: list[bytes] = []
        self.out_size = 0
        self.flush_scheduled = False
        self.deferred_size = 0
        self.eof = False
        self.closing = False
        self.reading_paused = False
        self.worker: asyncio.Task[None] | None = None
        self.auth_timer: asyncio.TimerHandle | None = None
        self.session_id = f"0x{id(self):x}"
        self.session_tv = 0.0
        self.local_addr = ""
        self.remote_addr = ""

    # -- transport callbacks -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.session_tv = self.server.clock()
        self.local_addr = _addr(transport.get_extra_info("sockname"))
        self.remote_addr = _addr(transport.get_extra_info("peername"))
        if self.server.unauthenticated() >= self.opts.authlimit:
            # manager.c session_do: over authlimit the socket is closed before the greeting
            self.closing = True
            transport.close()
            return
        self.server.sessions.add(self)
        transport.write(p.GREETING)
        loop = asyncio.get_running_loop()
        self.auth_timer = loop.call_later(self.opts.authtimeout, self._auth_timeout)
        self.worker = loop.create_task(self._run())

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        for msg in self.parser.feed(data):
            self.pending.append(msg)
        if self.pending:
            self.wakeup.set()
            if len(self.pending) >= self.opts.max_pending_actions and not self.reading_paused:
                self.reading_paused = True
                self.transport.pause_reading()

    def eof_received(self) -> bool:
        # Half-close: answer what was already sent, then close (the worker does it).
        self.eof = True
        self.wakeup.set()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.sessions.discard(self)
        if self.auth_timer:
            self.auth_timer.cancel()
        self.wakeup.set()

    # -- output -------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue bytes for this loop iteration's single write; drop a reader too far behind.

        Coalescing every event and response of one loop iteration into one
        `transport.write` saves a syscall per event per client under load.
        """
        t = self.transport
        if self.closing or t is None:
            return
        self.out.append(data)
        self.out_size += len(data)
        if t.get_write_buffer_size() + self.out_size > self.opts.max_write_buffer:
            log.warning("AMI client %s too slow: dropping it", self.remote_addr)
            self.abort()
            return
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.flush_scheduled = False
        if self.out and not self.closing and self.transport is not None:
            data = self.out[0] if len(self.out) == 1 else b"".join(self.out)
            self.out.clear()
            self.out_size = 0
            self.transport.write(data)

    def deliver_event(self, data: bytes) -> None:
        if self.in_action:
            self.deferred_size += len(data)
            if self.deferred_size > self.opts.max_write_buffer:
                self.abort()
                return
            self.deferred.append(data)
        else:
            self.send(data)

    def flush_deferred(self) -> None:
        if self.deferred:
            data = b"".join(self.deferred)
            self.deferred.clear()
            self.deferred_size = 0
            self.send(data)

    def abort(self) -> None:
        self.closing = True
        self.out.clear()
        if self.transport is not None:
            self.transport.abort()
        self.wakeup.set()

    def close(self) -> None:
        """Close after what is queued has been written (Logoff's Goodbye, Login's error)."""
        self.flush()
        self.closing = True
        if self.transport is not None:
            self.transport.close()
        self.wakeup.set()

    def _auth_timeout(self) -> None:
        if not self.authenticated and not self.closing:
            log.info("AMI client %s failed to authenticate in time", self.remote_addr)
            self.close()

    # -- processing ---------------------------------------------------------
    async def _run(self) -> None:
        try:
            while not self.closing:
                if not self.pending:
                    if self.eof:
                        self.close()
                        break
                    self.wakeup.clear()
                    await self.wakeup.wait()
                    continue
                msg = self.pending.popleft()
                if self.reading_paused and len(self.pending) <= self.opts.max_pending_actions // 2:
                    self.reading_paused = False
                    if not self.closing:
                        self.transport.resume_reading()
                self.in_action = True
                try:
                    keep = await self._process(msg)
                except Exception:
                    log.exception("AMI session %s: action failed", self.remote_addr)
                    keep = True
                finally:
                    self.in_action = False
                self.flush_deferred()
                if not keep:
                    self.close()
                    break
        except asyncio.CancelledError:
            if not self.closing:
                self.abort()
            raise

    async def _process(self, msg: p.ParsedMessage) -> bool:
        """One message (do_message/process_message); False ends the session."""
        headers = msg.headers
        action_id = p.get_header(headers, "ActionID") or None
        if msg.too_many_lines:
            self.send(
                p.serialize(p.error(action_id, "Too many lines in message or allocation failure"))
            )
            return True
        if msg.line_too_long:
            self.send(p.serialize(p.error(action_id, "Failed to parse message: line too long")))
            return True
        action = p.get_action(headers)
        if not action:
            self.send(p.serialize(p.error(action_id, "Missing action in request")))
            self._bad_format("NONE")
            return True
        low = action.lower()
        if not self.authenticated and low not in ("login", "logoff", "challenge"):
            self.send(p.serialize(p.error(action_id, "Permission denied")))
            return True
        canonical = p.CANONICAL_ACTION.get(low, action)
        authority = p.ACTION_AUTHORITY.get(canonical, 0)
        if authority and not (self.writeperm & authority):
            self.send(p.serialize(p.error(action_id, "Permission denied")))
            self._security_event(
                "RequestNotAllowed",
                account=self.username,
                required=[("RequestType", f"Action: {action}")],
            )
            return True
        if low == "login":
            return await self._login(headers, action_id)
        if low == "logoff":
            self.send(
                p.serialize(p.response(action_id, "Thanks for all the fish.", status="Goodbye"))
            )
            return False
        if low == "challenge":
            self._challenge(headers, action_id)
            return True
        if low == "ping":
            self.send(
                p.serialize(
                    p.response(
                        action_id,
                        extra=[("Ping", "Pong"), ("Timestamp", p.timestamp(self.server.clock()))],
                    )
                )
            )
            return True
        if low == "events":
            self._events(headers, action_id)
            return True
        if low == "filter":
            self._filter(headers, action_id)
            return True
        try:
            replies = await self.server.engine.handle_action(canonical, headers)
        except Exception:
            log.exception("engine failed on AMI action %s", canonical)
            replies = [p.error(action_id, "Internal error")]
        if replies is None:
            self.send(p.serialize(p.error(action_id, p.UNKNOWN_COMMAND.format(action=action))))
            self._bad_format(action)
            return True
        if replies:
            self.send(p.serialize_many(replies))
        return True

    def _filter(self, headers: Headers, action_id: str | None) -> None:
        """manager.c action_filter(): Operation Add, Filter and optional MatchCriteria."""
        if p.get_header(headers, "Operation").lower() != "add":
            self.send(p.serialize(p.error(action_id, "Unknown operation")))
            return
        criteria = p.get_header(headers, "MatchCriteria")
        try:
            self.filters.append(
                af.parse_filter(
                    f"eventfilter({criteria})" if criteria else "eventfilter",
                    p.get_header(headers, "Filter"),
                )
            )
        except af.FilterCompileError:
            self.send(
                p.serialize(
                    p.error(
                        action_id, "Filter did not compile.  Check the syntax of the filter given."
                    )
                )
            )
            return
        except af.FilterFormatError:
            self.send(
                p.serialize(
                    p.error(
                        action_id,
                        "Filter was formatted incorrectly.  Check the syntax of the filter given.",
                    )
                )
            )
            return
        self.send(p.serialize(p.response(action_id, "Success")))

    async def _login(self, headers: Headers, action_id: str | None) -> bool:
        if self.authenticated:
            self.send(p.serialize(p.response(action_id, "Already authenticated")))
            return True
        username = p.get_header(headers, "Username")
        user = self.server.users.get(username) if username else None
        ok = False
        if user is None:
            if username:
                self._security_event("InvalidAccountID", account=username)
        elif p.get_header(headers, "AuthType").lower() == "md5":
            key = p.get_header(headers, "Key")
            if key and self.challenge:
                digest = hashlib.md5((self.challenge + user.secret).encode()).hexdigest()
                ok = digest == key
                # ChallengeResponseFailed needs the session's (still empty) username:
                # Asterisk drops it, so nothing is reported here
        else:
            ok = p.get_header(headers, "Secret") == user.secret
            if not ok:
                self._security_event("InvalidPassword", account=username, version="2")
        if not ok:
            await asyncio.sleep(self.opts.login_fail_delay)
            self.send(p.serialize(p.error(action_id, "Authentication failed")))
            return False
        self.authenticated = True
        if self.auth_timer:
            self.auth_timer.cancel()
        self.username = username
        self.readperm = p.get_perm(user.read)
        self.writeperm = p.get_perm(user.write)
        self.filters = _user_filters(user)
        self.session_tv = self.server.clock()
        mask = p.strings_to_mask(p.get_header(headers, "Events"))
        if mask >= 0:
            self.send_events = mask
        out = [p.response(action_id, "Authentication accepted")]
        if self.send_events & _SYSTEM and self.readperm & _SYSTEM:
            up = str(int(self.server.clock() - self.server.started_at))
            out.append(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", up),
                    ("LastReload", up),
                    ("Status", "Fully Booted"),
                ]
            )
        self.send(p.serialize_many(out))
        self._security_event(
            "SuccessfulAuth",
            account=self.username,
            required=[("UsingPassword", "0")],  # Asterisk never fills it in (trace: 0)
            severity="Informational",
        )
        return True

    def _challenge(self, headers: Headers, action_id: str | None) -> None:
        if p.get_header(headers, "AuthType").lower() != "md5":
            self.send(p.serialize(p.error(action_id, "Must specify AuthType")))
            return
        if not self.challenge:
            # ast_random() printed with %ld into char[10]: at most 9 digits
            self.challenge = str(self.server.rng.randrange(1, 2**31))[:9]
        self.send(p.serialize(p.response(action_id, extra=[("Challenge", self.challenge)])))

    def _events(self, headers: Headers, action_id: str | None) -> None:
        mask = p.strings_to_mask(p.get_header(headers, "EventMask"))
        if mask >= 0:
            self.send_events = mask
        if mask > 0:
            self.send(p.serialize(p.response(action_id, extra=[("Events", "On")])))
        elif mask == 0:
            self.send(p.serialize(p.response(action_id, extra=[("Events", "Off")])))
        else:
            self.send(p.serialize(p.error(action_id, "Invalid event mask")))

    def _security_event(
        self,
        name: str,
        *,
        account: str | None = None,
        required: Sequence[tuple[str, str]] = (),
        optional: Sequence[tuple[str, str]] = (),
        severity: str = "Error",
        version: str = "1",
    ) -> None:
        """Broadcast a security event laid out like security_events.c's sec_events[] table.

        Field order: the common required IEs (AccountID among them unless `account` is
        None), the event's own required IEs, then SessionTV and the optional ones.
        A required AccountID that is empty makes Asterisk drop the event; so do we.
        """
        if account is not None and not account:
            return
        now = self.server.clock()
        h: Headers = [
            ("Event", name),
            ("Privilege", _SECURITY_PRIV),
            ("Timestamp", p.timestamp(now)),
            ("EventTV", p.event_tv(now)),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", version),
        ]
        if account is not None:
            h.append(("AccountID", account))
        h += [
            ("SessionID", self.session_id),
            ("LocalAddress", self.local_addr),
            ("RemoteAddress", self.remote_addr),
            *required,
            ("SessionTV", p.event_tv(self.session_tv)),
            *optional,
        ]
        self.server.broadcast(_SECURITY_MASK, h)

    def _bad_format(self, action: str) -> None:
        self._security_event(
            "RequestBadFormat",
            required=[("RequestType", f"Action: {action}")],
            optional=[("AccountID", self.username)] if self.username else [],
        )


def _addr(sockname: object) -> str:
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host = str(sockname[0])
        kind = "IPV6" if ":" in host else "IPV4"
        return f"{kind}/TCP/{host}/{sockname[1]}"
    return "IPV4/TCP/0.0.0.0/0"


class AmiServer:
    """Listening AMI endpoint wired to one engine; see `serve_ami`."""

    def __init__(
        self,
        engine: PbxEngine,
        users: Mapping[str, UserSpec],
        *,
        options: AmiServerOptions | None = None,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
    ) -> None:
        self.engine = engine
        self.users = {name: _user(spec) for name, spec in users.items()}
        self.options = options or AmiServerOptions()
        self.clock = clock
        self.rng = random.Random(seed)
        self.started_at = clock()
        self.sessions: set[_Session] = set()
        self._server: asyncio.Server | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._closing_workers: list[asyncio.Task[None]] = []

    async def start(self, host: str = "127.0.0.1", port: int = 5038) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Session(self), host, port)
        self._unsubscribe = self.engine.subscribe(self.on_event)

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return self._server.sockets[0].getsockname()[1]

    @property
    def host(self) -> str:
        assert self._server is not None and self._server.sockets
        return self._server.sockets[0].getsockname()[0]

    def unauthenticated(self) -> int:
        return sum(1 for s in self.sessions if not s.authenticated)

    def on_event(self, event: AmiEvent) -> None:
        """Engine sink: serialise once, write to each session whose masks admit it."""
        if not self.sessions:
            return
        headers = event.headers
        if len(headers) >= 2 and headers[1][0] == "Privilege":
            # the engine wrote Privilege itself: it is what Asterisk filters on
            self.broadcast(p.category_mask(headers[1][1])[0], headers)
            return
        mask, privilege = p.category_mask(event.category)
        extra: Headers = [("Privilege", privilege)]
        if self.options.timestamp_events:
            extra.append(("Timestamp", p.timestamp(self.clock())))
        headers = [headers[0], *extra, *headers[1:]] if headers else extra
        self.broadcast(mask, headers)

    def broadcast(self, mask: int, headers: Headers) -> None:
        """Serialise once (only if someone wants it) and hand the bytes to each admitted session."""
        targets = [
            s
            for s in self.sessions
            if s.authenticated
            and (s.readperm & mask) == mask
            and (s.send_events & mask) == mask
            and not s.closing
        ]
        if targets:
            data = p.serialize(headers)
            text: str | None = None
            for s in targets:
                if s.filters:
                    if text is None:
                        text = data.decode("utf-8", "replace")
                    if not af.should_send(s.filters, str(headers[0][1]), text):
                        continue
                s.deliver_event(data)

    def close(self) -> None:
        """Stop listening, unsubscribe from the engine and drop every session."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._server is not None:
            self._server.close()
        for s in tuple(self.sessions):
            s.close()  # what is already queued still goes out, as with Logoff
            if s.worker is not None:
                self._closing_workers.append(s.worker)
                s.worker.cancel()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()
        workers, self._closing_workers = self._closing_workers, []
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)


def _user_filters(user: AmiUser) -> list[af.EventFilter]:
    """The user's eventfilter lines; a bad one is logged and left out, as manager.c does."""
    out = []
    for criteria, pattern in user.eventfilters:
        try:
            out.append(af.parse_filter(criteria, pattern))
        except ValueError as exc:
            log.warning("manager.conf: %s", exc)
    return out


def users_from_manager_conf(text: str, secrets: Mapping[str, str]) -> dict[str, AmiUser]:
    """The users of a manager.conf text (e.g. the generated one), as Asterisk loads them.

    Every section but [general] is a user with its read/write classes and eventfilter
    lines; the secret is not in the file (it is #included), so it comes from `secrets`.
    Users without a secret there are left out: Asterisk refuses them too.
    """
    users: dict[str, AmiUser] = {}
    name = ""
    opts: dict[str, str] = {}
    filters: list[tuple[str, str]] = []

    def close() -> None:
        if name and name != "general" and secrets.get(name):
            users[name] = AmiUser(
                secrets[name], opts.get("read", ""), opts.get("write", ""), tuple(filters)
            )

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("["):
            close()
            name, opts, filters = line[1:].split("]", 1)[0], {}, []
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.lstrip(">").strip()
        if key.startswith("eventfilter"):
            filters.append((key, value))
        else:
            opts[key] = value
    close()
    return users


def users_from_config(
    ami: AmiConnection, read: str = "all", write: str = "all"
) -> dict[str, AmiUser]:
    """The one manager.conf user the listener logs in as, from `cfg.connections.ami`.

    The secret comes from the environment variable the config names, never the repo;
    without it the simulator refuses to start rather than accept any password.
    """
    secret = ami.secret()
    if not secret:
        raise ValueError(
            f"connections.ami.secret_env: environment variable {ami.secret_env} is not set"
        )
    return {ami.username: AmiUser(secret, read, write)}


async def serve_ami(
    engine: PbxEngine,
    host: str = "127.0.0.1",
    port: int = 5038,
    users: Mapping[str, UserSpec] | None = None,
    *,
    options: AmiServerOptions | None = None,
    clock: Callable[[], float] = time.time,
    seed: int | None = None,
) -> AmiServer:
    """Start an AMI server; `port=0` picks a free port (read it from `.port`).

    `users` maps a manager.conf user to `AmiUser(secret, read, write)` (or a
    `(secret, read, write)` tuple, or just the secret for read=all/write=all).
    """
    server = AmiServer(engine, users or {}, options=options, clock=clock, seed=seed)
    await server.start(host, port)
    return server
