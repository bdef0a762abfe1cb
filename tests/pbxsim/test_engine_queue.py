"""app_queue semantics on the virtual clock: strategies, penalties, wrapup, ringinuse, pauses, timeouts."""

from __future__ import annotations

from typing import Any

from pbxsim.behaviour import NOANSWER, AgentAction, CallerScript
from pbxsim.dialplan import parse_extensions
from pbxsim.engine import Engine
from pbxsim.queues import parse_queuerules, parse_queues_conf
from pbxsim.trace_compare import event_to_message

T0 = 1_800_000_000.0
DIALPLAN = """
[from-trunk]
exten => 700,1,Answer()
 same => n,Queue(q1)
 same => n,Hangup()
exten => 701,1,Answer()
 same => n,Queue(q2)
 same => n,Hangup()
exten => 702,1,Answer()
 same => n,Queue(q1,,,,8)
 same => n,NoOp(${QUEUESTATUS})
exten => 703,1,Answer()
 same => n,Set(QUEUE_MAX_PENALTY=0)
 same => n,Queue(q1,,,,,,,widen)
exten => h,1,NoOp(end)
[queue-exit]
exten => 5,1,NoOp(left with 5)
 same => n,Hangup()
"""


def make(
    strategy: str = "ringall", extra: str = "", q2: str = "", seed: int = 0
) -> tuple[Engine, list[dict[str, Any]]]:
    conf = f"""
[general]
autofill = yes
[q1]
strategy = {strategy}
timeout = 5
retry = 1
ringinuse = no
servicelevel = 20
{extra}
[q2]
strategy = ringall
timeout = 5
retry = 1
ringinuse = no
{q2}
"""
    engine = Engine(
        queues=parse_queues_conf(conf),
        dialplan=parse_extensions(DIALPLAN),
        rules=parse_queuerules("[widen]\npenaltychange => 10,+5\n"),
        start_epoch=T0,
        seed=seed,
    )
    events: list[dict[str, Any]] = []
    engine.subscribe(lambda ev: events.append(event_to_message(ev, engine.kernel.now - T0)))
    return engine, events


def add(
    engine: Engine, queue: str, agent: str, penalty: int = 0, plan: list[AgentAction] | None = None
) -> None:
    engine.set_phone(agent, plan or [AgentAction.answer(1.0, 30.0)], agent[-1] * 4, agent.title())
    out = engine.actions.handle(
        "QueueAdd",
        [
            ("Queue", queue),
            ("Interface", f"PJSIP/{agent}"),
            ("Penalty", str(penalty)),
            ("MemberName", agent.title()),
        ],
    )
    assert out is not None and out[0][0] == ("Response", "Success")


def rung(events: list[dict[str, Any]]) -> list[str]:
    return [e["MemberName"] for e in events if e.get("Event") == "AgentCalled"]


def connected(events: list[dict[str, Any]]) -> list[str]:
    return [e["MemberName"] for e in events if e.get("Event") == "AgentConnect"]


def test_linear_always_starts_with_the_first_member() -> None:
    engine, events = make("linear")
    for a in ("a1", "a2", "a3"):
        add(engine, "q1", a)
    for i in range(3):
        engine.place_call(
            "700", f"55500{i}", "C", CallerScript(hangup_after=5.0), at=T0 + 1 + 20 * i
        )
    engine.kernel.run_until(T0 + 100)
    assert connected(events) == ["A1", "A1", "A1"]


def test_rrmemory_rotates_and_remembers() -> None:
    engine, events = make("rrmemory")
    for a in ("a1", "a2", "a3"):
        add(engine, "q1", a)
    for i in range(4):
        engine.place_call(
            "700", f"55500{i}", "C", CallerScript(hangup_after=5.0), at=T0 + 1 + 20 * i
        )
    engine.kernel.run_until(T0 + 120)
    assert connected(events) == ["A1", "A2", "A3", "A1"]


def test_fewestcalls_and_leastrecent_pick_the_idle_member() -> None:
    for strategy in ("fewestcalls", "leastrecent"):
        engine, events = make(strategy)
        add(engine, "q1", "a1")
        add(engine, "q1", "a2")
        engine.place_call("700", "5550001", "C", CallerScript(hangup_after=5.0), at=T0 + 1)
        engine.place_call("700", "5550002", "C", CallerScript(hangup_after=5.0), at=T0 + 20)
        engine.place_call("700", "5550003", "C", CallerScript(hangup_after=5.0), at=T0 + 40)
        engine.kernel.run_until(T0 + 80)
        assert connected(events) == ["A1", "A2", "A1"], strategy


def test_random_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> list[str]:
        engine, events = make("random", seed=seed)
        for a in ("a1", "a2", "a3", "a4"):
            add(engine, "q1", a)
        for i in range(8):
            engine.place_call(
                "700", f"55500{i}", "C", CallerScript(hangup_after=3.0), at=T0 + 1 + 10 * i
            )
        engine.kernel.run_until(T0 + 120)
        return connected(events)

    first = run(11)
    assert first == run(11)
    assert len(first) == 8
    assert len({tuple(run(s)) for s in range(5)}) > 1


def test_ringall_rings_the_lowest_penalty_level_first() -> None:
    engine, events = make("ringall")
    add(engine, "q1", "a1", 0, [NOANSWER])
    add(engine, "q1", "a2", 0, [NOANSWER])
    add(engine, "q1", "a3", 3, [AgentAction.answer(1.0, 5.0)])
    engine.place_call("700", "5550001", "C", CallerScript(hangup_after=30.0), at=T0 + 1)
    engine.kernel.run_until(T0 + 4)
    assert sorted(rung(events)) == ["A1", "A2"]  # penalty 3 waits while penalty 0 members are free


def test_max_penalty_and_rule_widening() -> None:
    engine, events = make("ringall")
    add(engine, "q1", "a1", 5, [AgentAction.answer(1.0, 5.0)])
    engine.place_call("703", "5550001", "C", CallerScript(hangup_after=60.0), at=T0 + 1)
    engine.kernel.run_until(T0 + 9)
    assert rung(events) == []  # QUEUE_MAX_PENALTY=0 keeps the penalty-5 member out
    engine.kernel.run_until(T0 + 30)
    widened = [
        e for e in events if e.get("Event") == "VarSet" and e["Variable"] == "QUEUE_MAX_PENALTY"
    ]
    assert [e["Value"] for e in widened] == ["0", "5"]
    assert connected(events) == ["A1"]
    connect = next(e for e in events if e.get("Event") == "AgentConnect")
    assert int(connect["HoldTime"]) >= 10


def test_wrapuptime_keeps_a_member_out_after_a_call() -> None:
    engine, events = make("linear", extra="wrapuptime = 15")
    add(engine, "q1", "a1")
    add(engine, "q1", "a2")
    engine.place_call("700", "5550001", "C", CallerScript(hangup_after=4.0), at=T0 + 1)
    engine.place_call("700", "5550002", "C", CallerScript(hangup_after=4.0), at=T0 + 10)
    engine.place_call("700", "5550003", "C", CallerScript(hangup_after=4.0), at=T0 + 40)
    engine.kernel.run_until(T0 + 60)
    assert connected(events) == ["A1", "A2", "A1"]


def test_ringinuse_no_skips_a_member_busy_in_another_queue() -> None:
    engine, events = make("ringall")
    add(engine, "q1", "a1", plan=[AgentAction.answer(1.0, 30.0)])
    add(engine, "q2", "a1")
    add(engine, "q2", "a2")
    engine.place_call("700", "5550001", "C", CallerScript(hangup_after=30.0), at=T0 + 1)
    engine.place_call("701", "5550002", "C", CallerScript(hangup_after=30.0), at=T0 + 5)
    engine.kernel.run_until(T0 + 20)
    second = [
        e["MemberName"]
        for e in events
        if e.get("Event") == "AgentCalled" and e["CallerIDNum"] == "5550002"
    ]
    assert second == ["A2"]


def test_paused_member_is_not_rung_until_unpaused() -> None:
    engine, events = make("ringall")
    add(engine, "q1", "a1")
    engine.actions.handle(
        "QueuePause",
        [("Queue", "q1"), ("Interface", "PJSIP/a1"), ("Paused", "true"), ("Reason", "lunch")],
    )
    engine.place_call("700", "5550001", "C", CallerScript(hangup_after=60.0), at=T0 + 1)
    engine.kernel.run_until(T0 + 10)
    assert rung(events) == []
    engine.actions.handle(
        "QueuePause", [("Queue", "q1"), ("Interface", "PJSIP/a1"), ("Paused", "false")]
    )
    engine.kernel.run_until(T0 + 12)
    assert rung(events) == ["A1"]
    assert [line.split("|")[4] for line in engine.queue_log_lines][1:3] == ["PAUSE", "ENTERQUEUE"]


def test_queue_timeout_gives_noanswer_then_cancel_and_exitwithtimeout() -> None:
    engine, events = make("ringall")
    add(engine, "q1", "a1", plan=[NOANSWER])
    engine.place_call("702", "5550001", "C", CallerScript(hangup_after=60.0), at=T0 + 1)
    engine.kernel.run_until(T0 + 30)
    ends = [e["DialStatus"] for e in events if e.get("Event") == "DialEnd"]
    assert ends[-2:] == ["NOANSWER", "CANCEL"]
    assert "EXITWITHTIMEOUT|1|1|8" in engine.queue_log_lines[-1]
    status = [
        e["Value"] for e in events if e.get("Event") == "VarSet" and e["Variable"] == "QUEUESTATUS"
    ]
    assert status == ["TIMEOUT"]
    assert any(e.get("Event") == "QueueCallerAbandon" for e in events)  # the Asterisk quirk


def test_holdtime_talktime_are_running_averages_and_sl_perf() -> None:
    engine, events = make("ringall")
    add(engine, "q1", "a1", plan=[AgentAction.answer(4.0, 8.0), AgentAction.answer(2.0, 4.0)])
    engine.place_call("700", "5550001", "C", CallerScript(hangup_after=60.0), at=T0 + 1)
    engine.place_call("700", "5550002", "C", CallerScript(hangup_after=60.0), at=T0 + 30)
    engine.kernel.run_until(T0 + 60)
    q = engine.queues["q1"]
    assert (q.completed, q.holdtime, q.talktime) == (
        2,
        (((0 * 3 + 4) // 4) * 3 + 2) // 4,
        ((8 // 4) * 3 + 4) // 4,
    )
    out = engine.actions.handle("QueueStatus", [("Queue", "q1"), ("ActionID", "x")])
    params = dict(out[1])
    assert params["Completed"] == "2" and params["ServicelevelPerf"] == "100.0"
    assert out[-1][1] == ("ActionID", "x") and out[1][-1] == ("ActionID", "x")


def test_exit_with_key_goes_to_the_queue_context() -> None:
    engine, events = make("ringall", extra="context = queue-exit")
    add(engine, "q1", "a1", plan=[NOANSWER])
    engine.place_call(
        "700", "5550001", "C", CallerScript(hangup_after=60.0, queue_key=(7.0, "5")), at=T0 + 1
    )
    engine.place_call(
        "700", "5550002", "C", CallerScript(hangup_after=20.0, queue_key=(3.0, "9")), at=T0 + 30
    )
    engine.kernel.run_until(T0 + 60)
    first = [line for line in engine.queue_log_lines if line.split("|")[1] == f"{int(T0 + 1)}.0"]
    assert [line.split("|")[4] for line in first] == [
        "ENTERQUEUE",
        "RINGNOANSWER",
        "RINGCANCELED",
        "EXITWITHKEY",
    ]
    assert first[-1].endswith("|EXITWITHKEY|5|1|1|7")
    apps = [
        e["AppData"]
        for e in events
        if e.get("Event") == "Newexten" and e["Context"] == "queue-exit"
    ]
    assert apps == ["left with 5", ""]
    assert (
        engine.queues["q1"].abandoned == 1
    )  # only the second caller, who keyed an unmapped 9 and hung up
