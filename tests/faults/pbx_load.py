"""pbxsim under load, as a process of its own, for the fault suite and the soak bench.

    python -m tests.faults.pbx_load --config F --secret S --queue-log PATH \
        --rate 3 --seconds 12 --agents 6 --ready-file PATH --done-file PATH

Real time (speed 1): an AMI server on the config's port, `--agents` simulated
agents joined to network_es (answering after 0.3–1 s, the caller hangs up after
1–4 s of talk), callers arriving at `--rate`/s for `--seconds`, pre-routed as the
IVR would (some lose patience in the queue). pbxsim appends Asterisk-format
lines to `--queue-log`. When every call is over it writes the done file (calls
placed) and keeps serving AMI until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import time
from pathlib import Path


def ivr_caller(prompts: list[str]) -> str | None:
    """Keys through the IVR by prompt name: Spanish, then 0 (an agent)."""
    last = prompts[-1] if prompts else ""
    if "welcome" in last or "language_choice" in last:
        return "1"
    if "main_menu" in last:
        return "0"
    return ""


async def main(args: argparse.Namespace) -> None:
    from pbxsim.behaviour import AgentAction, CallerScript
    from pbxsim.runner import tune_gc
    from pbxsim.sim import PbxSim
    from servicedesk.config import load_config

    tune_gc()
    cfg = load_config(args.config)
    rng = random.Random(args.seed)
    sim = PbxSim(
        cfg,
        speed=1.0,
        seed=args.seed,
        ami_port=args.ami_port or cfg.connections.ami.port,
        ami_users={cfg.connections.ami.username: args.secret},
        queue_log_path=args.queue_log,
        start_epoch=time.time(),
        agi=(cfg.connections.fastagi.host, cfg.connections.fastagi.port) if args.ivr else None,
    )
    callers = Path(args.callers).read_text().split() if args.callers else []
    await sim.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    queue = args.queue
    for i in range(args.agents):
        interface = f"PJSIP/{9000 + i}"
        # through the IVR the agent ends the talk (the caller's clock starts at the IVR's Answer)
        talk_s = rng.uniform(1.5, 4.0) if args.ivr else None
        action = AgentAction.answer(rng.uniform(0.3, 1.0), talk_s)
        sim.agent(interface, [action], num=str(9000 + i))
        await sim.action(
            "QueueAdd", Queue=queue, Interface=interface, Penalty="0", MemberName=f"Sim {i}"
        )
    Path(args.ready_file).write_text(str(sim.port))
    did = next(iter(cfg.lines.values())).did.lstrip("+")
    placed = 0
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < args.seconds and not stop.is_set():
        while placed < elapsed * args.rate:
            placed += 1
            number = callers[placed % len(callers)] if callers else f"55{5000000 + placed}"
            talk = rng.uniform(1.0, 4.0) + 0.5
            patience = rng.uniform(2.0, args.patience)
            if args.ivr:  # through the real IVR: Spanish, then "speak to an agent"
                sim.place_call(
                    "tollfree", number, "", dtmf=ivr_caller, patience=120, queue_patience=patience
                )
                continue
            script = CallerScript(
                hangup_after=talk,
                queue_patience=patience,
                ivr_seconds=0.3,
                preset={
                    "CENTRALITA_ACTION": "queue",
                    "CENTRALITA_QUEUE": queue,
                    "IVR_LANG": "es",
                    "CENTRALITA_CATEGORY": "network",
                },
            )
            sim.engine.place_call(
                did, number, f"Caller {placed}", script, context="centralita-inbound"
            )
            sim.engine.poke()
        await asyncio.sleep(0.01)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stop.is_set():
        if all(c.done is not None and c.done.triggered for c in sim.engine.calls):
            break
        await asyncio.sleep(0.2)
    Path(args.done_file).write_text(json.dumps({"placed": placed}))
    await stop.wait()
    await sim.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--queue-log", required=True)
    p.add_argument("--queue", default="network_es")
    p.add_argument("--rate", type=float, default=3.0)
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--patience", type=float, default=10.0)
    p.add_argument("--agents", type=int, default=6)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--ami-port", type=int, default=0, help="instead of the config's")
    p.add_argument("--ivr", action="store_true", help="route callers through the FastAGI IVR")
    p.add_argument("--callers", default="", help="file of caller numbers (the directory's)")
    p.add_argument("--ready-file", required=True)
    p.add_argument("--done-file", required=True)
    asyncio.run(main(p.parse_args()))
