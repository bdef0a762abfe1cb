"""Classic process-per-call AGI (`AGI(centralita-ivr.agi,<script>)`) on pyst2.

It runs the very same flows as the FastAGI server through `ClassicAgiChannel`.
pyst2 0.5.1 quirks handled here:

* it writes debug lines to stderr (Asterisk shows them on the console): we give
  it a null stream;
* it does not escape quotes (SET VARIABLE included): every argument is quoted by
  `ivr.agi_protocol` before pyst2 sees the line, and pyst2 only sends it;
* the `HANGUP` line or EOF makes `get_result` raise ValueError (int('')), a
  `result=-1` raises AGIAppError, SIGHUP raises AGISIGHUPHangup on the next
  `execute`: all are turned back into replies / a dead channel;
* `AGI()` installs a SIGHUP handler, so it must run in the main thread: the
  async flow runs with `asyncio.run` in the main thread; each command's blocking
  stdin/stdout exchange runs in a worker thread, so the caller lookup can run
  while a prompt plays, as over FastAGI.

Asterisk starts the script with none of our environment, in its own working
directory, and shows its stderr on the console. So (see ``ivr.classic_setup``):
URLs and secrets come from the config or the env file it names; a relative
SQLite path means the config's folder; no Redis URL means no live state (never
an embedded Redis per call); the log goes to a file; and the greeting goes out
before the database and Redis code is even imported.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, NoReturn, TextIO

from ivr.agi_protocol import AgiConnectionLost, AgiError, AgiReply, ChannelHungUp
from ivr.calllog import CallRecord, emit
from ivr.channel import CommandChannel

DEFAULT_CONFIG = "/etc/centralita/centralita.toml"


class ClassicAgiChannel(CommandChannel):
    """AgiChannel over pyst2's `AGI` object (stdin/stdout of this process)."""

    def __init__(self, agi: Any) -> None:
        self._agi = agi
        self.env: dict[str, str] = {str(k): str(v) for k, v in agi.env.items()}
        self.dead = False
        self.commands = 0
        self._broken = False
        self.record: CallRecord | None = None
        self._early: tuple[str, Future[AgiReply]] | None = None

    def prefetch(self, line: str) -> None:
        """Send `line` now, from a daemon thread (exiting never waits for its reply): the
        flow's first command, sent while the process is still setting up. The flow's
        `_roundtrip` of the same line then takes this reply."""
        fut: Future[AgiReply] = Future()

        def run() -> None:
            try:
                fut.set_result(self.exchange(line))
            except BaseException as exc:  # handed to whoever awaits the reply
                fut.set_exception(exc)

        self._early = (line, fut)
        threading.Thread(target=run, name="agi-prefetch", daemon=True).start()

    async def _roundtrip(self, line: str) -> AgiReply:
        import asyncio  # imported once the greeting is on its way (start-up time)

        early = self._early
        if early is not None:
            self._early = None
            reply = await asyncio.wrap_future(early[1])
            if early[0] == line:
                return reply
            # not what the flow sends first after all: that reply is spent, go on
        # in a thread: the event loop runs the caller lookup meanwhile
        return await asyncio.to_thread(self.exchange, line)

    def exchange(self, line: str) -> AgiReply:
        from asterisk.agi import (
            AGIAppError,
            AGIInvalidCommand,
            AGIResultHangup,
            AGIUnknownError,
            AGIUsageError,
        )

        if self._broken:
            raise AgiConnectionLost("AGI conversation lost")
        if getattr(self._agi, "_got_sighup", False):
            self.dead = True  # SIGHUP: Asterisk's classic-AGI hang-up notice
        try:
            self._agi.send_command(line.rstrip("\n"))
            result = self._agi.get_result()
        except (AGIResultHangup, AGIAppError):
            return AgiReply(code=200, result="-1", text="200 result=-1")
        except AGIInvalidCommand as exc:
            return AgiReply(code=510, text=f"510 {exc}")
        except AGIUsageError as exc:
            return AgiReply(code=520, text=str(exc))
        except AGIUnknownError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
            return AgiReply(code=code or 500, text=str(exc))
        except (ValueError, BrokenPipeError, OSError) as exc:
            # a HANGUP line or EOF where a reply was due: nothing can be paired any more
            self._broken = True
            self.dead = True
            raise ChannelHungUp(f"AGI stream ended: {exc!r}") from None
        value, data = result.get("result", ("", ""))
        endpos = result.get("endpos")
        try:
            pos = int(endpos[0]) if endpos else None
        except ValueError:
            pos = None
        return AgiReply(code=200, result=str(value), data=str(data or ""), endpos=pos)


async def run_script(
    channel: ClassicAgiChannel, handler: Callable[[Any], Awaitable[None]], script: str
) -> str:
    """Run one flow on the channel; returns the outcome written to the call log."""
    record = CallRecord(uniqueid=channel.env.get("agi_uniqueid", ""), script=script)
    channel.record = record
    try:
        await handler(channel)
        record.outcome = record.outcome or "completed"
    except ChannelHungUp:
        record.outcome = "hangup"
    except AgiError as exc:
        record.outcome = "error"
        record.error(repr(exc))
    except Exception as exc:  # the dialplan's defaults still route the call
        record.outcome = "error"
        record.error(repr(exc))
    emit(record, channel.commands)
    return record.outcome


def open_agi(stdin: TextIO | None = None, stdout: TextIO | None = None) -> Any:
    from asterisk.agi import AGI

    quiet = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return AGI(stdin=stdin or sys.stdin, stdout=stdout or sys.stdout, stderr=quiet)


def main(argv: list[str] | None = None, services: Any = None) -> int:
    """`centralita-ivr.agi [script] [--config FILE]`; Asterisk passes AGI() arguments as argv.

    `services`: ready-made IvrServices (the benchmark's in-memory ones); by default
    the config's database and Redis, built while the first prompt plays."""
    from ivr.classic_setup import build_classic_handlers, log_to_file, predicted_greeting

    parser = argparse.ArgumentParser(prog="centralita-ivr.agi", add_help=False)
    parser.add_argument("script", nargs="?", default="ivr")
    parser.add_argument("--config", default=os.environ.get("CENTRALITA_CONFIG", DEFAULT_CONFIG))
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    agi = open_agi()
    channel = ClassicAgiChannel(agi)
    if args.script == "ivr":
        first = predicted_greeting(args.config, channel.env)
        if first is not None:
            channel.prefetch(first)  # the caller hears the greeting while we set up
    try:
        handlers, log_path, close = build_classic_handlers(args.config, services)
    except Exception as exc:  # bad config: return at once, the dialplan defaults apply
        log_to_file(None, args.config)
        logging.getLogger("centralita.ivr").error("centralita-ivr.agi: %s", exc)
        hand_back()
    log_to_file(log_path, args.config)
    import asyncio

    handler = handlers.get(args.script)
    if handler is None:
        asyncio.run(channel.verbose(f"centralita: unknown AGI script {args.script!r}", 1))
    else:
        asyncio.run(run_script(channel, handler, args.script))
    close()
    hand_back()


def hand_back() -> NoReturn:
    """The call is Asterisk's again: flush the log and stdout, then leave without the
    interpreter's teardown (half a second of module and pool clean-up that Asterisk,
    waiting for the script to end, would make the caller hear as silence)."""
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
