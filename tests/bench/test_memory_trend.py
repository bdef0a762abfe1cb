"""The soak's memory verdict: a saw-tooth is flat, a slow leak is not, a short run is unsure."""

from __future__ import annotations

import math
import random

from bench.memory_trend import trend

CALLS_PER_H = 7 * 3600  # the soak's rate: 100 B a call is 2.52 MB/h


def _series(
    minutes: float, base: float, mb_per_h: float, tooth: float = 0.0, noise: float = 0.0
) -> list[tuple[float, float]]:
    rng = random.Random(7)
    out = []
    for i in range(int(minutes * 60 / 5)):
        t = 1_000_000.0 + i * 5
        saw = tooth * ((t % 97) / 97)  # a ~100 s saw-tooth as glibc and gc make
        out.append((t, base + mb_per_h * (i * 5) / 3600 + saw + rng.gauss(0, noise)))
    return out


def test_steady_memory_with_sampling_noise_is_flat() -> None:
    tr = trend(_series(10, 95.0, 0.0, noise=0.3))
    assert tr.flat(CALLS_PER_H), tr
    assert tr.blocks == 10
    assert tr.ci95_mb_per_h < 1.5


def test_a_sawtooth_widens_the_interval_instead_of_faking_a_slope() -> None:
    """A 2 MB saw-tooth beating against the minute blocks: the interval holds 0."""
    for start in range(0, 97, 13):  # every phase of the tooth
        samples = [(t + start, mb) for t, mb in _series(10, 95.0, 0.0, tooth=2.0, noise=0.2)]
        tr = trend(samples)
        assert abs(tr.slope_mb_per_h) <= tr.ci95_mb_per_h, tr


def test_a_leak_of_a_few_mb_an_hour_is_caught() -> None:
    tr = trend(_series(10, 95.0, 6.0, noise=0.3))
    assert not tr.flat(CALLS_PER_H), tr
    assert abs(tr.slope_mb_per_h - 6.0) <= tr.ci95_mb_per_h


def test_a_leak_under_a_sawtooth_is_never_called_flat() -> None:
    for start in range(0, 97, 13):
        samples = [(t + start, mb) for t, mb in _series(10, 95.0, 6.0, tooth=2.0, noise=0.2)]
        assert not trend(samples).flat(CALLS_PER_H)


def test_too_short_a_run_cannot_be_called_flat() -> None:
    tr = trend(_series(1.5, 95.0, 0.0))
    assert tr.blocks < 3
    assert math.isinf(tr.ci95_mb_per_h)
    assert not tr.flat(CALLS_PER_H)


def test_a_last_block_cut_short_is_left_out() -> None:
    samples = _series(10, 95.0, 0.0) + [(1_000_000.0 + 600 + 1, 500.0)]
    assert trend(samples).blocks == 10
    assert trend(samples).max_mb == 500.0  # but the raw maximum is still reported
