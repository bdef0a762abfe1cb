"""A batch upsert on PostgreSQL as one short statement over arrays.

`INSERT … SELECT * FROM unnest(%(a)s::T[], %(b)s::U[], …) ON CONFLICT …` sends one
array per column. Why not SQLAlchemy's multi-row `VALUES (…), (…)`: its SQL text grows
with the batch (50 calls × 28 columns is 1,400 placeholders, ~20 KB), so psycopg
re-parses it on every batch (no query cache past 4 KB / 50 parameters) and the server
plans it afresh; that parsing alone cost more than the database work. The array form
is the same text for any batch size: parsed once, prepared by the server after a few
runs, and the values travel in binary. One statement per batch also means PostgreSQL's
statement-level summary triggers (`servicedesk.call_summary`) run once per batch.

Values go through each column's SQLAlchemy bind processor first (UTC datetimes, JSON),
as an ORM insert would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
    only_if_changed: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows` (dicts with the same keys) into `table`, updating `update` columns
    of rows whose `conflict` key exists (only where a value differs, with
    `only_if_changed`); returns the `returning` columns of every row written."""
    if not rows:
        return []
    dialect = conn.dialect
    assert dialect.name == "postgresql", "array upserts are PostgreSQL's"
    if any(r.keys() != rows[0].keys() for r in rows):
        raise ValueError(f"rows for {table.name} do not all have the same columns")
    defaults = _python_defaults(table, rows[0].keys())
    if defaults:
        rows = [{**defaults, **r} for r in rows]
    columns = list(rows[0])
    quote = dialect.identifier_preparer.quote
    params: dict[str, list[Any]] = {}
    casts = []
    for i, name in enumerate(columns):
        col = table.c[name]
        process = col.type.dialect_impl(dialect).bind_processor(dialect)
        values = [r[name] for r in rows]
        params[f"p{i}"] = [process(v) for v in values] if process else values
        casts.append(f"%(p{i})b::{col.type.compile(dialect=dialect)}[]")
    target = quote(table.name)
    sql = (
        f"INSERT INTO {target} ({', '.join(quote(c) for c in columns)})"
        f" SELECT * FROM unnest({', '.join(casts)})"
        f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET "
        + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
    )
    if only_if_changed:
        sql += " WHERE " + " OR ".join(
            f"{target}.{quote(c)} IS DISTINCT FROM excluded.{quote(c)}" for c in update
        )
    if returning:
        sql += " RETURNING " + ", ".join(quote(c) for c in returning)
        return [tuple(r) for r in conn.exec_driver_sql(sql, params).all()]
    conn.exec_driver_sql(sql, params)
    return []


def _python_defaults(table: Table, given: Iterable[str]) -> dict[str, Any]:
    """The Python-side defaults (`default=` scalars and functions) of the columns the
    rows leave out, as SQLAlchemy's insert fills them: once per batch."""
    out: dict[str, Any] = {}
    given = set(given)
    for col in table.columns:
        d = col.default
        if col.name in given or d is None:
            continue
        if d.is_scalar:
            out[col.name] = d.arg  # type: ignore[attr-defined]
        elif d.is_callable:
            out[col.name] = d.arg(None)  # type: ignore[attr-defined]
    return out
