"""Replays of the recorded scenarios (asterisk-traces/_recorder/scenarios.py) on pbxsim.

Each replay installs the same configs the recorder installed (config/extensions.conf,
queuerules.conf and config/queues.d/<scenario>.conf), scripts the same agent phones
and callers, and sends the recorder's AMI actions at the same times since t0, on the
virtual clock. `replay(name, traces_dir)` returns the recorded-style message list and
queue_log lines, ready for `trace_compare`.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbxsim.behaviour import NOANSWER, AgentAction, CallerScript
from pbxsim.sim import PbxSim
from pbxsim.trace_compare import Message, event_to_message
from pbxsim.types import AmiEvent

AGENT_NAMES = {"agent1": "Agent One", "agent2": "Agent Two", "agent3": "Agent Three"}
AGENT_NUMS = {"agent1": "1001", "agent2": "1002", "agent3": "1003"}
SIP_SETUP = 0.113  # SIPp process start to Asterisk's Newchannel, as recorded


def answer(ring_ms: int, talk_ms: int | None = None) -> AgentAction:
    return AgentAction.answer(ring_ms / 1000, None if talk_ms is None else talk_ms / 1000)


def busy(ring_ms: int) -> AgentAction:
    return AgentAction.busy(ring_ms / 1000)


@dataclass
class ReplayResult:
    messages: list[Message]
    queue_log: list[str]
    agi_log: list[tuple[str, str]] = field(default_factory=list)  # (dir, line)
    sim: PbxSim | None = None


class ReplayCtx:
    """What the recorder's `ctx` offered, on pbxsim."""

    def __init__(self, sim: PbxSim, t0: float) -> None:
        self.sim = sim
        self.t0 = t0
        self.messages: list[Message] = []
        self._aid = 1
        self.calls: list[Any] = []
        self.last_t = 0.0

    def on_event(self, ev: AmiEvent) -> None:
        self.messages.append(event_to_message(ev, round(self.sim.now - self.t0, 6)))

    def agent(self, endpoint: str, plan: list[AgentAction]) -> None:
        self.sim.engine.set_phone(endpoint, plan, AGENT_NUMS[endpoint], AGENT_NAMES[endpoint])

    def action(self, t: float, name: str, fields: list[tuple[str, str]]) -> None:
        self._aid += 1
        aid = f"rec-{self._aid}"
        self.last_t = max(self.last_t, t)

        def send() -> None:
            out = self.sim.engine.actions.handle(
                name, [("Action", name), ("ActionID", aid), *fields]
            )
            if out is None:
                out = [
                    [
                        ("Response", "Error"),
                        ("ActionID", aid),
                        (
                            "Message",
                            f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands.",
                        ),
                    ]
                ]
            for msg in out:
                d: Message = {"_t": round(self.sim.now - self.t0, 6)}
                for k, v in msg:
                    d[k] = v
                self.messages.append(d)

        self.sim.at(self.t0 + t, send)

    def add_members(self, t: float, queue: str, members: list[tuple[str, int]]) -> None:
        for agent, pen in members:
            self.action(
                t,
                "QueueAdd",
                [
                    ("Queue", queue),
                    ("Interface", "PJSIP/" + agent),
                    ("Penalty", str(pen)),
                    ("MemberName", AGENT_NAMES[agent]),
                    ("StateInterface", "PJSIP/" + agent),
                ],
            )

    def call(self, t: float, exten: str, name: str, num: str, hold_ms: int | None) -> None:
        self.last_t = max(self.last_t, t)
        script = CallerScript(hangup_after=None if hold_ms is None else hold_ms / 1000)
        self.calls.append(
            self.sim.engine.place_call(exten, num, name, script, at=self.t0 + t + SIP_SETUP)
        )


# --------------------------------------------------------------- scenarios
def s_answered_caller_hangup(ctx: ReplayCtx) -> None:
    ctx.agent("agent1", [answer(3000)])
    ctx.agent("agent2", [NOANSWER])
    ctx.add_members(0.6, "support", [("agent1", 0), ("agent2", 0)])
    ctx.call(2.0, "700", "Alice Caller", "5551001", 8500)


def s_answered_agent_hangup(ctx: ReplayCtx) -> None:
    ctx.agent("agent1", [answer(3000, 5000)])
    ctx.agent("agent2", [NOANSWER])
    ctx.add_members(0.6, "support", [("agent1", 0), ("agent2", 0)])
    ctx.call(2.0, "700", "Bob Caller", "5551002", 30000)


def s_ringnoanswer_then_answer(ctx: ReplayCtx) -> None:
    ctx.agent("agent1", [NOANSWER])
    ctx.agent("agent2", [answer(2000)])
    ctx.add_members(0.6, "support", [("agent1", 0), ("agent2", 0)])
    ctx.call(2.0, "700", "Carol Caller", "5551003", 11500)


def s_abandoned(ctx: ReplayCtx) -> None:
    ctx.agent("agent1", [NOANSWER])
    ctx.agent("agent2", [NOANSWER])
    ctx.add_members(0.6, "support", [("agent1", 0), ("agent2", 0)])
    ctx.call(2.0, "700", "José Pérez", "5551004", 8000)


def s_exit_timeout(ctx: ReplayCtx) -> None:
    ctx.agent("agent1", [NOANSWER])
    ctx.agent("agent2", [NOANSWER])
    ctx.add_members(0.6, "support", [("agent1", 0), ("agent2", 0)])
    ctx.call(2.0, "705", "Dave Caller", "5551005", 40000)


def s_join_empty_leave_empty(ctx: ReplayCtx) -> None:
    ctx.agent("agent1", [NOANSWER])
    ctx.call(1.0, "706", "Erin Empty", "5551061", 30000)
    ctx.add_members(7.0, "support", [("agent1", 0)])
    ctx.call(8.0, "706", "Frank Waiting", "5551062", 30000)
    ctx.action(14.0, "QueueRemove", [("Queue", "support"), ("Interface", "PJSIP/agent1")])
    ctx.call(24.0, "707", "Gina Rejected", "5551063", 30000)


MEMBER_MANAGEMENT_STEPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("QueueStatus", [("Queue", "support")]),
    (
        "QueueAdd",
        [
            ("Queue", "support"),
            ("Interface", "PJSIP/agent2"),
            ("Penalty", "2"),
            ("MemberName", "Agent Two"),
            ("StateInterface", "PJSIP/agent2"),
            ("Paused", "false"),
        ],
    ),
    (
        "QueueAdd",
        [
            ("Queue", "support"),
            ("Interface", "PJSIP/agent2"),
            ("Penalty", "2"),
            ("MemberName", "Agent Two"),
            ("StateInterface", "PJSIP/agent2"),
        ],
    ),
    (
        "QueueAdd",
        [
            ("Queue", "nosuchqueue"),
            ("Interface", "PJSIP/agent2"),
            ("Penalty", "2"),
            ("MemberName", "Agent Two"),
            ("StateInterface", "PJSIP/agent2"),
        ],
    ),
    (
        "QueuePause",
        [
            ("Queue", "support"),
            ("Interface", "PJSIP/agent2"),
            ("Paused", "true"),
            ("Reason", "lunch"),
        ],
    ),
    ("QueueStatus", [("Queue", "support"), ("Member", "PJSIP/agent2")]),
    ("QueueUnpause", [("Queue", "support"), ("Interface", "PJSIP/agent2")]),
    ("QueuePause", [("Queue", "support"), ("Interface", "PJSIP/agent2"), ("Paused", "false")]),
    ("QueuePenalty", [("Queue", "support"), ("Interface", "PJSIP/agent2"), ("Penalty", "7")]),
    ("QueuePause", [("Interface", "PJSIP/agent1"), ("Paused", "true"), ("Reason", "break")]),
    ("QueueSummary", [("Queue", "support")]),
    ("QueueStatus", []),
    ("QueueSummary", []),
    ("QueuePause", [("Interface", "PJSIP/agent1"), ("Paused", "false")]),
    (
        "QueueLog",
        [
            ("Queue", "support"),
            ("Event", "AGENTNOTE"),
            ("Interface", "PJSIP/agent2"),
            ("UniqueId", "MANAGER"),
            ("Message", "back from lunch"),
        ],
    ),
    (
        "QueuePause",
        [
            ("Queue", "nosuchqueue"),
            ("Interface", "PJSIP/agent2"),
            ("Paused", "true"),
            ("Reason", "lunch"),
        ],
    ),
    ("QueuePenalty", [("Queue", "support"), ("Interface", "PJSIP/nosuchagent"), ("Penalty", "1")]),
    ("QueueRemove", [("Queue", "support"), ("Interface", "PJSIP/agent1")]),
    ("QueueRemove", [("Queue", "support"), ("Interface", "PJSIP/agent2")]),
    ("QueueRemove", [("Queue", "support"), ("Interface", "PJSIP/agent2")]),
    ("QueueRemove", [("Queue", "nosuchqueue"), ("Interface", "PJSIP/agent2")]),
    ("QueueStatus", [("Queue", "nosuchqueue")]),
    ("QueueSummary", [("Queue", "nosuchqueue")]),
    ("QueueStatus", [("Queue", "support")]),
]


def s_member_management(ctx: ReplayCtx) -> None:
    for i, (name, fields) in enumerate(MEMBER_MANAGEMENT_STEPS):
        ctx.action(1.0 + i, name, fields)


def s_priority_and_penalty(ctx: ReplayCtx) -> None:
    ctx.agent("agent1", [answer(2000, 4000)])
    ctx.agent("agent2", [busy(1000)])
    ctx.agent("agent3", [answer(2000, 4000)])
    ctx.add_members(0.6, "support", [("agent1", 0)])
    ctx.action(
        0.6,
        "QueuePause",
        [
            ("Queue", "support"),
            ("Interface", "PJSIP/agent1"),
            ("Paused", "true"),
            ("Reason", "meeting"),
        ],
    )
    ctx.add_members(0.6, "billing", [("agent2", 1), ("agent3", 5)])
    ctx.call(2.0, "708", "Carmen Normal", "5551081", 40000)
    ctx.call(4.0, "709", "Victor VIP", "5551082", 40000)
    ctx.action(6.0, "QueueStatus", [("Queue", "support")])
    ctx.action(
        8.0,
        "QueuePause",
        [("Queue", "support"), ("Interface", "PJSIP/agent1"), ("Paused", "false")],
    )
    ctx.call(28.0, "710", "Pablo Penalty", "5551083", 40000)


AGI_IVR = [
    "GET VARIABLE CALLERID(num)",
    "SET VARIABLE IVR_LANG es",
    'STREAM FILE hello-world "0123456789*#"',
    "GET DATA beep 3000 4",
    'SAY DIGITS 42 ""',
    "EXEC Playback beep",
    "GET VARIABLE NOSUCHVAR",
    "FOO BAR",
    "GET DATA",
]
AGI_IVR_HANGUP = [
    "GET VARIABLE CALLERID(num)",
    'STREAM FILE hello-world ""',
    "GET DATA beep 10000 4",
    "GET VARIABLE CALLERID(num)",
    'STREAM FILE beep ""',
    'SAY DIGITS 1 ""',
    "EXEC Playback beep",
    'VERBOSE "caller went away" 1',
    "CHANNEL STATUS",
]


def s_fastagi_ivr(ctx: ReplayCtx) -> None:
    ctx.agent("agent1", [answer(3000)])
    ctx.agent("agent2", [NOANSWER])
    ctx.add_members(0.6, "support", [("agent1", 0), ("agent2", 0)])
    ctx.action(
        2.0,
        "Originate",
        [
            ("Channel", "Local/ivrcaller@scripts/n"),
            ("Context", "from-trunk"),
            ("Exten", "800"),
            ("Priority", "1"),
            ("CallerID", '"IVR Caller" <5551009>'),
            ("Timeout", "30000"),
            ("Async", "true"),
        ],
    )


def s_fastagi_hangup_midway(ctx: ReplayCtx) -> None:
    ctx.call(1.0, "810", "Hank Hangup", "5551010", 4500)


LOAD_NAMES = [
    "Ana García", "Luis Martínez", "O'Brien, Ann", 'Zoë "Z" Adams', "Marta López",
    "Jorge Ruiz", "Núria Puig", "Peter Smith", "Lucía Fernández", "Iñaki Etxeberria",
    "Chen Wei", "Sofía Díaz", "Tom & Jerry Ltd", "Élodie Martin", "Carlos Sánchez",
    "María José", "Pedro Gómez", "Laura Torres", "David Moreno", "Elena Romero",
]  # fmt: skip


def load_plan(
    seed: int = 20261122, n_calls: int = 40, span: float = 120.0
) -> tuple[list[tuple[float, str, str, str, int]], dict[str, list[str]]]:
    """The recorder's load_mix plan, draw for draw (same seed -> same calls and agent plans)."""
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0, span) for _ in range(n_calls))
    for i in range(1, n_calls):
        if arrivals[i] - arrivals[i - 1] < 0.4:
            arrivals[i] = arrivals[i - 1] + 0.4
    calls = []
    for i, t in enumerate(arrivals):
        r = rng.random()
        if r < 0.30:
            hold = rng.uniform(6, 20)
        elif r < 0.65:
            hold = rng.uniform(25, 45)
        else:
            hold = rng.uniform(60, 90)
        calls.append(
            (
                round(t, 2),
                f"L{i + 1:02d}",
                LOAD_NAMES[i % len(LOAD_NAMES)],
                f"55520{i + 1:02d}",
                int(hold * 1000),
            )
        )
    plans = {}
    for agent, choices in (
        ("agent1", ["s", "m", "l"]),
        ("agent2", ["s", "m", "n"]),
        ("agent3", ["m", "l", "n"]),
    ):
        plans[agent] = [rng.choice(choices) for _ in range(60)]
    return calls, plans


LOAD_BEHAVIOURS = {
    "agent1": {"s": answer(2000, 6000), "m": answer(2000, 12000), "l": answer(3000, 20000)},
    "agent2": {"s": answer(4000, 8000), "m": answer(4000, 15000), "n": NOANSWER},
    "agent3": {"m": answer(6000, 10000), "l": answer(5000, 25000), "n": NOANSWER},
}


def make_load_mix(seed: int = 20261122, n_calls: int = 40) -> Callable[[ReplayCtx], None]:
    def run(ctx: ReplayCtx) -> None:
        calls, plans = load_plan(seed, n_calls)
        for agent, plan in plans.items():
            ctx.agent(agent, [LOAD_BEHAVIOURS[agent][c] for c in plan])
        ctx.add_members(0.6, "support", [("agent1", 0), ("agent2", 0), ("agent3", 0)])
        base = 2.0
        mid_done = False
        for t, _label, name, num, hold in calls:
            if not mid_done and base + t >= 62.0:
                ctx.action(62.0, "QueueStatus", [("Queue", "support")])
                mid_done = True
            ctx.call(base + t, "700", name, num, hold)

    return run


@dataclass(frozen=True)
class Replay:
    name: str
    run: Callable[[ReplayCtx], None]
    agi: dict[str, list[str]] | None = None


REPLAYS: dict[str, Replay] = {
    r.name: r
    for r in (
        Replay("answered_caller_hangup", s_answered_caller_hangup),
        Replay("answered_agent_hangup", s_answered_agent_hangup),
        Replay("ringnoanswer_then_answer", s_ringnoanswer_then_answer),
        Replay("abandoned", s_abandoned),
        Replay("exit_timeout", s_exit_timeout),
        Replay("join_empty_leave_empty", s_join_empty_leave_empty),
        Replay("member_management", s_member_management),
        Replay("priority_and_penalty", s_priority_and_penalty),
        Replay("fastagi_ivr", s_fastagi_ivr, {"ivr": AGI_IVR}),
        Replay("fastagi_hangup_midway", s_fastagi_hangup_midway, {"ivr_hangup": AGI_IVR_HANGUP}),
        Replay("load_mix", make_load_mix()),
    )
}


def trace_t0(messages: list[Message]) -> float:
    for m in messages:
        if "Timestamp" in m:
            return round(float(m["Timestamp"]) - float(m["_t"]), 3)
    raise ValueError("no Timestamp in trace")


class ScriptedAgiServer:
    """The recorder's FastAGI server: runs a fixed command list per script and logs both ways."""

    def __init__(self, scripts: dict[str, list[str]]) -> None:
        self.scripts = scripts
        self.log: list[tuple[str, str]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return "127.0.0.1", self.server.sockets[0].getsockname()[1]

    async def _read_reply(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = (await reader.readline()).decode().rstrip("\n")
            self.log.append(("<<", line))
            if line == "HANGUP":
                continue
            if not line.startswith("520-"):
                return

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode().rstrip("\n")
            self.log.append(("<<", line))
            if not line:
                break
            k, _, v = line.partition(": ")
            env[k] = v
        for cmd in self.scripts.get(env.get("agi_network_script", ""), []):
            writer.write(cmd.encode() + b"\n")
            self.log.append((">>", cmd))
            await self._read_reply(reader)
            if self.log[-1][1] == "HANGUP":
                pass
        writer.write_eof()
        rest = await reader.read()
        for line in rest.decode().splitlines():
            self.log.append(("<<", line))
        writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def replay(
    name: str,
    traces_dir: str | Path,
    *,
    seed: int = 0,
    tail: float = 6.0,
    load_mix: Callable[[ReplayCtx], None] | None = None,
) -> ReplayResult:
    """Run one recorded scenario on pbxsim (virtual clock) and return what it emitted."""
    traces = Path(traces_dir)
    spec = REPLAYS[name]
    recorded = [json.loads(line) for line in (traces / name / "ami.jsonl").open(encoding="utf-8")]
    t0 = trace_t0(recorded)
    agi_server = ScriptedAgiServer(spec.agi) if spec.agi else None
    agi_addr = await agi_server.start() if agi_server else None
    sim = PbxSim(
        None,
        seed=seed,
        start_epoch=t0,
        agi=agi_addr,
        queues_conf=(traces / "config" / "queues.d" / f"{name}.conf").read_text(encoding="utf-8"),
        extensions_conf=(traces / "config" / "extensions.conf").read_text(encoding="utf-8"),
        queuerules_conf=(traces / "config" / "queuerules.conf").read_text(encoding="utf-8"),
    )
    ctx = ReplayCtx(sim, t0)
    sim.engine.subscribe(ctx.on_event)
    await sim.start()
    try:
        (load_mix or spec.run)(ctx)
        await sim.run_for(ctx.last_t + 1.0)
        await sim.run_until_idle(limit=600.0)
        await sim.run_for(tail)
        if name == "load_mix":
            ctx.action(sim.now - t0, "QueueStatus", [("Queue", "support")])
            ctx.action(sim.now - t0, "QueueSummary", [("Queue", "support")])
            await sim.run_for(0.1)
    finally:
        await sim.close()
        if agi_server is not None:
            await agi_server.close()
    return ReplayResult(
        ctx.messages, list(sim.engine.queue_log_lines), agi_server.log if agi_server else [], sim
    )
