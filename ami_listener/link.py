"""The supervised AMI connection, on panoramisk 1.4 with its pitfalls removed.

Kept from panoramisk: `Action` (ids, serialisation) and the response/future
matching of `AMIProtocol.send` + `Action.add_message` (including list actions
such as QueueStatus). Replaced, through the `protocol_factory` hook:
* the reader — panoramisk decodes each TCP read with errors='ignore' (loses
  split multibyte UTF-8) and parses ~33k msg/s; `LeanAMIProtocol` feeds raw
  bytes to `AmiParser`;
* dispatch — every event callback is isolated (an exception is logged, the
  link lives on), instead of panoramisk's unguarded sync callbacks;
* supervision — panoramisk never checks its pings, reconnects on a fixed
  timer, retries a refused login forever and silently re-sends queued actions
  after a reconnect. `AmiLink.run` pings with a timeout (a silent link is
  *dead*), reconnects with exponential backoff and jitter, and tells apart a
  refused login (long backoff, reported), a *down* link (connection refused)
  and a *dead* one. Actions pending when a link drops fail with
  `ConnectionError`; the caller decides whether to retry.

Event mask: `call,agent,dialplan` — call (Newchannel, Hangup, HangupRequest,
DialEnd), agent (Queue*/Agent* events), dialplan (VarSet: QUEUESTATUS and the
IVR's CENTRALITA_*). No cdr, cel, reporting, security, dtmf or agi. Which
events of those classes reach us is decided by the `eventfilter` lines of the
generated manager.conf user (asterisk_conf/manager.py): the `Filter` action needs
`write = system` (manager.c), which the listener's user deliberately lacks, so no
Filter is ever sent. Should the user lack the lines, the parser's own filter
drops the extra events unparsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from ami_listener.parser import AmiMessage, AmiParser

log = logging.getLogger(__name__)

EVENT_MASK = "call,agent,dialplan"


class LoginRefused(Exception):
    """Asterisk answered the Login with an error: wrong credentials or permit/deny."""


class LinkDead(Exception):
    """The TCP connection is open but Asterisk stopped answering pings."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter, in seconds."""

    base: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    attempt: int = 0

    def next(self) -> float:
        delay = min(self.cap, self.base * self.factor**self.attempt)
        self.attempt += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempt = 0


class LeanAMIProtocol(AMIProtocol):
    """panoramisk's protocol with a byte-level reader and isolated dispatch."""

    def __init__(self, link: AmiLink) -> None:
        super().__init__()
        self.link = link

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.factory = self.link
        self.encoding = "utf-8"
        self.link.parser.reset()

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        self.link.bytes_in += len(data)
        self.link.chunk_started = time.perf_counter()
        for msg in self.link.parser.feed(data):
            self.handle_message(msg)  # type: ignore[arg-type]

    def handle_message(self, msg: AmiMessage) -> None:  # type: ignore[override]
        aid = msg.get("ActionID")
        if isinstance(aid, str):
            action = self.responses.get(aid)
            if action is not None:
                try:
                    if action.add_message(Message(msg)):
                        self.responses.pop(aid, None)
                except Exception:
                    log.exception("bad response to action %s", aid)
        if "Event" in msg:
            self.link.deliver(msg)
            if msg.get("Event") == "Shutdown":
                self.link.note("asterisk shutting down")

    def connection_lost(self, exc: Exception | None) -> None:  # type: ignore[override]
        self.close()
        self.link.lost(self, exc)

    def close(self) -> None:  # type: ignore[override]
        """Fail pending actions instead of panoramisk's silent re-send on reconnect."""
        for action in list(self.responses.values()):
            if not action.future.done():
                action.future.set_exception(ConnectionError("AMI link lost"))
        self.responses.clear()
        if not self.closed:
            try:
                self.transport.close()
            finally:
                self.closed = True


OnLogin = Callable[["AmiLink"], Awaitable[None]]


class AmiLink:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        parser: AmiParser,
        on_event: Callable[[AmiMessage], None],
        on_login: OnLogin | None = None,
        events: str = EVENT_MASK,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        connect_timeout: float = 5.0,
        backoff: Backoff | None = None,
        refused_backoff: Backoff | None = None,
        on_status: Callable[[str, str], None] | None = None,
    ) -> None:
        self.on_status = on_status
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.parser = parser
        self.on_event = on_event
        self.on_login = on_login
        self.events = events
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.connect_timeout = connect_timeout
        self.backoff = backoff or Backoff()
        self.refused_backoff = refused_backoff or Backoff(base=30.0, cap=600.0)
        self.protocol: LeanAMIProtocol | None = None
        self.status = "idle"  # idle|connecting|up|down|dead|auth_refused|lost|stopped
        self.status_detail = ""
        self.logins = 0
        self.callback_errors = 0
        self.bytes_in = 0
        self.chunk_started = 0.0  # perf_counter when the chunk being handled was read
        self.history: list[str] = []
        self._lost: asyncio.Event = asyncio.Event()
        self._stop = asyncio.Event()
        self._up = asyncio.Event()
        # attributes panoramisk's protocol expects on its factory
        self.forgetable_actions = ("ping", "login")
        self.awaiting_actions: list[Any] = []

    # --- called by the protocol ------------------------------------------
    def deliver(self, msg: AmiMessage) -> None:
        try:
            self.on_event(msg)
        except Exception:
            self.callback_errors += 1
            log.exception("event callback failed on %r", msg.get("Event"))

    def lost(self, protocol: LeanAMIProtocol, exc: Exception | None) -> None:
        if protocol is self.protocol:
            self._lost.set()

    def note(self, text: str) -> None:
        log.info("AMI: %s", text)

    def _set(self, status: str, detail: str = "") -> None:
        self.status, self.status_detail = status, detail
        self.history.append(status)
        if status == "up":
            self._up.set()
        else:
            self._up.clear()
        level = logging.ERROR if status == "auth_refused" else logging.INFO
        if status == "auth_refused":
            detail = f"{detail} (login refused for user {self.username!r}: check the secret and manager.conf permit/deny; retrying slowly)"
            self.status_detail = detail
        log.log(level, "AMI %s:%s %s %s", self.host, self.port, status, detail)
        if self.on_status is not None:
            try:
                self.on_status(status, detail)
            except Exception:
                log.exception("status callback failed")

    # --- actions ------------------------------------------------------------
    async def send(
        self, fields: dict[str, str], as_list: bool = False, timeout: float = 10.0
    ) -> Any:
        """Send an action; its Message (or, with `as_list`, the list) or an exception.

        `as_list` is always explicit: panoramisk's guess treats a QueueAdd reply
        ("Added interface to queue") as the start of a list and would wait forever.
        """
        protocol = self.protocol
        if protocol is None or protocol.closed:
            raise ConnectionError("AMI link is not up")
        action = Action(dict(fields), as_list=as_list)
        future = protocol.send(action, as_list=as_list)
        return await asyncio.wait_for(future, timeout)

    async def wait_up(self, timeout: float) -> None:
        await asyncio.wait_for(self._up.wait(), timeout)

    def stop(self) -> None:
        self._stop.set()
        self._lost.set()

    # --- supervision ------------------------------------------------------------
    async def run(self) -> None:
        while not self._stop.is_set():
            delay = 0.0
            try:
                await self._session()
            except LoginRefused as exc:
                self._set("auth_refused", str(exc))
                delay = self.refused_backoff.next()
            except LinkDead as exc:
                self._set("dead", str(exc))
                delay = self.backoff.next()
            except (TimeoutError, OSError) as exc:
                if self.status == "connecting":
                    self._set("down", f"{type(exc).__name__}: {exc}")
                else:
                    self._set("lost", f"{type(exc).__name__}: {exc}")
                delay = self.backoff.next()
            finally:
                self._close()
            if self._stop.is_set():
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        self._set("stopped")

    def _close(self) -> None:
        if self.protocol is not None:
            self.protocol.close()
            self.protocol = None

    async def _session(self) -> None:
        self._set("connecting")
        self._lost = asyncio.Event()
        loop = asyncio.get_running_loop()
        _transport, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: LeanAMIProtocol(self), self.host, self.port),
            self.connect_timeout,
        )
        self.protocol = protocol
        resp = await self.send(
            {
                "Action": "Login",
                "Username": self.username,
                "Secret": self.secret,
                "Events": self.events,
            },
            timeout=self.connect_timeout,
        )
        if resp.get("Response") != "Success":
            raise LoginRefused(str(resp.get("Message") or resp.get("Response")))
        self.logins += 1
        self.backoff.reset()
        self.refused_backoff.reset()
        self._set("up", f"login #{self.logins}")
        if self.on_login is not None:
            try:
                await self.on_login(self)
            except (TimeoutError, ConnectionError):
                raise
            except Exception:
                self.callback_errors += 1
                log.exception("on_login (resync) failed")
        await self._watch()

    async def _watch(self) -> None:
        """Ping every interval; a ping unanswered within the timeout means a dead link."""
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.ping_interval)
            if self._stop.is_set():
                return
            if self._lost.is_set() or self.protocol is None or self.protocol.closed:
                raise ConnectionError("connection closed by peer")
            try:
                await self.send({"Action": "Ping"}, timeout=self.ping_timeout)
            except TimeoutError as exc:
                raise LinkDead(f"no Pong within {self.ping_timeout}s") from exc
