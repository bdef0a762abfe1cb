"""The metric definitions on hand-built calls, each figure recomputed by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from callstats import aggregate, definitions
from callstats.definitions import Figures, QueueCall, QueueRules
from servicedesk.bus import COUNTER_FIELDS

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC).timestamp()


def call(outcome: str, hold: int | None, talk: int | None = None, **kw: object) -> QueueCall:
    return QueueCall(
        callid=str(kw.pop("callid", f"{outcome}-{hold}-{talk}")),
        queue=str(kw.pop("queue", "network_es")),
        entered_at=float(kw.pop("at", T0)),  # type: ignore[arg-type]
        outcome=outcome,
        hold=hold,
        talk=talk,
        **kw,  # type: ignore[arg-type]
    )


MIX = [
    call("answered", 5, 100, agent="a"),
    call("answered", 20, 200, agent="a"),  # exactly at the service level: within
    call("answered", 21, 300, agent="b"),
    call("transferred", 2, 50, agent="b"),
    call("abandoned", 4),  # short (< 5)
    call("abandoned", 5),  # not short: the threshold is strict
    call("abandoned", 40),
    call("timeout", 600),
    call("exit_empty", 0),
    call("exit_key", 12),
    call("withdraw", 8),
    call("join_empty", None),
    call("open", 30),
]
RULES = QueueRules(servicelevel=20, short_abandon=5, sl_formula="answered")


def test_counts() -> None:
    f = definitions.figures(MIX, RULES)
    assert f.offered == 12  # join_empty is not offered
    assert definitions.offered(MIX) == 12
    assert (f.answered, f.transferred, f.answered_within_sl) == (4, 1, 3)
    assert (f.abandoned, f.short_abandoned) == (3, 1)
    assert (f.timeout, f.exit_empty, f.exit_key, f.withdraw, f.join_empty, f.open) == (
        1,
        1,
        1,
        1,
        1,
        1,
    )
    assert f.unanswered_exits == 4
    assert f.hold_answered_total == 5 + 20 + 21 + 2
    assert f.asa == pytest.approx(48 / 4)
    assert f.aht == pytest.approx(650 / 4)
    assert f.longest_wait == 600  # any finished call's wait
    assert f.longest_answer_wait == 21
    assert f.abandon_rate == pytest.approx(100 * 3 / 12)
    # Asterisk's abandon causes: abandoned, timeout, exit_empty, withdraw (not exit_key)
    assert f.asterisk_abandoned == 6
    assert f.asterisk_abandoned_within_sl == 4  # 4, 5, 0, 8


@pytest.mark.parametrize(
    ("formula", "expected"),
    [("answered", 100 * 3 / 4), ("offered", 100 * 3 / 12), ("offered_minus_short", 100 * 3 / 11)],
)
def test_service_level_formulas(formula: str, expected: float) -> None:
    f = definitions.figures(MIX, QueueRules(20, 5, formula))  # type: ignore[arg-type]
    assert f.service_level == pytest.approx(expected)


def test_empty_periods_have_no_ratios() -> None:
    f = definitions.figures([], RULES)
    assert f.service_level is None and f.asa is None and f.aht is None and f.abandon_rate is None
    with pytest.raises(ValueError):
        definitions.service_level(1, 1, 1, 0, "bogus")  # type: ignore[arg-type]


def test_running_average_is_asterisks_integer_recurrence() -> None:
    assert definitions.running_average([]) == 0
    assert definitions.running_average([40]) == 10
    assert definitions.running_average([40, 40]) == (3 * 10 + 40) // 4
    assert definitions.running_average([100, 0, 0]) == ((3 * ((3 * 25) // 4)) // 4)


def test_asterisk_figures_order_by_answer_and_end() -> None:
    a = call("answered", 40, 10, callid="a", answered_at=T0 + 50, ended_at=T0 + 60)
    b = call("answered", 8, 30, callid="b", answered_at=T0 + 10, ended_at=T0 + 100)
    c = call("timeout", 10, callid="c")
    d = call("exit_key", 3, callid="d")
    fig = definitions.asterisk_figures([a, b, c, d], servicelevel=20)
    assert fig.completed == 2 and fig.abandoned == 1
    assert fig.holdtime == definitions.running_average([8, 40])  # b answered first
    assert fig.talktime == definitions.running_average([10, 30])  # a ended first
    assert fig.servicelevel_perf == 50.0
    assert fig.servicelevel_perf2 == round(100 * (1 + 1) / 3, 1)


def test_totals_and_counters() -> None:
    q1 = definitions.figures(MIX[:4], QueueRules(20, 5, "offered"))
    q2 = definitions.figures(MIX[4:], QueueRules(30, 5, "answered"))
    tot = definitions.total([q1, q2])
    assert tot.sl_formula == "answered"  # mixed formulas fall back to answered
    assert tot.offered == q1.offered + q2.offered
    assert tot.longest_wait == max(q1.longest_wait, q2.longest_wait)
    same = definitions.total([q1, definitions.figures([], QueueRules(20, 5, "offered"))])
    assert same.sl_formula == "offered"
    c = tot.counters()
    assert c["hold_total_s"] == tot.hold_answered_total and c["longest_hold_s"] == 21
    assert c["talk_count"] == tot.talk_count
    assert set(c) == set(COUNTER_FIELDS)  # the Redis contract the listener and panel share


def test_intervals_cut_on_local_wall_clock() -> None:
    tz = ZoneInfo("America/Mexico_City")  # UTC-6, no DST since 2022
    at = datetime(2026, 3, 2, 9, 44, 59, tzinfo=tz).timestamp()
    assert aggregate.interval_start(at, 15, tz) == datetime(2026, 3, 2, 9, 30, tzinfo=tz)
    assert aggregate.interval_start(at, 30, tz) == datetime(2026, 3, 2, 9, 30, tzinfo=tz)
    assert aggregate.interval_start(at, 60, tz) == datetime(2026, 3, 2, 9, 0, tzinfo=tz)
    with pytest.raises(ValueError):
        aggregate.interval_start(at, 20, tz)
    # India (+05:30): a 60-minute interval starts on the local hour, i.e. :30 UTC
    kol = ZoneInfo("Asia/Kolkata")
    start = aggregate.interval_start(at, 60, kol)
    assert start.minute == 0 and start.astimezone(UTC).minute == 30


def test_by_interval_and_agent() -> None:
    tz = ZoneInfo("America/Mexico_City")
    base = datetime(2026, 3, 2, 9, 0, tzinfo=tz).timestamp()
    calls = [
        call("answered", 5, 60, at=base + 60, agent="a", callid="1"),
        call("abandoned", 3, at=base + 16 * 60, callid="2"),
        call("answered", 25, 90, at=base + 31 * 60, agent="b", callid="3", hung_up_by="agent"),
        call("answered", 7, 30, at=base + 31 * 60, agent="b", callid="4", queue="email_es"),
    ]
    calls[1].ring_noanswer_by_agent = {"a": 2}
    rules = lambda _q: RULES  # noqa: E731
    by15 = aggregate.by_interval(calls, rules, 15, tz)
    assert [(q, s.strftime("%H:%M")) for q, s in by15] == [
        ("network_es", "09:00"),
        ("network_es", "09:15"),
        ("email_es", "09:30"),
        ("network_es", "09:30"),
    ]
    by60 = aggregate.by_interval(calls, rules, 60, tz)
    assert by60[("network_es", datetime(2026, 3, 2, 9, 0, tzinfo=tz))].offered == 3
    agents = aggregate.by_agent(calls, rules)
    assert agents["a"].answered == 1 and agents["a"].ring_noanswer == 2
    assert agents["b"].answered == 2 and agents["b"].aht == 60.0
    assert agents["b"].answered_within_sl == 1 and agents["b"].hung_up_by_agent == 1
    assert aggregate.in_range(calls, base + 60, base + 31 * 60) == calls[:2]


def test_rules_from_config(example_config) -> None:  # type: ignore[no-untyped-def]
    rules = aggregate.rules_from_config(example_config)
    assert rules("general_es") == QueueRules(30, 5, "offered_minus_short")
    assert rules("network_en") == QueueRules(20, 5, "answered")
    assert rules("no_such_queue") == QueueRules(20, 5, "answered")


def test_figures_add_is_additive() -> None:
    a = definitions.figures(MIX[:6], RULES)
    b = definitions.figures(MIX[6:], RULES)
    merged = Figures()
    merged.add(a)
    merged.add(b)
    whole = definitions.figures(MIX, RULES)
    assert merged.as_dict() == whole.as_dict()
