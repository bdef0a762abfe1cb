"""One structured (JSON) log line per IVR call, keyed by Asterisk's uniqueid.

Why a record rather than scattered log lines: operations want to grep one line
per call (what the caller chose, where the call went, how long the IVR took,
what failed) and ship it to a log store unchanged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

CALL_LOG = logging.getLogger("centralita.ivr.calls")
# What `centralita ivr` writes on stderr (its own lines and the call log alike).
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"
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
    if not CALL_LOG.isEnabledFor(logging.INFO):
        return
    handlers = CALL_LOG.handlers
    if len(handlers) == 1 and not CALL_LOG.propagate and not CALL_LOG.filters:
        handler = handlers[0]
        if type(handler) is BatchedLineHandler and handler.append_message(
            record.to_json(), CALL_LOG.name
        ):
            return
    # makeRecord + handle skips Logger._log's stack walk (findCaller): this line is
    # written once per call on the hot path, and the caller is always this function.
    log_record = CALL_LOG.makeRecord(
        CALL_LOG.name, logging.INFO, __file__, 0, record.to_json(), None, None, "emit"
    )
    CALL_LOG.handle(log_record)


class BatchedLineHandler(logging.Handler):
    """Formats on the caller's thread, writes from its own thread every `interval` s.

    Why: a log write is blocking I/O; on the event loop a slow stderr (a full pipe
    to journald) would stall every call in progress. Here the loop only appends a
    line to a list; one `write` per interval carries all the lines of that
    interval. `close()` (logging.shutdown at exit) writes what is left.
    """

    def __init__(self, stream: TextIO, interval: float = 0.2) -> None:
        super().__init__()
        self.stream = stream
        self.interval = interval
        self._lines: list[str] = []
        self._stamp = ""  # asctime of the second `_stamp_sec`, for append_message
        self._stamp_sec = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="call-log-writer", daemon=True)
        self._thread.start()

    def append_message(self, message: str, name: str) -> bool:
        """The formatted line of an INFO `message` from logger `name`, without a LogRecord.

        Why: a LogRecord costs a getpid() syscall, thread lookups and a format
        pass per call; the call log's formats are plain enough to build here.
        False (nothing done) when a filter or an unusual formatter needs the full path.
        """
        fmt = self.formatter
        if self.filters or self.level > logging.INFO or type(fmt) is not logging.Formatter:
            return False
        style = fmt._style._fmt  # noqa: SLF001
        if style == "%(message)s" and type(fmt._style) is logging.PercentStyle:  # noqa: SLF001
            line = message
        elif (
            style == LOG_FORMAT
            and type(fmt._style) is logging.PercentStyle  # noqa: SLF001
            and fmt.datefmt is None
            and fmt.converter is time.localtime
            and fmt.default_time_format == logging.Formatter.default_time_format
            and fmt.default_msec_format == logging.Formatter.default_msec_format
        ):
            now = time.time()
            sec = int(now)
            if sec != self._stamp_sec:  # strftime once per second, as formatTime would print
                self._stamp = time.strftime(fmt.default_time_format, time.localtime(sec))
                self._stamp_sec = sec
            line = f"{self._stamp},{int((now - sec) * 1000):03d} {name} {message}"
        else:
            return False
        with self.lock:  # type: ignore[union-attr]
            self._lines.append(line)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # called under self.lock
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            lines, self._lines = self._lines, []
        if lines:
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except Exception:  # a closed or broken stream: drop, never raise into the flow
                pass

    def _run(self) -> None:
        """The writer never dies in silence: a failure is printed with its traceback,
        counted, and the loop goes on."""
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:
                import sys
                import traceback

                from servicedesk import metrics

                metrics.incr("task.call-log-writer.crashes")
                traceback.print_exc(file=sys.__stderr__)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2)
        self.flush()
        super().close()


def install_call_log(
    stream: TextIO, fmt: str = "%(message)s", interval: float = 0.2
) -> logging.Handler:
    """Send the per-call JSON lines to `stream` through a BatchedLineHandler (and only there)."""
    handler = BatchedLineHandler(stream, interval)
    handler.setFormatter(logging.Formatter(fmt))
    CALL_LOG.addHandler(handler)
    CALL_LOG.setLevel(logging.INFO)
    CALL_LOG.propagate = False
    return handler
