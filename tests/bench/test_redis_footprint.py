"""The soak's Redis breakdown: keys summed by family, variable parts folded."""

from __future__ import annotations

import redis

from bench.redis_footprint import Family, by_family, family_of, judge, used_mb
from servicedesk.bus import AGENT_POPS_KEPT, Keys


def test_variable_parts_of_our_key_names_fold_into_families() -> None:
    keys = Keys("centralita")
    assert family_of(keys.agent_pops("2001")) == "centralita:pops:agent:*"
    assert family_of(keys.agent_pops("2001") + ":last_pop") == "centralita:pops:agent:*:last_pop"
    assert family_of(keys.counters("2026-12-05", "general_es")) == "centralita:counters:*:*"
    seen = keys.counters("2026-12-05", "general_es") + ":seen"
    assert family_of(seen) == "centralita:counters:*:*:seen"
    assert family_of(keys.queue_waiting("erp_en")) == "centralita:queue:*:waiting"
    assert family_of(keys.calls) == "centralita:events:calls"
    assert family_of(keys.agent_state("2001")) == "centralita:agent:*"


def test_keys_are_summed_by_family_largest_first(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    keys = Keys("centralita")
    for login in ("2001", "2002", "2003"):
        for i in range(50):
            r.xadd(keys.agent_pops(login), {"call": f"{i}", "pad": "x" * 200})
    r.hset(keys.agent_state("2001"), mapping={"state": "idle"})
    fams = {f.name: f for f in by_family(r)}
    pops = fams["centralita:pops:agent:*"]
    assert (pops.keys, pops.entries) == (3, 150)
    assert pops.bytes > 150 * 200  # the payloads, at least
    assert (fams["centralita:agent:*"].keys, fams["centralita:agent:*"].entries) == (1, 1)
    assert by_family(r)[0].name == "centralita:pops:agent:*"
    assert used_mb(r) > pops.bytes / 1e6


def test_judging_a_family_by_its_bound() -> None:
    """Flat, filling towards its cap, or per-call marks of their size: fine; else not."""
    calls = 4000
    pops = "centralita:pops:agent:*"
    full = AGENT_POPS_KEPT * 230
    fine, words = judge(
        Family(pops, 230, 2_000_000, full // 2), Family(pops, 230, 2_500_000, full - 1), calls, 100
    )
    assert fine and "filling" in words
    fine, words = judge(
        Family(pops, 230, 2_000_000, full), Family(pops, 230, 3_000_000, full + 900), calls, 100
    )
    assert not fine and "at its cap" in words
    seen = "centralita:counters:*:*:seen"
    assert judge(Family(seen, 2, 100_000, 1000), Family(seen, 2, 390_000, 5000), calls, 100)[0]
    fine, words = judge(Family(seen, 2, 100_000, 1000), Family(seen, 2, 900_000, 5000), calls, 100)
    assert not fine and "LARGER" in words  # 180 B a mark: the marks grew fat
    odd = "centralita:mystery:*"
    assert judge(Family(odd, 1, 1000, 1), Family(odd, 1, 1200, 1), calls, 100)[0]  # flat
    fine, words = judge(Family(odd, 1, 1000, 1), Family(odd, 1, 2_000_000, 1), calls, 100)
    assert not fine and "no bound" in words
    assert judge(None, Family(odd, 1, 100_000, 1), calls, 100)[0]  # new and small
