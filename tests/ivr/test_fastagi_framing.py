"""The environment parser and the reply fast path, at every way the bytes can arrive."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ivr.fastagi_server import MAX_HEADERS, FastAgiServer, FastAgiSession
from tests.ivr.fake_asterisk import default_env
from tests.ivr.test_fastagi_misbehaviour import connect, start, until

ENV = "".join(f"{k}: {v}\n" for k, v in default_env().items()) + "\n"


async def run_one(payloads: list[bytes], replies: list[bytes]):
    """Send the environment in `payloads`, answer each command with the next reply."""
    seen: dict[str, object] = {}

    async def handler(s: FastAgiSession) -> None:
        seen["env"] = dict(s.env)
        seen["a"] = await s.get_variable("A")
        seen["digit"] = await s.stream_file("centralita/x", "12")
        seen["stray"] = s.stray_replies

    server = await start({"ivr": handler})
    try:
        r, w = await connect(server)
        for p in payloads:
            w.write(p)
            await w.drain()
        for reply in replies:
            assert (await asyncio.wait_for(r.readline(), 2)).endswith(b"\n")
            w.write(reply)
        assert await asyncio.wait_for(r.read(), 2) == b""
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)
    return seen


@pytest.mark.parametrize("split", [1, 7, 64, len(ENV) - 1, len(ENV)])
async def test_environment_in_any_segmentation(split: int) -> None:
    data = ENV.encode()
    parts = [data[i : i + split] for i in range(0, len(data), split)]
    seen = await run_one(parts, [b"200 result=1 (v)\n", b"200 result=50 endpos=123\n"])
    assert seen["env"] == default_env()
    assert (seen["a"], seen["digit"], seen["stray"]) == ("v", "2", 0)


async def test_crlf_environment_and_bytes_after_the_blank_line() -> None:
    """CR LF line ends; garbage glued to the environment is dropped, never paired."""
    data = ENV.replace("\n", "\r\n").encode() + b"junk\r\n"
    seen = await run_one([data], [b"200 result=1 (v)\r\n", b"200 result=49\r\n"])
    assert seen["env"] == default_env()
    assert (seen["a"], seen["digit"]) == ("v", "1")


async def test_empty_environment_still_runs_the_unknown_script_path() -> None:
    server = await start({})
    try:
        r, w = await connect(server)
        w.write(b"\n")
        assert (await asyncio.wait_for(r.readline(), 2)).startswith(b"VERBOSE")
        w.write(b"200 result=1\n")
        assert await asyncio.wait_for(r.read(), 2) == b""
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)


async def test_flood_of_non_agi_header_lines_is_cut() -> None:
    server = await start({})
    try:
        r, w = await connect(server)
        w.write(b"x: y\n" * (MAX_HEADERS + 1))
        assert await asyncio.wait_for(r.read(), 2) == b""
        await until(lambda: not server.connections)
        assert server.completed == 0
    finally:
        await server.shutdown(1)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_accepted_sockets_have_nodelay(loop: str) -> None:
    """Small command lines go out at once (no Nagle delay waiting for Asterisk's ACK)."""
    import uvloop

    async def main() -> int:
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def handler(s: FastAgiSession) -> None:
            sock = s.transport.get_extra_info("socket")  # type: ignore[union-attr]
            got.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = FastAgiServer({"ivr": handler}, port=0)
        await server.start()
        try:
            r, w = await asyncio.open_connection("127.0.0.1", server.port)
            w.write(ENV.encode())
            value = await asyncio.wait_for(got, 2)
            w.close()
        finally:
            await server.shutdown(1)
        return value

    runner = asyncio.run if loop == "asyncio" else uvloop.run
    assert runner(main()) != 0


async def test_server_side_turnaround_is_recorded_only_when_asked() -> None:
    async def handler(s: FastAgiSession) -> None:
        for _ in range(3):
            await s.get_variable("A")

    server = await start({"ivr": handler})
    try:
        for measuring in (False, True):
            server.turnaround = [] if measuring else None
            r, w = await connect(server)
            w.write(ENV.encode())
            for _ in range(3):
                await asyncio.wait_for(r.readline(), 2)
                w.write(b"200 result=1 (x)\n")
            assert await asyncio.wait_for(r.read(), 2) == b""
            w.close()
        await until(lambda: server.completed == 2)
    finally:
        await server.shutdown(1)
    # 3 replies, of which the first two were followed by a command (the last by the close)
    assert server.turnaround is not None and len(server.turnaround) == 2
    assert all(0 <= t < 1 for t in server.turnaround)
