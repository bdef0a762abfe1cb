"""Only ASCII digits count as digits in the IVR ('²' and '٣' are str.isdigit(), then int() fails
or, worse, a non-ASCII "digit" reaches a dial string or the database)."""

from __future__ import annotations

from ivr.agi_protocol import parse_result_line
from ivr.services import _digits


def test_agi_reply_with_unicode_digits_is_garbage_not_a_crash() -> None:
    assert parse_result_line("²00 result=0") is None
    reply = parse_result_line("200 result=1 (timeout) endpos=²³")
    assert reply is not None and reply.endpos is None
    reply = parse_result_line("200 result=1 (ok) endpos=1234")
    assert reply is not None and reply.endpos == 1234 and reply.data == "ok"


def test_caller_digits_keep_ascii_only() -> None:
    assert _digits("+52 (55) ١٢٣ 1234²") == "52551234"
