"""AMI event filters as Asterisk 22's manager.c applies them.

Two sources, one model: `eventfilter(...) = pattern` lines of a manager.conf user
(copied into each session at login) and the `Filter` action (Operation: Add),
which manager.c registers with EVENT_FLAG_SYSTEM — a user without `write = system`
gets "Permission denied" before any of this runs.

Parsing follows manager_add_filter(): a legacy filter is a regex over the whole
event text, `!` in front making it an exclude; an advanced filter's criteria are
`action(include|exclude)`, `name(Event)`, `header(Name)` and
`method(regex|exact|starts_with|ends_with|contains|none)` in any order.
Matching follows should_send_event(): no filters pass everything; include
filters only: an event must match one; exclude only: it must match none; both:
include first, then exclude. Only broadcast events are filtered; replies to
actions never are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

METHODS = ("regex", "exact", "starts_with", "ends_with", "contains", "none")


class FilterFormatError(ValueError):
    """manager.c FILTER_FORMAT_ERROR: "Filter was formatted incorrectly"."""


class FilterCompileError(ValueError):
    """manager.c FILTER_COMPILE_FAIL: the regex did not compile."""


@dataclass(frozen=True, slots=True)
class EventFilter:
    exclude: bool
    name: str | None
    header: str | None  # with its trailing ':' as manager.c stores it
    method: str
    pattern: str
    regex: re.Pattern[str] | None

    def matches(self, name: str, text: str) -> bool:
        if self.name is not None and self.name != name:
            return False
        if self.header is None:
            return self._match(text)
        for line in text.split("\n"):
            line = line.removesuffix("\r")
            if line.startswith(self.header):
                value = line[len(self.header) :].lstrip(" \t")
                if value and self._match(value):
                    return True
        return False

    def _match(self, data: str) -> bool:
        m = self.method
        if m == "regex":
            assert self.regex is not None
            return self.regex.search(data) is not None
        if m == "starts_with":
            return data.startswith(self.pattern)
        if m == "ends_with":
            return data.endswith(self.pattern)
        if m == "contains":
            return self.pattern in data
        if m == "exact":
            return data == self.pattern
        return True  # none


def parse_filter(criteria: str, pattern: str) -> EventFilter:
    """One `eventfilter[(criteria)] = pattern` line, or raise as manager_add_filter fails."""
    exclude = False
    if pattern.startswith("!"):
        exclude, pattern = True, pattern[1:]
    method = "regex"
    name: str | None = None
    header: str | None = None
    start = criteria.find("(")
    if start < 0:
        if not pattern:
            raise FilterFormatError(f"{criteria}: legacy filter with no filter pattern")
    else:
        body = criteria[start + 1 :].strip()
        if not body or not body.endswith(")"):
            raise FilterFormatError(f"{criteria}: filter options not formatted correctly")
        method = "none"
        found = set()
        for option in (t for t in re.split(r"[ ,)]+", body) if t):
            key, _, value = option.partition("(")
            value = value.strip()
            if key.startswith("action"):
                if value not in ("include", "exclude"):
                    raise FilterFormatError(f"{criteria}: unknown action {value!r}")
                exclude = value == "exclude"
            elif key.startswith("name"):
                if not value:
                    raise FilterFormatError(f"{criteria}: 'name' not formatted correctly")
                name = value
            elif key.startswith("header"):
                if not value:
                    raise FilterFormatError(f"{criteria}: 'header' not formatted correctly")
                header = value if value.endswith(":") else value + ":"
            elif key.startswith("method"):
                if value not in METHODS:
                    raise FilterFormatError(f"{criteria}: unknown method {value!r}")
                method = value
            else:
                raise FilterFormatError(f"{criteria}: unknown filter option {option!r}")
            found.add(key[:4])
        if not found:
            raise FilterFormatError(f"{criteria}: no action, name, header or method")
        if not pattern and method != "none":
            raise FilterFormatError(f"{criteria}: method {method} with no filter pattern")
        if pattern and method == "none":
            raise FilterFormatError(f"{criteria}: method none with a filter pattern")
        if name is None and header is None and method == "none":
            raise FilterFormatError(f"{criteria}: no name or header and no filter pattern")
    regex = None
    if pattern and method == "regex":
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise FilterCompileError(f"unable to compile regex filter {pattern!r}") from exc
    return EventFilter(exclude, name, header, method, pattern, regex)


def should_send(filters: Sequence[EventFilter], name: str, text: str) -> bool:
    """manager.c should_send_event() for one broadcast event."""
    if not filters:
        return True
    includes = [f for f in filters if not f.exclude]
    excludes = [f for f in filters if f.exclude]
    if includes and not any(f.matches(name, text) for f in includes):
        return False
    return not any(f.matches(name, text) for f in excludes)
