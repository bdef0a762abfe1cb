"""Caller lookup with 1M contacts: indexed E.164 equality vs. a scan, same run.

    python -m bench.caller_lookup [--contacts 1000000] [--rebuild]

Builds (once, cached under /tmp keyed by a version and the size) a SQLite file
with N contacts and ~1.1 N phone numbers using the real schema, then times
`servicedesk.directory.lookup_caller` on ANIs in assorted real-world formats
(median µs per lookup, normalisation included). The anchor, measured in the
same run on the same file, is what a lookup costs without the index: the same
equality with the index disabled (`NOT INDEXED`) and the naive
`LIKE '%<last 8 digits>'` scan a hand-written lookup tends to use, on a smaller
sample because each one reads the whole table. The same lookup on a 10k-contact
file shows it stays flat as the directory grows. Rounds are interleaved so a
busy machine slows every variant alike. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.directory import lookup_caller, normalise_phone
from servicedesk.models import Base

VERSION = 1
CACHE = Path("/tmp/centralita-bench")
AREAS = ("55", "33", "81", "222", "442", "999")
# Every SHARED-th contact shares its number with the previous one (a reception desk).
SHARED = 997
# Every SECOND-th contact has a second (mobile) number.
SECOND = 10


def _local(i: int, digits: int) -> str:
    # A bijection on [0, 10^digits): distinct numbers, scattered like real ones.
    return str((i * 7919 + 1_234_567) % 10**digits).zfill(digits)


def phone_of(i: int) -> str:
    """The E.164 number of contact i (before sharing)."""
    area = AREAS[i % len(AREAS)]
    return f"+52{area}{_local(i, 10 - len(area))}"


def mobile_of(i: int) -> str:
    return f"+5256{_local(i + 10_000_000, 8)}"


def build(path: Path, n: int) -> float:
    """Create the file with the real schema; bulk insert; index afterwards."""
    t0 = time.perf_counter()
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{tmp}")
    Base.metadata.create_all(
        engine,
        tables=[Base.metadata.tables[t] for t in ("organisation", "contact", "contact_phone")],
    )
    engine.dispose()
    con = sqlite3.connect(tmp, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-200000")
    # Indexes are cheaper to build once than to maintain row by row.
    con.execute("DROP INDEX ix_contact_phone_e164")
    con.execute("BEGIN")
    created = "2026-01-01 00:00:00.000000+00:00"
    con.executemany(
        "INSERT INTO contact (id, name, language, vip, created_at) VALUES (?, ?, 'es', 0, ?)",
        ((i, None if i % 50 == 0 else f"Contacto {i}", created) for i in range(1, n + 1)),
    )

    def phones():  # type: ignore[no-untyped-def]
        for i in range(1, n + 1):
            e164 = phone_of(i - 1 if i % SHARED == 0 else i)
            yield (i, e164, None, e164, "work")
            if i % SECOND == 0:
                m = mobile_of(i)
                yield (i, m, None, m, "mobile")

    con.executemany(
        "INSERT INTO contact_phone (contact_id, e164, extension, raw, kind) VALUES (?, ?, ?, ?, ?)",
        phones(),
    )
    con.execute("COMMIT")
    con.execute("CREATE INDEX ix_contact_phone_e164 ON contact_phone (e164)")
    con.execute("ANALYZE")
    con.close()
    tmp.rename(path)
    return time.perf_counter() - t0


def spellings(e164: str) -> list[str]:
    """Ways the same number reaches us: ANI formats and old Mexican prefixes."""
    national = e164[3:]
    area = 2 if national[:2] in ("55", "33", "81", "56") else 3
    a, rest = national[:area], national[area:]
    return [
        e164,
        national,
        f"01{national}",
        f"+52 1 {a} {rest[:-4]} {rest[-4:]}",
        f"{a}-{rest[:-4]}-{rest[-4:]}",
        f"52{national}",
    ]


def median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def cached_file(n: int, rebuild: bool) -> tuple[Path, float | None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"caller_lookup-v{VERSION}-{n}.db"
    if rebuild or not path.exists():
        took = build(path, n)
        print(f"built {path} ({n:,} contacts) in {took:.1f} s")
        return path, took
    print(f"using cached {path}")
    return path, None


class LookupRun:
    """lookup_caller on known, unshared numbers of one file; every answer checked."""

    def __init__(self, path: Path, n: int, count: int, seed: int) -> None:
        self.engine = make_engine(f"sqlite:///{path}")
        self.session = make_sessionmaker(self.engine)()
        rng = random.Random(seed)
        picks = [rng.randrange(1, n + 1) for _ in range(count)]
        picks = [i for i in picks if i % SHARED not in (0, SHARED - 1)]
        self.anis = [(i, rng.choice(spellings(phone_of(i)))) for i in picks]
        self.timings: list[int] = []
        self._next = 0
        for i, ani in self.anis[:50]:  # warm up, and prove the answers are right
            r = lookup_caller(self.session, ani)
            assert r.status == "found" and r.contact is not None and r.contact.id == i, (ani, r)

    def run(self, k: int) -> None:
        for i, ani in self.anis[self._next : self._next + k]:
            t = time.perf_counter_ns()
            r = lookup_caller(self.session, ani)
            self.timings.append(time.perf_counter_ns() - t)
            if r.contact is None or r.contact.id != i:
                raise SystemExit(f"wrong answer for {ani!r}: {r}")
            self.session.expunge_all()
        self._next += k

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.caller_lookup")
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--lookups", type=int, default=3000)
    ap.add_argument("--scans", type=int, default=12, help="anchor sample (full table scans)")
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args(argv)
    n = args.contacts

    path, build_s = cached_file(n, args.rebuild)
    small_n = 10_000
    small_path, _ = cached_file(small_n, args.rebuild)
    big = LookupRun(path, n, args.lookups, seed=42)
    small = LookupRun(small_path, small_n, args.lookups, seed=7)
    anis = big.anis

    engine = make_engine(f"sqlite:///{path}")
    session = make_sessionmaker(engine)()
    phones_rows = session.execute(text("SELECT count(*) FROM contact_phone")).scalar_one()
    shared = lookup_caller(session, phone_of(SHARED - 1))
    assert shared.status == "ambiguous", shared
    conn = session.connection()
    eq_sql = text("SELECT contact_id FROM contact_phone WHERE e164 = :e")
    no_index_sql = text("SELECT contact_id FROM contact_phone NOT INDEXED WHERE e164 = :e")
    like_sql = text("SELECT contact_id FROM contact_phone WHERE e164 LIKE :p")

    # Interleaved rounds, so a busy machine slows every variant alike.
    normalise: list[int] = []
    plain: list[int] = []
    scan_eq: list[int] = []
    scan_like: list[int] = []
    per_round = max(1, len(anis) // args.scans)
    for r in range(args.scans):
        big.run(per_round)
        small.run(per_round)
        for _, ani in anis[r * per_round : (r + 1) * per_round]:
            t = time.perf_counter_ns()
            e164 = normalise_phone(ani).e164
            normalise.append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            conn.execute(eq_sql, {"e": e164}).all()
            plain.append(time.perf_counter_ns() - t)
        i, ani = anis[r]
        e164 = normalise_phone(ani).e164
        t = time.perf_counter_ns()
        ids = [row[0] for row in conn.execute(no_index_sql, {"e": e164})]
        scan_eq.append(time.perf_counter_ns() - t)
        assert i in ids
        digits = "".join(ch for ch in ani if ch.isdigit())[-8:]
        t = time.perf_counter_ns()
        ids = [row[0] for row in conn.execute(like_sql, {"p": f"%{digits}"})]
        scan_like.append(time.perf_counter_ns() - t)
        assert i in ids
    indexed = big.timings
    big.close()
    small.close()
    session.close()
    engine.dispose()

    fig = {
        "contacts": n,
        "phones": phones_rows,
        "build_s": round(build_s, 2) if build_s is not None else None,
        "lookup_median_us": round(median_us(indexed), 1),
        "lookup_p95_us": round(statistics.quantiles(indexed, n=20)[-1] / 1000, 1),
        "lookup_10k_median_us": round(median_us(small.timings), 1),
        "normalise_median_us": round(median_us(normalise), 1),
        "indexed_query_median_us": round(median_us(plain), 1),
        "anchor_no_index_median_us": round(median_us(scan_eq), 1),
        "anchor_like_scan_median_us": round(median_us(scan_like), 1),
        "lookups": len(indexed),
        "anchor_scans": len(scan_eq),
    }
    fig["ratio_no_index_vs_lookup"] = round(
        fig["anchor_no_index_median_us"] / fig["lookup_median_us"], 1
    )
    fig["ratio_like_vs_lookup"] = round(
        fig["anchor_like_scan_median_us"] / fig["lookup_median_us"], 1
    )
    fig["ratio_1m_vs_10k"] = round(fig["lookup_median_us"] / fig["lookup_10k_median_us"], 2)
    print(f"contacts {n:,}, phone rows {phones_rows:,}")
    print(
        f"lookup_caller (normalise + indexed query + load contact): median "
        f"{fig['lookup_median_us']} µs, p95 {fig['lookup_p95_us']} µs over {len(indexed)}"
    )
    print(f"same lookup with {small_n:,} contacts: median {fig['lookup_10k_median_us']} µs")
    print(f"  of which normalise_phone: median {fig['normalise_median_us']} µs")
    print(f"  of which the indexed equality query: median {fig['indexed_query_median_us']} µs")
    print(
        f"anchor, same equality with the index disabled: median "
        f"{fig['anchor_no_index_median_us']} µs over {len(scan_eq)}"
    )
    print(
        f"anchor, naive LIKE '%digits' scan: median {fig['anchor_like_scan_median_us']} µs "
        f"over {len(scan_like)}"
    )
    print(
        f"ratio: lookup is {fig['ratio_no_index_vs_lookup']}x faster than the unindexed "
        f"equality, {fig['ratio_like_vs_lookup']}x faster than the LIKE scan"
    )
    print(f"ratio: 1M vs 10k contacts {fig['ratio_1m_vs_10k']}x (an index keeps it flat)")
    print(json.dumps(fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
