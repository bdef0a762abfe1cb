"""The demo's telephone network: pbxsim on a busy-morning profile.

Runs PbxSim (AMI server + FastAGI client to the IVR) in real time, logs the
simulated agents into their queues (two on pause), scripts their phones, and
places Poisson-distributed calls from the seeded directory's real numbers
(plus some unknown and withheld callers), each keying its way through the IVR.
Agent 1001 is not simulated-logged-in: the person at the panel joins as her,
and her phone answers quickly so pops arrive within the first minute.

This module is the demo's composition root, so it imports pbxsim (nothing else
in cti_panel does).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
from collections.abc import Callable

from sqlalchemy import select

from servicedesk.config import CentralitaConfig, load_config

log = logging.getLogger("demo.traffic")

CATEGORY_WEIGHTS = {"network": 4, "email": 3, "erp": 2, "hardware": 2}
PAUSED = {"1006": "lunch", "1014": "training"}


def caller_dtmf(
    rng: random.Random, cfg: CentralitaConfig, english: bool, incident: str, customer: str
) -> Callable[[list[str]], str | None]:
    """What this caller keys at each prompt (by the prompt's name); '' is silence."""
    digits = {name: sk.dtmf for name, sk in cfg.skills.items() if sk.dtmf}
    cats = [c for c in CATEGORY_WEIGHTS if c in digits]
    category = rng.choices(cats, weights=[CATEGORY_WEIGHTS[c] for c in cats])[0] if cats else None
    menu = rng.choices(["1", "2", "0", "3"], weights=[80, 8 if incident else 0, 9, 3])[0]

    def answer(prompts: list[str]) -> str | None:
        last = prompts[-1] if prompts else ""
        if "welcome" in last or "language_choice" in last:
            return "2" if english else "1"
        if "identify" in last:
            return customer + "#" if customer else ""
        if "main_menu" in last:
            return menu
        if "category" in last and category:
            return digits[category]
        if "enter_incident" in last:
            return incident + "#"
        if "status_agent_offer" in last:
            return "1"
        return ""

    return answer


async def run(cfg: CentralitaConfig, calls_per_minute: float, seed: int) -> None:
    from pbxsim.behaviour import AgentAction
    from pbxsim.sim import PbxSim
    from servicedesk.db import make_engine, make_sessionmaker
    from servicedesk.models import Contact, ContactPhone, Incident, Organisation
    from servicedesk.routing import memberships

    rng = random.Random(seed)
    engine = make_engine(cfg.connections.database.resolved_url())
    with make_sessionmaker(engine)() as s:
        callers = s.execute(
            select(ContactPhone.e164, Contact.name, Contact.language, Contact.vip).join(Contact)
        ).all()
        customers = [c for c in s.scalars(select(Organisation.customer_number)) if c]
        open_numbers = [
            str(n) for n in s.scalars(select(Incident.number).where(Incident.status != "closed"))
        ]
    engine.dispose()
    from cti_panel.demo.data import HUMAN_AGENT

    fa = cfg.connections.fastagi
    secret = cfg.connections.ami.secret() or ""
    sim = PbxSim(
        cfg,
        speed=1.0,
        seed=seed,
        ami_port=cfg.connections.ami.port,
        ami_users={cfg.connections.ami.username: secret},
        agi=(fa.host, fa.port),
        queue_log_path=cfg.connections.queue_log.path,
    )
    await sim.start()
    log.info("pbxsim AMI on 127.0.0.1:%d, FastAGI to %s:%d", sim.port, fa.host, fa.port)
    for agent in cfg.agents:
        if agent.login == HUMAN_AGENT:
            # the demo user's phone: rings briefly, short conversations
            sim.agent(agent.interface, [AgentAction.answer(2.5, 35.0)], name=agent.name)
            continue
        plan = [AgentAction.answer(rng.uniform(2, 6), rng.uniform(40, 200)) for _ in range(300)]
        sim.agent(agent.interface, plan, name=agent.name)
    await asyncio.sleep(1.5)  # let the listener log in before the members appear
    for agent in cfg.agents:
        if agent.login == HUMAN_AGENT:
            continue
        for queue, penalty in memberships(cfg, agent).items():
            await sim.action(
                "QueueAdd",
                Queue=queue,
                Interface=agent.interface,
                Penalty=str(penalty),
                MemberName=agent.name,
            )
        if agent.login in PAUSED:
            await sim.action(
                "QueuePause", Interface=agent.interface, Paused="true", Reason=PAUSED[agent.login]
            )
    log.info(
        "%d simulated agents in their queues; placing ~%.0f calls/min",
        len(cfg.agents) - 1,
        calls_per_minute,
    )

    lines = list(cfg.lines)
    vip_line = next((n for n, ln in cfg.lines.items() if ln.vip), lines[0])
    normal_line = next((n for n, ln in cfg.lines.items() if not ln.vip), lines[0])
    placed = 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        wait = rng.expovariate(calls_per_minute / 60.0)
        try:
            await asyncio.wait_for(stop.wait(), timeout=wait)
            break
        except TimeoutError:
            pass
        roll = rng.random()
        if roll < 0.85 and callers:
            num, name, lang, vip = rng.choice(callers)
            display = (name or "").upper()[:15] if rng.random() < 0.6 else ""
            english = lang == "en"
        elif roll < 0.95:
            num, display, english, vip = (
                f"+52{rng.choice(['55', '33', '81'])}{rng.randint(10**7, 10**8 - 1)}",
                "",
                False,
                False,
            )
        else:
            num, display, english, vip = "anonymous", "", False, False
        incident = rng.choice(open_numbers) if open_numbers else ""
        line = vip_line if vip else normal_line
        patience = rng.uniform(25, 240)
        customer = rng.choice(customers) if customers and rng.random() < 0.7 else ""
        script = caller_dtmf(rng, cfg, english, incident, customer)
        sim.place_call(line, num, display, dtmf=script, patience=patience + rng.uniform(60, 200))
        placed += 1
        if placed % 20 == 0:
            log.info("%d calls placed", placed)
    await sim.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cti_panel.demo.traffic")
    p.add_argument("--config", required=True)
    p.add_argument("--calls-per-minute", type=float, default=8.0)
    p.add_argument("--seed", type=int, default=int(os.environ.get("CENTRALITA_DEMO_SEED", "7")))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    asyncio.run(run(load_config(args.config), args.calls_per_minute, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
