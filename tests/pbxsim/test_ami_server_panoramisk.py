"""A real AMI client (panoramisk 1.4, what the listener uses) against the simulator's server."""

from __future__ import annotations

import asyncio

from panoramisk import Manager

from tests.pbxsim import test_ami_server as base
from tests.pbxsim.test_ami_server import SECRET

pbx = base.pbx
make_server = base.make_server
server = base.server


async def wait_for(pred, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


async def test_panoramisk_logs_in_runs_actions_and_gets_events(server, pbx):
    events = []
    booted = asyncio.Event()
    manager = Manager(
        loop=asyncio.get_running_loop(),
        host="127.0.0.1",
        port=server.port,
        username="ceo",
        secret=SECRET,
        events="on",
        ping_delay=60,
    )
    manager.register_event("QueueMemberAdded", lambda _m, e: events.append(e))
    manager.register_event("FullyBooted", lambda _m, _e: booted.set())
    try:
        await manager.connect()
        await wait_for(lambda: manager.authenticated)
        await asyncio.wait_for(booted.wait(), 5)
        assert manager.protocol.version == "11.0.0"

        pong = await manager.send_action({"Action": "Ping"})
        assert pong.success and pong.ping == "Pong"

        status = await manager.send_action({"Action": "QueueStatus", "Queue": "support"})
        assert [m.get("Event") for m in status] == [None, "QueueParams", "QueueStatusComplete"]
        assert status[0].eventlist == "start"
        assert status[-1].listitems == "1"

        added = await manager.send_action(
            {"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/agent2"}, as_list=False
        )
        assert added.success and added.message == "Added interface to queue"
        await wait_for(lambda: events)
        assert events[0].queue == "support" and events[0].interface == "PJSIP/agent2"
        assert events[0].privilege == "agent,all"

        unknown = await manager.send_action({"Action": "QueueUnpause"})
        assert unknown.response == "Error"
        assert unknown.message.startswith("Invalid/unknown command: QueueUnpause.")
    finally:
        manager.close()


async def test_panoramisk_sees_a_rejected_login(server):
    manager = Manager(
        loop=asyncio.get_running_loop(),
        host="127.0.0.1",
        port=server.port,
        username="ceo",
        secret="wrong",
        ping_delay=60,
        reconnect_timeout=60,
    )
    try:
        await manager.connect()
        await wait_for(lambda: manager.authenticated_future is None)
        assert manager.authenticated is False
    finally:
        manager.close()
