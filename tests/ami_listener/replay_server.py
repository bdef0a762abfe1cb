"""A loopback AMI server that replays recorded bytes, for the listener's tests.

Per connection it sends the greeting, answers Login (or refuses it), answers
the listener's own actions (Ping, Filter, QueueStatus, QueueSummary,
CoreShowChannels, queue-member actions) and then streams a recorded byte
script in odd-sized chunks, so frames and multibyte UTF-8 characters are split
across TCP reads. Responses are only interleaved between frames, as Asterisk does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
CHUNKS = (1, 2, 3, 5, 7, 11, 13, 97, 509, 1021, 4093)

Responder = Callable[[dict[str, str]], list[dict[str, str]] | None]


def frames_of(data: bytes) -> list[bytes]:
    """Split a recorded stream into whole frames (each ending with the blank line)."""
    if data.startswith(b"Asterisk Call Manager/"):
        data = data[data.index(b"\r\n") + 2 :]
    parts = data.split(b"\r\n\r\n")
    tail = parts.pop()
    out = [p + b"\r\n\r\n" for p in parts]
    if tail:
        out.append(tail)
    return out


def encode(fields: list[tuple[str, str]] | dict[str, str]) -> bytes:
    items = fields.items() if isinstance(fields, dict) else fields
    return "".join(f"{k}: {v}\r\n" for k, v in items).encode() + b"\r\n"


@dataclass
class Session:
    """What one accepted connection does."""

    frames: list[bytes] = field(default_factory=list)
    refuse_login: bool = False
    after: str = "hold"  # hold | close | silent (stop answering, keep the socket)
    queue_status: list[dict[str, str]] = field(default_factory=list)
    core_channels: list[dict[str, str]] = field(default_factory=list)
    start_after: str = "CoreShowChannels"  # stream once this action was answered


class ReplayServer:
    def __init__(self, sessions: list[Session], responder: Responder | None = None) -> None:
        self.sessions = sessions
        self.responder = responder
        self.port = 0
        self.accepted = 0
        self.actions: list[dict[str, str]] = []
        self.bytes_sent: list[int] = []
        self.streamed = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in self._writers:
            w.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.accepted
        self.accepted += 1
        self._writers.append(writer)
        session = self.sessions[min(index, len(self.sessions) - 1)]
        lock = asyncio.Lock()
        sent = [0]
        self.bytes_sent.append(0)
        ready = asyncio.Event()
        silent = asyncio.Event()

        async def write(data: bytes) -> None:
            writer.write(data)
            sent[0] += len(data)
            self.bytes_sent[index] = sent[0]
            await writer.drain()

        async def answer(action: dict[str, str]) -> None:
            name = action.get("Action", "")
            aid = action.get("ActionID", "")
            if silent.is_set():
                return
            out: list[dict[str, str]] = []
            if name == "Login":
                if session.refuse_login:
                    out = [
                        {"Response": "Error", "ActionID": aid, "Message": "Authentication failed"}
                    ]
                else:
                    out = [
                        {
                            "Response": "Success",
                            "ActionID": aid,
                            "Message": "Authentication accepted",
                        }
                    ]
            elif name == "Ping":
                out = [{"Response": "Success", "ActionID": aid, "Ping": "Pong", "Timestamp": "0"}]
            elif name in ("QueueStatus", "QueueSummary", "CoreShowChannels"):
                items = {
                    "QueueStatus": session.queue_status,
                    "QueueSummary": [],
                    "CoreShowChannels": session.core_channels,
                }[name]
                out = [
                    {
                        "Response": "Success",
                        "ActionID": aid,
                        "EventList": "start",
                        "Message": "will follow",
                    }
                ]
                out += [{**item, "ActionID": aid} for item in items]
                complete = {
                    "QueueStatus": "QueueStatusComplete",
                    "QueueSummary": "QueueSummaryComplete",
                    "CoreShowChannels": "CoreShowChannelsComplete",
                }[name]
                out.append(
                    {
                        "Event": complete,
                        "ActionID": aid,
                        "EventList": "Complete",
                        "ListItems": str(len(items)),
                    }
                )
            else:
                custom = self.responder(action) if self.responder else None
                out = custom or [{"Response": "Success", "ActionID": aid, "Message": "OK"}]
                out = [{**o, "ActionID": aid} for o in out]
            async with lock:
                for msg in out:
                    await write(encode(msg))
            if name == session.start_after or (
                name == "Login" and session.refuse_login is False and session.start_after == "Login"
            ):
                ready.set()

        async def read_actions() -> None:
            buf = b""
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    raw, buf = buf.split(b"\r\n\r\n", 1)
                    action: dict[str, str] = {}
                    for line in raw.decode().split("\r\n"):
                        k, _, v = line.partition(": ")
                        action[k] = v
                    self.actions.append(action)
                    await answer(action)

        reader_task = asyncio.create_task(read_actions())
        try:
            await write(GREETING)
            if session.refuse_login:
                await reader_task
                return
            await asyncio.wait_for(ready.wait(), 10)
            sizes = itertools.cycle(CHUNKS)
            for frame in session.frames:
                async with lock:
                    pos = 0
                    while pos < len(frame):
                        n = next(sizes)
                        await write(frame[pos : pos + n])
                        pos += n
            self.streamed.set()
            if session.after == "close":
                writer.close()
                return
            if session.after == "silent":
                silent.set()
            await reader_task
        except (ConnectionError, asyncio.CancelledError, TimeoutError):
            pass
        finally:
            reader_task.cancel()
            with contextlib.suppress(Exception):
                writer.close()
