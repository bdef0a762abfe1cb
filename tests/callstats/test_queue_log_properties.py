"""Property tests: any bytes never crash the parser; generated call histories round-trip."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callstats import aggregate
from callstats.definitions import QueueRules
from callstats.queue_log import QueueLogReader, parse_lines

FIELD = st.sampled_from(["inf", "-1", "nan", "1e400", "99999999999999", ""]) | st.text(
    alphabet=st.sampled_from("|0123456789.ABCEIKLMNOQRTUWX \n\r\xe9"), max_size=30
)
EVENTS = st.sampled_from(
    [
        "ENTERQUEUE",
        "CONNECT",
        "COMPLETECALLER",
        "COMPLETEAGENT",
        "ABANDON",
        "EXITEMPTY",
        "EXITWITHTIMEOUT",
        "EXITWITHKEY",
        "WITHDRAW",
        "RINGNOANSWER",
        "BLINDTRANSFER",
        "ATTENDEDTRANSFER",
        "ADDMEMBER",
        "PAUSE",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            FIELD, st.builds(lambda t, c, e, d: f"{t}|{c}|q|A|{e}|{d}", FIELD, FIELD, EVENTS, FIELD)
        ),
        max_size=30,
    )
)
def test_garbage_never_crashes(lines: list[str]) -> None:
    reader = QueueLogReader()
    reader.feed_lines(line + "\n" for line in lines)
    assert reader.lines == len(lines)
    calls = reader.calls()
    # whatever was accepted aggregates without error
    aggregate.by_interval(calls, lambda _q: QueueRules(), 15, "America/Mexico_City")
    aggregate.by_agent(calls, lambda _q: QueueRules())
    for call in calls:
        assert call.outcome in {
            "open",
            "answered",
            "transferred",
            "abandoned",
            "timeout",
            "exit_empty",
            "exit_key",
            "withdraw",
        }


EXIT_EVENTS = {
    "abandoned": "ABANDON",
    "timeout": "EXITWITHTIMEOUT",
    "exit_empty": "EXITEMPTY",
    "withdraw": "WITHDRAW",
}

call_st = st.fixed_dictionaries(
    {
        "queue": st.sampled_from(["network_es", "email_en", "general_es"]),
        "start": st.integers(0, 5000),
        "outcome": st.sampled_from(
            ["answered_caller", "answered_agent", "transferred", "exit_key", *EXIT_EVENTS]
        ),
        "hold": st.integers(0, 900),
        "talk": st.integers(0, 3600),
        "rna": st.lists(st.sampled_from(["Agent One", "Agent Two"]), max_size=4),
        "agent": st.sampled_from(["Agent One", "Agent Two", "Agent Three"]),
    }
)


def lines_for(i: int, c: dict) -> list[tuple[int, int, str]]:  # type: ignore[type-arg]
    """(time, order, line) for one call, as Asterisk would write it."""
    t0 = 1795339000 + c["start"]
    cid = f"{t0}.{i}"
    q = c["queue"]
    out = [(t0, 0, f"{t0}|{cid}|{q}|NONE|ENTERQUEUE||555{i:04d}|{i % 9 + 1}")]
    for k, agent in enumerate(c["rna"]):
        t = t0 + min(c["hold"], k + 1)
        out.append((t, 1, f"{t}|{cid}|{q}|{agent}|RINGNOANSWER|15000"))
    end_wait = t0 + c["hold"]
    o = c["outcome"]
    a = c["agent"]
    if o in EXIT_EVENTS:
        extra = "|reason" if o == "withdraw" else ""
        out.append(
            (
                end_wait,
                2,
                f"{end_wait}|{cid}|{q}|NONE|{EXIT_EVENTS[o]}|3|{i % 9 + 1}|{c['hold']}{extra}",
            )
        )
    elif o == "exit_key":
        out.append(
            (end_wait, 2, f"{end_wait}|{cid}|{q}|NONE|EXITWITHKEY|5|3|{i % 9 + 1}|{c['hold']}")
        )
    else:
        out.append((end_wait, 2, f"{end_wait}|{cid}|{q}|{a}|CONNECT|{c['hold']}|peer.{i}|2"))
        end = end_wait + c["talk"]
        h, tk = c["hold"], c["talk"]
        tail = {
            "answered_caller": f"COMPLETECALLER|{h}|{tk}|1",
            "answered_agent": f"COMPLETEAGENT|{h}|{tk}|1",
            "transferred": f"BLINDTRANSFER|200|from-internal|{h}|{tk}|1",
        }[o]
        out.append((end, 3, f"{end}|{cid}|{q}|{a}|{tail}"))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(call_st, max_size=25))
def test_generated_histories_round_trip(calls: list[dict]) -> None:  # type: ignore[type-arg]
    lines = sorted(
        (ln for i, c in enumerate(calls) for ln in lines_for(i, c)), key=lambda x: (x[0], x[1])
    )
    parsed = {c.callid: c for c in parse_lines(line + "\n" for _, _, line in lines)}
    assert len(parsed) == len(calls)
    for i, c in enumerate(calls):
        got = parsed[f"{1795339000 + c['start']}.{i}"]
        want_outcome = {
            "answered_caller": "answered",
            "answered_agent": "answered",
        }.get(c["outcome"], c["outcome"])
        assert got.outcome == want_outcome
        assert got.queue == c["queue"] and got.hold == c["hold"]
        assert got.entered_at == 1795339000 + c["start"]
        assert got.ring_noanswer == len(c["rna"])
        if c["rna"]:
            assert got.ring_noanswer_by_agent == {a: c["rna"].count(a) for a in set(c["rna"])}
        if want_outcome in ("answered", "transferred"):
            assert got.talk == c["talk"] and got.agent == c["agent"]
            assert got.hung_up_by == {"answered_caller": "caller"}.get(c["outcome"], "agent")
        else:
            assert got.talk is None
