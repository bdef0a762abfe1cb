"""Untrusted values parsed at the boundary: ASCII digits only, range-checked.

Why not `int()` or `str.isdigit()`: `str.isdigit()` is true for '²' (then
`int('²')` raises), `int()` accepts '٣', '+3', ' 3 ', '3_000' and 4,300-digit
numbers that no database column holds. Values from AMI, AGI, Redis entries and
HTTP pass through `ascii_int` before they reach the model; out-of-range or
malformed input is None (the caller decides what "unknown" means there).
"""

from __future__ import annotations

INT32_MAX = 2**31 - 1  # PostgreSQL INTEGER; SQLite's is wider, so this bounds both
DIGITS = "0123456789"  # the only digits: `c in DIGITS`, never `c.isdigit()`
_DIGITS = frozenset(DIGITS)


def is_ascii_digits(text: str, max_len: int = 18) -> bool:
    """True for 1..max_len ASCII digits and nothing else."""
    return 0 < len(text) <= max_len and all(ch in _DIGITS for ch in text)


def ascii_int(value: object, lo: int = 0, hi: int = INT32_MAX) -> int | None:
    """`value` as an int in [lo, hi] when it is ASCII digits (an optional leading '-'
    only when lo < 0); None otherwise."""
    if not isinstance(value, str):
        return None
    text = value
    negative = text.startswith("-") and lo < 0
    if negative:
        text = text[1:]
    if not is_ascii_digits(text, len(str(max(abs(lo), abs(hi))))):
        return None
    number = -int(text) if negative else int(text)
    return number if lo <= number <= hi else None


def printable_text(value: str, max_len: int, forbidden: str = "") -> bool:
    """True when every character is printable (no C0/C1 controls, no VT/FF/NEL, no
    U+2028/U+2029 line or paragraph separators) and none is in `forbidden`."""
    return len(value) <= max_len and all(ch.isprintable() and ch not in forbidden for ch in value)
