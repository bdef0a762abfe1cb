"""Contract allotment usage per month and the excess rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from servicedesk.config import ExcessRule
from servicedesk.contracts import (
    AllotmentUsage,
    excess_months,
    month_bounds,
    usage_for_contract,
    usage_from_rows,
)
from servicedesk.models import Contract, Incident, Organisation

MX = ZoneInfo("America/Mexico_City")


def test_month_bounds_are_local_months_in_utc():
    start, end = month_bounds(2026, 3, "America/Mexico_City")
    assert start == datetime(2026, 3, 1, 6, tzinfo=UTC)
    assert end == datetime(2026, 4, 1, 6, tzinfo=UTC)
    dec_start, dec_end = month_bounds(2026, 12, "UTC")
    assert (dec_start, dec_end) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="month"):
        month_bounds(2026, 13, "UTC")


def test_usage_counts_rows_in_the_local_month(example_config):
    plan = example_config.contracts.plans["basic"]  # 8 per priority
    rows = [
        ("high", datetime(2026, 3, 31, 23, 30, tzinfo=MX)),  # April in UTC, March locally
        ("high", datetime(2026, 3, 1, 0, 0, tzinfo=MX)),  # first instant of March
        ("high", datetime(2026, 2, 28, 23, 59, 59, tzinfo=MX)),  # February
        ("critical", datetime(2026, 3, 15, 12, tzinfo=UTC)),
        ("planned", datetime(2026, 4, 1, 0, 0, tzinfo=MX)),  # April
    ]
    usage = usage_from_rows(plan, rows, 2026, 3, "America/Mexico_City")
    assert set(usage) == {"critical", "high", "medium", "low", "planned"}
    assert usage["high"] == AllotmentUsage("high", 2, 8)
    assert usage["high"].percent == 25.0
    assert usage["critical"].used == 1
    assert usage["planned"].used == 0 and usage["planned"].percent == 0.0


def test_usage_refuses_naive_rows_and_unknown_priorities(example_config):
    plan = example_config.contracts.plans["basic"]
    with pytest.raises(ValueError, match="naive"):
        usage_from_rows(plan, [("high", datetime(2026, 3, 2))], 2026, 3, "UTC")
    with pytest.raises(ValueError, match="unknown priorities: urgent"):
        usage_from_rows(plan, [("urgent", datetime(2026, 3, 2, tzinfo=UTC))], 2026, 3, "UTC")


def test_exceeds_means_strictly_more_than_the_percentage():
    assert not AllotmentUsage("high", 21, 20).exceeds(5.0)  # exactly 5 % over
    assert AllotmentUsage("high", 22, 20).exceeds(5.0)
    assert not AllotmentUsage("high", 8, 8).exceeds(0.0)
    assert AllotmentUsage("high", 9, 8).exceeds(0.0)
    zero = AllotmentUsage("planned", 1, 0)
    assert zero.exceeds(5.0) and zero.percent is None
    assert not AllotmentUsage("planned", 0, 0).exceeds(5.0)


def _month(high: int, medium: int = 0, allotted: int = 20) -> dict[str, AllotmentUsage]:
    return {
        "high": AllotmentUsage("high", high, allotted),
        "medium": AllotmentUsage("medium", medium, allotted),
    }


def test_excess_rule_needs_consecutive_months(example_config):
    over, fine = 22, 21  # >5 % and exactly 5 % over 20
    three = {(2026, 1): _month(over), (2026, 2): _month(over), (2026, 3): _month(over)}
    status = excess_months(example_config, three)
    assert status.flagged and status.streak == 3 and status.latest == (2026, 3)
    assert status.streaks["high"] == 3 and status.streaks["medium"] == 0

    broken = {**three, (2026, 2): _month(fine)}
    status = excess_months(example_config, broken)
    assert not status.flagged and status.streak == 1

    # a missing month breaks the run
    gap = {(2026, 1): _month(over), (2026, 3): _month(over), (2026, 4): _month(over)}
    assert excess_months(example_config, gap).streak == 2

    # the run must end at the latest month
    old = {**three, (2026, 4): _month(0)}
    assert not excess_months(example_config, old).flagged
    assert excess_months(example_config, old, latest=(2026, 3)).flagged


def test_excess_rule_is_per_priority_and_crosses_the_year():
    rule = ExcessRule(percent_over=5.0, consecutive_months=3)
    alternating = {
        (2025, 11): _month(high=30, medium=0),
        (2025, 12): _month(high=0, medium=30),
        (2026, 1): _month(high=30, medium=30),
    }
    status = excess_months(rule, alternating)
    assert not status.flagged and status.streaks == {
        "critical": 0,
        "high": 1,
        "medium": 2,
        "low": 0,
        "planned": 0,
    }
    across = {(2025, 11): _month(30), (2025, 12): _month(30), (2026, 1): _month(30)}
    assert excess_months(rule, across).flagged
    assert not excess_months(rule, {}).flagged


def test_usage_for_contract_counts_incidents_in_the_database(session_factory, example_config):
    with session_factory() as s:
        org = Organisation(name="Aceros del Norte")
        s.add(org)
        s.flush()
        mine = Contract(
            number="C-1",
            organisation_id=org.id,
            plan="basic",
            starts_on=datetime(2026, 1, 1, tzinfo=UTC),
        )
        other = Contract(
            number="C-2",
            organisation_id=org.id,
            plan="advanced",
            starts_on=datetime(2026, 1, 1, tzinfo=UTC),
        )
        s.add_all([mine, other])
        s.flush()
        n = 0

        def incident(contract: Contract, priority: str, at: datetime) -> Incident:
            nonlocal n
            n += 1
            return Incident(
                number=n,
                title=f"ticket {n}",
                priority=priority,
                contract_id=contract.id,
                created_at=at,
                created_by="test",
            )

        march_edge = datetime(2026, 3, 1, tzinfo=MX)
        s.add_all(
            [
                incident(mine, "high", march_edge),  # first instant of local March
                incident(mine, "high", march_edge - timedelta(microseconds=1)),  # February
                incident(mine, "high", datetime(2026, 3, 31, 23, 59, tzinfo=MX)),  # 1 Apr UTC
                incident(mine, "critical", datetime(2026, 3, 10, 3, tzinfo=UTC)),
                incident(mine, "medium", datetime(2026, 4, 1, tzinfo=MX)),  # April
                incident(other, "high", datetime(2026, 3, 10, tzinfo=MX)),  # other contract
            ]
        )
        s.commit()

        usage = usage_for_contract(s, example_config, mine.id, 2026, 3)
        assert {p: u.used for p, u in usage.items()} == {
            "critical": 1,
            "high": 2,
            "medium": 0,
            "low": 0,
            "planned": 0,
        }
        assert usage["high"].allotted == 8
        feb = usage_for_contract(s, example_config, mine.id, 2026, 2)
        assert feb["high"].used == 1
        in_utc = usage_for_contract(s, example_config, mine.id, 2026, 3, tz="UTC")
        # in UTC the "February" ticket (05:59:59Z on 1 March) is March, the 23:59 one April
        assert in_utc["high"].used == 2
        other_usage = usage_for_contract(s, example_config, other.id, 2026, 3)
        assert other_usage["high"] == AllotmentUsage("high", 1, 20)
        with pytest.raises(LookupError, match="no contract"):
            usage_for_contract(s, example_config, 99999, 2026, 3)
