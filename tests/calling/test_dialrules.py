"""Safe dialling: E.164 normalisation, dial rules by number kind, the per-agent rate limit."""

from __future__ import annotations

import pytest
import redis

from servicedesk.calling_config import CallingConfig
from servicedesk.dialrules import DialRefused, check, classify, normalise, take_rate_slot

RULES = CallingConfig()


@pytest.mark.parametrize(
    ("typed", "e164", "kind"),
    [
        ("55 1234 5678", "+525512345678", "national"),
        ("(55) 1234-5678", "+525512345678", "national"),
        ("+52 55 1234 5678", "+525512345678", "national"),
        ("044 55 1234 5678", "+525512345678", "national"),  # retired mobile prefix
        ("+52 1 55 1234 5678", "+525512345678", "national"),
        ("800 123 4567", "+528001234567", "toll_free"),
        ("01 800 123 4567", "+528001234567", "toll_free"),
    ],
)
def test_allowed_numbers_become_e164(typed: str, e164: str, kind: str) -> None:
    target = check(typed, RULES, "MX")
    assert (target.e164, target.kind, target.exten) == (e164, kind, e164[1:])


@pytest.mark.parametrize(
    ("typed", "code", "kind"),
    [
        ("+1 212 555 0100", "not_allowed", "international"),
        ("900 123 4567", "not_allowed", "premium"),
        ("12", "invalid", ""),
        ("55²12345678", "invalid", ""),  # a superscript digit is not a digit
        ("55 1234 5678 ext 12", "invalid", ""),
        ("5512345678\r\nAction: Originate", "invalid", ""),
        ("55;1234", "invalid", ""),
        ("", "invalid", ""),
    ],
)
def test_refused_numbers_say_why(typed: str, code: str, kind: str) -> None:
    with pytest.raises(DialRefused) as info:
        check(typed, RULES, "MX")
    assert (info.value.code, info.value.kind) == (code, kind)


def test_international_only_when_configured() -> None:
    rules = CallingConfig(allow=["national", "international"])
    assert check("+1 212 555 0100", rules, "MX").kind == "international"
    with pytest.raises(DialRefused):
        check("800 123 4567", rules, "MX")


def test_classify_and_normalise_agree() -> None:
    assert classify(normalise("33 1234 5678", "MX"), "MX") == "national"


def test_rate_limit_per_agent_window(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    rules = CallingConfig(calls_per_agent=3, rate_window_s=60)
    for _ in range(3):
        take_rate_slot(r, "t-rate", "1001", rules)
    with pytest.raises(DialRefused) as info:
        take_rate_slot(r, "t-rate", "1001", rules)
    assert info.value.code == "rate_limited"
    take_rate_slot(r, "t-rate", "1002", rules)  # another agent has a window of their own
    assert 0 < r.ttl("t-rate:calling:rate:1001") <= 60
