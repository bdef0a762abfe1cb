"""Memory trend of a soak: slope per hour with its 95 % interval, and a flat/growing verdict.

RSS sampled every few seconds saw-tooths (garbage collection, allocator slack, batches
in flight) by a megabyte or two, so a least-squares line through ten minutes of raw
samples can read +10 MB/h on a process that does not grow. The samples are averaged
per minute first (the saw-tooth mostly cancels within a block) and the slope's
standard error comes from the scatter of those block means about the line, so a short
or noisy run says "±x MB/h" instead of a false precision.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

BLOCK_S = 60.0
# flat: the slope's 95 % upper bound under what a leak of this many bytes per call
# handled would add (an object or two per call is 100-200 B; at the soak's 25,000 calls
# an hour, 100 B a call is 2.5 MB/h, at a real desk's 500 calls an hour 50 kB/h)
FLAT_BYTES_PER_CALL = 100
# two-sided 95 % Student t quantiles by degrees of freedom (beyond 30: ~1.96)
_T95 = {
    1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
    10: 2.23, 11: 2.20, 12: 2.18, 13: 2.16, 14: 2.14, 15: 2.13, 16: 2.12, 17: 2.11,
    18: 2.10, 19: 2.09, 20: 2.09, 25: 2.06, 30: 2.04,
}  # fmt: skip


@dataclass(frozen=True)
class Trend:
    start_mb: float  # first block's mean
    end_mb: float  # last block's mean
    max_mb: float  # largest raw sample
    slope_mb_per_h: float
    ci95_mb_per_h: float  # half-width; inf with fewer than three blocks
    blocks: int

    @property
    def upper_mb_per_h(self) -> float:
        return self.slope_mb_per_h + self.ci95_mb_per_h

    def bytes_per_call(self, calls_per_h: float) -> float:
        """The slope as memory kept per call handled."""
        return self.slope_mb_per_h * 1e6 / calls_per_h if calls_per_h else math.inf

    def flat(self, calls_per_h: float) -> bool:
        """Growth, at its 95 % upper bound, under FLAT_BYTES_PER_CALL per call handled."""
        return self.upper_mb_per_h <= FLAT_BYTES_PER_CALL * calls_per_h / 1e6


def t95(df: int) -> float:
    if df <= 0:
        return math.inf
    fitting = [k for k in _T95 if k <= df]
    return _T95[max(fitting)] if df <= 30 else 1.96


def block_means(samples: list[tuple[float, float]], block_s: float) -> list[tuple[float, float]]:
    """(mid-time, mean MB) per block of `block_s` seconds from the first sample."""
    blocks: dict[int, list[tuple[float, float]]] = {}
    t0 = samples[0][0]
    for t, mb in samples:
        blocks.setdefault(int((t - t0) // block_s), []).append((t, mb))
    full = max(len(b) for b in blocks.values())
    return [  # a last block cut short by the end of the run is left out
        (statistics.fmean(t for t, _ in b), statistics.fmean(mb for _, mb in b))
        for _, b in sorted(blocks.items())
        if 2 * len(b) >= full
    ]


def trend(samples: list[tuple[float, float]], block_s: float = BLOCK_S) -> Trend:
    """The trend of (epoch seconds, MB) samples; needs at least one sample."""
    means = block_means(samples, block_s)
    n = len(means)
    slope, ci = 0.0, math.inf
    if n >= 2:
        ts = [t for t, _ in means]
        vs = [v for _, v in means]
        mt, mv = statistics.fmean(ts), statistics.fmean(vs)
        sxx = sum((t - mt) ** 2 for t in ts)
        if sxx > 0:
            b = sum((t - mt) * (v - mv) for t, v in means) / sxx
            slope = b * 3600
            if n >= 3:
                resid = sum((v - (mv + b * (t - mt))) ** 2 for t, v in means)
                ci = t95(n - 2) * math.sqrt(resid / (n - 2) / sxx) * 3600
    return Trend(
        start_mb=means[0][1],
        end_mb=means[-1][1],
        max_mb=max(mb for _, mb in samples),
        slope_mb_per_h=slope,
        ci95_mb_per_h=ci,
        blocks=n,
    )
