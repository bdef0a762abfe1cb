"""End to end: an agent blind-transfers a queue caller to another queue through the dialer
(AMI BlindTransfer, modelled on the real recording); the screen-pop, with the caller's
incident, follows the call to the second-level agent."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.dialer import requests_key
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


async def test_blind_transfer_to_second_level_with_the_pop(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(example_config.calling.dialer_secret_env, DIALER_SECRET)
    async with running(example_config, session_factory, redis_url) as (sim, service, bus):
        sim.agent("PJSIP/1001", [AgentAction.answer(1.0)], num="1001")
        sim.agent("PJSIP/1002", [AgentAction.answer(1.0)], num="1002")
        await join_queues(bus, (("network_es", "PJSIP/1001"), ("erp_es", "PJSIP/1002")))
        call_tollfree(sim, example_config, incident_caller())
        assert service.dialer is not None
        await advance_until(sim, lambda: "1001" in service.dialer.agent_channels, 30)
        bus.publish(
            requests_key(bus),
            {"kind": "transfer", "request_id": "t1", "agent": "1001", "queue": "erp_es"},
        )
        await advance_until(sim, lambda: service.ingest.agents.agents["1002"].oncall, 30)
        await advance_until(sim, lambda: not sim.engine.channels, 60)
    assert_pop_followed(bus, "1001", "1002", "erp_es")
    assert any(
        "BLINDTRANSFER|erp_es|centralita-transfer" in line for line in sim.engine.queue_log_lines
    )
