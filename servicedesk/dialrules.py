"""Safe dialling: a number typed or clicked in the panel becomes E.164, is classified and
checked against the desk's dial rules before anything reaches Asterisk.

Why here, in the core: the panel refuses early with a clear message, and the dialer
(the only process that sends Originate) checks again, so a number that skipped the
panel still cannot reach the trunk. The rate limit is a fixed window per agent in
Redis (INCR + EXPIRE in one transaction), shared by every panel worker.

Refusals carry a stable `code` (the panel translates it) and an English `detail`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from servicedesk.calling_config import CallingConfig
from servicedesk.directory import PhoneError, WithheldNumber, normalise_phones

# what a person may type: digits, a leading +, spaces and the usual punctuation
_TYPED = re.compile(r"^\+?[0-9 ().\-]{3,30}$")

REFUSAL_CODES = ("invalid", "not_allowed", "rate_limited")

_KINDS = {
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "national",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "national",
}


class DialRefused(ValueError):
    """A number the rules refuse: `code` for people (translated), `kind` when classified."""

    def __init__(self, code: str, detail: str, kind: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.kind = kind


@dataclass(frozen=True)
class DialTarget:
    e164: str  # "+525512345678"
    kind: str  # one of calling_config.NUMBER_KINDS

    @property
    def exten(self) -> str:
        """The digits the outbound context receives as its extension (no '+')."""
        return self.e164[1:]


def normalise(raw: str, region: str) -> str:
    """E.164 for one typed number; DialRefused("invalid") for anything else."""
    text = str(raw or "").strip()
    if not text.isascii() or not _TYPED.match(text):
        raise DialRefused("invalid", f"not a phone number: {text[:40]!r}")
    try:
        phones = normalise_phones(text, region)
    except (PhoneError, WithheldNumber) as exc:
        raise DialRefused("invalid", str(exc)) from None
    if len(phones) != 1 or phones[0].extension:
        raise DialRefused("invalid", f"one number without extension expected: {text!r}")
    return phones[0].e164


def classify(e164: str, region: str) -> str:
    """national | mobile | toll_free | premium | shared_cost | international | other."""
    number = phonenumbers.parse(e164, None)
    if phonenumbers.region_code_for_number(number) != region:
        return "international"
    return _KINDS.get(phonenumbers.number_type(number), "other")


def check(raw: str, calling: CallingConfig, region: str) -> DialTarget:
    """Normalise and apply the dial rules; the target, or DialRefused saying why."""
    e164 = normalise(raw, region)
    kind = classify(e164, region)
    if kind not in calling.allow:
        raise DialRefused("not_allowed", f"{kind} numbers may not be dialled: {e164}", kind)
    return DialTarget(e164, kind)


def take_rate_slot(r: Any, key_prefix: str, agent: str, calling: CallingConfig) -> None:
    """Count one originate for `agent` in the current window; DialRefused past the limit."""
    key = f"{key_prefix}:calling:rate:{agent}"
    pipe = r.pipeline(transaction=True)
    pipe.set(key, 0, ex=calling.rate_window_s, nx=True)  # the window opens at the first call
    pipe.incr(key)
    _, count = pipe.execute()
    if int(count) > calling.calls_per_agent:
        raise DialRefused(
            "rate_limited",
            f"agent {agent}: more than {calling.calls_per_agent} calls in {calling.rate_window_s} s",
        )
