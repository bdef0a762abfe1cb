"""The soak's Redis breakdown: keys summed by family, variable parts folded."""

from __future__ import annotations

import redis

from bench.redis_footprint import by_family, family_of, used_mb
from servicedesk.bus import Keys


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
