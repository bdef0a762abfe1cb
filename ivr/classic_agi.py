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
  async flow runs with `asyncio.run` in the main thread and does blocking I/O
  on stdin/stdout, which is fine for one call per process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

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

    async def _roundtrip(self, line: str) -> AgiReply:
        return self.exchange(line)

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


def _build_handlers(config_path: str) -> dict[str, Callable[[Any], Awaitable[None]]]:
    from ivr.app import build_handlers
    from ivr.cli import build_services
    from servicedesk.config import load_config

    cfg = load_config(config_path)
    return build_handlers(cfg, build_services(cfg))  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    """`centralita-ivr.agi [script] [--config FILE]`; Asterisk passes AGI() arguments as argv."""
    parser = argparse.ArgumentParser(prog="centralita-ivr.agi", add_help=False)
    parser.add_argument("script", nargs="?", default="ivr")
    parser.add_argument("--config", default=os.environ.get("CENTRALITA_CONFIG", DEFAULT_CONFIG))
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    agi = open_agi()
    channel = ClassicAgiChannel(agi)
    try:
        handlers = _build_handlers(args.config)
    except Exception as exc:  # bad config: return at once, the dialplan defaults apply
        logging.getLogger("centralita.ivr").error("centralita-ivr.agi: %s", exc)
        return 0
    handler = handlers.get(args.script)
    if handler is None:
        asyncio.run(channel.verbose(f"centralita: unknown AGI script {args.script!r}", 1))
        return 0
    asyncio.run(run_script(channel, handler, args.script))
    return 0


if __name__ == "__main__":
    sys.exit(main())
