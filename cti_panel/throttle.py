"""Login throttling that slows guessing without letting anyone lock a person out.

Two counters of *failed* attempts, shared by every worker through Redis:
- per client address (any account): password spraying from one address meets
  a growing delay (2, 4, 8 … s, at most 15 min) after `ip_free` failures;
- per account (any address): after `account_free` failures each next try on
  that account must wait a growing delay (at most `account_cap_s`, one minute),
  so a distributed guesser gets a handful of tries a minute.
A browser that has logged into the account before carries a signed "known
device" cookie naming that account and is exempt from both delays: an attacker
who hammers `ana`, or sprays from the office's shared address, slows down only
strangers, never Ana at her own desk. Behind a reverse proxy set
CENTRALITA_PANEL_PROXIES to the number of proxies so the client address is real.
A correct password is never refused for someone else's failures, and a success
clears that address's and account's counters.
While Redis is down the counters fall back to this process's memory, so login
keeps working (throttled per worker) instead of failing with a 500.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

import redis

WINDOW_S = 15 * 60


@dataclass(frozen=True)
class Limits:
    ip_free: int = 10
    ip_cap_s: int = 15 * 60
    account_free: int = 5
    account_cap_s: int = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0


def _delay(failures: int, free: int, cap: int) -> int:
    if failures < free:
        return 0
    return min(cap, 2 ** min(20, failures - free + 1))


class _Memory:
    """Fallback store: {key: (count, last_failure_epoch)}, per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[int, float]] = {}

    def get(self, key: str, now: float) -> tuple[int, float]:
        with self._lock:
            count, last = self._data.get(key, (0, 0.0))
            if now - last > WINDOW_S:
                return 0, 0.0
            return count, last

    def fail(self, key: str, now: float) -> None:
        with self._lock:
            count, last = self._data.get(key, (0, 0.0))
            if now - last > WINDOW_S:
                count = 0
            self._data[key] = (count + 1, now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


_memory = _Memory()


class LoginThrottle:
    def __init__(self, r: redis.Redis, prefix: str, limits: Limits | None = None) -> None:
        self.r = r
        self.prefix = f"{prefix}:panel:loginfail"
        self.limits = limits or Limits()

    def _keys(self, username: str, ip: str) -> tuple[str, str]:
        return f"{self.prefix}:ip:{ip[:64]}", f"{self.prefix}:user:{username.lower()[:64]}"

    def _read(self, key: str, now: float) -> tuple[int, float]:
        try:
            raw = self.r.hgetall(key)
        except redis.RedisError:
            return _memory.get(key, now)
        if not raw:
            return _memory.get(key, now)
        try:
            return int(raw.get("n", 0)), float(raw.get("last", 0.0))
        except (TypeError, ValueError):  # a damaged entry counts as none, never blocks
            return 0, 0.0

    def check(
        self, username: str, ip: str, *, known_device: bool, now: float | None = None
    ) -> Verdict:
        now = time.time() if now is None else now
        ip_key, user_key = self._keys(username, ip)
        if known_device:  # this browser logged into this very account before
            return Verdict(True)
        n, last = self._read(ip_key, now)
        wait = last + _delay(n, self.limits.ip_free, self.limits.ip_cap_s) - now
        n, last = self._read(user_key, now)
        account_wait = last + _delay(n, self.limits.account_free, self.limits.account_cap_s) - now
        wait = max(wait, account_wait)
        return Verdict(True) if wait <= 0 else Verdict(False, int(wait) + 1)

    def failed(self, username: str, ip: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for key in self._keys(username, ip):
            try:
                pipe = self.r.pipeline()
                pipe.hincrby(key, "n", 1)
                pipe.hset(key, "last", repr(now))
                pipe.expire(key, WINDOW_S)
                pipe.execute()
            except redis.RedisError:
                _memory.fail(key, now)

    def succeeded(self, username: str, ip: str) -> None:
        for key in self._keys(username, ip):
            _memory.clear(key)
            with contextlib.suppress(redis.RedisError):
                self.r.delete(key)
