"""Erlang C against closed forms, an exact rational oracle and a textbook example."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from callstats import erlang


def exact_erlang_c(n: int, a: Fraction) -> Fraction:
    """The definition, in exact rationals: (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + that)."""
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


@pytest.mark.parametrize(("n", "a"), [(1, "0.5"), (2, "1.5"), (5, "3.2"), (12, "10"), (40, "33.3")])
def test_matches_exact_definition(n: int, a: str) -> None:
    load = Fraction(a)
    assert erlang.erlang_c(n, float(load)) == pytest.approx(
        float(exact_erlang_c(n, load)), rel=1e-12
    )


@pytest.mark.parametrize("a", [0.1, 0.5, 0.9])
def test_single_server_waits_with_probability_rho(a: float) -> None:
    assert erlang.erlang_c(1, a) == pytest.approx(a)


@pytest.mark.parametrize("a", [0.3, 1.0, 1.7])
def test_two_servers_closed_form(a: float) -> None:
    assert erlang.erlang_c(2, a) == pytest.approx(a * a / (2 + a))


def test_textbook_example_100_calls_per_half_hour() -> None:
    """Call Centre Helper's worked example: 100 calls / 30 min, AHT 180 s, 80/20 target.

    10 Erlangs; 14 agents: P(wait) 17.4 %, SL 88.8 %, ASA 7.8 s; 13 agents miss 80 %.
    """
    load = erlang.traffic(200, 180)
    assert load == 10.0
    s14 = erlang.staffing(14, load, 180, 20)
    assert round(s14.wait_probability, 3) == 0.174
    assert round(s14.service_level, 3) == 0.888
    assert round(s14.asa, 1) == 7.8
    assert erlang.service_level(13, load, 180, 20) < 0.8
    need = erlang.agents_needed(200, 180, target_sl=0.8, target_seconds=20)
    assert need.agents == 14
    assert erlang.agents_needed(200, 180, target_asa=20).agents == 13
    assert erlang.agents_needed(200, 180, max_occupancy=0.7).agents == 15


def test_large_systems_are_stable() -> None:
    """Thousands of agents: no overflow, and C agrees with a log-space evaluation."""
    n, a = 6000, 5900.0
    log_terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(n)]
    log_top = n * math.log(a) - math.lgamma(n + 1) + math.log(n / (n - a))
    m = max(max(log_terms), log_top)
    s = sum(math.exp(t - m) for t in log_terms)
    top = math.exp(log_top - m)
    assert erlang.erlang_c(n, a) == pytest.approx(top / (s + top), rel=1e-9)


def test_overload_and_edges() -> None:
    assert erlang.erlang_c(5, 5.0) == 1.0
    assert erlang.service_level(5, 6.0, 180, 20) == 0.0
    assert math.isinf(erlang.asa(3, 3.0, 180))
    assert erlang.erlang_c(3, 0.0) == 0.0
    assert erlang.erlang_b(0, 4.0) == 1.0
    # more agents never hurt
    sls = [erlang.service_level(n, 10.0, 180, 20) for n in range(11, 25)]
    assert sls == sorted(sls)
    with pytest.raises(ValueError):
        erlang.agents_needed(100, 180)
    with pytest.raises(ValueError):
        erlang.agents_needed(100, 180, target_sl=80)
