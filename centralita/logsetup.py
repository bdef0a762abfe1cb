"""Process logging: plain text for a terminal, or JSON lines for a log store.

In JSON mode every line is one object with `ts` (UTC, ISO 8601), `level`, `logger`, `msg`
and, when the line concerns a call, its `linkedid`, so one grep or one log-store query
follows a call across the IVR, the listener and the panel. The linkedid comes from a
context variable the process sets while it works on a call (the listener per AMI event, the
IVR per FastAGI session), so no log call has to remember to pass it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

# The call a line concerns, set by whoever is working on it; None: not about a call.
CALL_LINKEDID: ContextVar[str | None] = ContextVar("centralita_linkedid", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMAT_ENV = "CENTRALITA_LOG_FORMAT"


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        linkedid = getattr(record, "linkedid", None) or CALL_LINKEDID.get()
        if linkedid:
            data["linkedid"] = linkedid
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def log_format(cli_value: str | None = None) -> str:
    """`json` or `text`: the command-line flag wins, then $CENTRALITA_LOG_FORMAT."""
    value = (cli_value or os.environ.get(LOG_FORMAT_ENV) or "text").strip().lower()
    if value not in ("text", "json"):
        raise SystemExit(f"log format must be 'text' or 'json', not {value!r}")
    return value


def configure_logging(
    level: str | int = logging.INFO,
    fmt: str = "text",
    *,
    text_format: str = TEXT_FORMAT,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install one handler on the root logger (replacing any), in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter() if fmt == "json" else logging.Formatter(text_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    if isinstance(level, str):
        level = getattr(logging, level.upper(), logging.INFO)
    root.setLevel(level)
    return handler
