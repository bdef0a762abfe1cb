"""The AMI link dropped, then blackholed, under load (issue 9, item 7), and panel commands
through the running listener process: a bad one is answered, the good one after it runs.

The listener process talks to pbxsim through a proxy that first resets every
connection, then silently swallows everything for a few seconds. Calls that
ended or began meanwhile are reconciled from queue_log: the records equal
pbxsim's queue_log, nothing lost or duplicated.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis as redis_lib

from servicedesk.bus import Bus
from tests.faults.proxy import Proxy
from tests.faults.stack import Redis, Stack, settle, wait_until
from tests.servers import free_port


def test_link_dropped_and_blackholed_under_load(tmp_path: Path) -> None:
    server = Redis(tmp_path)
    stack = Stack(tmp_path, server)
    pbx_port = free_port()
    proxy = Proxy(stack.ami_port, pbx_port)
    client = redis_lib.Redis.from_url(server.url, decode_responses=True)
    bus = Bus(client)
    try:
        stack.start_pbx(rate=3, seconds=15, agents=5, patience=9, ami_port=pbx_port)
        stack.start_listener()
        wait_until(
            lambda: "AMI 127.0.0.1" in stack.log("listener") and " up " in stack.log("listener"),
            30,
            "link up",
        )
        add = {"action": "QueueAdd", "queue": "network_es", "interface": "PJSIP/9100"}
        bus.publish(bus.keys.commands, {"id": "bad", **add, "penalty": "²"})
        bus.publish(
            bus.keys.commands, {"id": "good", **add, "penalty": "2", "member_name": "Extra"}
        )
        wait_until(lambda: client.xlen(bus.keys.command_results) == 2, 15, "both answered")
        time.sleep(2.0)
        proxy.drop()
        time.sleep(3.0)
        proxy.blackhole()
        time.sleep(4.0)  # pings go unanswered: the link is declared dead, logins time out
        proxy.restore()
        placed = stack.pbx_done(90)["placed"]
        mismatches = settle(stack, 40)
        log = stack.log("listener")
        results = {f["id"]: f for _i, f in client.xrange(bus.keys.command_results)}
    finally:
        stack.stop()
        proxy.close()
    assert results["bad"]["response"] == "Error" and "penalty" in results["bad"]["message"]
    assert results["good"]["response"] == "Success", results["good"]
    assert mismatches == []
    assert len(stack.expected()) == placed >= 30
    assert " dead " in log and log.count(" up login #") >= 3  # dropped, dead, back
