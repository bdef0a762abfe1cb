"""What the listener leaves in Redis stays small for a desk that runs for days.

The soak saw Redis grow by ~44 MB an hour: seven idempotency marks per call (one
per counter, ~650 bytes a call, kept three days) and a pop stream per agent
trimmed only at 10,000 entries.
"""

from __future__ import annotations

from pathlib import Path

import redis
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.live import LAST_POP_TTL_S, POP_STREAM_MAXLEN
from servicedesk.bus import COUNTER_BITS, Bus
from servicedesk.config import CentralitaConfig
from tests.ami_listener.harness import queue_log_calls
from tests.ami_listener.test_trace_replay import replay


def _counters(r: redis.Redis) -> dict[str, dict[str, str]]:
    return {k: r.hgetall(k) for k in r.scan_iter("*:counters:*") if not k.endswith(":seen")}


async def test_one_mark_per_call_and_replays_count_once(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    trace = traces_dir / "load_mix"
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    await replay(trace, example_config, session_factory, redis_url)
    counted = _counters(r)
    assert sum(int(v.get("offered", 0)) for v in counted.values()) > 5
    marks = {k: r.hgetall(k) for k in r.scan_iter("*:counters:*:seen")}
    calls = len(queue_log_calls(trace / "queue_log"))
    assert sum(len(m) for m in marks.values()) == calls  # one field per call, not per counter
    every = sum(COUNTER_BITS.values())
    assert all(0 < int(bits) <= every for m in marks.values() for bits in m.values())
    await replay(trace, example_config, session_factory, redis_url)  # the same stream again
    assert _counters(r) == counted


async def test_marks_of_the_old_form_still_count(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    """Marks written before the change (`pbx:linkedid:counter`, one per counter) live
    for days: a call replayed after the upgrade is not counted again."""
    trace = traces_dir / "load_mix"
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    await replay(trace, example_config, session_factory, redis_url)
    counted = _counters(r)
    for key in list(r.scan_iter("*:counters:*:seen")):
        old_form = {
            f"{call}:{name}": "1"
            for call, bits in r.hgetall(key).items()
            for name, bit in COUNTER_BITS.items()
            if int(bits) & bit
        }
        r.delete(key)
        r.hset(key, mapping=old_form)
    await replay(trace, example_config, session_factory, redis_url)
    assert _counters(r) == counted


async def test_an_agents_pop_stream_is_trimmed_and_expires(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    _calls, service = await replay(
        traces_dir / "load_mix", example_config, session_factory, redis_url
    )
    streams = [k for k in r.scan_iter("*:pops:agent:*") if not k.endswith(":last_pop")]
    assert streams
    for key in streams:
        assert 0 < r.ttl(key) <= LAST_POP_TTL_S
    # a busy agent's stream over weeks: trimmed to POP_STREAM_MAXLEN, not 10,000
    live = service.live  # type: ignore[attr-defined]
    key = streams[0]
    pipe = r.pipeline(transaction=False)
    for seq in range(10**6, 10**6 + 2000):  # the listener's own pop path
        live._apply(pipe, ("pop", key, {"type": "ring", "call_id": str(seq)}, None, seq))
    pipe.execute()
    assert r.xlen(key) == POP_STREAM_MAXLEN
    assert r.xrevrange(key, count=1)[0][1]["call_id"] == str(10**6 + 1999)  # newest kept


async def test_a_garbled_mark_does_not_stop_the_counters(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    """A mark that is not a number (a hand edit, a bad restore) reads as no mark: the
    script does not fail, so the pipeline's other counters are not refused with it."""
    trace = traces_dir / "load_mix"
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    await replay(trace, example_config, session_factory, redis_url)
    counted = _counters(r)
    for key in r.scan_iter("*:counters:*:seen"):
        r.hset(key, mapping=dict.fromkeys(r.hkeys(key), "garbage"))
    _calls, service = await replay(trace, example_config, session_factory, redis_url)
    assert service.live.rejected == 0  # type: ignore[attr-defined]
    again = _counters(r)
    assert again.keys() == counted.keys()
    assert all(
        int(again[k].get("offered", 0)) >= int(v.get("offered", 0)) for k, v in counted.items()
    )


def test_callback_pops_share_the_agents_trimmed_expiring_stream(redis_url: str) -> None:
    """Pops from outside the listener (callbacks) keep the same bounds as its own."""
    bus = Bus(redis.Redis.from_url(redis_url, decode_responses=True))
    for i in range(POP_STREAM_MAXLEN + 15):
        bus.publish_pop("1001", {"type": "callback", "call_id": f"callback-{i}"})
    key = bus.keys.agent_pops("1001")
    assert bus.r.xlen(key) == POP_STREAM_MAXLEN
    assert 0 < bus.r.ttl(key) <= LAST_POP_TTL_S
    newest = bus.r.xrevrange(key, count=1)[0][1]
    assert newest["call_id"] == f"callback-{POP_STREAM_MAXLEN + 14}"
