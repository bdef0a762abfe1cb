"""Replay the exact bytes Asterisk 22 sent in the recorded FastAGI traces against our server."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from ivr.agi_protocol import AgiReply, ChannelHungUp
from ivr.fastagi_server import FastAgiServer, FastAgiSession

_LOG = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s(<<|>>|--)\s?(.*)$")


def load_trace(path: Path) -> tuple[list[str], list[tuple[str, list[str]]], list[str]]:
    """(environment lines incl. the blank one, [(command, reply lines)], lines after half-close)."""
    env: list[str] = []
    turns: list[tuple[str, list[str]]] = []
    tail: list[str] = []
    in_env = True
    half_closed = False
    for raw in path.read_text().splitlines():
        m = _LOG.match(raw)
        if not m:
            continue
        direction, text = m.group(3), m.group(4)
        if direction == "--":
            if "half-closes" in text:
                half_closed = True
            continue
        if direction == "<<":
            if in_env:
                env.append(text)
                if text == "":
                    in_env = False
            elif half_closed:
                tail.append(text)
            else:
                turns[-1][1].append(text)
        else:
            turns.append((text, []))
    return env, turns, tail


async def replay_client(port: int, env: list[str], turns: list[tuple[str, list[str]]]) -> list[str]:
    """Asterisk's side: the recorded environment, then the recorded replies per command."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write("".join(line + "\n" for line in env).encode())
    received: list[str] = []
    for expected, replies in turns:
        line = (await asyncio.wait_for(reader.readline(), 5)).decode()
        received.append(line.rstrip("\n"))
        assert line == expected + "\n"
        writer.write("".join(r + "\n" for r in replies).encode())
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the server half-closes
    writer.write(b"HANGUP\n")
    writer.close()
    return received


async def run_replay(
    scenario: Path, handler_factory
) -> tuple[list[AgiReply | BaseException], FastAgiSession]:
    env, turns, _ = load_trace(scenario / "fastagi.log")
    script = next(e.split(": ", 1)[1] for e in env if e.startswith("agi_network_script"))
    results: list[AgiReply | BaseException] = []
    sessions: list[FastAgiSession] = []

    async def handler(session: FastAgiSession) -> None:
        sessions.append(session)
        await handler_factory(session, [c for c, _ in turns], results)

    server = FastAgiServer({script: handler}, port=0, command_timeout=3)
    await server.start()
    try:
        await replay_client(server.port, env, turns)
        for _ in range(100):
            if server.completed:
                break
            await asyncio.sleep(0.01)
    finally:
        await server.shutdown(1)
    return results, sessions[0]


async def raw_commands(session: FastAgiSession, commands: list[str], results: list) -> None:
    for cmd in commands:
        results.append(await session._roundtrip(cmd + "\n"))
    session.dead_during_script = session.dead  # type: ignore[attr-defined]


async def test_fastagi_ivr_trace_pairs_every_reply(traces_dir: Path) -> None:
    results, session = await run_replay(traces_dir / "fastagi_ivr", raw_commands)
    assert session.env["agi_network_script"] == "ivr"
    assert session.env["agi_arg_2"] == "arg2"
    assert session.env["agi_accountcode"] == ""
    codes = [(r.code, r.result, r.data, r.endpos) for r in results]
    assert codes == [
        (200, "1", "5551009", None),
        (200, "1", "", None),
        (200, "0", "", 11234),
        (200, "1234", "", None),
        (200, "0", "", None),
        (200, "0", "", None),
        (200, "0", "", None),
        (510, "", "", None),
        (520, "", "", None),
    ]
    assert results[-1].usage == (
        "Stream the given <replaceable>file</replaceable>, and receive DTMF data.",
        "Returns the digits received from the channel at the other end.",
    )
    assert session.dead_during_script is False  # type: ignore[attr-defined]
    assert session.hangup_notices == 1  # only the final one, after our half-close
    assert session.stray_replies == 0


async def test_fastagi_hangup_midway_trace_marks_dead_and_pairs(traces_dir: Path) -> None:
    results, session = await run_replay(traces_dir / "fastagi_hangup_midway", raw_commands)
    assert [r.code for r in results] == [200, 200, 200, 200, 511, 511, 200, 200, 511]
    assert results[2].result == "-1"
    assert results[3].data == "5551010"  # GET VARIABLE works on the dead channel
    assert session.dead_during_script is True  # type: ignore[attr-defined]
    assert session.hangup_notices == 2  # inline, then the final one after our half-close
    assert session.stray_replies == 0


async def test_high_level_channel_stops_promptly_after_inline_hangup(traces_dir: Path) -> None:
    """Through the AgiChannel API: GET DATA's -1 ends the flow; media is not even sent."""
    env, turns, _ = load_trace(traces_dir / "fastagi_hangup_midway" / "fastagi.log")
    outcome: dict[str, object] = {}

    async def flow(session: FastAgiSession) -> None:
        assert await session.get_variable("CALLERID(num)") == "5551010"
        await session.stream_file("hello-world")
        try:
            await session.get_data("beep", 10000, 4)
        except ChannelHungUp:
            outcome["hung_up_at"] = session.commands
        with pytest.raises(ChannelHungUp):
            await session.stream_file("beep")  # refused locally: never sent
        outcome["sent"] = session.commands
        outcome["var"] = await session.get_variable("CALLERID(num)")

    server = FastAgiServer({"ivr_hangup": flow}, port=0, command_timeout=3)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write("".join(e + "\n" for e in env).encode())
        sent: list[str] = []
        for _expected, replies in turns[:4]:
            line = (await asyncio.wait_for(reader.readline(), 5)).decode().rstrip("\n")
            sent.append(line)
            writer.write("".join(r + "\n" for r in replies).encode())
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        await server.shutdown(1)
    assert sent == [
        'GET VARIABLE "CALLERID(num)"',
        'STREAM FILE "hello-world" ""',
        'GET DATA "beep" "10000" "4"',
        'GET VARIABLE "CALLERID(num)"',
    ]
    assert outcome == {"hung_up_at": 3, "sent": 3, "var": "5551010"}
