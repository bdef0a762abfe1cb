"""End to end: an agent blind-transfers a queue caller to another queue from the phone's
keypad (`#1`, then the queue's code from `[transfer_codes]`), as recorded on Asterisk
22.10.1 (calling_phone_blind_transfer); the screen-pop, with the caller's incident,
follows the call to the agent of the other queue."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from asterisk_conf.calling import BLIND_TRANSFER_CODE
from pbxsim.behaviour import AgentAction
from servicedesk.config import CentralitaConfig
from tests.e2e.calling_harness import (
    DIALER_SECRET,
    advance_until,
    assert_pop_followed,
    call_tollfree,
    incident_caller,
    join_queues,
    running,
)


async def test_keyed_blind_transfer_to_another_queue_with_the_pop(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(example_config.calling.dialer_secret_env, DIALER_SECRET)
    code = example_config.transfer_codes["erp_es"]
    async with running(example_config, session_factory, redis_url) as (sim, service, bus):
        sim.agent("PJSIP/1001", [AgentAction.answer(1.0)], num="1001")
        sim.agent("PJSIP/1002", [AgentAction.answer(1.0)], num="1002")
        await join_queues(bus, (("network_es", "PJSIP/1001"), ("erp_es", "PJSIP/1002")))
        call_tollfree(sim, example_config, incident_caller())
        await advance_until(sim, lambda: any(sim.engine.bridged_calls), 30)
        (agent_chan,) = sim.engine.bridged_calls
        assert agent_chan.startswith("PJSIP/1001-")
        assert sim.engine.channels[agent_chan].context == "centralita-agents"
        for digit in BLIND_TRANSFER_CODE + code:  # the agent's keypad, as the phone sends it
            out = sim.engine.actions.handle(
                "PlayDTMF", [("Channel", agent_chan), ("Digit", digit), ("Receive", "yes")]
            )
            assert out is not None and dict(out[0])["Response"] == "Success"
        await advance_until(sim, lambda: service.ingest.agents.agents["1002"].oncall, 30)
        await advance_until(sim, lambda: not sim.engine.channels, 60)
    assert_pop_followed(bus, "1001", "1002", "erp_es")
    # the caller went through the agents' context to erp_es's transfer entry
    assert any(
        f"|BLINDTRANSFER|{code}|centralita-agents|" in line for line in sim.engine.queue_log_lines
    )
    assert any("|erp_es|NONE|ENTERQUEUE|" in line for line in sim.engine.queue_log_lines)
