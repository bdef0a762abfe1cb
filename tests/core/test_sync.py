"""Config -> database sync of skills, queues, agents and skill levels; idempotent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicedesk.config import CentralitaConfig
from servicedesk.models import Agent, AgentSkill, Queue, Skill
from servicedesk.sync import sync_from_config


def _levels(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(Agent.login, Skill.code, AgentSkill.level)
        .join(AgentSkill, AgentSkill.agent_id == Agent.id)
        .join(Skill, Skill.id == AgentSkill.skill_id)
    ).all()
    return {(login, code): level for login, code, level in rows}


def test_sync_writes_the_example(session: Session, example_config: CentralitaConfig) -> None:
    report = sync_from_config(session, example_config)
    assert report.changed
    assert {s.code for s in session.scalars(select(Skill))} == set(example_config.skills)
    queues = {q.name: q for q in session.scalars(select(Queue))}
    assert set(queues) == set(example_config.queue_definitions())
    assert "erp_en" not in queues  # erp is Spanish-only
    assert (queues["general_es"].servicelevel, queues["general_es"].short_abandon) == (30, 5)
    assert (queues["network_en"].servicelevel, queues["network_en"].short_abandon) == (20, 5)
    network = session.scalars(select(Skill).where(Skill.code == "network")).one()
    assert queues["network_es"].skill_id == network.id and queues["network_es"].language == "es"
    assert network.name_en == "Network and internet"
    agents = {a.login: a for a in session.scalars(select(Agent))}
    assert agents["1002"].name == "Bruno Hernández"
    assert agents["1002"].interface == "PJSIP/1002"
    expected = {(a.login, s): lvl for a in example_config.agents for s, lvl in a.skills.items()}
    assert _levels(session) == expected

    again = sync_from_config(session, example_config)
    assert not again.changed, again
    assert again.summary() == "database already matches the configuration"


def test_sync_follows_changes(session: Session, example_config: CentralitaConfig) -> None:
    sync_from_config(session, example_config)
    agents = [a.model_copy() for a in example_config.agents]
    ana = agents[0]
    agents[0] = ana.model_copy(update={"skills": {"network": 3, "email": 5}})
    # 1006 leaves; 1002 takes over 1005's phone, and 1005 leaves too.
    bruno = agents[1].model_copy(update={"interface": "PJSIP/1005"})
    agents = [agents[0], bruno, agents[2], agents[3]]
    skills = {k: v for k, v in example_config.skills.items() if k != "erp"}
    agents[1] = agents[1].model_copy(update={"skills": {"general": 5}})
    queues_cfg = {
        "general_es": example_config.queues["general_es"].model_copy(update={"servicelevel": 45})
    }
    cfg = example_config.model_copy(
        update={"agents": agents, "skills": skills, "queues": queues_cfg}
    )

    report = sync_from_config(session, cfg)
    assert "agent 1006 (deactivated)" in report.removed
    assert "skill erp" in report.removed
    assert "queue erp_es" in report.removed
    session.expire_all()
    rows = {a.login: a for a in session.scalars(select(Agent))}
    assert rows["1006"].active is False and rows["1005"].active is False
    assert rows["1002"].interface == "PJSIP/1005" and rows["1002"].active
    assert rows["1005"].interface.startswith("PJSIP/1005#moved-")
    levels = _levels(session)
    assert levels[("1001", "network")] == 3 and levels[("1001", "email")] == 5
    assert ("1001", "general") not in levels
    assert not any(code == "erp" for _, code in levels)
    q = session.scalars(select(Queue).where(Queue.name == "general_es")).one()
    assert q.servicelevel == 45
    assert session.scalars(select(Skill).where(Skill.code == "erp")).one_or_none() is None

    assert not sync_from_config(session, cfg).changed
    # Coming back reactivates and restores.
    back = sync_from_config(session, example_config)
    assert back.changed
    session.expire_all()
    assert all(a.active for a in session.scalars(select(Agent)))
    assert _levels(session)[("1001", "general")] == 6


def test_db_sync_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    url = f"sqlite:///{tmp_path / 'sync.db'}"
    base = [sys.executable, "-m", "centralita", "db"]
    cfg = ["--config", str(root / "centralita.example.toml"), "--url", url]
    run = {"capture_output": True, "text": True, "cwd": root, "timeout": 60}
    assert subprocess.run([*base, "upgrade", "--url", url], **run).returncode == 0
    first = subprocess.run([*base, "sync", *cfg], **run)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    second = subprocess.run([*base, "sync", *cfg], **run)
    assert second.stdout.strip() == "database already matches the configuration"
