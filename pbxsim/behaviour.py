"""Scripted agent phones and callers (what SIPp did in the recordings)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AgentAction:
    """One incoming call's fate: kind is answer | noanswer | busy (486)."""

    kind: str = "answer"
    ring_s: float = 2.0
    talk_s: float | None = None  # None: wait for the caller to hang up

    @staticmethod
    def answer(ring_s: float, talk_s: float | None = None) -> AgentAction:
        return AgentAction("answer", ring_s, talk_s)

    @staticmethod
    def busy(ring_s: float) -> AgentAction:
        return AgentAction("busy", ring_s)


NOANSWER = AgentAction("noanswer", 0.0)


@dataclass
class AgentPhone:
    """A plan of actions taken in order, one per incoming call (the last repeats)."""

    plan: list[AgentAction] = field(default_factory=lambda: [AgentAction.answer(2.0)])
    index: int = 0
    caller_id_num: str = ""
    caller_id_name: str = ""

    def next_action(self) -> AgentAction:
        action = self.plan[min(self.index, len(self.plan) - 1)]
        self.index += 1
        return action


@dataclass
class CallerScript:
    """hangup_after: seconds after Asterisk answers (SIPp's hold); dtmf: (delay_s, digits) sent
    one entry per input command (GET DATA / WAIT FOR DIGIT), "" meaning silence; or
    dtmf_fn(prompts_heard) -> digits, the hook an IVR-aware caller uses; or timed digits."""

    hangup_after: float | None = None
    queue_patience: float | None = None  # seconds waiting in Queue() before abandoning
    queue_key: tuple[float, str] | None = None  # (seconds in Queue(), digit) to exit by key
    dtmf: list[str] = field(default_factory=list)
    dtmf_fn: object | None = None  # callable(prompts_heard: list[str]) -> str | None
    dtmf_at: list[tuple[float, str]] = field(default_factory=list)  # (s after answer, digit)
    dtmf_delay: float = 0.8  # how long after an input command starts the scripted digits arrive
    # with no FastAGI server: the channel variables the IVR would have set, applied at AGI()
    # after `ivr_seconds`, so the rest of the dialplan (Queue...) runs as with a real IVR
    preset: dict[str, str] = field(default_factory=dict)
    ivr_seconds: float = 30.0
