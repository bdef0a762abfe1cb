"""A tiny dialplan interpreter for tests: follows Set/GotoIf/Goto/Gosub/ExecIf/Return.

Applications with side effects (AGI, Queue, Record, Dial, Read, Playback) are
recorded and answered by a script, so a test can say "the IVR set these variables,
the queue timed out, the caller pressed 3" and assert where the call went.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from asterisk_conf.parse import Context, split_args

_VAR = re.compile(r"\$\{([^${}]*)\}")  # innermost ${...}
_FUNC = re.compile(r"^([A-Z]+)\((.*)\)$")
_COND = re.compile(r'^\$\["(.*)" (=|!=) "(.*)"\]$')

Effect = Callable[["Walker", list[str]], None]


@dataclass
class Walker:
    contexts: dict[str, Context]
    variables: dict[str, str] = field(default_factory=dict)
    effects: dict[str, Effect] = field(default_factory=dict)
    trace: list[tuple[str, list[str]]] = field(default_factory=list)
    hung_up: bool = False

    def _filter(self, allowed: str, value: str) -> str:
        chars: set[str] = set()
        i = 0
        while i < len(allowed):
            if i + 2 < len(allowed) and allowed[i + 1] == "-":
                chars.update(chr(c) for c in range(ord(allowed[i]), ord(allowed[i + 2]) + 1))
                i += 3
            else:
                chars.add(allowed[i])
                i += 1
        return "".join(ch for ch in value if ch in chars)

    def expand(self, text: str) -> str:
        def value(m: re.Match[str]) -> str:
            inner = m.group(1)
            fm = _FUNC.match(inner)
            if fm and fm.group(1) == "FILTER":
                allowed, _, val = fm.group(2).partition(",")
                return self._filter(allowed, val)
            if fm and fm.group(1) == "CUT":
                var, delim, field_no = split_args(fm.group(2))
                parts = self.variables.get(var, "").split(delim)
                n = int(field_no)
                return parts[n - 1] if n <= len(parts) else ""
            return self.variables.get(inner, "")

        for _ in range(8):
            new = _VAR.sub(value, text)
            if new == text:
                break
            text = new
        return text

    def cond(self, expr: str) -> bool:
        m = _COND.match(self.expand(expr))
        assert m, f"unsupported expression {expr!r}"
        left, op, right = m.groups()
        return (left == right) if op == "=" else (left != right)

    def run(self, context: str, exten: str, max_steps: int = 200) -> None:
        stack: list[tuple[str, str, int]] = []
        ctx, ext, idx = context, exten, 0
        for _ in range(max_steps):
            steps = self.contexts[ctx].extensions[ext].steps
            if idx >= len(steps):
                return
            step = steps[idx]
            args = [self.expand(a) for a in step.args]
            self.trace.append((step.app, args))
            idx += 1
            if step.app == "Set":
                name, _, val = step.args[0].partition("=")
                self.variables[name] = self.expand(val)
            elif step.app == "ExecIf":
                cond, _, app = ",".join(step.args).partition("?")
                if self.cond(cond):
                    inner = split_args(app[app.index("(") + 1 : -1])
                    name, _, val = inner[0].partition("=")
                    self.variables[name] = self.expand(val)
            elif step.app in ("Goto", "GotoIf"):
                target = ",".join(step.args)
                if step.app == "GotoIf":
                    cond, _, target = target.rpartition("?")
                    if not self.cond(cond):
                        continue
                parts = target.split(",")
                if len(parts) == 1:
                    idx = next(i for i, s in enumerate(steps) if s.label == parts[0])
                else:
                    ctx, ext, idx = parts[0], parts[1], int(parts[2]) - 1
            elif step.app == "Gosub":
                stack.append((ctx, ext, idx))
                ctx, ext, idx = args[0], args[1], int(args[2]) - 1
            elif step.app == "Return":
                ctx, ext, idx = stack.pop()
            elif step.app == "Hangup":
                self.hung_up = True
                return
            elif step.app in self.effects:
                self.effects[step.app](self, args)
                if self.hung_up:
                    return
        raise AssertionError("dialplan did not finish")

    def apps(self) -> list[str]:
        return [app for app, _ in self.trace]

    def calls(self, app: str) -> list[list[str]]:
        return [args for a, args in self.trace if a == app]
