"""Load profiles and `centralita sim`: a whole simulated day runs fast and deterministically."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from centralita.cli import main
from pbxsim.profiles import PROFILES, ProfileRunner, agent_memberships, ivr_caller_hook
from pbxsim.sim import PbxSim
from pbxsim.trace_scenarios import load_plan, make_load_mix, replay
from servicedesk.config import CentralitaConfig

ROOT = Path(__file__).resolve().parents[2]


async def run_day(
    cfg: CentralitaConfig, seed: int, hours: float = 24.0, hour: int = 0
) -> tuple[ProfileRunner, PbxSim]:
    start = datetime(2026, 11, 23, hour, tzinfo=ZoneInfo("America/Mexico_City"))
    sim = PbxSim(cfg, seed=seed, start_epoch=start.timestamp())
    async with sim:
        runner = ProfileRunner(
            sim, cfg, PROFILES["busy_morning"], random.Random(seed), use_ivr=False
        )
        runner.schedule(start, hours)
        await sim.run_for(hours * 3600)
        await sim.run_until_idle(limit=3600)
    return runner, sim


async def test_a_whole_day_follows_the_hourly_curve(example_config: CentralitaConfig) -> None:
    runner, sim = await run_day(example_config, seed=9)
    lines = sim.engine.queue_log_lines
    enter_hours = [
        datetime.fromtimestamp(int(line.split("|")[0]), ZoneInfo("America/Mexico_City")).hour
        for line in lines
        if "|ENTERQUEUE|" in line
    ]
    assert runner.stats.placed > 300
    joinempty = sum(1 for c in sim.engine.calls if c.outcome == "joinempty")
    assert joinempty < runner.stats.placed / 10  # only before the first agents log in
    assert len(enter_hours) == runner.stats.placed - joinempty  # no IVR: calls are pre-routed
    assert not [h for h in enter_hours if h < 8 or h > 18]  # the curve is zero at night
    assert enter_hours.count(9) + enter_hours.count(10) > enter_hours.count(13) + enter_hours.count(
        17
    )
    events = {line.split("|")[4] for line in lines}
    assert {"ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "CONNECT", "ABANDON"} <= events
    outcomes = sum(
        1
        for line in lines
        if line.split("|")[4] in ("CONNECT", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY")
    )
    assert outcomes == len(enter_hours)
    assert all(not q.entries for q in sim.engine.queues.values())


async def test_profile_runs_are_deterministic(example_config: CentralitaConfig) -> None:
    a = (await run_day(example_config, seed=4, hours=3.0, hour=9))[1].engine.queue_log_lines
    b = (await run_day(example_config, seed=4, hours=3.0, hour=9))[1].engine.queue_log_lines
    c = (await run_day(example_config, seed=5, hours=3.0, hour=9))[1].engine.queue_log_lines
    assert len(a) > 100 and a == b and a != c


def test_memberships_follow_skills_and_languages(example_config: CentralitaConfig) -> None:
    for agent in example_config.agents:
        members = agent_memberships(example_config, agent)
        assert members
        for queue, penalty in members.items():
            skill, lang = queue.rsplit("_", 1)
            assert lang in agent.languages and skill in agent.skills
            assert penalty == 10 - agent.skills[skill]


def test_ivr_caller_hook_answers_by_prompt_name() -> None:
    hook = ivr_caller_hook(english=True, menu="1", category_digit="3", incident="42")
    assert hook(["centralita/es/welcome_tollfree"]) == "2"
    assert hook(["x", "centralita/en/main_menu"]) == "1"
    assert hook(["centralita/en/category_menu"]) == "3"
    assert hook(["centralita/en/enter_incident"]) == "42#"
    assert hook(["centralita/en/something_else"]) == ""


def test_sim_command_runs_a_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qlog = tmp_path / "queue_log"
    rc = main(
        [
            "sim", "--config", str(ROOT / "centralita.example.toml"), "--profile", "steady",
            "--hours", "24", "--seed", "2", "--start", "2026-11-24T00:00", "--queue-log", str(qlog),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "24 simulated hours" in out and "calls placed" in out
    placed = int(out.split("calls placed ")[1].split(",")[0])
    assert placed > 200
    joinempty = (
        int(out.split("joinempty ")[1].split(",")[0].split()[0]) if "joinempty " in out else 0
    )
    assert qlog.read_text().count("|ENTERQUEUE|") == placed - joinempty


def test_sim_command_rejects_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["sim", "--config", str(ROOT / "centralita.example.toml"), "--profile", "nope"])
    assert rc == 2 and "unknown profile" in capsys.readouterr().out


def test_load_plan_is_the_recorders_draw_for_draw(traces_dir: Path) -> None:
    calls, plans = load_plan()
    rows = (
        (traces_dir / "_recorder" / "sipp" / "last_run" / "load_mix" / "agent_agent2_plan.csv")
        .read_text()
        .split()
    )
    assert [r.rstrip(";") for r in rows[1:]] == plans["agent2"][: len(rows) - 1]
    assert len(calls) == 40 and calls[2][2] == "O'Brien, Ann"


async def test_other_load_plans_replay_consistently(traces_dir: Path) -> None:
    """A different seed/size (like the recorder's hidden_load_4242_45) runs to a consistent end."""
    result = await replay("load_mix", traces_dir, load_mix=make_load_mix(4242, 45))
    ql = result.queue_log
    assert sum("|ENTERQUEUE|" in line for line in ql) == 45
    assert sum(line.split("|")[4] in ("CONNECT", "ABANDON") for line in ql) == 45
    assert sum("|CONNECT|" in line for line in ql) == sum(
        line.split("|")[4] in ("COMPLETEAGENT", "COMPLETECALLER") for line in ql
    )
