"""Contract allotments: tickets used per priority per month, and the excess rule.

A plan allots so many incidents per priority per month. Months are calendar
months in the service's local time zone (a ticket opened at 23:30 on 31 March
in Mexico City counts for March even though it is April in UTC). The excess
rule flags a contract whose usage of one priority is more than
``percent_over`` % above its allotment for ``consecutive_months`` months running.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicedesk.config import PRIORITIES, CentralitaConfig, ContractPlan, ExcessRule
from servicedesk.models import Contract, Incident

Month = tuple[int, int]  # (year, month)


@dataclass(frozen=True)
class AllotmentUsage:
    priority: str
    used: int
    allotted: int

    @property
    def percent(self) -> float | None:
        """Usage as a percentage of the allotment; None when nothing is allotted."""
        return None if self.allotted == 0 else 100.0 * self.used / self.allotted

    def exceeds(self, percent_over: float) -> bool:
        """More than `percent_over` % above the allotment (any use of a zero allotment)."""
        return self.used * 100 > self.allotted * (100 + percent_over)


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def month_bounds(year: int, month: int, tz: str | tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where local month (`year`, `month`) starts and the next one starts."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12 (got {month})")
    zone = _zone(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def usage_from_rows(
    plan: ContractPlan,
    rows: Iterable[tuple[str, datetime]],
    year: int,
    month: int,
    tz: str | tzinfo,
) -> dict[str, AllotmentUsage]:
    """Usage per priority from (priority, created_at) rows; rows outside the month are ignored."""
    start, end = month_bounds(year, month, tz)
    counts: Counter[str] = Counter()
    for priority, created_at in rows:
        if created_at.tzinfo is None:
            raise ValueError(f"created_at {created_at.isoformat()} is naive; need aware UTC")
        if start <= created_at < end:
            counts[priority] += 1
    return _usage(plan, counts)


def _usage(plan: ContractPlan, counts: Mapping[str, int]) -> dict[str, AllotmentUsage]:
    unknown = set(counts) - set(PRIORITIES)
    if unknown:
        raise ValueError(f"unknown priorities: {', '.join(sorted(unknown))}")
    return {
        p: AllotmentUsage(p, counts.get(p, 0), plan.allotments.get(p, 0))  # type: ignore[call-overload]
        for p in PRIORITIES
    }


def usage_for_contract(
    session: Session,
    cfg: CentralitaConfig,
    contract_id: int,
    year: int,
    month: int,
    tz: str | tzinfo | None = None,
) -> dict[str, AllotmentUsage]:
    """Count the contract's incidents per priority opened in a local month (default: service tz)."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise LookupError(f"no contract with id {contract_id}")
    plan = cfg.contracts.plans.get(contract.plan)
    if plan is None:
        raise LookupError(f"contract {contract.number}: unknown plan {contract.plan!r}")
    start, end = month_bounds(year, month, tz or cfg.service.timezone)
    stmt = (
        select(Incident.priority, func.count())
        .where(
            Incident.contract_id == contract_id,
            Incident.created_at >= start,
            Incident.created_at < end,
        )
        .group_by(Incident.priority)
    )
    counts = {priority: n for priority, n in session.execute(stmt)}
    return _usage(plan, counts)


@dataclass(frozen=True)
class ExcessStatus:
    flagged: bool
    streak: int  # the longest current run of excess months over all priorities
    streaks: dict[str, int]  # per priority, the run ending at the latest month
    latest: Month | None


def _previous(m: Month) -> Month:
    y, mo = m
    return (y - 1, 12) if mo == 1 else (y, mo - 1)


def excess_months(
    cfg: CentralitaConfig | ExcessRule,
    usage_by_month: Mapping[Month, Mapping[str, AllotmentUsage]],
    *,
    latest: Month | None = None,
) -> ExcessStatus:
    """Apply the excess rule to monthly usage.

    For each priority, count the run of consecutive calendar months, ending at
    `latest` (default: the latest month given), in which usage exceeded the
    allotment by more than ``percent_over`` %. A month missing from the mapping
    has no usage and breaks the run. Flagged when any run reaches
    ``consecutive_months``.
    """
    rule = cfg.contracts.excess if isinstance(cfg, CentralitaConfig) else cfg
    if latest is None:
        latest = max(usage_by_month) if usage_by_month else None
    streaks: dict[str, int] = {}
    for p in PRIORITIES:
        n, m = 0, latest
        while m is not None and m in usage_by_month:
            usage = usage_by_month[m].get(p)
            if usage is None or not usage.exceeds(rule.percent_over):
                break
            n += 1
            m = _previous(m)
        streaks[p] = n
    streak = max(streaks.values(), default=0)
    return ExcessStatus(
        flagged=streak >= rule.consecutive_months, streak=streak, streaks=streaks, latest=latest
    )
