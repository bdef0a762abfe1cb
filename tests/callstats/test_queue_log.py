"""The queue_log parser on the format's quirks, and the realtime table on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from callstats import queue_log
from servicedesk.models import QueueLogEntry

MIXED = """\
1000|MANAGER|q1|PJSIP/a1|ADDMEMBER|
1001|NONE|q1|Agent A|PAUSE|lunch
1002|NONE|NONE|Agent A|PAUSEALL|break
1003|MANAGER|q1|PJSIP/a1|AGENTNOTE|note | with a pipe
1004|c1|q1|NONE|ENTERQUEUE||5550001|1
1006|c1|q1|Agent A|RINGNOANSWER|2000
1007|c1|q1|Agent B|RINGCANCELED|500
1010|c1|q1|Agent B|CONNECT|6|c1-peer|3
1030|c1|q1|Agent B|BLINDTRANSFER|200|from-internal|6|20|1
1040|c2|q1|NONE|ENTERQUEUE||5550002|2
1047|c2|q1|NONE|EXITWITHKEY|5|1|2|7
1050|c3|q1|NONE|ENTERQUEUE||5550003|1
1053|c3|q1|NONE|WITHDRAW|1|1|3|callback please
1060|c4|q1|NONE|ENTERQUEUE||5550004|1
1065|c4|q1|Agent A|CONNECT|5|c4-peer|1
1070|c4|q1|Agent A|ATTENDEDTRANSFER|LINK|chanA|chanB|5|5|1
1080|c5|q1|Agent A|COMPLETEAGENT|30|40|2
1090|c6|q1|NONE|ABANDON|3|4|25
1100|c7|q1|NONE|ENTERQUEUE||5550007|1
1101|c8|q2|NONE|ENTERQUEUE||5550008|1
1103|c8|q2|Agent A|CONNECT|2|c8-peer|2
garbage line
1104|c9|q1|NONE
"""


def test_quirks() -> None:
    calls = {c.callid: c for c in queue_log.parse_text(MIXED, {"Agent A": "a", "Agent B": "b"})}
    assert set(calls) == {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"}  # no MANAGER/NONE
    c1 = calls["c1"]
    assert (c1.outcome, c1.hold, c1.talk, c1.agent) == ("transferred", 6, 20, "b")
    assert c1.ring_noanswer == 1 and c1.ring_noanswer_by_agent == {"a": 1}  # RINGCANCELED is not
    assert c1.entered_at == 1004 and c1.answered_at == 1010 and c1.ended_at == 1030
    assert (calls["c2"].outcome, calls["c2"].hold) == ("exit_key", 7)
    assert (calls["c3"].outcome, calls["c3"].hold) == ("withdraw", 3)
    assert (calls["c4"].outcome, calls["c4"].hold, calls["c4"].talk) == ("transferred", 5, 5)
    # calls whose ENTERQUEUE is before the data: entered = end − talk − hold / − wait
    c5 = calls["c5"]
    assert (c5.outcome, c5.entered_at, c5.answered_at, c5.hung_up_by) == (
        "answered",
        1080 - 70,
        1040,
        "agent",
    )
    assert (calls["c6"].outcome, calls["c6"].entered_at, calls["c6"].hold) == (
        "abandoned",
        1065,
        25,
    )
    # still waiting / still talking when the data ends
    assert calls["c7"].outcome == "open"
    assert (calls["c8"].outcome, calls["c8"].talk, calls["c8"].agent) == ("answered", None, "a")


def test_requeued_call_gives_one_entry_per_queue() -> None:
    text = (
        "10|x|q1|NONE|ENTERQUEUE||555|1\n"
        "20|x|q1|NONE|EXITWITHTIMEOUT|1|1|10\n"
        "21|x|q2|NONE|ENTERQUEUE||555|1\n"
        "25|x|q2|Agent A|CONNECT|4|p|2\n"
        "35|x|q2|Agent A|COMPLETECALLER|4|10|1\n"
    )
    calls = queue_log.parse_text(text)
    assert [(c.queue, c.outcome, c.hold) for c in calls] == [
        ("q1", "timeout", 10),
        ("q2", "answered", 4),
    ]


def test_file_with_bad_bytes_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_bytes(
        b"10|x|q1|NONE|ENTERQUEUE||5\xff55|1\r\n10|x|q1|NONE|ABANDON|1|1|3\r\n\xfe\xfe\n"
    )
    reader = queue_log.QueueLogReader()
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader.feed_lines(fh)
    (c,) = reader.calls()
    assert (c.outcome, c.hold) == ("abandoned", 3)
    assert reader.lines == 3 and reader.skipped == 1


def test_table_time_formats() -> None:
    assert queue_log.table_time("1795339763") == 1795339763.0
    assert (
        queue_log.table_time("2026-11-22 09:29:23")
        == datetime(2026, 11, 22, 9, 29, 23, tzinfo=UTC).timestamp()
    )
    mx = ZoneInfo("America/Mexico_City")
    assert queue_log.table_time("2026-11-22 03:29:23.500000", mx) == (
        datetime(2026, 11, 22, 9, 29, 23, 500000, tzinfo=UTC).timestamp()
    )


def test_table_equals_file(traces_dir: Path, session_factory: sessionmaker[Session]) -> None:
    """load_mix's queue_log stored as Asterisk's realtime table parses to the same calls;
    half of the rows use the datetime-string time format."""
    lines = (traces_dir / "load_mix" / "queue_log").read_text().splitlines()
    with session_factory() as session:
        for i, line in enumerate(lines):
            p = line.split("|")
            data = p[5:] + [""] * (5 - len(p[5:]))
            when = p[0]
            if i % 2:
                when = datetime.fromtimestamp(int(p[0]), UTC).strftime("%Y-%m-%d %H:%M:%S")
            session.add(
                QueueLogEntry(
                    time=when,
                    callid=p[1],
                    queuename=p[2],
                    agent=p[3],
                    event=p[4],
                    data1=data[0],
                    data2=data[1],
                    data3=data[2],
                    data4=data[3],
                    data5=data[4],
                )
            )
        session.commit()
    from_file = queue_log.parse_file(str(traces_dir / "load_mix" / "queue_log"))
    with session_factory() as session:
        from_table = queue_log.parse_table(session)
        # a window: only the lines inside it, calls cut by it are still placed right
        start = float(lines[40].split("|")[0])
        windowed = queue_log.parse_table(session, start=start)
    assert from_table == from_file
    assert len(from_table) == 40
    assert 0 < len(windowed) < 40
    by_id = {c.callid: c for c in from_file}
    for c in windowed:
        if c.outcome != "open":
            assert (c.outcome, c.hold) == (by_id[c.callid].outcome, by_id[c.callid].hold)
