"""Routing decisions, skill levels → penalties, and the minimal membership actions."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from servicedesk.config import CentralitaConfig
from servicedesk.routing import (
    AgentAvailability,
    MemberAction,
    apply_actions,
    membership_actions,
    memberships,
    penalty_for_level,
    route,
)


def test_penalty_mapping_best_level_is_zero_and_clamped() -> None:
    assert penalty_for_level(9, 9) == 0
    assert penalty_for_level(6, 9) == 3
    assert penalty_for_level(1, 10) == 9
    assert penalty_for_level(10, 10) == 0
    assert penalty_for_level(10, 4) == 0  # never negative


def test_memberships_follow_skills_and_languages(example_config: CentralitaConfig) -> None:
    ana = next(a for a in example_config.agents if a.login == "1001")  # network 9, general 6, es+en
    assert memberships(example_config, ana) == {
        "general_en": 3,
        "general_es": 3,
        "network_en": 0,
        "network_es": 0,
    }
    bruno = next(
        a for a in example_config.agents if a.login == "1002"
    )  # es only, erp 10, general 5
    assert memberships(example_config, bruno) == {"erp_es": 0, "general_es": 5}
    carla = next(a for a in example_config.agents if a.login == "1003")  # erp is es-only
    assert "erp_en" not in memberships(example_config, carla)


def test_route_normal_vip_critical(example_config: CentralitaConfig) -> None:
    d = route(example_config, "network", "es", None, False)
    assert (d.queue, d.queue_prio, d.rule, d.max_penalty, d.max_wait) == (
        "network_es",
        0,
        "standard",
        2,
        600,
    )
    d = route(example_config, "email", "en", "high", True)
    assert (d.queue, d.queue_prio, d.rule, d.max_penalty) == ("email_en", 10, "vip", 1)
    d = route(example_config, None, "es", "critical", False)
    assert (d.queue, d.queue_prio, d.rule, d.max_penalty) == ("general_es", 20, "critical", 3)
    d = route(example_config, "network", "en", "critical", True)
    assert (d.queue_prio, d.rule) == (20, "critical")
    assert route(example_config, "general", "es", None, False).max_wait == 600


def test_route_language_the_skill_lacks_goes_to_general(example_config: CentralitaConfig) -> None:
    d = route(example_config, "erp", "en", None, False)
    assert (d.queue, d.skill) == ("general_en", "general")
    assert route(example_config, "nonexistent", "es", None, False).queue == "general_es"


def _states(*agents: tuple[str, dict[str, int]]) -> AgentAvailability:
    return AgentAvailability.from_states(
        [{"state": state, "queues": json.dumps(queues)} for state, queues in agents]
    )


def test_overflow_to_general_when_no_skilled_agent(example_config: CentralitaConfig) -> None:
    view = _states(
        ("paused", {"network_es": 0}),
        ("logged_out", {"network_es": 0}),
        ("available", {"general_es": 2}),
    )
    d = route(example_config, "network", "es", None, False, view)
    assert (d.queue, d.action, d.overflow_from) == ("general_es", "queue", "network_es")
    busy = _states(("oncall", {"network_es": 0}))  # busy on a call still counts as staffed
    assert route(example_config, "network", "es", None, False, busy).queue == "network_es"


def test_no_agent_at_all_means_no_agents_action(example_config: CentralitaConfig) -> None:
    view = _states(("paused", {"network_es": 0, "general_es": 1}), ("available", {"email_en": 0}))
    d = route(example_config, "network", "es", None, False, view)
    assert d.action == "no_agents"
    assert route(example_config, "general", "es", None, False, view).action == "no_agents"


def test_availability_ignores_malformed_states() -> None:
    view = AgentAvailability.from_states(
        [
            {"state": "available", "queues": "not json"},
            {"state": "available", "queues": "[1,2]"},
            {"state": "available"},
            {"queues": json.dumps({"a": 1})},
            {"state": "wrapup", "queues": json.dumps({"a": 1})},
        ]
    )
    assert view.staffed("a") == 1 and view.staffed("b") == 0


def test_membership_actions_minimal_and_ordered() -> None:
    old = {"network_es": 0, "general_es": 3, "email_es": 1}
    new = {"network_es": 0, "general_es": 2, "hardware_es": 0}
    acts = membership_actions("PJSIP/1001", "Ana López", old, new)
    assert acts == [
        MemberAction("QueueAdd", "hardware_es", "PJSIP/1001", "Ana López", 0),
        MemberAction("QueuePenalty", "general_es", "PJSIP/1001", "Ana López", 2),
        MemberAction("QueueRemove", "email_es", "PJSIP/1001", "Ana López", None),
    ]
    assert membership_actions("PJSIP/1001", "Ana", new, new) == []


queues = st.sampled_from([f"q{i}" for i in range(8)])
member_maps = st.dictionaries(queues, st.integers(min_value=0, max_value=9), max_size=8)


@given(member_maps, member_maps)
def test_membership_actions_apply_to_new_without_redundancy(old, new) -> None:
    acts = membership_actions("PJSIP/x", "X", old, new)
    assert apply_actions(old, acts) == new
    state = dict(old)
    for a in acts:  # every action changes something app_queue would otherwise not have
        if a.action == "QueueAdd":
            assert a.queue not in state
        elif a.action == "QueuePenalty":
            assert a.queue in state and state[a.queue] != a.penalty
        else:
            assert a.queue in state
        state = apply_actions(state, [a])
    changed = {q for q in set(old) & set(new) if old[q] != new[q]}
    assert len(acts) == len(set(old) ^ set(new)) + len(changed)
    assert len({a.queue for a in acts}) == len(acts)


def test_every_agent_is_penalty_zero_somewhere(example_config: CentralitaConfig) -> None:
    for agent in example_config.agents:
        assert 0 in memberships(example_config, agent).values()
