"""Quoting (injection-proof) and reply parsing, checked against res_agi's own argument parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.agi_protocol import ReplyAssembler, command_line, parse_result_line, quote
from tests.ivr.fake_asterisk import parse_args

HOSTILE = [
    'Zoë "Z" Adams',
    "O'Brien, Ann",
    'a" "b',
    "x\nHANGUP",
    "x\r\nEXEC System rm -rf /",
    "trailing backslash\\",
    '\\"; EXEC System reboot',
    "nul\x00byte",
    '"',
    "",
    "  spaces  ",
    "${SHELL(id)}",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_stays_one_argument(value: str) -> None:
    line = command_line("SET VARIABLE", "CALLER", value)
    assert line.endswith("\n") and line.count("\n") == 1 and "\r" not in line and "\x00" not in line
    expected = value.replace("\r", "").replace("\n", "").replace("\x00", "")
    assert parse_args(line[:-1]) == ["SET", "VARIABLE", "CALLER", expected]


@given(st.text(max_size=200))
def test_any_text_round_trips_through_asterisk_parsing(value: str) -> None:
    line = command_line("VERBOSE", value, 1)
    expected = value.replace("\r", "").replace("\n", "").replace("\x00", "")
    assert parse_args(line[:-1]) == ["VERBOSE", expected, "1"]


def test_verb_must_be_ours() -> None:
    with pytest.raises(ValueError):
        command_line("EXEC\nHANGUP")
    with pytest.raises(ValueError):
        command_line("set variable")
    with pytest.raises(ValueError):
        command_line("VERBOSE", "x" * 3000)


def test_quote_escapes_backslash_before_quote() -> None:
    assert quote('a\\"b') == '"a\\\\\\"b"'
    assert quote(42) == '"42"'


@pytest.mark.parametrize(
    ("line", "code", "result", "data", "endpos"),
    [
        ("200 result=1 (5551009)", 200, "1", "5551009", None),
        ("200 result=0 endpos=11234", 200, "0", "", 11234),
        ("200 result=1234", 200, "1234", "", None),
        ("200 result= (timeout)", 200, "", "timeout", None),
        ("200 result=12 (timeout)", 200, "12", "timeout", None),
        ("200 result=-1", 200, "-1", "", None),
        ("200 result=1 (a (nested) value)", 200, "1", "a (nested) value", None),
        ("200 result=1 (x) endpos=3)", 200, "1", "x) endpos=3", None),
        ("200 result=0 (timeout) endpos=800", 200, "0", "timeout", 800),
        ("510 Invalid or unknown command", 510, "", "", None),
        ("511 Command Not Permitted on a dead channel or intercept routine", 511, "", "", None),
    ],
)
def test_parse_result_line(line: str, code: int, result: str, data: str, endpos) -> None:
    r = parse_result_line(line)
    assert r is not None
    assert (r.code, r.result, r.data, r.endpos) == (code, result, data, endpos)


@pytest.mark.parametrize("line", ["", "garbage", "20", "200", "200 nonsense", "2000 x", "abc 200"])
def test_garbage_is_not_a_reply(line: str) -> None:
    assert parse_result_line(line) is None


def test_assembler_multiline_520_and_hangup() -> None:
    a = ReplyAssembler()
    assert a.feed("520-Invalid command syntax.  Proper usage follows:") is None
    assert a.feed("200 result=1 looks like a reply but is usage text") is None
    assert a.feed("HANGUP") is None  # inside the usage block it is text
    reply = a.feed("520 End of proper usage.")
    assert reply is not None and not isinstance(reply, str)
    assert reply.code == 520 and len(reply.usage) == 2
    assert a.feed("HANGUP") == "HANGUP"
    assert a.feed("noise") is None and a.garbage == 1
