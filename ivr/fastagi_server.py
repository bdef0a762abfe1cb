"""The FastAGI server: our own asyncio implementation, not panoramisk's.

Why our own: panoramisk 1.4's server spins on a client that closes before the
headers end, has no timeouts and pairs replies wrongly after an inline HANGUP.
Here each connection is one `asyncio.Protocol` object (cheap: no reader task,
no stream objects) that frames lines itself with bounded sizes, hands complete
replies to the one command in flight and treats everything else as either the
inline `HANGUP` notice (channel marked dead at once) or garbage (counted and
dropped, never paired). A command that gets no reply in time ends the session,
because a late reply could otherwise be paired with the next command; how long
"in time" is depends on the command (`ivr.reply_deadlines`): a prompt is waited
for as long as it plays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING

from centralita.logsetup import CALL_LINKEDID
from ivr.agi_protocol import (
    AgiCommandError,
    AgiConnectionLost,
    AgiError,
    AgiReply,
    AgiTimeout,
    ChannelHungUp,
    ReplyAssembler,
    parse_result_line,
)
from ivr.calllog import CallRecord, emit
from ivr.channel import CommandChannel
from ivr.reply_deadlines import ReplyDeadlines

if TYPE_CHECKING:
    from centralita.metrics import LabelledSamples

log = logging.getLogger("centralita.ivr.fastagi")

MAX_LINE_BYTES = 8192
MAX_HEADERS = 128  # lines in the agi_* environment (Asterisk sends about 25)
# The blank line that ends the environment (at the very start when it is empty).
_HEADERS_END = re.compile(rb"(?:^|\n)\r?\n")
FINISH_WAIT_S = 2.0  # after our half-close, how long we wait for Asterisk's EOF
_NEVER = float("inf")  # a media command of unknown length: only the session limit applies

Handler = Callable[["FastAgiSession"], Awaitable[None]]


def _headers_end(buf: bytes, start: int) -> tuple[int, int] | None:
    """(end of the environment, start of what follows) once its blank line is in `buf`."""
    if start == 0 and buf[:1] == b"\n":
        return (0, 1)  # an empty environment
    i = buf.find(b"\n\n", start)  # what Asterisk sends
    if i >= 0 and b"\r" not in buf:
        return (i, i + 2)
    m = _HEADERS_END.search(buf, start)  # CR LF line ends, or an empty environment
    return None if m is None else (m.start(), m.end())


_TWO_WORD_VERBS = frozenset(
    ("GET", "STREAM", "SET", "SAY", "WAIT", "DATABASE", "CHANNEL", "CONTROL", "RECEIVE", "SEND")
)


def _verb(line: str) -> str:
    """`GET DATA "x" 5000` -> `GET DATA`: the command without its (caller-influenced) args."""
    words = line.split(" ", 2)
    if words[0] in _TWO_WORD_VERBS and len(words) > 1:
        return f"{words[0]} {words[1].rstrip()}"
    return words[0].rstrip()


class FastAgiSession(asyncio.Protocol, CommandChannel):
    """One FastAGI connection: the agi_* environment, then strict command/reply pairs."""

    def __init__(self, server: FastAgiServer) -> None:
        self.server = server
        self.env: dict[str, str] = {}
        self.dead = False
        self.commands = 0
        self.hangup_notices = 0
        self.stray_replies = 0
        self.record: CallRecord | None = None
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self._buf = b""
        self._headers_done = False
        self._header_lines = 0  # newlines seen before the environment ended
        self._last_nl = -1  # index in _buf of its last newline, while reading headers
        self._t_reply = 0.0  # when the last reply arrived (only when measuring turnaround)
        self._assembler = ReplyAssembler()
        self._pending: asyncio.Future[AgiReply] | None = None
        self._closed = False
        # One deadline per session, checked by the server's sweeper (no timer per command):
        # header deadline, then the in-flight command's, then the close-after-finish one.
        self._deadline = 0.0
        self._started = 0.0
        self._finished = False

    # --- asyncio.Protocol -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        srv = self.server
        if srv.closing or len(srv.connections) >= srv.max_connections:
            srv.refused += 1
            transport.abort()
            self._closed = True
            return
        srv.connections.add(self)
        self._deadline = srv.loop.time() + srv.deadlines.command_s

    def data_received(self, data: bytes) -> None:
        if not self._headers_done:
            self._headers_received(data)
            return
        if self.server.turnaround is not None:
            self._t_reply = perf_counter()
        if (
            not self._buf
            and data.endswith(b"\n")
            and data.count(b"\n") == 1
            and len(data) <= MAX_LINE_BYTES
        ):  # the usual reply: one whole line in one segment
            line = data[:-1].decode("utf-8", "replace")
            if line.endswith("\r"):
                line = line[:-1]
            if line.startswith("200 result=") and self._assembler.idle:
                self._deliver(parse_result_line(line))  # type: ignore[arg-type]  # never None
            else:
                self._reply_line(line)
            return
        self._lines_received(data)

    def _headers_received(self, data: bytes) -> None:
        """Buffer the environment until its blank line, then parse it in one pass.

        Bounded: at most MAX_HEADERS lines of at most MAX_LINE_BYTES each; the
        search resumes where the previous one stopped, so a client that sends one
        byte at a time costs linear, not quadratic, work.
        """
        old = len(self._buf)
        buf = self._buf + data if old else data
        nl = data.rfind(b"\n")
        if nl >= 0:
            self._last_nl = old + nl
            self._header_lines += data.count(b"\n")
        m = _headers_end(buf, max(0, old - 2))
        if m is None:
            if self._header_lines > MAX_HEADERS or len(buf) - self._last_nl - 1 > MAX_LINE_BYTES:
                self._abort()
                return
            self._buf = buf
            return
        block = buf[: m[0]]
        rest = buf[m[1] :]
        self._buf = b""
        lines = block.split(b"\n") if block else []
        if len(lines) > MAX_HEADERS or (
            len(block) > MAX_LINE_BYTES and max(map(len, lines)) > MAX_LINE_BYTES
        ):
            self._abort()
            return
        env = self.env
        for line in block.decode("utf-8", "replace").split("\n") if block else ():
            key, sep, value = line.partition(":")
            if sep and key.startswith("agi_"):
                env[key] = value.strip()
        self._headers_done = True
        srv = self.server
        self._started = srv.loop.time()
        self.task = srv.loop.create_task(srv._run(self))
        if rest:
            self._lines_received(rest)

    def _lines_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        if b"\n" not in buf:
            if len(buf) > MAX_LINE_BYTES:
                self._abort()
                return
            self._buf = buf
            return
        *lines, rest = buf.split(b"\n")
        self._buf = rest
        if len(rest) > MAX_LINE_BYTES:
            self._abort()
            return
        for raw in lines:
            if len(raw) > MAX_LINE_BYTES:
                self._abort()
                return
            line = raw.decode("utf-8", "replace")
            if line.endswith("\r"):
                line = line[:-1]
            self._reply_line(line)

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        fut = self._pending
        if fut is not None and not fut.done():
            fut.set_exception(AgiConnectionLost("connection lost"))
        self.server.connections.discard(self)

    def check_deadlines(self, now: float) -> None:
        """Called by the server's sweeper; all timeouts of a session live here."""
        if self._closed:
            return
        if not self._headers_done or self._finished:
            if now >= self._deadline:
                self._abort()
            return
        fut = self._pending
        if fut is not None and not fut.done() and now >= self._deadline:
            fut.set_exception(AgiTimeout("no AGI reply in time"))
        task = self.task
        if task is not None and not task.done() and now - self._started > self.server.session_s:
            self.server.limit_cancelled.add(task)
            task.cancel()

    # --- framing ----------------------------------------------------------
    def _abort(self) -> None:
        if self.transport is not None and not self._closed:
            self.transport.abort()

    def _reply_line(self, line: str) -> None:
        item = self._assembler.feed(line)
        if item is None:
            return
        if item == "HANGUP":
            self.dead = True
            self.hangup_notices += 1
            return
        self._deliver(item)  # type: ignore[arg-type]

    def _deliver(self, reply: AgiReply) -> None:
        fut = self._pending
        if fut is not None and not fut.done():
            fut.set_result(reply)
        else:
            self.stray_replies += 1  # an unsolicited reply is never paired later

    # --- CommandChannel primitive -------------------------------------------
    async def _roundtrip(self, line: str) -> AgiReply:
        if self._closed or self.transport is None:
            raise AgiConnectionLost("connection closed")
        if self._pending is not None:
            raise RuntimeError("one AGI command at a time per session")
        server = self.server
        fut: asyncio.Future[AgiReply] = server.loop.create_future()
        self._pending = fut
        wait = server.deadlines.seconds(line)
        self._deadline = server.loop.time() + wait if wait is not None else _NEVER
        self.transport.write(line.encode("utf-8"))
        if self._t_reply:  # measuring: our side of the turnaround (reply in → command out)
            server.turnaround.append(perf_counter() - self._t_reply)  # type: ignore[union-attr]
            self._t_reply = 0.0
        record = server.command_latencies
        t0 = server.loop.time() if record is not None else 0.0
        try:
            return await fut
        finally:
            self._pending = None
            if record is not None:
                record.add(_verb(line), server.loop.time() - t0)

    def finish(self) -> None:
        """Half-close: Asterisk answers with its final HANGUP and closes; the sweeper
        closes the socket if it does not within FINISH_WAIT_S."""
        if self._closed or self.transport is None:
            return
        self._finished = True
        self._deadline = self.server.loop.time() + FINISH_WAIT_S / self.server.time_scale
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.transport.close()


async def unknown_script(session: FastAgiSession) -> None:
    """Say so in the Asterisk console and return: the dialplan continues."""
    script = session.env.get("agi_network_script", "")
    if session.record is not None:
        session.record.outcome = "unknown_script"
    log.warning("unknown FastAGI script %r: check the dialplan's AGI() URL", script[:80])
    await session.verbose(f"centralita: unknown FastAGI script {script!r}", 1)


def script_name(env: dict[str, str]) -> str:
    """`agi_network_script` without any `?query` or leading slash."""
    return env.get("agi_network_script", "").split("?", 1)[0].strip("/")


class FastAgiServer:
    """Routes sessions by script name; bounded, time-limited and gracefully stoppable."""

    def __init__(
        self,
        handlers: dict[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        command_timeout: float = 10.0,
        session_limit: float = 600.0,
        max_sessions: int = 2000,
        busy_handler: Handler | None = None,
        deadlines: ReplyDeadlines | None = None,
        time_scale: float = 1.0,
    ) -> None:
        """`deadlines`: per-command reply deadlines (default: `command_timeout` for
        every command whose prompt length is unknown to it, none for media commands);
        `time_scale`: run every deadline N times faster (tests on a paced pbxsim)."""
        self.handlers = handlers
        self.host = host
        self.port = port
        self.command_timeout = command_timeout
        self.session_limit = session_limit
        self.time_scale = time_scale
        self.session_s = session_limit / time_scale
        self.deadlines = deadlines or ReplyDeadlines(command_timeout, time_scale=time_scale)
        self.max_sessions = max_sessions
        # Beyond this many open sockets new ones are refused outright.
        self.max_connections = max_sessions * 2 + 16
        self.busy_handler = busy_handler or unknown_script
        self.connections: set[FastAgiSession] = set()
        self.active = 0
        self.busy = 0
        self.refused = 0
        self.completed = 0
        self.closing = False
        self.limit_cancelled: set[asyncio.Task[None]] = set()
        # Set to a list to record, per command, the seconds from a reply's arrival to
        # the next command's write (the benchmark's server-side turnaround); None: off.
        self.turnaround: list[float] | None = None
        # Set to record (command verb, seconds to its reply) for the metrics endpoint,
        # folded into bounded histograms (ivr.metrics.command_samples); None: off.
        self.command_latencies: LabelledSamples | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._server: asyncio.base_events.Server | None = None
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # set by start()

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._server = await self.loop.create_server(
            lambda: FastAgiSession(self), self.host, self.port, reuse_address=True, backlog=1024
        )
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        self._sweeper = self.loop.create_task(self._sweep())
        log.info("FastAGI listening on %s:%s", self.host, self.port)

    async def _sweep(self) -> None:
        """Every session's timeouts, checked a few times per command timeout."""
        interval = min(1.0, self.deadlines.command_s / 4, self.session_s / 4)
        while True:
            await asyncio.sleep(interval)
            now = self.loop.time()
            for s in list(self.connections):
                s.check_deadlines(now)

    async def _run(self, session: FastAgiSession) -> None:
        env = session.env
        script = script_name(env)
        record = CallRecord(uniqueid=env.get("agi_uniqueid", ""), script=script)
        session.record = record
        # The AGI runs on the caller's channel, the call's first: its uniqueid is the linkedid.
        CALL_LINKEDID.set(record.uniqueid or None)
        over = self.active >= self.max_sessions
        handler = self.busy_handler if over else self.handlers.get(script, unknown_script)
        if over:
            self.busy += 1
            record.outcome = "busy"
        else:
            self.active += 1
        try:
            await handler(session)
            if not record.outcome:
                record.outcome = "completed"
        except ChannelHungUp:
            record.outcome = "hangup"
        except AgiTimeout as exc:
            record.outcome = "timeout"
            record.error(str(exc))
        except AgiConnectionLost:
            record.outcome = "connection_lost"
        except AgiCommandError as exc:
            record.outcome = "error"
            record.error(exc.reply.text)
        except AgiError as exc:
            record.outcome = "error"
            record.error(repr(exc))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            record.outcome = "session_limit" if task in self.limit_cancelled else "shutdown"
            self.limit_cancelled.discard(task)  # type: ignore[arg-type]
        except Exception as exc:  # a flow bug must not take the server down
            record.outcome = "error"
            record.error(repr(exc))
            log.exception("IVR flow failed for %s", record.uniqueid)
        finally:
            if not over:
                self.active -= 1
            self.completed += 1
            emit(record, session.commands)
            session.finish()

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop accepting, let running sessions finish for `grace` s, then close the rest."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        tasks = [s.task for s in list(self.connections) if s.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        # sessions that finished wait for Asterisk's EOF; give them a moment
        deadline = self.loop.time() + 1.0
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.02)
        for s in list(self.connections):
            s._abort()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def serve_until(self, stop: asyncio.Event, grace: float = 5.0) -> None:
        await self.start()
        await stop.wait()
        await self.shutdown(grace)
