"""The call log: one JSON line per call, written off the event loop in batches."""

from __future__ import annotations

import io
import json
import logging
import time

from ivr.calllog import (
    CALL_LOG,
    LOG_FORMAT,
    BatchedLineHandler,
    CallRecord,
    emit,
    install_call_log,
)


def test_lines_are_batched_off_the_caller_thread_and_flushed_on_close() -> None:
    stream = io.StringIO()
    handler = BatchedLineHandler(stream, interval=60.0)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("test.calllog.batched")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        for i in range(3):
            log.info("line %d", i)
        assert stream.getvalue() == ""  # nothing written on the caller's thread
    finally:
        log.removeHandler(handler)
        handler.close()
    assert stream.getvalue() == "line 0\nline 1\nline 2\n"


def test_writer_thread_flushes_every_interval() -> None:
    stream = io.StringIO()
    handler = install_call_log(stream, interval=0.02)
    try:
        rec = CallRecord(uniqueid="1.2", script="ivr", outcome="completed")
        emit(rec, 8)
        deadline = time.monotonic() + 2
        while not stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        line = json.loads(stream.getvalue())
        assert (line["uniqueid"], line["commands"], line["outcome"]) == ("1.2", 8, "completed")
    finally:
        CALL_LOG.removeHandler(handler)
        CALL_LOG.propagate = True
        CALL_LOG.setLevel(logging.NOTSET)
        handler.close()


def test_broken_stream_never_raises_into_the_flow() -> None:
    stream = io.StringIO()
    stream.close()
    handler = BatchedLineHandler(stream, interval=60.0)
    handler.emit(logging.makeLogRecord({"msg": "x"}))
    handler.close()  # the write fails quietly


def test_fast_path_writes_the_same_line_as_the_logging_formatter() -> None:
    stream = io.StringIO()
    handler = install_call_log(stream, LOG_FORMAT, interval=60.0)
    try:
        before = time.time()
        emit(CallRecord(uniqueid="7.1", script="ivr", outcome="completed"), 8)
        handler.flush()
        line = stream.getvalue()
        # what logging.Formatter(LOG_FORMAT) prints for a record made at the same moment
        stamp, _, rest = line.rstrip("\n").partition(" centralita.ivr.calls ")
        made = logging.makeLogRecord({"msg": "x", "name": CALL_LOG.name, "created": before})
        expected = logging.Formatter(LOG_FORMAT).format(made)
        assert len(stamp) == len(expected.split(" centralita.ivr.calls ")[0])
        assert stamp[:16] == expected[:16]  # same date, hour and minute (to the second: ±1)
        assert json.loads(rest)["uniqueid"] == "7.1"
        # a filter on the handler is honoured: the full logging path runs
        handler.addFilter(lambda r: False)
        emit(CallRecord(uniqueid="7.2", script="ivr"), 1)
        handler.flush()
        assert "7.2" not in stream.getvalue()
    finally:
        CALL_LOG.removeHandler(handler)
        CALL_LOG.propagate = True
        CALL_LOG.setLevel(logging.NOTSET)
        handler.close()
