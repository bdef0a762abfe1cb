"""pbxsim at scale, in real time on one core, with real AMI and FastAGI traffic.

    python -m bench.pbxsim_load [--rate 60] [--seconds 18] [--agents 900]

One process pinned to one CPU runs: the engine on the wall clock (speed 1), its AMI
server with one connected client that reads and parses every event, and a minimal
FastAGI server answering an 8-command IVR (ANSWER, GET VARIABLE, SET VARIABLE,
STREAM FILE with barge-in digits, GET DATA, SAY DIGITS, SET VARIABLE, VERBOSE) for
every call. Calls arrive at `--rate` per second, spend ~4 s in the IVR, queue in an
rrmemory queue of `--agents` members (answer after 1 s, talk 8 s), so concurrency
builds to several hundred calls.

Figures (medians over the per-second samples of the steady part): new calls/s,
concurrent calls, AMI events/s read by the client, FastAGI commands/s, and the
scheduling lag of the simulated clock behind the wall clock (p50/p99/max; a lag
that stays small means the load is sustained, not queued up).

Anchors, measured in the same run: (1) the requirement, 50 new calls/s and 500
concurrent calls (ratio achieved/required); (2) the same load with no AMI client
attached, so no event is serialised (CPU-seconds ratio with/without AMI).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from typing import Any

IVR = [
    "ANSWER",
    "GET VARIABLE CALLERID(num)",
    "SET VARIABLE IVR_LANG es",
    'STREAM FILE welcome "12"',
    "GET DATA menu 2000 1",
    'SAY DIGITS 42 ""',
    "SET VARIABLE CENTRALITA_CATEGORY network",
    'VERBOSE "routed" 1',
]
QUEUES = """
[general]
autofill = yes
[bench]
strategy = rrmemory
timeout = 15
retry = 1
joinempty = yes
leavewhenempty = no
wrapuptime = 0
ringinuse = no
servicelevel = 20
"""
REQUIRED_RATE = 50.0
REQUIRED_CONCURRENT = 500


def extensions(host: str, port: int) -> str:
    return f"""
[from-trunk]
exten => 800,1,Answer()
 same => n,AGI(agi://{host}:{port}/ivr)
 same => n,Queue(bench)
 same => n,Hangup()
exten => h,1,NoOp(bye)
"""


class FastAgiIvr:
    """A minimal FastAGI server: reads the environment, runs IVR, then half-closes."""

    def __init__(self) -> None:
        self.sessions = 0
        self.commands = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()) not in (b"\n", b""):
                pass
            self.sessions += 1
            for cmd in IVR:
                writer.write(cmd.encode() + b"\n")
                line = await reader.readline()
                if line.startswith(b"HANGUP"):
                    line = await reader.readline()
                if not line:
                    break
                self.commands += 1
            writer.write_eof()
            await reader.read()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


class AmiReader:
    """An AMI client that logs in and parses every message it receives."""

    def __init__(self) -> None:
        self.events = 0
        self.kinds: dict[bytes, int] = {}
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(b"Action: Login\r\nUsername: bench\r\nSecret: bench\r\n\r\n")
        self.writer = writer
        self.task = asyncio.get_running_loop().create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buf = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf += chunk
            *messages, buf = buf.split(b"\r\n\r\n")
            for msg in messages:
                fields = dict(line.split(b": ", 1) for line in msg.split(b"\r\n") if b": " in line)
                kind = fields.get(b"Event")
                if kind is not None:
                    self.events += 1
                    self.kinds[kind] = self.kinds.get(kind, 0) + 1

    async def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self.task


async def trial(rate: float, seconds: float, agents: int, with_ami: bool) -> dict[str, Any]:
    from pbxsim.behaviour import AgentAction, CallerScript
    from pbxsim.sim import PbxSim

    ivr = FastAgiIvr()
    agi_server = await asyncio.start_server(ivr.handle, "127.0.0.1", 0)
    agi_port = agi_server.sockets[0].getsockname()[1]
    sim = PbxSim(
        None,
        speed=1.0,
        seed=7,
        agi=("127.0.0.1", agi_port),
        ami_port=0 if with_ami else None,
        ami_users={"bench": "bench"},
        queues_conf=QUEUES,
        extensions_conf=extensions("127.0.0.1", agi_port),
        prompt_seconds={"welcome": 1.0, "menu": 1.0},
    )
    engine = sim.engine
    for i in range(agents):
        engine.set_phone(f"a{i}", [AgentAction.answer(1.0, 8.0)], str(1000 + i), f"Agent {i}")
        engine.actions.handle(
            "QueueAdd",
            [("Queue", "bench"), ("Interface", f"PJSIP/a{i}"), ("MemberName", f"Agent {i}")],
        )
    await sim.start()
    ami = AmiReader()
    if with_ami:
        await ami.start(sim.port)
        await asyncio.sleep(0.2)

    # lateness probe: how far behind the wall clock the simulated clock fires its timers
    lags: list[float] = []
    assert sim.runner is not None
    runner = sim.runner

    def probe() -> None:
        lags.append(runner.lag())
        engine.kernel.call_later(0.25, probe)

    engine.kernel.call_later(1.0, probe)
    n = int(rate * seconds)
    start = engine.kernel.now + 0.1
    for i in range(n):
        script = CallerScript(hangup_after=60.0, dtmf=["1"])
        engine.place_call("800", f"55{i:08d}", f"Caller {i}", script, at=start + i / rate)
    engine.poke()
    samples: list[dict[str, float]] = []
    cpu0 = time.process_time()
    last_calls, last_ev, last_cmd = 0, 0, 0
    for _ in range(int(seconds)):
        await asyncio.sleep(1.0)
        started = sum(1 for c in engine.calls if c.chan is not None)
        active = sum(1 for c in engine.calls if c.chan is not None and not c.chan.gone)
        samples.append(
            {
                "new_calls": started - last_calls,
                "concurrent": active,
                "ami_events": ami.events - last_ev,
                "agi_commands": ivr.commands - last_cmd,
            }
        )
        last_calls, last_ev, last_cmd = started, ami.events, ivr.commands
    cpu = time.process_time() - cpu0
    await ami.stop()
    await sim.close()
    agi_server.close()
    await asyncio.sleep(0.05)
    steady = samples[len(samples) // 3 :] or samples
    lag_sorted = sorted(lags) or [0.0]
    return {
        "new_calls_per_s": statistics.median(s["new_calls"] for s in steady),
        "concurrent_calls": statistics.median(s["concurrent"] for s in steady),
        "peak_concurrent": max(s["concurrent"] for s in samples),
        "ami_events_per_s": statistics.median(s["ami_events"] for s in steady),
        "agi_commands_per_s": statistics.median(s["agi_commands"] for s in steady),
        "lag_p50_ms": 1000 * statistics.median(lag_sorted),
        "lag_p99_ms": 1000 * lag_sorted[int(0.99 * (len(lag_sorted) - 1))],
        "lag_max_ms": 1000 * lag_sorted[-1],
        "cpu_s": cpu,
        "agi_sessions": ivr.sessions,
        "calls_placed": n,
    }


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.pbxsim_load")
    p.add_argument("--rate", type=float, default=60.0, help="new calls per second")
    p.add_argument("--seconds", type=float, default=22.0)
    p.add_argument("--agents", type=int, default=900)
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    from pbxsim.runner import tune_gc

    tune_gc()
    full = asyncio.run(trial(args.rate, args.seconds, args.agents, with_ami=True))
    anchor = asyncio.run(trial(args.rate, args.seconds, args.agents, with_ami=False))
    rate_ratio = full["new_calls_per_s"] / REQUIRED_RATE
    conc_ratio = full["concurrent_calls"] / REQUIRED_CONCURRENT
    cpu_ratio = full["cpu_s"] / anchor["cpu_s"] if anchor["cpu_s"] else 0.0
    print(
        f"one core, real time, {args.rate:g} calls/s offered for {args.seconds:g} s, {args.agents} agents"
    )
    print(
        f"  new calls/s (median)          {full['new_calls_per_s']:8.1f}   x{rate_ratio:.2f} of the 50/s required"
    )
    print(
        f"  concurrent calls (median)     {full['concurrent_calls']:8.0f}   x{conc_ratio:.2f} of the 500 required"
    )
    print(f"  peak concurrent calls         {full['peak_concurrent']:8.0f}")
    print(f"  CPU busy (one core)           {100 * full['cpu_s'] / args.seconds:7.0f} %")
    print(f"  AMI events/s read (median)    {full['ami_events_per_s']:8.0f}")
    print(
        f"  FastAGI commands/s (median)   {full['agi_commands_per_s']:8.0f}   sessions {full['agi_sessions']}"
    )
    print(
        f"  clock lag p50/p99/max ms      {full['lag_p50_ms']:6.1f} / {full['lag_p99_ms']:6.1f} / {full['lag_max_ms']:6.1f}"
    )
    print(
        f"  CPU s with AMI {full['cpu_s']:.2f} vs anchor without AMI serialisation {anchor['cpu_s']:.2f}"
        f"  (x{cpu_ratio:.2f}); anchor lag p99 {anchor['lag_p99_ms']:.1f} ms"
    )
    print(
        json.dumps(
            {
                "bench": "pbxsim_load",
                "rate_offered": args.rate,
                "new_calls_per_s": full["new_calls_per_s"],
                "concurrent_calls": full["concurrent_calls"],
                "peak_concurrent": full["peak_concurrent"],
                "ami_events_per_s": full["ami_events_per_s"],
                "agi_commands_per_s": full["agi_commands_per_s"],
                "lag_p50_ms": round(full["lag_p50_ms"], 2),
                "lag_p99_ms": round(full["lag_p99_ms"], 2),
                "lag_max_ms": round(full["lag_max_ms"], 2),
                "cpu_s": round(full["cpu_s"], 2),
                "cpu_busy_percent": round(100 * full["cpu_s"] / args.seconds, 1),
                "anchor_cpu_s_no_ami": round(anchor["cpu_s"], 2),
                "ratio_rate_vs_required": round(rate_ratio, 2),
                "ratio_concurrent_vs_required": round(conc_ratio, 2),
                "ratio_cpu_vs_no_ami": round(cpu_ratio, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
