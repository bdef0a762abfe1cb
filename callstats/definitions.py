"""Contact-centre metrics with exact definitions, one function per metric.

Both sources of truth — the listener's `Call` records and Asterisk's queue_log —
are first reduced to `QueueCall`s (one per queue entry), and every figure in
the wallboard, the interval report and the monthly report is computed here
from those, so the two paths can only disagree where their inputs do.

Vocabulary (every count is per queue, over the calls whose *entered-queue time*
falls in the period; a `join_empty` refusal, which never entered, counts at the
time it was refused):

* **offered**: the caller entered the queue (Asterisk's ENTERQUEUE /
  QueueCallerJoin). A `joinempty` refusal (QUEUESTATUS=JOINEMPTY, no queue_log
  line) is *not* offered: the queue never held the call. It is counted apart as
  `join_empty`.
* **answered**: connected to an agent (CONNECT / AgentConnect), including calls
  later transferred.
* **abandoned**: the caller hung up while waiting (queue_log ABANDON). Only true
  caller abandons: Asterisk's own `Abandoned` counter and QueueCallerAbandon
  also count timeouts and empty-queue exits, which are the queue's doing.
* **short abandon**: abandoned with hold < the queue's `short_abandon` seconds.
* **timeout**: Queue()'s own timeout expired (EXITWITHTIMEOUT).
* **exit_empty**: left because the queue had no usable members (EXITEMPTY).
* **exit_key**: the caller pressed an exit key (EXITWITHKEY).
* **withdraw**: withdrawn by a QueueWithdrawCaller action (WITHDRAW).
* **hold** of a call: seconds from entering the queue to answer or exit, as
  Asterisk writes them (integer seconds, the same number on AMI and in queue_log).
* **within service level**: hold <= the queue's `servicelevel` (Asterisk's `<=`).
* **open**: entered but neither answered nor exited when the data ends (still
  waiting); offered, in no outcome count.

Counting unit: one queue *entry*. A caller moved to a second queue (timeout
then a new Queue()) is offered to each queue once; the listener's records keep
one row per call, with the last queue.

Derived figures (None when the denominator is 0):

* **service level %** by the queue's `sl_formula`: ``answered`` =
  answered-within ÷ answered; ``offered`` = answered-within ÷ offered;
  ``offered_minus_short`` = answered-within ÷ (offered − short abandons);
* **ASA** = Σ hold of answered ÷ answered;
* **AHT** = Σ talk ÷ answered with a known talk time (talk only, no wrap-up);
* **longest wait** = max hold of any finished entry (answered or not);
  the wallboard's `longest_hold_s` is the max over answered entries;
* **abandon rate %** = abandoned ÷ offered.

Where Asterisk's QueueParams differ (see `AsteriskFigures`): `Abandoned`
includes timeouts, empty exits and withdrawals; `Holdtime` / `TalkTime` are
integer running averages, not means; `ServicelevelPerf2` counts abandons within
the service level as successes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

SlFormula = Literal["answered", "offered", "offered_minus_short"]

# queue outcomes a QueueCall can carry ("open": still waiting or talking when the data ends)
ANSWERED_OUTCOMES = frozenset({"answered", "transferred"})
EXIT_OUTCOMES = ("abandoned", "timeout", "exit_empty", "exit_key", "withdraw")
# the causes for which app_queue runs record_abandoned(): its QueueCallerAbandon / Abandoned
ASTERISK_ABANDON_OUTCOMES = frozenset({"abandoned", "timeout", "exit_empty", "withdraw"})


@dataclass(slots=True)
class QueueCall:
    """One queue entry of one caller call: the common input of every metric.

    Times are epoch seconds (UTC). `agent` is the agent's login when known,
    else the queue member name Asterisk logged.
    """

    callid: str
    queue: str
    entered_at: float
    outcome: str  # answered | transferred | abandoned | timeout | exit_empty | exit_key | withdraw | join_empty | open
    hold: int | None = None
    talk: int | None = None
    agent: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    hung_up_by: str | None = None
    position: int | None = None
    ring_noanswer: int = 0
    # agent → RINGNOANSWER count; None when there were none (saves a dict per call)
    ring_noanswer_by_agent: dict[str, int] | None = None
    # the leg of a caller transferred from another PBX: the caller call was offered and
    # ended (transferred) there, so the queue figures skip it; the agent's figures keep it
    continued: bool = False


@dataclass(frozen=True, slots=True)
class QueueRules:
    """The per-queue parameters the definitions depend on (from QueueSettings)."""

    servicelevel: int = 20
    short_abandon: int = 5
    sl_formula: SlFormula = "answered"


# --- counts ------------------------------------------------------------------


def offered(calls: Iterable[QueueCall]) -> int:
    """offered = number of queue entries (ENTERQUEUE); join_empty refusals excluded."""
    return sum(1 for c in calls if c.outcome != "join_empty")


def answered(calls: Iterable[QueueCall]) -> int:
    """answered = entries connected to an agent (outcome answered or transferred)."""
    return sum(1 for c in calls if c.outcome in ANSWERED_OUTCOMES)


def answered_within(calls: Iterable[QueueCall], servicelevel: int) -> int:
    """answered_within = answered entries with hold <= servicelevel seconds."""
    return sum(1 for c in calls if c.outcome in ANSWERED_OUTCOMES and (c.hold or 0) <= servicelevel)


def abandoned(calls: Iterable[QueueCall]) -> int:
    """abandoned = entries the caller hung up while waiting (ABANDON only)."""
    return sum(1 for c in calls if c.outcome == "abandoned")


def short_abandoned(calls: Iterable[QueueCall], short_abandon: int) -> int:
    """short_abandoned = abandoned entries with hold < short_abandon seconds."""
    return sum(1 for c in calls if c.outcome == "abandoned" and (c.hold or 0) < short_abandon)


def by_outcome(calls: Iterable[QueueCall], outcome: str) -> int:
    """Entries with exactly this outcome: timeout, exit_empty, exit_key, withdraw, join_empty."""
    return sum(1 for c in calls if c.outcome == outcome)


# --- ratios ------------------------------------------------------------------


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else 100.0 * num / den


def service_level(
    answered_within_sl: int, answered_n: int, offered_n: int, short_n: int, formula: SlFormula
) -> float | None:
    """Service level in %, by the queue's formula; None when the denominator is 0.

    * ``answered``:            answered_within ÷ answered
    * ``offered``:             answered_within ÷ offered
    * ``offered_minus_short``: answered_within ÷ (offered − short abandons)
    """
    if formula == "answered":
        return _ratio(answered_within_sl, answered_n)
    if formula == "offered":
        return _ratio(answered_within_sl, offered_n)
    if formula == "offered_minus_short":
        return _ratio(answered_within_sl, offered_n - short_n)
    raise ValueError(f"unknown service level formula {formula!r}")


def abandon_rate(abandoned_n: int, offered_n: int) -> float | None:
    """abandon rate % = abandoned ÷ offered (true caller abandons only)."""
    return _ratio(abandoned_n, offered_n)


def mean(total: int, n: int) -> float | None:
    """total ÷ n, None for n = 0 (an empty period has no average, not a zero one)."""
    return None if n == 0 else total / n


# --- the figure set ------------------------------------------------------------


@dataclass(slots=True)
class Figures:
    """Every count for one group of QueueCalls (a queue, an agent, an interval...).

    Counts are additive, so groups merge by `add`; ratios are derived properties.
    """

    offered: int = 0
    answered: int = 0
    transferred: int = 0
    answered_within_sl: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    timeout: int = 0
    exit_empty: int = 0
    join_empty: int = 0
    exit_key: int = 0
    withdraw: int = 0
    open: int = 0
    hold_answered_total: int = 0
    talk_total: int = 0
    talk_count: int = 0
    longest_wait: int = 0
    longest_answer_wait: int = 0
    ring_noanswer: int = 0
    # Asterisk's ServicelevelPerf2 numerator part: every record_abandoned() cause within SL
    asterisk_abandoned: int = 0
    asterisk_abandoned_within_sl: int = 0
    sl_formula: str = "answered"

    def count(self, c: QueueCall, rules: QueueRules) -> None:
        """Add one QueueCall under `rules` (the queue's servicelevel/short_abandon)."""
        if c.continued:
            return
        outcome = c.outcome
        self.ring_noanswer += c.ring_noanswer
        if outcome == "join_empty":
            self.join_empty += 1
            return
        self.offered += 1
        hold = c.hold or 0
        if outcome in ANSWERED_OUTCOMES:
            self.answered += 1
            if outcome == "transferred":
                self.transferred += 1
            if hold <= rules.servicelevel:
                self.answered_within_sl += 1
            self.hold_answered_total += hold
            if hold > self.longest_answer_wait:
                self.longest_answer_wait = hold
            if c.talk is not None:
                self.talk_total += c.talk
                self.talk_count += 1
        elif outcome == "abandoned":
            self.abandoned += 1
            if hold < rules.short_abandon:
                self.short_abandoned += 1
        elif outcome == "timeout":
            self.timeout += 1
        elif outcome == "exit_empty":
            self.exit_empty += 1
        elif outcome == "exit_key":
            self.exit_key += 1
        elif outcome == "withdraw":
            self.withdraw += 1
        else:
            self.open += 1
        if outcome in ASTERISK_ABANDON_OUTCOMES:
            self.asterisk_abandoned += 1
            if hold <= rules.servicelevel:
                self.asterisk_abandoned_within_sl += 1
        if c.hold is not None and outcome != "open" and hold > self.longest_wait:
            self.longest_wait = hold

    def add(self, other: Figures) -> None:
        """Merge another group's counts (longest waits take the max).

        `sl_formula` is the caller's choice for the merged group (see `total`).
        """
        # spelled out, not a getattr/setattr loop: a month's report merges ~100,000 groups
        self.offered += other.offered
        self.answered += other.answered
        self.transferred += other.transferred
        self.answered_within_sl += other.answered_within_sl
        self.abandoned += other.abandoned
        self.short_abandoned += other.short_abandoned
        self.timeout += other.timeout
        self.exit_empty += other.exit_empty
        self.join_empty += other.join_empty
        self.exit_key += other.exit_key
        self.withdraw += other.withdraw
        self.open += other.open
        self.hold_answered_total += other.hold_answered_total
        self.talk_total += other.talk_total
        self.talk_count += other.talk_count
        self.ring_noanswer += other.ring_noanswer
        self.asterisk_abandoned += other.asterisk_abandoned
        self.asterisk_abandoned_within_sl += other.asterisk_abandoned_within_sl
        if other.longest_wait > self.longest_wait:
            self.longest_wait = other.longest_wait
        if other.longest_answer_wait > self.longest_answer_wait:
            self.longest_answer_wait = other.longest_answer_wait

    # --- derived -------------------------------------------------------------
    @property
    def service_level(self) -> float | None:
        """SL % by this group's formula (see `service_level`)."""
        return service_level(
            self.answered_within_sl,
            self.answered,
            self.offered,
            self.short_abandoned,
            self.sl_formula,  # type: ignore[arg-type]
        )

    @property
    def asa(self) -> float | None:
        """ASA (average speed of answer) = Σ hold of answered ÷ answered, seconds."""
        return mean(self.hold_answered_total, self.answered)

    @property
    def aht(self) -> float | None:
        """AHT = Σ talk ÷ answered calls with a known talk time, seconds.

        Talk only: wrap-up is not measured per call by Asterisk (wrapuptime is a
        fixed pause after each call), so staffing adds the queue's wrapuptime
        explicitly (`erlang` takes the handle time as a parameter).
        """
        return mean(self.talk_total, self.talk_count)

    @property
    def abandon_rate(self) -> float | None:
        """abandoned ÷ offered, % (true caller abandons)."""
        return abandon_rate(self.abandoned, self.offered)

    @property
    def unanswered_exits(self) -> int:
        """timeout + exit_empty + exit_key + withdraw: the queue let the caller go."""
        return self.timeout + self.exit_empty + self.exit_key + self.withdraw

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out.update(
            service_level=_round(self.service_level),
            asa=_round(self.asa),
            aht=_round(self.aht),
            abandon_rate=_round(self.abandon_rate),
        )
        return out

    def counters(self) -> dict[str, int]:
        """The wallboard counter hash (cross-part contract `keys.counters(day, q)`)."""
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "timeout": self.timeout,
            "exit_empty": self.exit_empty,
            "join_empty": self.join_empty,
            "exit_key": self.exit_key,
            "answered_within_sl": self.answered_within_sl,
            "hold_total_s": self.hold_answered_total,
            "talk_total_s": self.talk_total,
            "talk_count": self.talk_count,
            "longest_hold_s": self.longest_answer_wait,
        }


_ADDITIVE = tuple(
    n
    for n in Figures.__dataclass_fields__
    if n not in ("longest_wait", "longest_answer_wait", "sl_formula")
)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def total(groups: Iterable[Figures]) -> Figures:
    """The sum of several queues' figures.

    Its SL uses the queues' common formula; when they differ, ``answered``
    (the only formula whose numerator and denominator are both about answered
    calls, so mixing queues cannot skew it).
    """
    items = list(groups)
    formulas = {g.sl_formula for g in items}
    out = Figures(sl_formula=formulas.pop() if len(formulas) == 1 else "answered")
    for g in items:
        out.add(g)
    return out


def figures(calls: Iterable[QueueCall], rules: QueueRules) -> Figures:
    """All counts of `calls` under one queue's rules."""
    out = Figures(sl_formula=rules.sl_formula)
    for c in calls:
        out.count(c, rules)
    return out


# --- Asterisk's own figures, for comparison ------------------------------------


@dataclass(frozen=True, slots=True)
class AsteriskFigures:
    """What app_queue's QueueParams would report for the same calls.

    * Completed = answered calls whose agent leg ended (AgentComplete/COMPLETE*).
    * Abandoned = every record_abandoned() cause: ABANDON, EXITWITHTIMEOUT,
      EXITEMPTY, WITHDRAW (not EXITWITHKEY).
    * Holdtime = running average over answers in answer order:
      h = (3*h + hold) // 4 (integers, starting at 0).
    * TalkTime = the same running average of talk over completions in end order.
    * ServicelevelPerf = 100 × completed within SL ÷ completed (hold <= SL).
    * ServicelevelPerf2 = 100 × (completed within SL + abandoned within SL)
      ÷ (completed + abandoned), abandons of every cause above.
    """

    completed: int
    abandoned: int
    holdtime: int
    talktime: int
    servicelevel_perf: float
    servicelevel_perf2: float


def running_average(values: Iterable[int]) -> int:
    """app_queue's `(3*old + new) / 4` in integer arithmetic, from 0."""
    avg = 0
    for v in values:
        avg = (3 * avg + v) >> 2
    return avg


def asterisk_figures(
    calls: Iterable[QueueCall], servicelevel: int, at: float | None = None
) -> AsteriskFigures:
    """Asterisk's QueueParams figures recomputed from QueueCalls (see AsteriskFigures).

    With `at` (epoch), the figures a QueueStatus sent at that instant would show:
    only answers (answered_at), completions and abandons (ended_at) up to `at`.
    """
    items = list(calls)

    def by(t: float | None) -> bool:
        return at is None or (t is not None and t <= at)

    answered_calls = [
        c for c in items if c.outcome in ANSWERED_OUTCOMES and by(c.answered_at or c.entered_at)
    ]
    completed = [c for c in answered_calls if c.talk is not None and by(c.ended_at)]
    in_sl = sum(1 for c in completed if (c.hold or 0) <= servicelevel)
    aband = [c for c in items if c.outcome in ASTERISK_ABANDON_OUTCOMES and by(c.ended_at)]
    aband_sl = sum(1 for c in aband if (c.hold or 0) <= servicelevel)
    by_answer = sorted(answered_calls, key=lambda c: (c.answered_at or c.entered_at, c.callid))
    by_end = sorted(completed, key=lambda c: (c.ended_at or 0.0, c.callid))
    perf = 0.0 if not completed else 100.0 * in_sl / len(completed)
    den = len(completed) + len(aband)
    perf2 = 0.0 if den == 0 else 100.0 * (in_sl + aband_sl) / den
    return AsteriskFigures(
        completed=len(completed),
        abandoned=len(aband),
        holdtime=running_average(c.hold or 0 for c in by_answer),
        talktime=running_average(c.talk or 0 for c in by_end),
        servicelevel_perf=round(perf, 1),
        servicelevel_perf2=round(perf2, 1),
    )
