"""The FastAGI client side of `AGI(agi://host:port/script,args)`, as res_agi does it.

Real TCP: the `agi_*` environment exactly as the traces show it, one command per
line from the server, Asterisk's result lines back (including 510, 511 and the
multi-line 520), the inline `HANGUP` after the result of the command the caller
hung up in, and the final `HANGUP` when the server half-closes. While the server
is thinking the simulated clock stands still (see runner.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pbxsim.kernel import Event, Interrupt

if TYPE_CHECKING:
    from pbxsim.engine import Call, Engine
    from pbxsim.runner import Runner

DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
DEAD_TEXT = "Command Not Permitted on a dead channel or intercept routine"
SAMPLE_RATE = 8000

# 520 usage texts: the <description> paragraphs of res_agi.c's XML docs, markup kept
# (the GET DATA one is verbatim from fastagi_ivr/fastagi.log).
USAGE: dict[str, list[str]] = {
    "GET DATA": [
        "Stream the given <replaceable>file</replaceable>, and receive DTMF data.",
        "Returns the digits received from the channel at the other end.",
    ],
    "STREAM FILE": [
        "Send the given file, allowing playback to be interrupted by the given digits, if any. "
        "Returns <literal>0</literal> if playback completes without a digit being pressed, or the "
        "ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on error or "
        "if the channel was disconnected. If musiconhold is playing before calling stream file it "
        "will be automatically stopped and will not be restarted after completion.",
        "It sets the following channel variables upon completion:",
    ],
    "WAIT FOR DIGIT": [
        "Waits up to <replaceable>timeout</replaceable> milliseconds for channel to receive a DTMF "
        "digit. Returns <literal>-1</literal> on channel failure, <literal>0</literal> if no digit is "
        "received in the timeout, or the numerical value of the ascii of the digit if one is "
        "received. Use -1 for the <replaceable>timeout</replaceable> value if you desire the call to "
        "block indefinitely.",
    ],
    "SAY DIGITS": [
        "Say a given digit string, returning early if any of the given DTMF digits are received on "
        "the channel. Returns <literal>0</literal> if playback completes without a digit being "
        "pressed, or the ASCII numerical value of the digit if one was pressed or <literal>-1</literal> "
        "on error/hangup.",
    ],
    "SAY NUMBER": [
        "Say a given number, returning early if any of the given DTMF digits are received on the "
        "channel.  Returns <literal>0</literal> if playback completes without a digit being pressed, "
        "or the ASCII numerical value of the digit if one was pressed or <literal>-1</literal> on "
        "error/hangup.",
    ],
    "GET VARIABLE": [
        "Returns <literal>0</literal> if <replaceable>variablename</replaceable> is not set. Returns "
        "<literal>1</literal> if <replaceable>variablename</replaceable> is set and returns the "
        "variable in parentheses.",
        "Example return code: 200 result=1 (testvariable)",
    ],
    "GET FULL VARIABLE": [
        "Evaluates the given <replaceable>expression</replaceable> against the channel specified by "
        "<replaceable>channelname</replaceable>, or the current channel if channelname is not "
        "provided.",
    ],
    "SET VARIABLE": ["Sets a variable to the current channel."],
    "EXEC": [
        "Executes <replaceable>application</replaceable> with given "
        "<replaceable>options</replaceable>.",
        "Returns whatever the <replaceable>application</replaceable> returns, or "
        "<literal>-2</literal> on failure to find <replaceable>application</replaceable>.",
    ],
    "VERBOSE": [
        "Sends <replaceable>message</replaceable> to the console via verbose message system. "
        "<replaceable>level</replaceable> is the verbose level (1-4). Always returns <literal>1</literal>",
    ],
}

_DEAD_OK = {
    "GET VARIABLE",
    "GET FULL VARIABLE",
    "SET VARIABLE",
    "VERBOSE",
    "EXEC",
    "NOOP",
    "HANGUP",
}
_COMMANDS = (
    "GET FULL VARIABLE",
    "GET VARIABLE",
    "SET VARIABLE",
    "STREAM FILE",
    "GET DATA",
    "WAIT FOR DIGIT",
    "SAY DIGITS",
    "SAY NUMBER",
    "CHANNEL STATUS",
    "ANSWER",
    "EXEC",
    "VERBOSE",
    "HANGUP",
    "NOOP",
    "SET MUSIC",
    "SET CONTEXT",
    "SET EXTENSION",
    "SET PRIORITY",
)


def _split(args: str) -> list[str]:
    """res_agi's parse_args: blanks separate, double quotes group, a backslash escapes the next char.

    Single quotes are ordinary characters (so `O'Brien` stays intact)."""
    out: list[str] = []
    cur: list[str] = []
    quoted = escaped = started = False
    for ch in args:
        if escaped:
            cur.append(ch)
            escaped = False
            started = True
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted:
            if started:
                out.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if started:
        out.append("".join(cur))
    return out


class _Session:
    """The socket side: reads commands, writes results; holds the clock while the server thinks."""

    def __init__(self, runner: Runner | None, engine: Engine) -> None:
        self.runner = runner
        self.engine = engine
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.pending: Event | None = None
        self.held = False
        self.task: asyncio.Task[None] | None = None

    def _hold(self) -> None:
        if self.runner is not None and not self.held:
            self.held = True
            self.runner.hold()

    def _release(self) -> None:
        if self.runner is not None and self.held:
            self.held = False
            self.runner.release()

    def start(self, host: str, port: int, env: bytes) -> Event:
        """Connect and send the environment; the returned event fires with the first command."""
        self.pending = self.engine.kernel.event()
        self._hold()
        self.task = asyncio.get_running_loop().create_task(self._open(host, port, env))
        return self.pending

    async def _open(self, host: str, port: int, env: bytes) -> None:
        try:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), 2.0
            )
            self.writer.write(env)
            await self._read_next()
        except (OSError, TimeoutError):
            self._deliver(None)

    async def _read_next(self) -> None:
        assert self.reader is not None
        try:
            line = await self.reader.readline()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            line = b""
        if not line:
            self._deliver(None)
            return
        self._deliver(line.decode("utf-8", "replace").rstrip("\r\n"))

    def _deliver(self, value: str | None) -> None:
        ev = self.pending
        self.pending = None
        if ev is not None:
            ev.succeed(value)
        self._release()

    def reply(self, text: str) -> Event:
        """Send a result (or several lines) and wait for the next command."""
        self.pending = self.engine.kernel.event()
        self._hold()
        assert self.writer is not None
        self.writer.write(text.encode("utf-8") + b"\n")
        self.task = asyncio.get_running_loop().create_task(self._read_next())
        return self.pending

    def send_line(self, text: str) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(text.encode("utf-8") + b"\n")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class FastAgiClient:
    """Plugged into the engine as its `agi_client`; `run()` is the AGI() application."""

    def __init__(self, default: tuple[str, int] | None = None) -> None:
        self.default = default
        self.runner: Runner | None = None
        self.sessions: set[_Session] = set()

    def close(self) -> None:
        """Drop every open FastAGI socket (the simulator is shutting down)."""
        for session in list(self.sessions):
            session.close()
            if session.task is not None:
                session.task.cancel()
        self.sessions.clear()

    def environment(
        self, engine: Engine, call: Call, url: str, script: str, args: list[str]
    ) -> bytes:
        chan = call.chan
        tech = chan.tech
        lines = [
            ("agi_network", "yes"),
            ("agi_network_script", script),
            ("agi_request", url),
            ("agi_channel", chan.name),
            ("agi_language", chan.language),
            ("agi_type", tech),
            ("agi_uniqueid", chan.uniqueid),
            ("agi_version", "22.10.1"),
            ("agi_callerid", chan.caller_num or "unknown"),
            ("agi_calleridname", chan.caller_name or "unknown"),
            ("agi_callingpres", "0"),
            ("agi_callingani2", "0"),
            ("agi_callington", "0"),
            ("agi_callingtns", "0"),
            ("agi_dnid", chan.dnid or "unknown"),
            ("agi_rdnis", "unknown"),
            ("agi_context", chan.context),
            ("agi_extension", chan.exten),
            ("agi_priority", str(chan.priority)),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", chan.accountcode),
            ("agi_threadid", str(139800726070976 + engine.rng.randrange(1 << 20) * 4096)),
        ]
        lines += [(f"agi_arg_{i}", a) for i, a in enumerate(args, start=1)]
        text = "".join(f"{k}: {v}\n" for k, v in lines) + "\n"
        return text.encode("utf-8")

    def run(self, engine: Engine, call: Call, data: str) -> Generator[Event, Any, None]:
        from pbxsim.engine import CallerGone

        parts = data.split(",")
        url = parts[0]
        u = urlsplit(url)
        host = u.hostname or (self.default[0] if self.default else "127.0.0.1")
        port = u.port or 4573
        if self.default is not None:  # the simulator's --agi wins over the dialplan's host:port
            host, port = self.default
        script = u.path.lstrip("/")
        chan = call.chan
        session = _Session(self.runner, engine)
        self.sessions.add(session)
        ev = session.start(host, port, self.environment(engine, call, url, script, parts[1:]))
        # the h extension always runs after the channel hung up (a soft hangup is set)
        dead = chan.hangup_requested or call.in_h
        connected = False
        while True:
            try:
                line = yield ev
            except Interrupt:
                dead = True
                continue
            if line is None:
                break
            connected = True
            cmd_id = str(engine.rng.randrange(1, 2**31))
            engine.chan_event(
                "AGIExecStart", chan, [("CommandId", cmd_id), ("Command", line)], "agi"
            )
            result, interrupted = yield from self._execute(engine, call, line, dead)
            code = result.split(" ", 1)[0].split("-", 1)[0]
            if code == "200":
                text = "Success"
            elif code == "520":
                text = "Usage"
            else:
                text = result.split(" ", 1)[1] if " " in result else ""
            engine.chan_event(
                "AGIExecEnd",
                chan,
                [("CommandId", cmd_id), ("Command", line), ("ResultCode", code), ("Result", text)],
                "agi",
            )
            if (interrupted or chan.hangup_requested) and not dead:
                dead = True
                result += "\nHANGUP"
            ev = session.reply(result)
        if connected or session.writer is not None:
            session.send_line("HANGUP")
        session.close()
        self.sessions.discard(session)
        status = "HANGUP" if dead else ("SUCCESS" if connected else "FAILURE")
        engine.setvar(chan, "AGISTATUS", status)
        if dead:
            raise CallerGone()

    # ------------------------------------------------------------- commands
    def _execute(
        self, engine: Engine, call: Call, line: str, dead: bool
    ) -> Generator[Event, Any, tuple[str, bool]]:
        upper = line.upper()
        name = next((c for c in _COMMANDS if upper == c or upper.startswith(c + " ")), None)
        if name is None:
            return "510 Invalid or unknown command", False
        args = _split(line[len(name) :].strip())
        if dead and name not in _DEAD_OK:
            return DEAD, False
        chan = call.chan
        try:
            if name == "ANSWER":
                if chan.state != 6:
                    engine.set_state(chan, 6)
                return "200 result=0", False
            if name == "NOOP":
                return "200 result=0", False
            if name == "VERBOSE":
                return "200 result=1", False
            if name in ("SET MUSIC", "SET CONTEXT", "SET EXTENSION", "SET PRIORITY"):
                return "200 result=0", False
            if name == "CHANNEL STATUS":
                return f"200 result={chan.state}", False
            if name == "HANGUP":
                engine.caller_hangup(call)
                return "200 result=1", False
            if name == "GET VARIABLE":
                if not args:
                    return self._usage(name), False
                var = args[0]
                if "(" in var or var in ("CHANNEL", "UNIQUEID"):
                    return f"200 result=1 ({engine.lookup(chan, var)})", False
                if var in chan.vars:
                    return f"200 result=1 ({chan.vars[var]})", False
                if var in engine.globals:
                    return f"200 result=1 ({engine.globals[var]})", False
                return "200 result=0", False
            if name == "GET FULL VARIABLE":
                if not args:
                    return self._usage(name), False
                from pbxsim.dialplan import expand

                return f"200 result=1 ({expand(args[0], lambda n: engine.lookup(chan, n))})", False
            if name == "SET VARIABLE":
                if len(args) < 2:
                    return self._usage(name), False
                engine.setvar(chan, args[0], args[1])
                if args[0] == "CHANNEL(language)":
                    chan.language = args[1]
                return "200 result=1", False
            if name == "EXEC":
                if not args:
                    return self._usage(name), False
                app, app_args = args[0], " ".join(args[1:])
                if app.lower() == "playback":
                    if dead:
                        engine.setvar(chan, "PLAYBACKSTATUS", "FAILED")
                        return "200 result=0", False
                    yield from self._play(engine, call, app_args.split(",")[0], "")
                    engine.setvar(chan, "PLAYBACKSTATUS", "SUCCESS")
                    return "200 result=0", False
                if app.lower() in ("noop", "verbose", "set", "wait", "answer"):
                    if app.lower() == "set" and "=" in app_args:
                        k, _, v = app_args.partition("=")
                        engine.setvar(chan, k, v)
                    if app.lower() == "wait" and not dead:
                        yield from self._sleep(engine, call, float(app_args or 0))
                    return "200 result=0", False
                return "200 result=-2", False
            if name == "STREAM FILE":
                if len(args) < 2:
                    return self._usage(name), False
                digit, pos = yield from self._play(engine, call, args[0], args[1])
                engine.setvar(chan, "PLAYBACKSTATUS", "SUCCESS")
                return f"200 result={ord(digit) if digit else 0} endpos={pos}", False
            if name in ("SAY DIGITS", "SAY NUMBER"):
                if len(args) < 2:
                    return self._usage(name), False
                words = len(args[0]) if name == "SAY DIGITS" else max(1, len(str(args[0])) - 1)
                digit, _ = yield from self._play(engine, call, "", args[1], seconds=0.773 * words)
                return f"200 result={ord(digit) if digit else 0}", False
            if name == "WAIT FOR DIGIT":
                if not args:
                    return self._usage(name), False
                timeout = float(args[0]) / 1000 if args[0] != "-1" else 3600.0
                digits = yield from self._collect(engine, call, timeout, 1, after_prompt=0.0)
                return f"200 result={ord(digits[0]) if digits else 0}", False
            if name == "GET DATA":
                if not args:
                    return self._usage(name), False
                timeout = float(args[1]) / 1000 if len(args) > 1 and args[1].isdigit() else 5.0
                maxd = int(args[2]) if len(args) > 2 and args[2].isdigit() else 1024
                prompt_s = self._prompt_seconds(engine, call, args[0])
                call.prompts.append(args[0])
                digits = yield from self._collect(
                    engine, call, timeout, maxd, after_prompt=prompt_s
                )
                if len(digits) >= maxd or digits.endswith("#"):
                    return f"200 result={digits.rstrip('#')}", False
                return f"200 result={digits} (timeout)", False
        except Interrupt:
            return "200 result=-1" + (" endpos=0" if name == "STREAM FILE" else ""), True
        return "510 Invalid or unknown command", False

    def _usage(self, name: str) -> str:
        lines = USAGE.get(name, [])
        return "\n".join(
            [
                "520-Invalid command syntax.  Proper usage follows:",
                *lines,
                "520 End of proper usage.",
            ]
        )

    def _prompt_seconds(self, engine: Engine, call: Call, name: str) -> float:
        return engine.prompt_length(name, call.chan.language) if name else 0.0

    def _sleep(self, engine: Engine, call: Call, seconds: float) -> Generator[Event, Any, None]:
        yield engine.kernel.timeout(seconds)

    def _ask(self, call: Call, kind: str) -> str | None:
        """The digits the scripted caller keys at this input opportunity (None: no script)."""
        script = call.script
        if call.pending_digits:
            digits, call.pending_digits = call.pending_digits, ""
            return digits
        if script.dtmf_fn is not None:
            got = script.dtmf_fn(list(call.prompts))  # type: ignore[operator]
            return None if got is None else "".join(ch for ch in str(got) if ch in "0123456789*#")
        if kind != "stream" and script.dtmf:
            got = script.dtmf[call.dtmf_idx] if call.dtmf_idx < len(script.dtmf) else ""
            call.dtmf_idx += 1
            return "".join(ch for ch in got if ch in "0123456789*#")
        return None

    def _play(
        self, engine: Engine, call: Call, name: str, escape: str, seconds: float | None = None
    ) -> Generator[Event, Any, tuple[str, int]]:
        """Play a prompt; an escape digit (scripted, hooked or timed) ends it early."""
        k = engine.kernel
        total = self._prompt_seconds(engine, call, name) if seconds is None else seconds
        if name:
            call.prompts.append(name)
        start = k.now
        escape = escape.strip('"')
        if escape and not call.script.dtmf_at:
            planned = self._ask(call, "stream")
            if planned and planned[0] in escape:
                delay = min(total, call.script.dtmf_delay)
                yield k.timeout(delay)
                call.pending_digits = planned[1:]
                return planned[0], int(round(delay * SAMPLE_RATE))
            if planned:
                call.pending_digits = ""
        timer = k.timeout(total, None)
        while True:
            waiter = k.event()
            call._dtmf_waiter = waiter  # type: ignore[attr-defined]
            fired = yield k.any_of(timer, waiter)
            call._dtmf_waiter = None  # type: ignore[attr-defined]
            if fired is timer:
                return "", int(round(total * SAMPLE_RATE))
            digit = fired.value
            if escape and digit in escape:
                call.dtmf_buffer = [d for d in call.dtmf_buffer if d[1] != digit or d[0] < start]
                return digit, int(round((k.now - start) * SAMPLE_RATE))

    def _collect(
        self, engine: Engine, call: Call, timeout: float, maxd: int, after_prompt: float
    ) -> Generator[Event, Any, str]:
        """Digits for one input command: from the per-command plan, the hook, or timed DTMF."""
        k = engine.kernel
        script = call.script
        planned = None if script.dtmf_at else self._ask(call, "input")
        if planned is not None:
            if not planned:
                yield k.timeout(after_prompt + timeout)
                return ""
            take = planned[:maxd]
            if "#" in take:
                take = take[: take.index("#") + 1]
            call.pending_digits = planned[len(take) :]
            yield k.timeout(max(after_prompt, script.dtmf_delay) + 0.35 * (len(take) - 1))
            if len(take) < maxd and not take.endswith("#"):
                yield k.timeout(timeout)
            return take
        # timed DTMF (SendDTMF from a Local channel, or dtmf_at): digits arriving from now on
        digits = ""
        call.dtmf_buffer.clear()
        deadline = k.now + after_prompt + timeout
        while len(digits) < maxd:
            waiter = k.event()
            call._dtmf_waiter = waiter  # type: ignore[attr-defined]
            timer = k.timeout(max(0.0, deadline - k.now), None)
            fired = yield k.any_of(timer, waiter)
            call._dtmf_waiter = None  # type: ignore[attr-defined]
            if fired is timer:
                break
            digits += fired.value
            if fired.value == "#":
                break
            deadline = k.now + timeout
        return digits
