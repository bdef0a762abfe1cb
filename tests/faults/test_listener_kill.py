"""SIGKILL of the listener under pbxsim load, restarted: nothing lost, nothing duplicated.

Every queue call pbxsim wrote to its queue_log is in the database exactly once,
with the same outcome, hold and talk — including the calls that started, were
answered or ended while no listener was running.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.faults.stack import Redis, Stack, settle


def test_sigkill_under_load_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    stack = Stack(tmp_path, Redis(tmp_path))
    try:
        stack.start_pbx(rate=3, seconds=12, agents=5, patience=9)
        first = stack.start_listener()
        time.sleep(5.0)  # calls waiting, ringing and talking
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        time.sleep(1.5)  # calls go on without a listener
        stack.start_listener()
        placed = stack.pbx_done(90)["placed"]
        mismatches = settle(stack, 30)
    finally:
        stack.stop()
    assert mismatches == []
    expected = stack.expected()
    assert len(expected) == placed >= 30
    outcomes = {e.get("outcome") for e in expected.values()}
    assert {"answered", "abandoned"} <= outcomes  # a real mix, not one path
