"""One structured (JSON) log line per IVR call, keyed by Asterisk's uniqueid.

Why a record rather than scattered log lines: operations want to grep one line
per call (what the caller chose, where the call went, how long the IVR took,
what failed) and ship it to a log store unchanged.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

CALL_LOG = logging.getLogger("centralita.ivr.calls")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class CallRecord:
    uniqueid: str
    script: str
    line: str = ""
    language: str = ""
    ident: str = ""  # ani | customer_number | unknown | withheld | ambiguous | failed
    menu_path: list[str] = field(default_factory=list)
    outcome: str = ""  # completed | hangup | timeout | error | session_limit | shutdown | busy
    action: str = ""
    queue: str = ""
    duration_ms: float = 0.0
    commands: int = 0
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def step(self, name: str) -> None:
        if len(self.menu_path) < 64:
            self.menu_path.append(name)

    def error(self, text: str) -> None:
        if len(self.errors) < 16:
            self.errors.append(text[:200])

    def to_json(self) -> str:
        data = {
            "uniqueid": self.uniqueid,
            "script": self.script,
            "line": self.line,
            "language": self.language,
            "ident": self.ident,
            "menu_path": self.menu_path,
            "outcome": self.outcome,
            "action": self.action,
            "queue": self.queue,
            "duration_ms": self.duration_ms,
            "commands": self.commands,
            "errors": self.errors,
        }
        return _ENCODER.encode(data)


def emit(record: CallRecord, commands: int) -> None:
    record.commands = commands
    record.duration_ms = round((time.monotonic() - record.started) * 1000.0, 1)
    if CALL_LOG.isEnabledFor(logging.INFO):
        # makeRecord + handle skips Logger._log's stack walk (findCaller): this line is
        # written once per call on the hot path, and the caller is always this function.
        log_record = CALL_LOG.makeRecord(
            CALL_LOG.name, logging.INFO, __file__, 0, record.to_json(), None, None, "emit"
        )
        CALL_LOG.handle(log_record)
