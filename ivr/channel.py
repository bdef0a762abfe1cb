"""The transport-neutral channel a flow talks to, so each flow is written once.

`AgiChannel` is what flows see. `CommandChannel` implements it on top of one
primitive, `_roundtrip(line) -> AgiReply`, which the FastAGI session (asyncio
socket) and the classic adapter (pyst2 on stdin/stdout) provide. Dead-channel
rules live here: after a hang-up, commands Asterisk would refuse with 511 are
not even sent; the flow gets ChannelHungUp at once and stops.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from ivr.agi_protocol import (
    DEAD_OK_VERBS,
    AgiCommandError,
    AgiReply,
    ChannelHungUp,
    command_line,
    constant_line,
)
from servicedesk.values import DIGITS

# Commands whose `result=-1` means the channel hung up during them.
_HANGUP_ON_MINUS_ONE = frozenset(
    {
        "ANSWER",
        "STREAM FILE",
        "GET DATA",
        "WAIT FOR DIGIT",
        "SAY DIGITS",
        "SAY NUMBER",
    }
)


class AgiChannel(Protocol):
    env: dict[str, str]
    dead: bool
    commands: int

    async def answer(self) -> None: ...
    async def stream_file(self, name: str, escape_digits: str = "") -> str: ...
    async def get_data(self, file: str, timeout_ms: int, max_digits: int) -> str: ...
    async def wait_for_digit(self, timeout_ms: int) -> str: ...
    async def say_digits(self, digits: str, escape_digits: str = "") -> str: ...
    async def say_number(self, number: int, escape_digits: str = "") -> str: ...
    async def get_variable(self, name: str) -> str | None: ...
    async def set_variable(self, name: str, value: object) -> None: ...
    async def exec(self, app: str, args: str = "") -> int: ...
    async def verbose(self, message: str, level: int = 1) -> None: ...
    async def hangup(self) -> None: ...


def _digit_from_result(reply: AgiReply) -> str:
    """STREAM FILE / SAY / WAIT FOR DIGIT return the ASCII code of the key, 0 for none."""
    code = reply.result_int()
    if code <= 0:
        return ""
    ch = chr(code) if code < 128 else ""
    return ch if ch in "0123456789*#ABCD" else ""


class CommandChannel(ABC):
    """AgiChannel on top of `_roundtrip`; subclasses provide the transport."""

    env: dict[str, str]
    dead: bool
    commands: int

    @abstractmethod
    async def _roundtrip(self, line: str) -> AgiReply:
        """Send one command line and wait for its whole reply (FastAGI socket or stdin/stdout)."""

    async def command(self, verb: str, *args: object) -> AgiReply:
        return await self._send(verb, command_line(verb, *args))

    async def _send(self, verb: str, line: str) -> AgiReply:
        """One built command line; media commands are refused locally on a dead channel."""
        if self.dead and verb not in DEAD_OK_VERBS:
            raise ChannelHungUp(verb)
        reply = await self._roundtrip(line)
        self.commands += 1
        if reply.code == 200:
            if reply.result == "-1" and verb in _HANGUP_ON_MINUS_ONE:
                self.dead = True
                raise ChannelHungUp(verb)
            return reply
        if reply.code == 511:
            self.dead = True
            raise ChannelHungUp(verb)
        raise AgiCommandError(reply)

    async def answer(self) -> None:
        await self.command("ANSWER")

    # Prompt names, escape digits and timeouts come from our own code and the catalogue,
    # so these lines are built once per process (constant_line) and reused.
    async def stream_file(self, name: str, escape_digits: str = "") -> str:
        line = constant_line("STREAM FILE", name, escape_digits)
        return _digit_from_result(await self._send("STREAM FILE", line))

    async def get_data(self, file: str, timeout_ms: int, max_digits: int) -> str:
        line = constant_line("GET DATA", file, int(timeout_ms), int(max_digits))
        reply = await self._send("GET DATA", line)
        digits = reply.result
        # Only keypad symbols are input; anything else in the token is dropped.
        return "".join(c for c in digits if c in "0123456789*#")

    async def wait_for_digit(self, timeout_ms: int) -> str:
        line = constant_line("WAIT FOR DIGIT", int(timeout_ms))
        return _digit_from_result(await self._send("WAIT FOR DIGIT", line))

    async def say_digits(self, digits: str, escape_digits: str = "") -> str:
        clean = "".join(c for c in str(digits) if c in DIGITS)
        return _digit_from_result(await self.command("SAY DIGITS", clean, escape_digits))

    async def say_number(self, number: int, escape_digits: str = "") -> str:
        return _digit_from_result(await self.command("SAY NUMBER", int(number), escape_digits))

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" else None

    async def set_variable(self, name: str, value: object) -> None:
        await self._send(
            "SET VARIABLE", command_line("SET VARIABLE", name, "" if value is None else value)
        )

    async def exec(self, app: str, args: str = "") -> int:
        reply = await self.command("EXEC", app, args) if args else await self.command("EXEC", app)
        return reply.result_int(-1)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, int(level))

    async def hangup(self) -> None:
        await self.command("HANGUP")
        self.dead = True
