"""PbxSim end to end: the Centralita dialplan, a real FastAGI conversation and a real AMI client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pbxsim.behaviour import AgentAction
from pbxsim.sim import PbxSim
from servicedesk.config import CentralitaConfig

START = 1_795_600_000.0  # a Monday 10:00 local-ish; only the clock's origin

TRACE_ENV_KEYS = [
    "agi_network", "agi_network_script", "agi_request", "agi_channel", "agi_language", "agi_type",
    "agi_uniqueid", "agi_version", "agi_callerid", "agi_calleridname", "agi_callingpres",
    "agi_callingani2", "agi_callington", "agi_callingtns", "agi_dnid", "agi_rdnis", "agi_context",
    "agi_extension", "agi_priority", "agi_enhanced", "agi_accountcode", "agi_threadid",
]  # fmt: skip

Script = Callable[["AgiConn"], Awaitable[None]]


class AgiConn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.env: dict[str, str] = {}
        self.env_keys: list[str] = []
        self.log: list[str] = []

    async def read_env(self) -> None:
        while True:
            line = (await self.reader.readline()).decode().rstrip("\n")
            if not line:
                return
            k, _, v = line.partition(": ")
            self.env[k] = v
            self.env_keys.append(k)

    async def cmd(self, text: str) -> str:
        self.writer.write(text.encode() + b"\n")
        lines = []
        while True:
            line = (await self.reader.readline()).decode().rstrip("\n")
            self.log.append(line)
            if line == "HANGUP":
                continue
            lines.append(line)
            if not line.startswith("520-") and not (
                lines[0].startswith("520-") and not line.startswith("520 ")
            ):
                return "\n".join(lines)

    async def finish(self) -> list[str]:
        self.writer.write_eof()
        rest = (await self.reader.read()).decode().splitlines()
        self.writer.close()
        return rest


class AgiServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.conns: list[AgiConn] = []
        self.tail: list[list[str]] = []
        self.server: asyncio.Server | None = None
        self.done: list[asyncio.Event] = []

    async def __aenter__(self) -> tuple[str, int]:
        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            conn = AgiConn(r, w)
            self.conns.append(conn)
            finished = asyncio.Event()
            self.done.append(finished)
            try:
                await conn.read_env()
                await self.script(conn)
                self.tail.append(await conn.finish())
            finally:
                finished.set()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        return "127.0.0.1", self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        for finished in self.done:
            await asyncio.wait_for(finished.wait(), 5.0)
        self.server.close()
        await self.server.wait_closed()


def route_to(queue: str) -> Script:
    async def script(c: AgiConn) -> None:
        assert (await c.cmd("ANSWER")) == "200 result=0"
        for name, value in (
            ("CENTRALITA_ACTION", "queue"),
            ("CENTRALITA_QUEUE", queue),
            ("CENTRALITA_MAXWAIT", "120"),
            ("CENTRALITA_RULE", "standard"),
            ("QUEUE_PRIO", "0"),
            ("IVR_LANG", "es"),
            ("CENTRALITA_CONTACT", 'O\'Brien "quoted"'),
        ):
            quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            assert (await c.cmd(f"SET VARIABLE {name} {quoted}")) == "200 result=1"

    return script


async def test_centralita_call_through_fastagi_and_queue(
    example_config: CentralitaConfig, tmp_path: Path
) -> None:
    agent = example_config.agents[0]
    queue = next(iter(k for k in example_config.queue_definitions() if k.endswith("_es")))
    async with (
        AgiServer(route_to(queue)) as agi,
        PbxSim(
            example_config,
            seed=5,
            agi=agi,
            start_epoch=START,
            record=True,
            queue_log_path=tmp_path / "ql",
        ) as sim,
    ):
        sim.agent(agent.interface, [AgentAction.answer(2.0, 20.0)], name=agent.name)
        resp = await sim.action(
            "QueueAdd", Queue=queue, Interface=agent.interface, MemberName=agent.name
        )
        assert resp[0][0] == ("Response", "Success")
        call = sim.place_call("tollfree", "5512345678", "Ana López")
        await sim.run_until_idle(limit=600)
        assert call.outcome == "answered"
    names = [dict(e.headers)["Event"] for e in sim.events]
    assert (
        names.index("QueueCallerLeave") < names.index("AgentConnect") < names.index("AgentComplete")
    )
    varsets = {
        dict(e.headers)["Variable"]: dict(e.headers)["Value"]
        for e in sim.events
        if dict(e.headers)["Event"] == "VarSet"
    }
    assert (
        varsets["CENTRALITA_QUEUE"] == queue
        and varsets["CENTRALITA_CONTACT"] == 'O\'Brien "quoted"'
    )
    conn = agi.conns[0] if isinstance(agi, AgiServer) else None  # noqa: F841 - kept for readability
    ql = (tmp_path / "ql").read_text().splitlines()
    assert [line.split("|")[4] for line in ql] == [
        "ADDMEMBER",
        "ENTERQUEUE",
        "CONNECT",
        "COMPLETEAGENT",
    ]


async def test_agi_environment_order_and_values(example_config: CentralitaConfig) -> None:
    server = AgiServer(route_to("network_es"))
    async with server as agi, PbxSim(example_config, seed=1, agi=agi, start_epoch=START) as sim:
        sim.place_call("vip", "+525511112222", 'Zoë "Z" Adams', patience=1.0)
        await sim.run_until_idle(limit=120)
    conn = server.conns[0]
    assert conn.env_keys == TRACE_ENV_KEYS
    did = example_config.lines["vip"].did.lstrip("+")
    assert conn.env["agi_network_script"] == "ivr"
    assert conn.env["agi_request"].endswith("/ivr")
    assert conn.env["agi_type"] == "PJSIP" and conn.env["agi_channel"].startswith("PJSIP/trunk-")
    assert conn.env["agi_version"] == "22.10.1"
    assert conn.env["agi_extension"] == did
    assert conn.env["agi_callerid"] == "+525511112222"
    assert conn.env["agi_calleridname"] == 'Zoë \\"Z\\" Adams'  # PJSIP keeps the SIP escaping
    assert conn.env["agi_context"] == "centralita-inbound"


async def test_dtmf_hook_type_ahead_and_timeouts(example_config: CentralitaConfig) -> None:
    seen: list[list[str]] = []

    def hook(prompts: list[str]) -> str:
        seen.append(list(prompts))
        return {"centralita/es/main_menu": "1", "centralita/es/enter_incident": "4217#"}.get(
            prompts[-1], ""
        )

    results: dict[str, str] = {}

    async def script(c: AgiConn) -> None:
        results["barge"] = await c.cmd('STREAM FILE centralita/es/welcome "12"')
        results["menu"] = await c.cmd("GET DATA centralita/es/main_menu 3000 1")
        results["inc1"] = await c.cmd("GET DATA centralita/es/enter_incident 3000 2")
        results["inc2"] = await c.cmd("WAIT FOR DIGIT 3000")
        results["inc3"] = await c.cmd("GET DATA beep 3000 5")
        results["silence"] = await c.cmd("GET DATA centralita/es/other 2000 4")
        results["nowait"] = await c.cmd("WAIT FOR DIGIT 1000")

    server = AgiServer(script)
    async with server as agi, PbxSim(example_config, seed=1, agi=agi, start_epoch=START) as sim:
        sim.place_call("tollfree", "5550000", "X", dtmf=hook, patience=100.0)
        await sim.run_until_idle(limit=300)
    assert results["barge"] == "200 result=0 endpos=" + results["barge"].rsplit("=", 1)[1]
    assert results["menu"] == "200 result=1"
    assert results["inc1"] == "200 result=42"  # max 2 digits; "17#" stays keyed ahead
    assert results["inc2"] == f"200 result={ord('1')}"
    assert results["inc3"] == "200 result=7"  # '#' ends GET DATA and is not returned
    assert results["silence"] == "200 result= (timeout)"
    assert results["nowait"] == "200 result=0"
    assert ["centralita/es/welcome", "centralita/es/main_menu"] in seen


async def test_hangup_mid_command_then_dead_channel_semantics(
    example_config: CentralitaConfig,
) -> None:
    results: dict[str, str] = {}

    async def script(c: AgiConn) -> None:
        results["getdata"] = await c.cmd("GET DATA beep 20000 4")
        results["var"] = await c.cmd("GET VARIABLE CALLERID(num)")
        results["stream"] = await c.cmd('STREAM FILE beep ""')
        results["say"] = await c.cmd('SAY NUMBER 12 ""')
        results["exec"] = await c.cmd("EXEC Playback beep")
        results["verbose"] = await c.cmd('VERBOSE "bye" 1')
        results["status"] = await c.cmd("CHANNEL STATUS")
        results["bad"] = await c.cmd("FOO BAR")

    server = AgiServer(script)
    async with (
        server as agi,
        PbxSim(example_config, seed=1, agi=agi, start_epoch=START, record=True) as sim,
    ):
        sim.place_call("tollfree", "5550001", "X", patience=3.0)
        await sim.run_until_idle(limit=300)
    conn = server.conns[0]
    assert results["getdata"] == "200 result=-1"
    assert conn.log[:2] == ["200 result=-1", "HANGUP"]  # inline HANGUP right after the result
    assert results["var"] == "200 result=1 (5550001)"
    dead = "511 Command Not Permitted on a dead channel or intercept routine"
    assert results["stream"] == results["say"] == results["status"] == dead
    assert results["exec"] == "200 result=0" and results["verbose"] == "200 result=1"
    assert results["bad"] == "510 Invalid or unknown command"
    assert server.tail == [["HANGUP"]]  # the final HANGUP when the server half-closes
    agistatus = [
        dict(e.headers)["Value"]
        for e in sim.events
        if dict(e.headers).get("Variable") == "AGISTATUS"
    ]
    assert agistatus == ["HANGUP"]
    ends = [dict(e.headers) for e in sim.events if dict(e.headers)["Event"] == "AGIExecEnd"]
    assert [e["ResultCode"] for e in ends] == [
        "200",
        "200",
        "511",
        "511",
        "200",
        "200",
        "511",
        "510",
    ]


async def test_usage_reply_is_multiline_520(example_config: CentralitaConfig) -> None:
    results: dict[str, str] = {}

    async def script(c: AgiConn) -> None:
        results["getdata"] = await c.cmd("GET DATA")
        results["say"] = await c.cmd("SAY DIGITS")

    server = AgiServer(script)
    async with server as agi, PbxSim(example_config, seed=1, agi=agi, start_epoch=START) as sim:
        sim.place_call("tollfree", "5550002", "X", patience=30.0)
        await sim.run_until_idle(limit=300)
    assert results["getdata"].splitlines() == [
        "520-Invalid command syntax.  Proper usage follows:",
        "Stream the given <replaceable>file</replaceable>, and receive DTMF data.",
        "Returns the digits received from the channel at the other end.",
        "520 End of proper usage.",
    ]
    assert (
        results["say"].splitlines()[0].startswith("520-")
        and results["say"].splitlines()[-1] == "520 End of proper usage."
    )


async def ami_session(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    greeting = await reader.readline()
    assert greeting == b"Asterisk Call Manager/11.0.0\r\n"
    writer.write(b"Action: Login\r\nActionID: l1\r\nUsername: tester\r\nSecret: s3cret\r\n\r\n")
    return reader, writer


async def read_msgs(
    reader: asyncio.StreamReader, until: Callable[[dict[str, Any]], bool], limit: float = 5.0
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    async def go() -> None:
        cur: dict[str, Any] = {}
        while True:
            line = (await reader.readline()).decode("utf-8").rstrip("\r\n")
            if not line:
                if cur:
                    out.append(cur)
                    if until(cur):
                        return
                cur = {}
                continue
            k, _, v = line.partition(": ")
            cur.setdefault(k, v)

    await asyncio.wait_for(go(), limit)
    return out


async def test_ami_server_carries_engine_events_and_actions(
    example_config: CentralitaConfig,
) -> None:
    agent = example_config.agents[0]
    users = {"tester": "s3cret"}
    async with (
        AgiServer(route_to("network_es")) as agi,
        PbxSim(example_config, speed=20.0, seed=2, agi=agi, ami_port=0, ami_users=users) as sim,
    ):
        reader, writer = await ami_session(sim.port)
        await read_msgs(reader, lambda m: m.get("Event") == "FullyBooted")
        sim.agent(agent.interface, [AgentAction.answer(1.0, 2.0)], name=agent.name)
        writer.write(
            f"Action: QueueAdd\r\nActionID: a1\r\nQueue: network_es\r\nInterface: {agent.interface}\r\n"
            f"MemberName: {agent.name}\r\n\r\n".encode()
        )
        msgs = await read_msgs(reader, lambda m: m.get("Event") == "QueueMemberAdded")
        assert [m.get("Response") or m.get("Event") for m in msgs][-2:] == [
            "Success",
            "QueueMemberAdded",
        ]
        sim.place_call("tollfree", "5550003", "Caller", patience=60.0)
        msgs = await read_msgs(reader, lambda m: m.get("Event") == "AgentComplete", limit=20.0)
        kinds = [m.get("Event") for m in msgs]
        assert "Newchannel" in kinds and "AgentConnect" in kinds
        writer.write(b"Action: QueueStatus\r\nActionID: s1\r\nQueue: network_es\r\n\r\n")
        msgs = await read_msgs(reader, lambda m: m.get("Event") == "QueueStatusComplete")
        params = next(m for m in msgs if m.get("Event") == "QueueParams")
        assert params["Completed"] == "1" and params["ActionID"] == "s1"
        writer.write(b"Action: Getvar\r\nActionID: g1\r\nVariable: NOPE\r\n\r\n")
        msgs = await read_msgs(reader, lambda m: m.get("ActionID") == "g1")
        assert msgs[-1]["Response"] == "Success" and msgs[-1]["Variable"] == "NOPE"
        writer.close()


async def test_originate_local_and_channel_actions(example_config: CentralitaConfig) -> None:
    ext = """
[scripts]
exten => caller,1,Answer()
 same => n,Wait(30)
 same => n,Hangup()
[from-trunk]
exten => 800,1,Answer()
 same => n,Wait(60)
 same => n,Hangup()
exten => 900,1,Answer()
 same => n,Set(REDIRECTED=yes)
 same => n,Wait(5)
exten => h,1,NoOp(bye)
"""
    async with PbxSim(None, extensions_conf=ext, start_epoch=START, record=True) as sim:
        out = await sim.action(
            "Originate", Channel="Local/caller@scripts/n", Context="from-trunk", Exten="800",
            Priority="1", CallerID='"Orig" <123>', Async="true", ActionID="o1",
        )  # fmt: skip
        assert out[0] == [
            ("Response", "Success"),
            ("ActionID", "o1"),
            ("Message", "Originate successfully queued"),
        ]
        await sim.run_for(1.0)
        resp = [
            dict(e.headers) for e in sim.events if dict(e.headers)["Event"] == "OriginateResponse"
        ]
        assert resp and resp[0]["Response"] == "Success" and resp[0]["Reason"] == "4"
        one = resp[0]["Channel"]
        shown = await sim.action("CoreShowChannels")
        assert shown[-1][-1] == ("ListItems", "2")
        assert (await sim.action("Setvar", Channel=one, Variable="FOO", Value="bar"))[0][-1] == (
            "Message",
            "Variable Set",
        )
        got = await sim.action("Getvar", Channel=one, Variable="FOO")
        assert got[0] == [("Response", "Success"), ("Variable", "FOO"), ("Value", "bar")]
        assert (await sim.action("Getvar", Channel="PJSIP/nope-1", Variable="X"))[0][0] == (
            "Response",
            "Error",
        )
        assert (await sim.action("Redirect", Channel=one, Context="from-trunk", Exten="900"))[0][
            -1
        ] == (
            "Message",
            "Redirect successful",
        )
        await sim.run_for(1.0)
        redirected = [
            dict(e.headers) for e in sim.events if dict(e.headers).get("Variable") == "REDIRECTED"
        ]
        assert redirected and redirected[0]["Channel"] == one
        assert (await sim.action("Hangup", Channel=one))[0][-1] == ("Message", "Channel Hungup")
        await sim.run_until_idle(limit=100)
        assert (await sim.action("CoreShowChannels"))[-1][-1] == ("ListItems", "0")
        assert (await sim.action("Hangup", Channel=one))[0] == [
            ("Response", "Error"),
            ("Message", "No such channel"),
        ]


@pytest.mark.parametrize("seed", [3, 4])
async def test_same_seed_same_events_including_agi(
    example_config: CentralitaConfig, seed: int
) -> None:
    async def once() -> list[tuple[tuple[str, str], ...]]:
        async with AgiServer(route_to("email_es")) as agi:
            port = str(agi[1])
            async with PbxSim(
                example_config, seed=seed, agi=agi, start_epoch=START, record=True
            ) as sim:
                for a in example_config.agents[:3]:
                    sim.agent(
                        a.interface,
                        [AgentAction.answer(sim.engine.rng.uniform(1, 4), 10.0)] * 5,
                        name=a.name,
                    )
                    await sim.action(
                        "QueueAdd", Queue="email_es", Interface=a.interface, MemberName=a.name
                    )
                for i in range(6):
                    sim.at(
                        START + 2 * i,
                        lambda i=i: sim.place_call("tollfree", f"55500{i}", "C", patience=40.0),
                    )
                await sim.run_for(15)
                await sim.run_until_idle(limit=600)
        # the test server's free port shows in AppData; everything else must be identical
        return [tuple((k, v.replace(port, "PORT")) for k, v in e.headers) for e in sim.events]

    first, second = await once(), await once()
    assert first == second and len(first) > 200


async def test_runs_the_dialplan_asterisk_conf_generates(example_config: CentralitaConfig) -> None:
    """The generated extensions.conf (Goto/GotoIf across contexts, Gosub from h) runs as is."""
    from asterisk_conf.generate import generate
    from asterisk_conf.site import SiteOptions

    text = generate(example_config, SiteOptions()).files["extensions.conf"]
    agent = example_config.agents[0]
    async with (
        AgiServer(route_to("network_es")) as agi,
        PbxSim(
            example_config, seed=1, agi=agi, extensions_conf=text, start_epoch=START, record=True
        ) as sim,
    ):
        sim.agent(agent.interface, [AgentAction.answer(2.0, 5.0)], name=agent.name)
        await sim.action(
            "QueueAdd", Queue="network_es", Interface=agent.interface, MemberName=agent.name
        )
        answered = sim.place_call("tollfree", "5550100", "Gen", patience=200.0)
        impatient = sim.place_call("vip", "5550101", "Gen2", patience=30.0, queue_patience=5.0)
        await sim.run_until_idle(limit=900)
    assert answered.outcome == "answered"
    msgs = [dict(e.headers) for e in sim.events]
    contexts = {m.get("Context") for m in msgs if m["Event"] == "Newexten"}
    assert {"centralita-inbound", "centralita-end"} <= contexts
    returns = [m for m in msgs if m["Event"] == "Newexten" and m.get("Application") == "Return"]
    gosub_end = [m for m in returns if m.get("Context") == "centralita-end"]
    assert len(gosub_end) == 2  # both h extensions ran the Gosub and returned
    # and, as Asterisk reports it, each channel is back on its h extension afterwards
    assert [(m["Exten"], m["Priority"]) for m in returns if m not in gosub_end] == [("h", "1")] * 2
    assert impatient.outcome == "abandoned"  # the one agent is busy; 5 s of patience
