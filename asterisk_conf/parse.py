"""A small reader for Asterisk's .conf syntax, enough to check what we generate.

Asterisk is not installable here, so ``conf check`` and the tests read the
generated files back with this parser and assert their structure (and the
parser itself is validated against the real configs Asterisk 22 loaded for the
traces). It follows Asterisk's ``config.c`` rules that matter for our files:

* ``[name]``, ``[name](!)`` (template), ``[name](tmpl1,tmpl2)`` (inherit),
  ``[name](+)`` (append to an earlier category), ``[name](!,tmpl)``;
* ``key = value`` and ``key => value`` (the ``>`` marks an object, e.g. ``exten``);
* ``;`` starts a comment unless escaped as ``\\;``; ``;--`` ... ``--;`` is a block comment;
* ``#include`` / ``#tryinclude`` lines (recorded, not followed);
* dialplan: ``exten => name,priority,App(args)`` and ``same => n(label),App(args)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class ConfParseError(ValueError):
    """A line Asterisk would reject; carries the 1-based line number."""

    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno


@dataclass
class Option:
    key: str
    value: str
    arrow: bool  # written with "=>"
    lineno: int


@dataclass
class Section:
    name: str
    lineno: int
    template: bool = False
    append: bool = False
    inherits: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        """Last value of `key` (Asterisk's last-one-wins for scalar options)."""
        found = None
        for opt in self.options:
            if opt.key == key:
                found = opt.value
        return found

    def get_all(self, key: str) -> list[str]:
        return [opt.value for opt in self.options if opt.key == key]

    def option_keys(self) -> list[str]:
        return [opt.key for opt in self.options]


@dataclass
class ConfFile:
    sections: list[Section]
    includes: list[str]
    preamble: list[Option]  # options before the first section (Asterisk rejects them)

    def named(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.name == name]

    def by_type(self, type_: str) -> list[Section]:
        """pjsip-style objects: sections whose `type` (own or inherited) is `type_`."""
        return [s for s in self.sections if self.resolved(s).get("type") == type_]

    def resolved(self, section: Section) -> Section:
        """The section with its templates' options first, as Asterisk applies them."""
        opts: list[Option] = []
        for parent in section.inherits:
            templates = [s for s in self.sections if s.name == parent and s.template]
            for tmpl in templates:
                opts.extend(self.resolved(tmpl).options)
        opts.extend(section.options)
        return Section(
            name=section.name,
            lineno=section.lineno,
            template=section.template,
            inherits=list(section.inherits),
            options=opts,
        )


_SECTION = re.compile(r"^\[([^\]]+)\](?:\(([^)]*)\))?\s*$")


def strip_comment(line: str) -> str:
    """Drop a `;` comment, keeping escaped `\\;` as a literal semicolon."""
    out: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if ch == ";":
            break
        out.append(ch)
        i += 1
    return "".join(out).strip()


def parse_conf(text: str) -> ConfFile:
    """Parse one file's text (includes are listed, not read)."""
    sections: list[Section] = []
    includes: list[str] = []
    preamble: list[Option] = []
    in_block_comment = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_block_comment:
            end = line.find("--;")
            if end < 0:
                continue
            line = line[end + 3 :]
            in_block_comment = False
        start = line.find(";--")
        if start >= 0 and (start == 0 or line[start - 1] != "\\"):
            end = line.find("--;", start + 3)
            if end < 0:
                in_block_comment = True
                line = line[:start]
            else:
                line = line[:start] + line[end + 3 :]
        stripped = line.strip()
        if stripped.startswith("#"):
            m = re.match(r"^#(include|tryinclude)\s+(.+)$", stripped)
            if not m:
                raise ConfParseError(lineno, f"unknown directive {stripped!r}")
            target = strip_comment(m.group(2)).strip()
            if len(target) >= 2 and target[0] == target[-1] == '"':
                target = target[1:-1]
            includes.append(target)
            continue
        content = strip_comment(line)
        if not content:
            continue
        if content.startswith("["):
            m = _SECTION.match(content)
            if not m:
                raise ConfParseError(lineno, f"malformed section header {content!r}")
            sec = Section(name=m.group(1).strip(), lineno=lineno)
            for flag in (m.group(2) or "").split(","):
                flag = flag.strip()
                if not flag:
                    continue
                if flag == "!":
                    sec.template = True
                elif flag == "+":
                    sec.append = True
                else:
                    sec.inherits.append(flag)
            sections.append(sec)
            continue
        eq = content.find("=")
        if eq <= 0:
            raise ConfParseError(lineno, f"expected 'key = value', got {content!r}")
        key = content[:eq].strip()
        rest = content[eq + 1 :]
        arrow = rest.startswith(">")
        value = (rest[1:] if arrow else rest).strip()
        opt = Option(key=key, value=value, arrow=arrow, lineno=lineno)
        if sections:
            sections[-1].options.append(opt)
        else:
            preamble.append(opt)
    if in_block_comment:
        raise ConfParseError(len(text.splitlines()), "unterminated ;-- block comment")
    return ConfFile(sections=sections, includes=includes, preamble=preamble)


# --- dialplan --------------------------------------------------------------


@dataclass
class Step:
    """One priority of an extension."""

    priority: int
    label: str | None
    app: str
    args: list[str]
    raw: str
    lineno: int


@dataclass
class Extension:
    name: str
    steps: list[Step] = field(default_factory=list)

    def apps(self) -> list[str]:
        return [s.app for s in self.steps]

    def label(self, label: str) -> Step:
        for s in self.steps:
            if s.label == label:
                return s
        raise KeyError(label)


@dataclass
class Context:
    name: str
    extensions: dict[str, Extension] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)


def split_args(text: str) -> list[str]:
    """Split application arguments at top-level commas, as Asterisk does.

    Commas inside ``(...)``, ``[...]``, ``{...}`` (so ``${...}`` and ``$[...]``)
    and double quotes do not split.
    """
    args: list[str] = []
    depth = 0
    quoted = False
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            args.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    args.append("".join(cur))
    return args


_APP = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)
_PRIO = re.compile(r"^(n|\d+|hint)(?:\(([A-Za-z0-9_-]+)\))?$")


def parse_app(text: str, lineno: int) -> tuple[str, list[str]]:
    m = _APP.match(text.strip())
    if not m:
        raise ConfParseError(lineno, f"malformed application call {text!r}")
    inner = m.group(2)
    return m.group(1), ([] if inner is None else split_args(inner))


def parse_dialplan(conf: ConfFile) -> dict[str, Context]:
    """Contexts → extensions → ordered steps, resolving ``n`` and ``same``."""
    contexts: dict[str, Context] = {}
    for sec in conf.sections:
        if sec.name in ("general", "globals"):
            continue
        ctx = contexts.setdefault(sec.name, Context(name=sec.name))
        current: Extension | None = None
        for opt in sec.options:
            if opt.key == "include":
                ctx.includes.append(opt.value)
                continue
            if opt.key == "exten":
                name, _, rest = opt.value.partition(",")
                name = name.strip()
                current = ctx.extensions.setdefault(name, Extension(name=name))
            elif opt.key == "same":
                if current is None:
                    raise ConfParseError(opt.lineno, "'same =>' before any 'exten =>'")
                rest = opt.value
            else:
                raise ConfParseError(opt.lineno, f"unexpected dialplan key {opt.key!r}")
            prio_text, _, app_text = rest.partition(",")
            pm = _PRIO.match(prio_text.strip())
            if not pm:
                raise ConfParseError(opt.lineno, f"bad priority {prio_text!r}")
            if pm.group(1) == "hint":
                continue
            if pm.group(1) == "n":
                if not current.steps:
                    raise ConfParseError(opt.lineno, "priority 'n' with no priority 1")
                prio = current.steps[-1].priority + 1
            else:
                prio = int(pm.group(1))
                if not current.steps and prio != 1:
                    raise ConfParseError(opt.lineno, f"extension {current.name} must start at 1")
            app, args = parse_app(app_text, opt.lineno)
            current.steps.append(
                Step(
                    priority=prio,
                    label=pm.group(2),
                    app=app,
                    args=args,
                    raw=app_text.strip(),
                    lineno=opt.lineno,
                )
            )
    return contexts
