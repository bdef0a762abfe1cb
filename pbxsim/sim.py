"""`PbxSim`: the one-stop facade the e2e tests, the demo and the CLI use.

async with PbxSim(config, speed=None, seed=1, ami_port=0, agi=("127.0.0.1", 4573),
                  queue_log_path="queue_log") as sim:
    sim.agent("PJSIP/agent1", [AgentAction.answer(3, talk_s=30)])
    await sim.action("QueueAdd", Queue="network_es", Interface="PJSIP/agent1")
    call = sim.place_call("toll_free", "5551234", "Ana", dtmf=["1", "2"], patience=120)
    await sim.run_for(300)          # virtual seconds (speed=None) or paced wall time
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pbxsim.agi_client import FastAgiClient
from pbxsim.behaviour import AgentAction, CallerScript
from pbxsim.dialplan import Dialplan, centralita_dialplan, parse_extensions
from pbxsim.engine import Call, Engine
from pbxsim.queues import parse_queuerules, parse_queues_conf, queues_from_config, rules_from_config
from pbxsim.runner import Runner
from pbxsim.types import AmiEvent, Headers


class PbxSim:
    """Engine + clock runner + (optional) AMI server + FastAGI client, started together."""

    def __init__(
        self,
        config: Any = None,
        *,
        speed: float | None = None,
        seed: int = 0,
        ami_port: int | None = None,
        ami_host: str = "127.0.0.1",
        ami_users: dict[str, Any] | None = None,
        agi: tuple[str, int] | None = None,
        queue_log_path: str | Path | None = None,
        start_epoch: float | None = None,
        queues_conf: str | None = None,
        extensions_conf: str | None = None,
        queuerules_conf: str | None = None,
        record: bool = False,
        prompt_seconds: dict[str, float] | None = None,
        sounds_dir: str | Path | None = None,
    ) -> None:
        """Prompts play for as long as they last: with a config, the lengths of its
        rendered prompts (`asterisk_conf.prompt_lengths`; measured from `sounds_dir`
        when given); `prompt_seconds` overrides single sounds."""
        if isinstance(config, (str, Path)):
            from servicedesk.config import load_config

            config = load_config(config)
        self.config = config
        self.speed = speed
        self.ami_port = ami_port
        self.ami_host = ami_host
        self.ami_users = ami_users
        self.agi_addr = agi
        self.events: list[AmiEvent] = []
        self._record = record
        if queues_conf is not None:
            queues = parse_queues_conf(queues_conf)
        elif config is not None:
            queues = queues_from_config(config)
        else:
            queues = {}
        rules = parse_queuerules(queuerules_conf) if queuerules_conf else {}
        if config is not None:
            rules = {**rules_from_config(config), **rules}
        dialplan: Dialplan = {}
        if extensions_conf is not None:
            dialplan = parse_extensions(extensions_conf)
        elif config is not None:
            host, port = agi or (config.connections.fastagi.host, config.connections.fastagi.port)
            dialplan = centralita_dialplan(config, host, port)
        self.agi_client = FastAgiClient(agi) if agi else None
        lengths: dict[str, float] = {}
        if config is not None:
            from asterisk_conf.prompt_lengths import prompt_lengths

            lengths = prompt_lengths(config, sounds_dir=sounds_dir)
        elif sounds_dir is not None:
            from asterisk_conf.prompt_lengths import measure_dir

            lengths = measure_dir(sounds_dir)
        lengths.update(prompt_seconds or {})
        self.engine = Engine(
            queues=queues,
            dialplan=dialplan,
            rules=rules,
            start_epoch=start_epoch if start_epoch is not None else time.time(),
            seed=seed,
            queue_log_path=str(queue_log_path) if queue_log_path else None,
            agi_client=self.agi_client,
            prompt_seconds=lengths,
        )
        if config is not None and extensions_conf is None:
            self.engine.agent_context = "centralita-agents"  # asterisk_conf names.AGENTS_CONTEXT
        self.runner: Runner | None = None
        self.ami: Any = None

    # ------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> PbxSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        self.runner = Runner(self.engine.kernel, self.speed)
        self.engine.poke = self.runner.poke
        if self.agi_client is not None:
            self.agi_client.runner = self.runner
        if self._record:
            self.engine.subscribe(self.events.append)
        if self.ami_port is not None:
            from pbxsim.ami_server import serve_ami

            users = self.ami_users
            if users is None and self.config is not None:
                secret = self.config.connections.ami.secret() or "centralita"
                users = {self.config.connections.ami.username: secret}
            self.ami = await serve_ami(
                self.engine,
                self.ami_host,
                self.ami_port,
                users or {},
                clock=lambda: self.engine.kernel.now,
            )
        self.runner.start()

    async def close(self) -> None:
        if self.ami is not None:
            self.ami.close()
            await self.ami.wait_closed()
        if self.runner is not None:
            await self.runner.stop()
        if self.agi_client is not None:
            self.agi_client.close()
        self.engine.close()

    @property
    def port(self) -> int:
        return int(self.ami.port) if self.ami is not None else 0

    @property
    def now(self) -> float:
        return self.engine.kernel.now

    # ------------------------------------------------------------- control
    def agent(self, interface: str, plan: list[AgentAction], num: str = "", name: str = "") -> None:
        """Script the phone behind `PJSIP/<endpoint>`: one AgentAction per incoming call."""
        endpoint = interface.split("/", 1)[-1]
        self.engine.set_phone(endpoint, plan, num, name)

    def place_call(
        self,
        line: str,
        caller_num: str,
        caller_name: str = "",
        dtmf: list[str] | Callable[[list[str]], str | None] | None = None,
        patience: float | None = None,
        context: str = "from-trunk",
        queue_patience: float | None = None,
    ) -> Call:
        """A caller dials `line` (a config line name, its DID, or a raw extension).

        `dtmf` is either one answer per IVR input command ("" = silence) or a
        function of the prompts heard so far returning the digits to key.
        `patience` is how long after the answer the caller hangs up (None: never), talking or not;
        `queue_patience` is how long the caller waits in Queue() before abandoning.
        """
        exten = line
        if self.config is not None and line in self.config.lines:
            exten = self.config.lines[line].did.lstrip("+")
        script = CallerScript(hangup_after=patience, queue_patience=queue_patience)
        if callable(dtmf):
            script.dtmf_fn = dtmf
        elif dtmf:
            script.dtmf = list(dtmf)
        if context == "from-trunk" and ("centralita-inbound", exten) in self.engine.dialplan:
            context = "centralita-inbound"
        call = self.engine.place_call(exten, caller_num, caller_name, script, context=context)
        self.engine.poke()
        return call

    def at(self, when: float, fn: Callable[[], Any]) -> None:
        """Run `fn` at epoch `when` on the simulated clock."""
        self.engine.kernel.call_at(when, fn)
        self.engine.poke()

    async def action(self, name: str, **headers: str) -> list[Headers]:
        out = await self.engine.handle_action(name, list(headers.items()))
        return out or []

    async def run_for(self, seconds: float) -> None:
        assert self.runner is not None
        if self.speed:
            await asyncio.sleep(seconds / self.speed)
        else:
            await self.runner.run_until(self.engine.kernel.now + seconds)

    async def run_until_idle(self, limit: float = 86400.0) -> None:
        """Run until no call is left (or `limit` simulated seconds pass). Paced mode
        only watches: jumping the clock ahead would break the pace."""
        assert self.runner is not None
        if self.speed:
            wall_end = time.monotonic() + limit / self.speed
            while time.monotonic() < wall_end and not all(
                c.done is not None and c.done.triggered for c in self.engine.calls
            ):
                if self.runner.error is not None:
                    raise RuntimeError("pbxsim engine failed") from self.runner.error
                await asyncio.sleep(0.02)
            return
        end = self.engine.kernel.now + limit
        while self.engine.kernel.now < end:
            await self.runner.run_until(min(end, self.engine.kernel.now + 5.0))
            if all(c.done is not None and c.done.triggered for c in self.engine.calls):
                break
