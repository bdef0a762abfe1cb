"""A scripted stand-in for Asterisk's side of FastAGI, for protocol and flow tests.

It speaks over a real TCP socket: sends the agi_* environment, parses each
command exactly as res_agi's `parse_args` does (quotes toggle, backslash escapes,
whitespace splits) and answers like Asterisk 22 does in the recorded traces,
including the inline `HANGUP` after the interrupted command's result and 511 for
media commands on a dead channel.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

DEAD_OK = {"EXEC", "GET", "SET", "VERBOSE", "NOOP", "DATABASE"}
MULTIWORD = {
    "STREAM": 2,
    "GET": 2,
    "SET": 2,
    "SAY": 2,
    "WAIT": 3,
    "CHANNEL": 2,
    "GET FULL": 3,
}


def parse_args(line: str) -> list[str]:
    """res_agi.c parse_args: whitespace separates, `"` toggles quoting, `\\` escapes."""
    args: list[str] = []
    cur: list[str] = []
    quoted = escaped = started = False
    for c in line:
        if escaped:
            cur.append(c)
            escaped = False
            started = True
        elif c == "\\":
            escaped = True
        elif c == '"':
            quoted = not quoted
            started = True
        elif c in " \t" and not quoted:
            if started:
                args.append("".join(cur))
                cur = []
                started = False
        else:
            cur.append(c)
            started = True
    if started:
        args.append("".join(cur))
    return args


def split_verb(args: list[str]) -> tuple[str, list[str]]:
    words = [a.upper() for a in args]
    for n in (3, 2, 1):
        verb = " ".join(words[:n])
        if verb in {
            "GET FULL VARIABLE",
            "WAIT FOR DIGIT",
            "STREAM FILE",
            "GET DATA",
            "GET VARIABLE",
            "SET VARIABLE",
            "SAY DIGITS",
            "SAY NUMBER",
            "CHANNEL STATUS",
            "ANSWER",
            "EXEC",
            "VERBOSE",
            "HANGUP",
            "NOOP",
        }:
            return verb, args[n:]
    return " ".join(words[:2]), args[2:]


@dataclass
class Caller:
    """What the caller does: keys to press when a prompt plays, where to hang up.

    `presses` is consumed in order: ("main_menu", "1") means that when a prompt
    whose name contains "main_menu" plays (or "WAIT" for WAIT FOR DIGIT), the
    caller keys "1". Prompts with no matching next press get no input.
    `hangup_on` hangs up during the first prompt/command containing that text.
    """

    presses: list[tuple[str, str]] = field(default_factory=list)
    hangup_on: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    exec_results: dict[str, str] = field(default_factory=dict)


@dataclass
class Conversation:
    commands: list[list[str]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    set_vars: dict[str, str] = field(default_factory=dict)  # what the IVR SET, in order
    # the channel's variables after the AGI, as the dialplan reads them: the
    # dialplan's pre-AGI defaults overwritten by the IVR's SET VARIABLEs
    vars: dict[str, str] = field(default_factory=dict)
    played: list[str] = field(default_factory=list)
    hung_up: bool = False
    closed_by_server: bool = False


def default_env(**over: str) -> dict[str, str]:
    env = {
        "agi_network": "yes",
        "agi_network_script": "ivr",
        "agi_request": "agi://127.0.0.1:4573/ivr",
        "agi_channel": "PJSIP/trunk-00000000",
        "agi_language": "es",  # the dialplan sets the line's language before AGI()
        "agi_type": "PJSIP",
        "agi_uniqueid": "1795339738.0",
        "agi_version": "22.10.1",
        "agi_callerid": "5551010",
        "agi_calleridname": "Hank Hangup",
        "agi_callingpres": "0",
        "agi_callingani2": "0",
        "agi_callington": "0",
        "agi_callingtns": "0",
        "agi_dnid": "8008906000",
        "agi_rdnis": "unknown",
        "agi_context": "from-trunk",
        "agi_extension": "528008906000",
        "agi_priority": "4",
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": "139948305118912",
    }
    env.update(over)
    return env


def dialplan_defaults(cfg: object, env: dict[str, str]) -> dict[str, str]:
    """The variables the generated dialplan sets before AGI() for the env's DID."""
    from servicedesk.routing import line_defaults

    found = cfg.line_by_did(env.get("agi_extension", ""))  # type: ignore[attr-defined]
    if found is None:
        return {}
    return {"CENTRALITA_LINE": found[0], **line_defaults(cfg, found[0])}  # type: ignore[arg-type]


class FakeAsterisk:
    def __init__(
        self,
        caller: Caller | None = None,
        *,
        inline_hangup: bool = True,
        preset: dict[str, str] | None = None,
    ) -> None:
        self.caller = caller or Caller()
        self.conv = Conversation(vars=dict(preset or {}))
        self._dead = False
        # FastAGI gets an inline HANGUP line; classic AGI gets SIGHUP (on_hangup) instead.
        self.inline_hangup = inline_hangup
        self.on_hangup: object = None

    def _next_press(self, name: str) -> str:
        if self.caller.presses and self.caller.presses[0][0] in name:
            return self.caller.presses.pop(0)[1]
        return ""

    def _hangs_up(self, name: str) -> bool:
        h = self.caller.hangup_on
        return h is not None and not self._dead and h in name

    def respond(self, verb: str, args: list[str]) -> list[str]:
        name = args[0] if args else ""
        media = verb in {
            "STREAM FILE",
            "GET DATA",
            "WAIT FOR DIGIT",
            "SAY DIGITS",
            "SAY NUMBER",
            "ANSWER",
            "CHANNEL STATUS",
        }
        if self._dead and media:
            return ["511 Command Not Permitted on a dead channel or intercept routine"]
        tag = name if verb != "WAIT FOR DIGIT" else "WAIT"
        if verb in ("STREAM FILE", "GET DATA", "SAY DIGITS", "SAY NUMBER"):
            self.conv.played.append(name if verb != "SAY DIGITS" else f"digits:{name}")
        if media and self._hangs_up(tag if verb != "SAY DIGITS" else "SAY DIGITS"):
            self._dead = True
            self.conv.hung_up = True
            if callable(self.on_hangup):
                self.on_hangup()
            return ["200 result=-1", "HANGUP"] if self.inline_hangup else ["200 result=-1"]
        if verb == "STREAM FILE":
            esc = args[1] if len(args) > 1 else ""
            key = self._next_press(name) if esc else ""
            if key and key[0] in esc:
                return [f"200 result={ord(key[0])} endpos=1234"]
            return ["200 result=0 endpos=11234"]
        if verb == "GET DATA":
            if len(args) < 1:
                return [
                    "520-Invalid command syntax.  Proper usage follows:",
                    "Stream the given <replaceable>file</replaceable>, and receive DTMF data.",
                    "Returns the digits received from the channel at the other end.",
                    "520 End of proper usage.",
                ]
            key = self._next_press(name)
            maxd = int(args[2]) if len(args) > 2 and args[2].isdigit() else 1024
            if not key:
                return ["200 result= (timeout)"]
            if key.endswith("#"):
                return [f"200 result={key[:-1][:maxd]}"]
            if len(key) >= maxd:
                return [f"200 result={key[:maxd]}"]
            return [f"200 result={key} (timeout)"]
        if verb == "WAIT FOR DIGIT":
            key = self._next_press("WAIT")
            return [f"200 result={ord(key[0])}" if key else "200 result=0"]
        if verb in ("SAY DIGITS", "SAY NUMBER", "ANSWER"):
            return ["200 result=0"]
        if verb == "SET VARIABLE":
            if len(args) >= 2:
                self.conv.set_vars[args[0]] = args[1]
                self.conv.vars[args[0]] = args[1]
            return ["200 result=1"]
        if verb == "GET VARIABLE":
            val = self.caller.variables.get(name, self.conv.vars.get(name))
            return [f"200 result=1 ({val})"] if val is not None else ["200 result=0"]
        if verb == "EXEC":
            return [f"200 result={self.caller.exec_results.get(name, '0')}"]
        if verb == "VERBOSE":
            return ["200 result=1"]
        if verb == "HANGUP":
            self._dead = True
            return ["200 result=1", "HANGUP"]
        if verb == "CHANNEL STATUS":
            return ["200 result=6"]
        return ["510 Invalid or unknown command"]

    async def run(
        self, port: int, env: dict[str, str] | None = None, timeout: float = 10.0
    ) -> Conversation:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return await self.converse(reader, writer, env, timeout)

    async def converse(
        self, reader, writer, env: dict[str, str] | None = None, timeout: float = 10.0
    ) -> Conversation:
        """Asterisk's side over any stream pair (a socket, or a classic AGI's pipes)."""
        env = env or default_env()
        payload = "".join(f"{k}: {v}\n" for k, v in env.items()) + "\n"
        writer.write(payload.encode())
        try:
            while True:
                raw = await asyncio.wait_for(reader.readline(), timeout)
                if not raw:
                    self.conv.closed_by_server = True
                    break
                line = raw.decode().rstrip("\n")
                self.conv.raw.append(line)
                args = parse_args(line)
                verb, rest = split_verb(args)
                self.conv.commands.append([verb, *rest])
                for out in self.respond(verb, rest):
                    writer.write((out + "\n").encode())
            # Asterisk answers our half-close with a final HANGUP and closes.
            if self.inline_hangup:
                writer.write(b"HANGUP\n")
        except (BrokenPipeError, ConnectionResetError):
            self.conv.closed_by_server = True
        finally:
            writer.close()
        return self.conv
