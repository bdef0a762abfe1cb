"""Call summaries kept exact by database triggers, so a month's report reads thousands
of rows instead of a million.

Three tables, keyed by 15-minute UTC slot (first: a report reads a range of
slots) and PBX:

* `call_slot_summary`, per queue: every count of `callstats.definitions.Figures`
  for the calls counted in that slot (entered the queue then, or refused by
  joinempty when they started), plus the rings those calls let go;
* `call_agent_summary`, per agent (over every queue, each queue's threshold
  applied): the calls they answered and the rings they let go, as
  `callstats.sql_figures.agent_figures` counts them;
* `call_survey_summary`, per queue and score 1–5, by the slot the call *started* in.

They serve the whole desk's report; an organisation's report counts its own
call rows (the summaries are not keyed by organisation).

Why triggers, and not the listener's batch or a periodic refresh: a call row
changes after it is first written (answered, then transferred; a survey score
arriving later; a queue_log import; a fix by hand), and every one of those
writers must keep the summary exact. A row trigger sees the old and the new
row of every write, whoever makes it, inside the writer's own transaction: no
window where the summary and the rows disagree, nothing to invalidate, no
listener code to touch. The PBX is part of the key, so two listeners never
update the same summary row. The maxima (longest waits) cannot be subtracted:
when the row that held a slot's maximum changes to a shorter wait or leaves the
slot, the slot's maximum is recounted from the ~15 minutes of rows it covers
(an index range). The price, measured by `bench.monthly_report`: the listener's
writes of a call take about three times as long.

Service-level counts depend on each queue's thresholds (`servicelevel`,
`short_abandon`); the triggers read them from `call_summary_rule` (queue "" is
the default). `rebuild` rewrites the rules from the configuration and recounts
everything; the report compares the rules with the configuration and counts
from the raw rows when they differ (`centralita db summary` brings them back).

Times: slot = floor(epoch seconds / 900) of the entered-queue time (the start
for a joinempty refusal); every time zone's offset is a multiple of 15 minutes,
so a slot lies in one local interval of 15, 30 or 60 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    event,
    inspect,
)

from servicedesk.config import CentralitaConfig, QueueSettings
from servicedesk.models import Base

SLOT_SECONDS = 900
DEFAULT_SERVICELEVEL = QueueSettings.model_fields["servicelevel"].default
DEFAULT_SHORT_ABANDON = QueueSettings.model_fields["short_abandon"].default


@dataclass(frozen=True)
class SummaryRule:
    servicelevel: int
    short_abandon: int


# --- the counted columns, as SQL over one call row `{r}` ----------------------------
# {sl} and {short} are the row's queue thresholds (subqueries on call_summary_rule).

_ANS = "{r}.outcome IN ('answered', 'transferred')"
_HOLD = "COALESCE({r}.hold_seconds, 0)"
_ASTER = "{r}.outcome IN ('abandoned', 'timeout', 'exit_empty', 'withdraw')"
_CLOSED = (
    "{r}.outcome IN ('answered', 'transferred', 'abandoned', 'timeout', 'exit_empty',"
    " 'exit_key', 'callback_requested', 'withdraw')"
)
_RING_RESULTS = "('noanswer', 'busy')"


def _flag(cond: str) -> str:
    return f"CASE WHEN {cond} THEN 1 ELSE 0 END"


SLOT_COUNTS: dict[str, str] = {
    "join_empty": _flag("{r}.entered_queue_at IS NULL"),
    "offered": _flag("{r}.entered_queue_at IS NOT NULL"),
    "answered": _flag(_ANS),
    "transferred": _flag("{r}.outcome = 'transferred'"),
    "answered_within_sl": _flag(f"{_ANS} AND {_HOLD} <= {{sl}}"),
    "abandoned": _flag("{r}.outcome = 'abandoned'"),
    "short_abandoned": _flag(f"{{r}}.outcome = 'abandoned' AND {_HOLD} < {{short}}"),
    "timeout": _flag("{r}.outcome = 'timeout'"),
    "exit_empty": _flag("{r}.outcome = 'exit_empty'"),
    "exit_key": _flag("{r}.outcome IN ('exit_key', 'callback_requested')"),
    "withdraw": _flag("{r}.outcome = 'withdraw'"),
    "hold_answered_total": f"CASE WHEN {_ANS} THEN {_HOLD} ELSE 0 END",
    "talk_total": f"CASE WHEN {_ANS} THEN COALESCE({{r}}.talk_seconds, 0) ELSE 0 END",
    "talk_count": _flag(f"{_ANS} AND {{r}}.talk_seconds IS NOT NULL"),
    "asterisk_abandoned": _flag(_ASTER),
    "asterisk_abandoned_within_sl": _flag(f"{_ASTER} AND {_HOLD} <= {{sl}}"),
}
SLOT_MAXIMA: dict[str, str] = {
    "longest_wait": f"CASE WHEN {_CLOSED} THEN {{r}}.hold_seconds END",
    "longest_answer_wait": f"CASE WHEN {_ANS} THEN {_HOLD} END",
}
AGENT_COUNTS: dict[str, str] = {
    "answered": "1",
    "transferred": _flag("{r}.outcome = 'transferred'"),
    "answered_within_sl": _flag(f"{_HOLD} <= {{sl}}"),
    "talk_total": "COALESCE({r}.talk_seconds, 0)",
    "talk_count": _flag("{r}.talk_seconds IS NOT NULL"),
    "hold_total": _HOLD,
    "hung_up_by_agent": _flag("{r}.hung_up_by = 'agent'"),
}
# a row counts for the queue when it entered it, or was refused by joinempty
COUNTED = "({r}.entered_queue_at IS NOT NULL OR {r}.outcome = 'join_empty')"
# ... and for the queue's figures only when it is a caller call of its own: a leg that
# continues a call from another PBX (origin set) counts for the agent who takes it, and
# not again as offered to the queue (callstats.definitions_text, "transferred across")
QUEUE_COUNTED = COUNTED[:-1] + ") AND {r}.origin_pbx_id IS NULL"
AGENT_KEY = (
    "CASE WHEN {r}.agent_login IS NOT NULL AND {r}.agent_login <> '' "
    "THEN {r}.agent_login ELSE {r}.agent_member END"
)
# the columns whose change can change a summary (the UPDATE trigger ignores others)
WATCHED = (
    "pbx_id",
    "queue",
    "entered_queue_at",
    "started_at",
    "outcome",
    "hold_seconds",
    "talk_seconds",
    "agent_login",
    "agent_member",
    "hung_up_by",
    "satisfaction",
    "origin_pbx_id",
)

metadata = Base.metadata


def _key(*more: Column[object]) -> list[Column[object]]:
    """The slot first: a report reads a range of slots (clustered on SQLite)."""
    return [
        Column("slot", Integer, primary_key=True),
        Column("pbx_id", String(32), primary_key=True),
        *more,
    ]


def _counter(name: str) -> Column[int]:
    return Column(name, BigInteger, nullable=False, default=0, server_default="0")


call_slot_summary = Table(
    "call_slot_summary",
    metadata,
    *_key(Column("queue", String(80), primary_key=True)),
    *(_counter(n) for n in SLOT_COUNTS),
    _counter("ring_noanswer"),
    *(_counter(n) for n in SLOT_MAXIMA),
    sqlite_with_rowid=False,
)
# per agent over every queue: each queue's threshold is applied by the trigger
call_agent_summary = Table(
    "call_agent_summary",
    metadata,
    *_key(Column("agent", String(120), primary_key=True)),
    *(_counter(n) for n in AGENT_COUNTS),
    _counter("ring_noanswer"),
    sqlite_with_rowid=False,
)
call_survey_summary = Table(
    "call_survey_summary",
    metadata,
    *_key(
        Column("queue", String(80), primary_key=True),
        Column("score", Integer, primary_key=True),
    ),
    _counter("responses"),
    sqlite_with_rowid=False,
)
call_summary_rule = Table(
    "call_summary_rule",
    metadata,
    Column("queue", String(80), primary_key=True),
    Column("servicelevel", Integer, nullable=False),
    Column("short_abandon", Integer, nullable=False),
)
TABLES = (call_slot_summary, call_agent_summary, call_survey_summary, call_summary_rule)


# --- dialect spelling ------------------------------------------------------------------


class _Dialect:
    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def slot(self, column: str) -> str:
        if self.pg:
            return f"(CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT) / {SLOT_SECONDS})"
        return f"(CAST(strftime('%s', {column}) AS INTEGER) / {SLOT_SECONDS})"

    def at(self, seconds: str) -> str:
        """A datetime bound comparable with the stored column (SQLite stores text)."""
        if self.pg:
            return f"to_timestamp({seconds})"
        return f"strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch')"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"max({a}, {b})"

    def distinct(self, a: str, b: str) -> str:
        return f"{a} IS DISTINCT FROM {b}" if self.pg else f"{a} IS NOT {b}"


def _rule(r: str, column: str, default: int) -> str:
    return (
        f"COALESCE((SELECT {column} FROM call_summary_rule WHERE queue = COALESCE({r}.queue, '')),"
        f" (SELECT {column} FROM call_summary_rule WHERE queue = ''), {default})"
    )


def _fmt(expr: str, r: str) -> str:
    return expr.format(
        r=r,
        sl=_rule(r, "servicelevel", DEFAULT_SERVICELEVEL),
        short=_rule(r, "short_abandon", DEFAULT_SHORT_ABANDON),
    )


def _upsert(table: str, keys: list[str], adds: list[str], maxes: list[str], d: _Dialect) -> str:
    sets = [f"{c} = {table}.{c} + excluded.{c}" for c in adds]
    sets += [
        f"{c} = {d.greatest(f'COALESCE({table}.{c}, 0)', f'COALESCE(excluded.{c}, 0)')}"
        for c in maxes
    ]
    return f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}"


def _slot_change(
    r: str, sign: int, d: _Dialect, *, rings: bool, replaced_by: str | None = None
) -> list[str]:
    """Add (sign 1) or take away (-1) row `r`'s share of call_slot_summary;
    `replaced_by`: the row that takes its place (an UPDATE's NEW), added next."""
    counts = list(SLOT_COUNTS)
    values = [f"{sign} * ({_fmt(SLOT_COUNTS[c], r)})" for c in counts]
    cols = [*counts]
    if rings:
        cols.append("ring_noanswer")
        values.append(
            f"{sign} * (SELECT COUNT(*) FROM ring_attempt WHERE ring_attempt.call_id = {r}.id"
            f" AND ring_attempt.result IN {_RING_RESULTS})"
        )
    maxes = list(SLOT_MAXIMA) if sign > 0 else []
    cols += maxes
    values += [f"COALESCE({_fmt(SLOT_MAXIMA[c], r)}, 0)" for c in maxes]
    key = [
        f"{r}.pbx_id",
        f"COALESCE({r}.queue, '')",
        d.slot(f"COALESCE({r}.entered_queue_at, {r}.started_at)"),
    ]
    out = [
        f"INSERT INTO call_slot_summary (pbx_id, queue, slot, {', '.join(cols)}) "
        f"SELECT {', '.join(key + values)} WHERE {_fmt(QUEUE_COUNTED, r)}"
        + _upsert(
            "call_slot_summary",
            ["slot", "pbx_id", "queue"],
            cols[: len(cols) - len(maxes)],
            maxes,
            d,
        )
    ]
    if sign < 0:
        # the row may have held the slot's longest wait: recount the slot's maxima
        lo = d.slot(f"COALESCE({r}.entered_queue_at, {r}.started_at)") + f" * {SLOT_SECONDS}"
        where = (
            f"c.pbx_id = {r}.pbx_id AND COALESCE(c.queue, '') = COALESCE({r}.queue, '')"
            f" AND c.entered_queue_at >= {d.at(lo)}"
            f" AND c.entered_queue_at < {d.at(f'{lo} + {SLOT_SECONDS}')} AND c.id <> {r}.id"
            " AND c.origin_pbx_id IS NULL"
        )
        sets = ", ".join(
            f'{c} = COALESCE((SELECT MAX({_fmt(SLOT_MAXIMA[c], "c")}) FROM "call" c WHERE {where}), 0)'
            for c in SLOT_MAXIMA
        )
        # ... unless its replacement, in the same slot, waits as long or longer (the
        # listener's usual update): then the maximum stands, and no rows are read
        kept = "FALSE"
        if replaced_by is not None:
            n = replaced_by
            kept = (
                f"{n}.pbx_id = {r}.pbx_id AND COALESCE({n}.queue, '') = COALESCE({r}.queue, '')"
                f" AND {n}.origin_pbx_id IS NULL"
                f" AND {n}.entered_queue_at IS NOT NULL"
                f" AND {d.slot(f'{n}.entered_queue_at')} = {d.slot(f'{r}.entered_queue_at')}"
                " AND COALESCE({new}, 0) >= COALESCE({old}, 0)"
            )
        held = " OR ".join(
            f"(COALESCE({_fmt(SLOT_MAXIMA[c], r)}, 0) >= call_slot_summary.{c}"
            f" AND call_slot_summary.{c} > 0 AND NOT ("
            + kept.format(new=_fmt(SLOT_MAXIMA[c], replaced_by or r), old=_fmt(SLOT_MAXIMA[c], r))
            + "))"
            for c in SLOT_MAXIMA
        )
        out.append(
            f"UPDATE call_slot_summary SET {sets} WHERE pbx_id = {r}.pbx_id"
            f" AND queue = COALESCE({r}.queue, '') AND slot = {d.slot(f'{r}.entered_queue_at')}"
            f" AND {r}.entered_queue_at IS NOT NULL AND ({held})"
        )
    return out


def _agent_change(r: str, sign: int, d: _Dialect) -> list[str]:
    """Row `r`'s share of call_agent_summary: its answer, and the rings it let go."""
    cols = list(AGENT_COUNTS)
    values = [f"{sign} * ({_fmt(AGENT_COUNTS[c], r)})" for c in cols]
    agent = _fmt(AGENT_KEY, r)
    slot = d.slot(f"COALESCE({r}.entered_queue_at, {r}.started_at)")
    keys = ["slot", "pbx_id", "agent"]
    answered = (
        f"INSERT INTO call_agent_summary (pbx_id, slot, agent, {', '.join(cols)}) "
        f"SELECT {r}.pbx_id, {slot}, {agent}, {', '.join(values)} "
        f"WHERE {_fmt(COUNTED, r)} AND {_fmt(_ANS, r)} AND {agent} IS NOT NULL AND {agent} <> ''"
        + _upsert("call_agent_summary", keys, cols, [], d)
    )
    rings = (
        "INSERT INTO call_agent_summary (pbx_id, slot, agent, ring_noanswer) "
        f"SELECT {r}.pbx_id, {slot}, COALESCE(ra.agent_login, ''),"
        f" {sign} * COUNT(*) FROM ring_attempt ra WHERE ra.call_id = {r}.id"
        f" AND ra.result IN {_RING_RESULTS} AND {_fmt(COUNTED, r)}"
        " GROUP BY COALESCE(ra.agent_login, '')"
        + _upsert("call_agent_summary", keys, ["ring_noanswer"], [], d)
    )
    return [answered, rings]


def _survey_change(r: str, sign: int, d: _Dialect) -> list[str]:
    return [
        "INSERT INTO call_survey_summary (pbx_id, queue, slot, score, responses) "
        f"SELECT {r}.pbx_id, COALESCE({r}.queue, ''), {d.slot(f'{r}.started_at')},"
        f" {r}.satisfaction, {sign} WHERE {r}.satisfaction BETWEEN 1 AND 5"
        + _upsert("call_survey_summary", ["slot", "pbx_id", "queue", "score"], ["responses"], [], d)
    ]


def _call_change(
    r: str, sign: int, d: _Dialect, *, rings: bool = True, replaced_by: str | None = None
) -> list[str]:
    out = _slot_change(r, sign, d, rings=rings, replaced_by=replaced_by)
    out += _agent_change(r, sign, d)
    out += _survey_change(r, sign, d)
    return out


def _ring_change(r: str, sign: int, d: _Dialect) -> list[str]:
    """One ring row's share: +-1 for its call's slot and for its agent, if it let go."""
    slot = d.slot("COALESCE(c.entered_queue_at, c.started_at)")
    where = f"WHERE c.id = {r}.call_id AND {r}.result IN {_RING_RESULTS} AND {_fmt(COUNTED, 'c')}"
    return [
        "INSERT INTO call_slot_summary (pbx_id, queue, slot, ring_noanswer) "
        f"SELECT c.pbx_id, COALESCE(c.queue, ''), {slot}, {sign} FROM \"call\" c {where}"
        " AND c.origin_pbx_id IS NULL"
        + _upsert("call_slot_summary", ["slot", "pbx_id", "queue"], ["ring_noanswer"], [], d),
        "INSERT INTO call_agent_summary (pbx_id, slot, agent, ring_noanswer) "
        f"SELECT c.pbx_id, {slot}, COALESCE({r}.agent_login, ''), {sign}"
        f' FROM "call" c {where}'
        + _upsert("call_agent_summary", ["slot", "pbx_id", "agent"], ["ring_noanswer"], [], d),
    ]


# --- PostgreSQL: statement-level triggers over transition tables ------------------------
# PostgreSQL can run a trigger once per statement with the statement's old and new
# rows as tables: the listener's multi-row upsert of a batch then costs a handful of
# set-based statements (GROUP BY the summary key) instead of ~10 statements per row.
# SQLite has row triggers only; it keeps the row-level ones above.


def _pg_fmt(expr: str) -> str:
    return expr.format(r="r", sl="r._sl", short="r._short")


def _pg_signed(update: bool) -> str:
    """The rows a statement changed, with a sign: -1 for an old version, +1 for a new
    one. For an UPDATE both versions of every row are grouped on the watched columns:
    a row whose watched columns did not change sums to zero and drops out, a changed
    one leaves its old (-1) and new (+1) versions. No join of the old and new rows
    (PostgreSQL plans a transition table as one row: a nested loop over the batch)."""
    cols = ", ".join(("id", *WATCHED))
    if not update:
        return f"SELECT {cols}, 1 AS _sign FROM new_rows"
    return (
        f"SELECT {cols}, SUM(_sign) AS _sign FROM (SELECT {cols}, -1 AS _sign FROM old_rows"
        f" UNION ALL SELECT {cols}, 1 FROM new_rows) v GROUP BY {cols} HAVING SUM(_sign) <> 0"
    )


def _pg_call_delta(update: bool) -> str:
    """The signed rows with their queue's thresholds and let-go rings, computed once per
    statement (MATERIALIZED) and read by every summary's upsert."""
    return (
        f"WITH d AS MATERIALIZED (SELECT r.*,"
        f" COALESCE(q.servicelevel, q0.servicelevel, {DEFAULT_SERVICELEVEL}) AS _sl,"
        f" COALESCE(q.short_abandon, q0.short_abandon, {DEFAULT_SHORT_ABANDON}) AS _short,"
        " (SELECT COUNT(*) FROM ring_attempt ra WHERE ra.call_id = r.id"
        f" AND ra.result IN {_RING_RESULTS}) AS _rings"
        f" FROM ({_pg_signed(update)}) r"
        " LEFT JOIN call_summary_rule q ON q.queue = COALESCE(r.queue, '')"
        " LEFT JOIN call_summary_rule q0 ON q0.queue = '')"
    )


def _pg_max_recount() -> str:
    """A slot's longest waits cannot be taken away: when the old versions of the changed
    rows reach a slot's maximum and their new versions in that slot stay below it, the
    maximum is recounted from the slot's rows as they now stand (a statement trigger
    runs after the statement). The usual update (a call re-written with the same or a
    longer wait) reads no rows."""
    d = _Dialect("postgresql")
    lo = f"s.slot * {SLOT_SECONDS}"
    where = (
        "c.pbx_id = s.pbx_id AND COALESCE(c.queue, '') = s.queue"
        f" AND c.entered_queue_at >= {d.at(lo)}"
        f" AND c.entered_queue_at < {d.at(f'{lo} + {SLOT_SECONDS}')}"
        " AND c.origin_pbx_id IS NULL"
    )
    sets = ", ".join(
        f'{c} = COALESCE((SELECT MAX({_fmt(SLOT_MAXIMA[c], "c")}) FROM "call" c WHERE {where}), 0)'
        for c in SLOT_MAXIMA
    )
    per_slot = ", ".join(
        f"MAX(CASE WHEN r._sign < 0 THEN {_fmt(SLOT_MAXIMA[c], 'r')} END) AS old_{c},"
        f" MAX(CASE WHEN r._sign > 0 THEN {_fmt(SLOT_MAXIMA[c], 'r')} END) AS new_{c}"
        for c in SLOT_MAXIMA
    )
    held = " OR ".join(
        f"(COALESCE(k.old_{c}, 0) >= s.{c} AND s.{c} > 0 AND COALESCE(k.new_{c}, 0) < s.{c})"
        for c in SLOT_MAXIMA
    )
    return (
        f"UPDATE call_slot_summary s SET {sets} FROM (SELECT r.pbx_id,"
        f" COALESCE(r.queue, '') AS queue, {d.slot('r.entered_queue_at')} AS slot, {per_slot}"
        f" FROM ({_pg_signed(True)}) r"
        " WHERE r.entered_queue_at IS NOT NULL AND r.origin_pbx_id IS NULL GROUP BY 1, 2, 3) k"
        f" WHERE s.pbx_id = k.pbx_id AND s.queue = k.queue AND s.slot = k.slot AND ({held})"
    )


def _pg_call_statements(update: bool) -> list[str]:
    """One statement adding the changed rows' shares to the three summaries (each
    summary table written by one sub-statement: a row is never changed twice)."""
    d = _Dialect("postgresql")
    slot = d.slot("COALESCE(r.entered_queue_at, r.started_at)")
    counts = [f"SUM(r._sign * ({_pg_fmt(SLOT_COUNTS[c])}))" for c in SLOT_COUNTS]
    maxes = [
        f"COALESCE(MAX(CASE WHEN r._sign > 0 THEN ({_pg_fmt(SLOT_MAXIMA[c])}) END), 0)"
        for c in SLOT_MAXIMA
    ]
    slot_cols = [*SLOT_COUNTS, "ring_noanswer"]
    slot_add = (
        f"INSERT INTO call_slot_summary (pbx_id, queue, slot, {', '.join(slot_cols)},"
        f" {', '.join(SLOT_MAXIMA)}) SELECT r.pbx_id, COALESCE(r.queue, ''), {slot},"
        f" {', '.join(counts)}, SUM(r._sign * r._rings), {', '.join(maxes)}"
        f" FROM d r WHERE {_pg_fmt(QUEUE_COUNTED)} GROUP BY 1, 2, 3"
        + _upsert("call_slot_summary", ["slot", "pbx_id", "queue"], slot_cols, list(SLOT_MAXIMA), d)
    )
    agent = _pg_fmt(AGENT_KEY)
    acols = [*AGENT_COUNTS, "ring_noanswer"]
    answered = ", ".join(f"r._sign * ({_pg_fmt(AGENT_COUNTS[c])})" for c in AGENT_COUNTS)
    no_answer = ", ".join("0" for _ in AGENT_COUNTS)
    agent_add = (
        f"INSERT INTO call_agent_summary (pbx_id, slot, agent, {', '.join(acols)})"
        f" SELECT pbx_id, slot, agent, {', '.join(f'SUM({c})' for c in acols)} FROM ("
        f"SELECT r.pbx_id, {slot} AS slot, {agent} AS agent, {answered}, 0 AS ring_noanswer"
        f" FROM d r WHERE {_pg_fmt(COUNTED)} AND {_pg_fmt(_ANS)}"
        f" AND {agent} IS NOT NULL AND {agent} <> ''"
        f" UNION ALL SELECT r.pbx_id, {slot}, COALESCE(ra.agent_login, ''), {no_answer}, r._sign"
        f" FROM d r JOIN ring_attempt ra ON ra.call_id = r.id"
        f" AND ra.result IN {_RING_RESULTS} WHERE {_pg_fmt(COUNTED)}"
        f") x ({', '.join(['pbx_id', 'slot', 'agent', *acols])}) GROUP BY 1, 2, 3"
        + _upsert("call_agent_summary", ["slot", "pbx_id", "agent"], acols, [], d)
    )
    survey_add = (
        "INSERT INTO call_survey_summary (pbx_id, queue, slot, score, responses)"
        f" SELECT r.pbx_id, COALESCE(r.queue, ''), {d.slot('r.started_at')}, r.satisfaction,"
        f" SUM(r._sign) FROM d r WHERE r.satisfaction BETWEEN 1 AND 5"
        " GROUP BY 1, 2, 3, 4 HAVING SUM(r._sign) <> 0"
        + _upsert("call_survey_summary", ["slot", "pbx_id", "queue", "score"], ["responses"], [], d)
    )
    add = (
        f"{_pg_call_delta(update)}, slot_add AS ({slot_add}), agent_add AS ({agent_add})"
        f" {survey_add}"
    )
    return [_pg_max_recount(), add] if update else [add]


def _pg_ring_statements(update: bool) -> list[str]:
    d = _Dialect("postgresql")
    cols = "id, call_id, result, agent_login"
    if update:  # unchanged rings sum to zero (see _pg_signed)
        delta = (
            f"SELECT {cols}, SUM(_sign) AS _sign FROM (SELECT {cols}, -1 AS _sign FROM old_rows"
            f" UNION ALL SELECT {cols}, 1 FROM new_rows) v GROUP BY {cols} HAVING SUM(_sign) <> 0"
        )
    else:
        delta = f"SELECT {cols}, 1 AS _sign FROM new_rows"
    slot = d.slot("COALESCE(c.entered_queue_at, c.started_at)")
    rings = (
        f"WITH r AS MATERIALIZED (SELECT c.pbx_id, c.queue, c.origin_pbx_id, {slot} AS slot,"
        f' r.agent_login, r._sign FROM ({delta}) r JOIN "call" c ON c.id = r.call_id'
        f" WHERE r.result IN {_RING_RESULTS} AND {_fmt(COUNTED, 'c')})"
    )
    slot_add = (
        "INSERT INTO call_slot_summary (pbx_id, queue, slot, ring_noanswer)"
        " SELECT pbx_id, COALESCE(queue, ''), slot, SUM(_sign) FROM r"
        " WHERE origin_pbx_id IS NULL GROUP BY 1, 2, 3 HAVING SUM(_sign) <> 0"
        + _upsert("call_slot_summary", ["slot", "pbx_id", "queue"], ["ring_noanswer"], [], d)
    )
    agent_add = (
        "INSERT INTO call_agent_summary (pbx_id, slot, agent, ring_noanswer)"
        " SELECT pbx_id, slot, COALESCE(agent_login, ''), SUM(_sign) FROM r"
        " GROUP BY 1, 2, 3 HAVING SUM(_sign) <> 0"
        + _upsert("call_agent_summary", ["slot", "pbx_id", "agent"], ["ring_noanswer"], [], d)
    )
    return [f"{rings}, slot_add AS ({slot_add}) {agent_add}"]


# --- triggers ----------------------------------------------------------------------------

_TRIGGERS = ("call_summary_ins", "call_summary_upd", "call_summary_del")
_RING_TRIGGERS = ("ring_summary_ins", "ring_summary_upd", "ring_summary_del")


def _changed(d: _Dialect) -> str:
    return " OR ".join(d.distinct(f"OLD.{c}", f"NEW.{c}") for c in WATCHED)


def trigger_sql(dialect: str, *, statement_level: bool = True) -> list[str]:
    """CREATE statements for every trigger (and, on PostgreSQL, their functions);
    `statement_level=False` gives PostgreSQL the row triggers of revision
    reportspeed_call_summaries (its downgrade target)."""
    d = _Dialect(dialect)
    plans = {
        # name: (table, timing, event, statements, when)
        "call_summary_ins": ('"call"', "AFTER", "INSERT", _call_change("NEW", 1, d), None),
        "call_summary_upd": (
            '"call"',
            "AFTER",
            "UPDATE",
            _call_change("OLD", -1, d, replaced_by="NEW") + _call_change("NEW", 1, d),
            _changed(d),
        ),
        # before: the rings are still there to be taken away with the call
        "call_summary_del": ('"call"', "BEFORE", "DELETE", _call_change("OLD", -1, d), None),
        "ring_summary_ins": ("ring_attempt", "AFTER", "INSERT", _ring_change("NEW", 1, d), None),
        "ring_summary_upd": (
            "ring_attempt",
            "AFTER",
            "UPDATE",
            _ring_change("OLD", -1, d) + _ring_change("NEW", 1, d),
            None,
        ),
        "ring_summary_del": ("ring_attempt", "AFTER", "DELETE", _ring_change("OLD", -1, d), None),
    }
    if d.pg and statement_level:
        # inserts and updates: once per statement (above); deletes stay row by row
        # (before a call's delete its rings are still there to take away)
        for name, table, ev, stmts in (
            ("call_summary_ins", '"call"', "INSERT", _pg_call_statements(False)),
            ("call_summary_upd", '"call"', "UPDATE", _pg_call_statements(True)),
            ("ring_summary_ins", "ring_attempt", "INSERT", _pg_ring_statements(False)),
            ("ring_summary_upd", "ring_attempt", "UPDATE", _pg_ring_statements(True)),
        ):
            plans[name] = (table, "AFTER", ev, stmts, "statement")
    out: list[str] = []
    for name, (table, timing, ev, stmts, when) in plans.items():
        body = ";\n".join(stmts) + ";"
        if d.pg:
            ret = "OLD" if timing == "BEFORE" else "NULL"
            out.append(
                f"CREATE OR REPLACE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n{body}\nRETURN {ret};\nEND $$"
            )
            if when == "statement":
                tables = (
                    "OLD TABLE AS old_rows NEW TABLE AS new_rows"
                    if ev == "UPDATE"
                    else ("NEW TABLE AS new_rows")
                )
                out.append(
                    f"CREATE TRIGGER {name} {timing} {ev} ON {table} REFERENCING {tables}"
                    f" FOR EACH STATEMENT EXECUTE FUNCTION {name}_fn()"
                )
                continue
            cond = f" WHEN ({when})" if when else ""
            out.append(
                f"CREATE TRIGGER {name} {timing} {ev} ON {table} FOR EACH ROW{cond}"
                f" EXECUTE FUNCTION {name}_fn()"
            )
        else:
            cond = f" WHEN {when}" if when else ""
            out.append(
                f"CREATE TRIGGER {name} {timing} {ev} ON {table} FOR EACH ROW{cond}\nBEGIN\n{body}\nEND"
            )
    return out


def drop_sql(dialect: str) -> list[str]:
    out: list[str] = []
    for name, table in [(t, '"call"') for t in _TRIGGERS] + [
        (t, "ring_attempt") for t in _RING_TRIGGERS
    ]:
        if dialect == "postgresql":
            out += [
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"DROP FUNCTION IF EXISTS {name}_fn()",
            ]
        else:
            out.append(f"DROP TRIGGER IF EXISTS {name}")
    return out


def install(conn: Connection, rules: Mapping[str, SummaryRule] | None = None) -> None:
    """Create the summary tables and triggers (idempotent), then count what is there
    (with `rules`, else the stored ones)."""
    for table in TABLES:
        table.create(conn, checkfirst=True)
    for stmt in drop_sql(conn.dialect.name) + trigger_sql(conn.dialect.name):
        conn.exec_driver_sql(stmt)
    rebuild(conn, rules)


def drop_triggers(conn: Connection) -> None:
    """For a bulk load: drop the triggers, load, then `install` to count once."""
    for stmt in drop_sql(conn.dialect.name):
        conn.exec_driver_sql(stmt)


def uninstall(conn: Connection) -> None:
    drop_triggers(conn)
    for table in reversed(TABLES):
        table.drop(conn, checkfirst=True)


# --- counting from scratch -------------------------------------------------------------


def rebuild(conn: Connection, rules: Mapping[str, SummaryRule] | None) -> None:
    """Recount every summary from the call rows; `rules` (queue → thresholds, "" the
    default) replaces the stored rules first (None keeps them). One transaction with
    the caller's: a report never sees the tables half rebuilt."""
    d = _Dialect(conn.dialect.name)
    if rules is not None:
        conn.execute(call_summary_rule.delete())
        if rules:
            conn.execute(
                call_summary_rule.insert(),
                [
                    {"queue": q, "servicelevel": r.servicelevel, "short_abandon": r.short_abandon}
                    for q, r in rules.items()
                ],
            )
    for t in (call_slot_summary, call_agent_summary, call_survey_summary):
        conn.execute(t.delete())
    r = "c"
    key = f"c.pbx_id, COALESCE(c.queue, ''), {d.slot('COALESCE(c.entered_queue_at, c.started_at)')}"
    sums = [f"SUM({_fmt(SLOT_COUNTS[col], r)})" for col in SLOT_COUNTS]
    maxes = [f"COALESCE(MAX({_fmt(SLOT_MAXIMA[col], r)}), 0)" for col in SLOT_MAXIMA]
    conn.exec_driver_sql(
        f"INSERT INTO call_slot_summary (pbx_id, queue, slot, {', '.join([*SLOT_COUNTS, *SLOT_MAXIMA])}) "
        f'SELECT {key}, {", ".join(sums + maxes)} FROM "call" c WHERE {_fmt(QUEUE_COUNTED, r)}'
        f" GROUP BY {key}"
    )
    agent = _fmt(AGENT_KEY, r)
    akey = f"c.pbx_id, {d.slot('COALESCE(c.entered_queue_at, c.started_at)')}"
    conn.exec_driver_sql(
        f"INSERT INTO call_agent_summary (pbx_id, slot, agent, {', '.join(AGENT_COUNTS)}) "
        f"SELECT {akey}, {agent}, {', '.join(f'SUM({_fmt(v, r)})' for v in AGENT_COUNTS.values())}"
        f' FROM "call" c WHERE {_fmt(COUNTED, r)} AND {_fmt(_ANS, r)}'
        f" AND {agent} IS NOT NULL AND {agent} <> '' GROUP BY {akey}, {agent}"
    )
    ring_from = (
        f'FROM ring_attempt ra JOIN "call" c ON c.id = ra.call_id'
        f" WHERE ra.result IN {_RING_RESULTS} AND {_fmt(COUNTED, r)}"
    )
    conn.exec_driver_sql(
        f"INSERT INTO call_slot_summary (pbx_id, queue, slot, ring_noanswer) "
        f"SELECT {key}, COUNT(*) {ring_from} AND c.origin_pbx_id IS NULL GROUP BY {key}"
        + _upsert("call_slot_summary", ["slot", "pbx_id", "queue"], ["ring_noanswer"], [], d)
    )
    conn.exec_driver_sql(
        f"INSERT INTO call_agent_summary (pbx_id, slot, agent, ring_noanswer) "
        f"SELECT {akey}, COALESCE(ra.agent_login, ''), COUNT(*) {ring_from}"
        f" GROUP BY {akey}, COALESCE(ra.agent_login, '')"
        + _upsert("call_agent_summary", ["slot", "pbx_id", "agent"], ["ring_noanswer"], [], d)
    )
    skey = f"c.pbx_id, COALESCE(c.queue, ''), {d.slot('c.started_at')}, c.satisfaction"
    conn.exec_driver_sql(
        "INSERT INTO call_survey_summary (pbx_id, queue, slot, score, responses) "
        f'SELECT {skey}, COUNT(*) FROM "call" c WHERE c.satisfaction BETWEEN 1 AND 5'
        f" GROUP BY {skey}"
    )


def config_rules(cfg: CentralitaConfig) -> dict[str, SummaryRule]:
    """Every configured queue's thresholds, and the defaults (`queue_defaults`) under ""
    (as `callstats.aggregate.settings_from_config` resolves them)."""
    table = {name: q.settings for name, q in cfg.queue_definitions().items()}
    for name, settings in cfg.queues.items():
        table.setdefault(name, settings)
    out = {"": SummaryRule(cfg.queue_defaults.servicelevel, cfg.queue_defaults.short_abandon)}
    for name, settings in table.items():
        out[name] = SummaryRule(settings.servicelevel, settings.short_abandon)
    return out


def recount(conn: Connection, cfg: CentralitaConfig) -> None:
    """Install the triggers if missing, store the configuration's thresholds and
    recount every summary, in the caller's transaction (`centralita db summary`)."""
    install(conn, config_rules(cfg))


def stored_rules(conn: Connection) -> dict[str, SummaryRule]:
    return {
        q: SummaryRule(int(sl), int(short))
        for q, sl, short in conn.execute(
            call_summary_rule.select().with_only_columns(
                call_summary_rule.c.queue,
                call_summary_rule.c.servicelevel,
                call_summary_rule.c.short_abandon,
            )
        )
    }


def effective_rule(rules: Mapping[str, SummaryRule], queue: str) -> SummaryRule:
    """The thresholds the triggers used for `queue` (as `_rule` looks them up)."""
    return (
        rules.get(queue)
        or rules.get("")
        or SummaryRule(DEFAULT_SERVICELEVEL, DEFAULT_SHORT_ABANDON)
    )


def _after_create(target: MetaData, connection: Connection, **_: object) -> None:
    """`Base.metadata.create_all` (tests, benches) installs the triggers too."""
    names = set(inspect(connection).get_table_names())
    if {"call", "ring_attempt", *(t.name for t in TABLES)} <= names:
        install(connection)


event.listen(metadata, "after_create", _after_create)
