"""Erlang C staffing: probability of waiting, service level, ASA, agents needed.

The textbook formula with A^N/N! overflows floats beyond a few hundred agents;
here Erlang B comes from its recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)),
whose terms stay in [0, 1], and Erlang C from B:
C(N, A) = N·B / (N − A·(1 − B)). Stable for thousands of agents.

Traffic A (Erlangs) = arrival rate × average handle time. Handle time is what
keeps an agent unavailable per call: talk plus wrap-up (callstats' AHT is
talk only; add the queue's wrapuptime when staffing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def traffic(calls_per_hour: float, handle_seconds: float) -> float:
    """Offered load in Erlangs: λ × AHT."""
    if calls_per_hour < 0 or handle_seconds <= 0:
        raise ValueError("need calls_per_hour >= 0 and handle_seconds > 0")
    return calls_per_hour * handle_seconds / 3600.0


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of an M/M/N/N system (iterative, stable)."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must be >= 0")
    b = 1.0
    for n in range(1, agents + 1):
        ab = load * b
        b = ab / (n + ab)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability that a call waits (M/M/N); 1.0 when N <= A (the queue grows without bound)."""
    if agents <= 0 or agents <= load:
        return 1.0
    if load == 0:
        return 0.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def service_level(agents: int, load: float, handle_seconds: float, target_seconds: float) -> float:
    """P(wait <= t) = 1 − C(N, A) · exp(−(N − A) · t / AHT); 0 when N <= A."""
    if agents <= load:
        return 0.0
    c = erlang_c(agents, load)
    return 1.0 - c * math.exp(-(agents - load) * target_seconds / handle_seconds)


def asa(agents: int, load: float, handle_seconds: float) -> float:
    """Average speed of answer = C(N, A) · AHT / (N − A); infinite when N <= A."""
    if agents <= load:
        return math.inf
    return erlang_c(agents, load) * handle_seconds / (agents - load)


def occupancy(agents: int, load: float) -> float:
    """A / N, capped at 1."""
    return 1.0 if agents <= 0 else min(1.0, load / agents)


@dataclass(frozen=True, slots=True)
class Staffing:
    agents: int
    load: float
    wait_probability: float
    service_level: float
    asa: float
    occupancy: float


def staffing(agents: int, load: float, handle_seconds: float, target_seconds: float) -> Staffing:
    return Staffing(
        agents=agents,
        load=load,
        wait_probability=erlang_c(agents, load),
        service_level=service_level(agents, load, handle_seconds, target_seconds),
        asa=asa(agents, load, handle_seconds),
        occupancy=occupancy(agents, load),
    )


def agents_needed(
    calls_per_hour: float,
    handle_seconds: float,
    *,
    target_sl: float | None = None,
    target_seconds: float = 20.0,
    target_asa: float | None = None,
    max_occupancy: float | None = None,
    limit: int = 100_000,
) -> Staffing:
    """The fewest agents meeting every given target.

    `target_sl` is a fraction (0.8 = 80 % answered within `target_seconds`);
    `target_asa` in seconds; `max_occupancy` a fraction. SL and ASA improve
    monotonically with N, so the search starts at ⌊A⌋ + 1 and walks up.
    """
    if target_sl is None and target_asa is None and max_occupancy is None:
        raise ValueError("give target_sl, target_asa or max_occupancy")
    if target_sl is not None and not 0 < target_sl < 1:
        raise ValueError("target_sl is a fraction in (0, 1)")
    load = traffic(calls_per_hour, handle_seconds)
    n = max(1, math.floor(load) + 1)
    while n <= limit:
        s = staffing(n, load, handle_seconds, target_seconds)
        if (
            (target_sl is None or s.service_level >= target_sl)
            and (target_asa is None or s.asa <= target_asa)
            and (max_occupancy is None or s.occupancy <= max_occupancy)
        ):
            return s
        n += 1
    raise ValueError(f"no staffing up to {limit} agents meets the targets")
