"""Per-command reply deadlines: a prompt is waited for as long as it plays, nothing else is."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from ivr.agi_protocol import command_line
from ivr.app import reply_deadlines
from ivr.fastagi_server import FastAgiSession
from ivr.reply_deadlines import ReplyDeadlines
from tests.ivr.test_fastagi_misbehaviour import ENV, connect, start, until


def test_media_deadlines_cover_the_prompt_and_the_digit_timeouts(example_config) -> None:
    d = reply_deadlines(example_config)
    fa = example_config.connections.fastagi
    wait_s = example_config.routing.digit_timeout_ms / 1000
    menu = command_line("GET DATA", "centralita/main_menu", 5000, 1)
    greeting = command_line("STREAM FILE", "centralita/welcome_tollfree_language", "12")
    identify = command_line("GET DATA", "centralita/identify", 5000, 12)
    # the Spanish copies are the longer ones (16.19 s, 12.46 s, 9.78 s rendered)
    assert d.seconds(menu) == 16.189 + wait_s + fa.media_margin
    assert d.seconds(greeting) == 12.455 + fa.media_margin
    assert d.seconds(identify) == 9.777 + 12 * wait_s + fa.media_margin
    assert d.seconds(command_line("STREAM FILE", "es/centralita/language_choice", "12")) < 20
    # the opening hours are bounded from the config (no Babel in the server): over 15.6 s
    hours = command_line("STREAM FILE", "centralita/closed_hours_office", "")
    assert d.seconds(hours) >= 15.65 + fa.media_margin
    assert d.seconds(command_line("WAIT FOR DIGIT", 5000)) == 5.0 + fa.media_margin
    assert d.seconds(command_line("SAY DIGITS", "1234", "")) > 4 * 0.773
    for quick in (
        command_line("SET VARIABLE", "CENTRALITA_QUEUE", "email_es"),
        command_line("GET VARIABLE", "CENTRALITA_LINE"),
        command_line("VERBOSE", "x", 1),
        "ANSWER\n",
    ):
        assert d.seconds(quick) == fa.command_timeout


def test_unknown_lengths_have_no_deadline_of_their_own() -> None:
    d = ReplyDeadlines(5.0, media_margin=2.0, lengths={"beep": 0.424})
    assert d.seconds(command_line("STREAM FILE", "custom/not-catalogued", "")) is None
    assert d.seconds(command_line("GET DATA", "beep", 3000)) is None  # up to 1024 digits
    assert d.seconds(command_line("WAIT FOR DIGIT", -1)) is None
    assert d.seconds(command_line("EXEC", "Dial", "PJSIP/100")) is None
    assert d.seconds(command_line("RECORD FILE", "/tmp/x", "wav", "#", 60000)) is None
    assert d.seconds(command_line("GET DATA", "beep", 3000, 4)) == 0.424 + 12.0 + 2.0
    assert d.seconds('STREAM FILE beep ""\n') == 0.424 + 2.0  # unquoted names too


def test_time_scale_divides_every_deadline() -> None:
    d = ReplyDeadlines(4.0, media_margin=2.0, lengths={"x": 8.0}, time_scale=20.0)
    assert d.seconds(command_line("STREAM FILE", "x", "")) == 0.5
    assert d.seconds(command_line("GET VARIABLE", "A")) == 0.2


async def test_a_prompt_longer_than_the_command_timeout_is_waited_for(caplog) -> None:
    """GET VARIABLE may take 0.15 s; the 0.5 s prompt's reply after 0.35 s is still paired,
    and a prompt whose reply never comes ends the call at its own deadline."""
    caplog.set_level(logging.INFO, logger="centralita.ivr.calls")
    got: list[str] = []

    async def handler(s: FastAgiSession) -> None:
        got.append(await s.stream_file("long", "1"))
        got.append(await s.stream_file("long", ""))

    deadlines = ReplyDeadlines(0.15, media_margin=0.1, lengths={"long": 0.5})
    server = await start({"ivr": handler}, command_timeout=0.15, deadlines=deadlines)
    try:
        r, w = await connect(server)
        w.write(ENV.encode())
        assert (await r.readline()).startswith(b'STREAM FILE "long" "1"')
        await asyncio.sleep(0.35)  # longer than the command timeout: the prompt plays
        w.write(b"200 result=49 endpos=2800\n")
        assert (await r.readline()).startswith(b'STREAM FILE "long" ""')
        t0 = time.monotonic()
        assert await asyncio.wait_for(r.read(), 3) == b""  # no reply: cut at 0.6 s
        assert 0.5 <= time.monotonic() - t0 < 2.0
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)
    assert got == ["1"]
    record = json.loads(caplog.records[-1].getMessage())
    assert (record["outcome"], record["errors"]) == ("timeout", ["no AGI reply in time"])
