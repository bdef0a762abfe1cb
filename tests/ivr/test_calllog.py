"""The call log: one JSON line per call, written off the event loop in batches."""

from __future__ import annotations

import io
import json
import logging
import time

from ivr.calllog import CALL_LOG, BatchedLineHandler, CallRecord, emit, install_call_log


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
