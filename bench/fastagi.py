"""FastAGI vs classic AGI: the standard new-incident path of the real IVR flow, both ways.

    python -m bench.fastagi [--sessions N] [--concurrency 50] [--classic N] [--hold 1000]

* FastAGI: our server runs in a child process (so its CPU is measured alone, with
  `time.process_time()` inside it); this process plays Asterisk with N sessions,
  50 at a time, over real TCP. Reported: server CPU µs per session and per AGI
  command, sessions/s, and command turnaround p50/p99 with 50 calls in progress
  whose prompts take 1-20 ms: measured by the server (a reply's arrival → the next
  command's write: our code's share) and by this process (reply written → next
  command read, as Asterisk would see it; it also holds loopback delivery and both
  event loops' scheduling, so it is an upper bound). Every figure is the median of
  `--rounds` rounds, with the per-round spread.
* Classic AGI (the anchor): one `python` process per call started the way Asterisk
  does (`bench.classic_child`: `ivr.classic_agi.main` with `--config=FILE`, no
  environment of ours, its log to a file), CPU per call from the children's
  rusage, and the silence before the greeting: spawn → first command read.
* Memory: the server's RSS with `--hold` sessions open at once (each parked on
  its first command).

Both ways use the same in-memory directory/live-state services, so the figures
are the protocol + flow cost, not the database's (the directory has its own bench).
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.classic_child import OPEN_AT
from ivr.services import CallerIdentity, IncidentInfo, QueueStats

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "centralita.example.toml"
ANI = "5512345678"
ENV = {
    "agi_network": "yes",
    "agi_network_script": "ivr",
    "agi_request": "agi://127.0.0.1:4573/ivr",
    "agi_channel": "PJSIP/trunk-00000001",
    "agi_language": "es",
    "agi_type": "PJSIP",
    "agi_uniqueid": "1795339738.0",
    "agi_version": "22.10.1",
    "agi_callerid": ANI,
    "agi_calleridname": "Bench Caller",
    "agi_callingpres": "0",
    "agi_callingani2": "0",
    "agi_callington": "0",
    "agi_callingtns": "0",
    "agi_dnid": "8008906000",
    "agi_rdnis": "unknown",
    "agi_context": "from-trunk",
    "agi_extension": "528008906000",
    "agi_priority": "4",
    "agi_enhanced": "0.0",
    "agi_accountcode": "",
    "agi_threadid": "139948305118912",
}


class BenchServices:
    """A known caller, open hours, agents free: the standard path, no I/O."""

    _ident = CallerIdentity(status="found", contact_id=42, organisation_id=7, contract_id=3)
    _stats = QueueStats(waiting=0, logged_in=3, available=2, asa_s=12.0)

    def now(self) -> datetime:
        return OPEN_AT

    async def identify(self, ani: str) -> CallerIdentity:
        return self._ident

    async def identify_by_number(self, digits: str) -> CallerIdentity:
        return CallerIdentity(status="unknown")

    async def availability(self):
        return None

    async def queue_stats(self, queue: str) -> QueueStats | None:
        return self._stats

    async def incident_status(self, digits: str) -> IncidentInfo | None:
        return None

    async def create_message_incident(self, **kw: object) -> int:
        return 1

    async def request_callback(self, **kw: object) -> int:
        return 1

    async def record_survey(self, **kw: object) -> bool:
        return True


def respond(line: bytes) -> bytes:
    """Asterisk's replies for the standard path: menu 1, then category 2 (email)."""
    if line.startswith(b"SET VARIABLE"):
        return b"200 result=1\n"
    if line.startswith(b"GET DATA") and b"main_menu" in line:
        return b"200 result=1\n"
    if line.startswith(b"STREAM FILE") and b"category_intro" in line:
        return b"200 result=50 endpos=2000\n"
    if line.startswith(b"STREAM FILE"):
        return b"200 result=0 endpos=11234\n"
    if line.startswith(b"WAIT FOR DIGIT"):
        return b"200 result=0\n"
    return b"200 result=0\n"


def env_bytes(i: int, script: str = "ivr") -> bytes:
    env = dict(ENV, agi_uniqueid=f"1795339738.{i}", agi_network_script=script)
    return ("".join(f"{k}: {v}\n" for k, v in env.items()) + "\n").encode()


# --- child: the FastAGI server -------------------------------------------------------


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _serve(port: int) -> None:
    from ivr.app import build_server
    from ivr.calllog import LOG_FORMAT, install_call_log
    from servicedesk.config import load_config

    # the per-call JSON line is part of the cost: written as `centralita ivr` does
    install_call_log(open(os.devnull, "w"), LOG_FORMAT)  # noqa: SIM115
    cfg = load_config(CONFIG)
    server = build_server(cfg, BenchServices(), host="127.0.0.1", port=port)  # type: ignore[arg-type]
    await server.start()
    from ivr.eventloop import freeze_startup_objects

    freeze_startup_objects()  # as `centralita ivr` does
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": server.port}), flush=True)
    while True:
        cmd = (await reader.readline()).strip()
        if cmd in (b"", b"quit"):
            break
        if cmd == b"trace":  # record the server-side turnaround from now on
            server.turnaround = []
            print(json.dumps({"tracing": True}), flush=True)
            continue
        if cmd == b"untrace":  # stop; report what was recorded
            got = server.turnaround or []
            server.turnaround = None
            print(json.dumps({"n": len(got), "p50": pct(got, 50), "p99": pct(got, 99)}), flush=True)
            continue
        print(
            json.dumps(
                {
                    "cpu": time.process_time(),
                    "utime": resource.getrusage(resource.RUSAGE_SELF).ru_utime,
                    "stime": resource.getrusage(resource.RUSAGE_SELF).ru_stime,
                    "rss_kb": _rss_kb(),
                    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                    "completed": server.completed,
                    "active": server.active,
                    "open": len(server.connections),
                }
            ),
            flush=True,
        )
    await server.shutdown(2)


# --- parent: plays Asterisk ----------------------------------------------------------


class Child:
    def __init__(self, plain: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.fastagi", "--serve"]
            + (["--plain-asyncio"] if plain else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.port = json.loads(self.proc.stdout.readline())["ready"]

    def stats(self, cmd: bytes = b"stats") -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(cmd + b"\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())  # type: ignore[no-any-return]

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"quit\n")
        self.proc.stdin.flush()
        self.proc.wait(10)


class _AsteriskSide(asyncio.Protocol):
    """One scripted Asterisk connection: answers each command as it arrives, timing it."""

    def __init__(
        self,
        env: bytes,
        turnaround: list[float],
        done: asyncio.Future[int],
        media_ms: tuple[float, float] | None = None,
    ) -> None:
        self.env = env
        self.media_ms = media_ms  # paced mode: each command "plays" for a random while
        self.turnaround = turnaround
        self.done = done
        self.buf = b""
        self.sent = 0.0
        self.n = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.env)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self.sent:
            self.turnaround.append(now - self.sent)
            self.sent = 0.0
        self.buf += data
        while b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            self.n += 1
            if self.media_ms is None:
                self._reply(line)
            else:
                delay = random.uniform(*self.media_ms) / 1000.0
                asyncio.get_running_loop().call_later(delay, self._reply, line)

    def _reply(self, line: bytes) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.write(respond(line))
            self.sent = time.perf_counter()

    def eof_received(self) -> bool | None:
        assert self.transport is not None
        self.transport.write(b"HANGUP\n")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.n)


async def one_session(
    port: int,
    i: int,
    turnaround: list[float],
    commands: list[int],
    script: str = "ivr",
    media_ms: tuple[float, float] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    await loop.create_connection(
        lambda: _AsteriskSide(env_bytes(i, script), turnaround, done, media_ms), "127.0.0.1", port
    )
    commands.append(await done)


async def run_sessions(
    port: int,
    total: int,
    concurrency: int,
    start: int = 0,
    script: str = "ivr",
    media_ms: tuple[float, float] | None = None,
):
    turnaround: list[float] = []
    commands: list[int] = []
    sem = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> None:
        async with sem:
            await one_session(port, i, turnaround, commands, script, media_ms)

    t0 = time.perf_counter()
    await asyncio.gather(*(guarded(start + i) for i in range(total)))
    return time.perf_counter() - t0, turnaround, commands


async def hold_sessions(child: Child, n: int) -> dict[str, float]:
    """Open n sessions at once, each parked on its first command; measure the server."""
    conns = []
    for i in range(n):
        r, w = await asyncio.open_connection("127.0.0.1", child.port)
        w.write(env_bytes(900000 + i))
        conns.append((r, w))
    firsts = await asyncio.gather(*(r.readline() for r, _ in conns))
    assert all(firsts), "a held session was closed"
    held = child.stats()
    for (_, w), first in zip(conns, firsts, strict=True):
        w.write(respond(first))
    await asyncio.gather(*(_finish(r, w) for r, w in conns))
    return held


async def _finish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(respond(line))
    writer.close()


async def classic_calls(
    n: int, concurrency: int, log_dir: str, tail: list[float] | None = None
) -> tuple[float, list[float], int, list[float]]:
    """`tail`, when given, gets each call's last reply → script's EOF (Asterisk waits)."""
    turnaround: list[float] = []
    cmds: list[int] = []
    first: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
    env["AST_LOG_DIR"] = log_dir

    async def call(i: int) -> None:
        async with sem:
            t_spawn = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.classic_child",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                cwd=ROOT,
                env=env,
            )
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(env_bytes(i))
            sent = 0.0
            k = 0
            while True:
                line = await proc.stdout.readline()
                if sent:
                    turnaround.append(time.perf_counter() - sent)
                if not line:
                    if tail is not None and sent:
                        tail.append(time.perf_counter() - sent)
                    break
                if k == 0:
                    first.append(time.perf_counter() - t_spawn)
                k += 1
                proc.stdin.write(respond(line))
                sent = time.perf_counter()
            await proc.wait()
            cmds.append(k)

    t0 = time.perf_counter()
    await asyncio.gather(*(call(i) for i in range(n)))
    return time.perf_counter() - t0, turnaround, round(statistics.median(cmds)), first


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def spread(values: list[float], scale: float = 1.0, nd: int = 1) -> list[float]:
    """[min, max] of the per-round figures."""
    return [round(min(values) * scale, nd), round(max(values) * scale, nd)]


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    """`--rounds` rounds each way; per-round figures are reduced to their median."""
    child = Child(args.plain_asyncio)
    per_round = max(1, args.sessions // args.rounds)
    cpu, user, sys_, rate, fixed = [], [], [], [], []
    sat50, sat99, srv50, srv99, cli50, cli99 = [], [], [], [], [], []
    cmds: list[int] = []
    try:
        await run_sessions(child.port, 200, args.concurrency, start=10**6)  # warm-up
        for r in range(args.rounds):
            # 1. saturated: as many sessions as the server takes, its CPU per session
            s0 = child.stats()
            wall, t, c = await run_sessions(child.port, per_round, args.concurrency, r * per_round)
            s1 = child.stats()
            assert s1["completed"] - s0["completed"] == per_round
            cmds += c
            sat50.append(pct(t, 50))
            sat99.append(pct(t, 99))
            cpu.append((s1["cpu"] - s0["cpu"]) / per_round * 1e6)
            user.append((s1["utime"] - s0["utime"]) / per_round * 1e6)
            sys_.append((s1["stime"] - s0["stime"]) / per_round * 1e6)
            rate.append(per_round / wall)
            # 2. the fixed cost of a session: an unknown script (one VERBOSE, then close)
            m0 = child.stats()
            await run_sessions(
                child.port, per_round, args.concurrency, 2 * 10**6 + r * per_round, "probe"
            )
            m1 = child.stats()
            fixed.append((m1["cpu"] - m0["cpu"]) / per_round * 1e6)
            # 3. latency: 50 calls in progress whose prompts take 1-20 ms (seconds in real
            # life); the turnaround excludes that media time. Server-side and client-side.
            child.stats(b"trace")
            _, paced, _ = await run_sessions(
                child.port,
                max(1, per_round // 2),
                args.concurrency,
                3 * 10**6 + r * per_round,
                media_ms=(1.0, 20.0),
            )
            server_side = child.stats(b"untrace")
            srv50.append(server_side["p50"])
            srv99.append(server_side["p99"])
            cli50.append(pct(paced, 50))
            cli99.append(pct(paced, 99))
        base = child.stats()
        held = await hold_sessions(child, args.hold)
    finally:
        child.stop()
    med = statistics.median
    cpu_us, user_us, sys_us, fixed_us = med(cpu), med(user), med(sys_), med(fixed)
    n_cmds = round(med(cmds))
    per_cmd_us = (cpu_us - fixed_us) / max(1, n_cmds - 1)
    c_cpu, c_rate, c_turn, c_first = [], [], [], []
    c_cmds = 0
    per_classic = max(1, args.classic // args.rounds)
    log_dir = tempfile.mkdtemp(prefix="bench-agi-log-")
    for _ in range(args.rounds):
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c_wall, t, c_cmds, _ = await classic_calls(per_classic, min(args.concurrency, 8), log_dir)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        c_cpu.append(used / per_classic * 1e6)
        c_rate.append(per_classic / c_wall)
        c_turn += t
    c_cpu_us = med(c_cpu)
    # the silence before the greeting, one call at a time (as on an idle PBX)
    c_tail: list[float] = []
    for _ in range(args.rounds):
        c_first += (await classic_calls(2, 1, log_dir, c_tail))[3]
    shutil.rmtree(log_dir, ignore_errors=True)
    ms = 1e3
    return {
        "rounds": args.rounds,
        "fastagi_sessions": per_round * args.rounds,
        "concurrency": args.concurrency,
        "commands_per_session": n_cmds,
        "fastagi_cpu_us_per_session": round(cpu_us, 1),
        "fastagi_cpu_us_per_session_spread": spread(cpu),
        "fastagi_cpu_us_per_command": round(cpu_us / n_cmds, 2),
        "fastagi_user_us_per_session": round(user_us, 1),
        "fastagi_sys_us_per_session": round(sys_us, 1),
        "fastagi_one_command_session_cpu_us": round(fixed_us, 1),
        "fastagi_marginal_cpu_us_per_command": round(per_cmd_us, 2),
        "fastagi_sessions_per_s": round(med(rate), 1),
        "fastagi_sessions_per_s_spread": spread(rate),
        "fastagi_turnaround_p50_ms": round(med(srv50) * ms, 3),
        "fastagi_turnaround_p99_ms": round(med(srv99) * ms, 3),
        "fastagi_turnaround_p99_ms_spread": spread(srv99, ms, 3),
        "fastagi_client_turnaround_p50_ms": round(med(cli50) * ms, 3),
        "fastagi_client_turnaround_p99_ms": round(med(cli99) * ms, 3),
        "fastagi_client_turnaround_p99_ms_spread": spread(cli99, ms, 3),
        "fastagi_saturated_turnaround_p50_ms": round(med(sat50) * ms, 3),
        "fastagi_saturated_turnaround_p99_ms": round(med(sat99) * ms, 3),
        "classic_sessions": per_classic * args.rounds,
        "classic_commands_per_session": c_cmds,
        "classic_cpu_us_per_session": round(c_cpu_us, 1),
        "classic_sessions_per_s": round(med(c_rate), 2),
        "classic_turnaround_p50_ms": round(pct(c_turn, 50) * ms, 3),
        "classic_turnaround_p99_ms": round(pct(c_turn, 99) * ms, 3),
        "classic_first_command_ms": round(med(c_first) * ms, 1),
        "classic_after_last_reply_ms": round(med(c_tail) * ms, 1),
        "cpu_ratio_classic_over_fastagi": round(c_cpu_us / cpu_us, 1),
        "held_sessions": args.hold,
        "held_open_connections": held["open"],
        "rss_idle_mb": round(base["rss_kb"] / 1024, 1),
        "rss_held_mb": round(held["rss_kb"] / 1024, 1),
        "peak_rss_mb": round(held["maxrss_kb"] / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--classic", type=int, default=24)
    parser.add_argument("--hold", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain-asyncio", action="store_true", help="server without uvloop")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.plain_asyncio:
            asyncio.run(_serve(0))
        else:
            from ivr.eventloop import run

            run(_serve(0))
        return 0
    from ivr.eventloop import run

    r = run(main_async(args))
    print(f"standard new-incident path: {r['commands_per_session']} AGI commands per session")
    print(
        f"FastAGI  ({r['fastagi_sessions']} sessions, {r['concurrency']} concurrent, medians of "
        f"{r['rounds']} rounds): {r['fastagi_cpu_us_per_session']} µs CPU/session "
        f"(rounds {r['fastagi_cpu_us_per_session_spread']}; user {r['fastagi_user_us_per_session']}"
        f" + sys {r['fastagi_sys_us_per_session']}; {r['fastagi_cpu_us_per_command']} µs/command), "
        f"{r['fastagi_sessions_per_s']} sessions/s"
    )
    print(
        f"FastAGI  {r['concurrency']} concurrent calls with 1-20 ms prompts: command turnaround "
        f"at the server p50 {r['fastagi_turnaround_p50_ms']} ms, p99 "
        f"{r['fastagi_turnaround_p99_ms']} ms (rounds {r['fastagi_turnaround_p99_ms_spread']}); "
        f"seen by the client p50 {r['fastagi_client_turnaround_p50_ms']} ms, p99 "
        f"{r['fastagi_client_turnaround_p99_ms']} ms "
        f"(rounds {r['fastagi_client_turnaround_p99_ms_spread']})"
    )
    print(
        f"FastAGI  saturated (no media time): client-side turnaround p50 "
        f"{r['fastagi_saturated_turnaround_p50_ms']} ms, p99 "
        f"{r['fastagi_saturated_turnaround_p99_ms']} ms"
    )
    print(
        f"classic  ({r['classic_sessions']} processes): {r['classic_cpu_us_per_session']} µs "
        f"CPU/session, {r['classic_sessions_per_s']} sessions/s, turnaround p50 "
        f"{r['classic_turnaround_p50_ms']} ms, p99 {r['classic_turnaround_p99_ms']} ms; "
        f"silence before the greeting (spawn to first command, one call at a time) "
        f"{r['classic_first_command_ms']} ms, last reply to exit {r['classic_after_last_reply_ms']} ms"
    )
    print(
        f"  of which: a 1-command session costs {r['fastagi_one_command_session_cpu_us']} µs, "
        f"each further command {r['fastagi_marginal_cpu_us_per_command']} µs"
    )
    print(f"ratio classic/FastAGI CPU per session: {r['cpu_ratio_classic_over_fastagi']}x")
    print(
        f"{r['held_sessions']} sessions open at once: RSS {r['rss_held_mb']} MB "
        f"(idle {r['rss_idle_mb']} MB, peak {r['peak_rss_mb']} MB)"
    )
    cpu_ok = r["fastagi_cpu_us_per_session"] <= 250
    p99_ok = r["fastagi_turnaround_p99_ms"] <= 2
    print(
        "goals: <=250 µs CPU/session, p99 <= 2 ms, <=150 MB: "
        f"cpu {'ok' if cpu_ok else 'MISSED'}, "
        f"p99 {'ok' if p99_ok else 'MISSED'} (server-side; client-side "
        f"{'ok' if r['fastagi_client_turnaround_p99_ms'] <= 2 else 'over'}), "
        f"rss {'ok' if r['peak_rss_mb'] <= 150 else 'MISSED'}"
    )
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
