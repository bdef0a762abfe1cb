"""The monthly service report at scale: figures counted by the database vs. in Python.

`python -m bench.monthly_report [--calls 1000000] [--incidents 100000] [--orgs 30]
[--runs 3] [--engines sqlite,postgresql]`

For each engine (a SQLite file and a private PostgreSQL cluster, both started
here), `bench.history` writes one month (2026-11) of `--calls` calls over the
example configuration's 9 queues and `--incidents` incidents over `--orgs`
organisations. Then, each in a fresh process (so its peak RSS is its own):

* **figures**: every section of the whole desk's internal report (calls per
  queue, day and hour, abandon causes, incidents, SLA, breaches, satisfaction,
  contracts, agents, staffing) — `service_report.build`: the calls from the
  trigger-kept summaries (`servicedesk.call_summary`, counted once after the
  bulk load as `centralita db summary` does), the incidents by GROUP BY;
* **pdf_one_org**: one organisation's client report built and rendered to PDF;
* **anchor**: the same call figures computed the way the report did before:
  loading each call as an ORM row, mapping it to a QueueCall and aggregating in
  Python (`records.queue_call_from_row` + `aggregate.by_queue`), plus the
  old monthly report's other sections. Its per-queue figures must equal the
  database's, or the bench fails.

* **writes**: the summaries' price on the listener — 2,000 calls written by the
  listener's CallStore (`bench.db_writes`: three writes each, rings upserted)
  into a fresh database, with and without the triggers.

Medians over `--runs` (the anchor runs once: it takes tens of seconds), wall
clock and this process's CPU (on a shared machine the CPU time is the steadier
figure; PostgreSQL's own CPU is not in it). Goals: figures ≤ 1 s and the PDF
≤ 3 s per database. `--calls 100000` iterates faster. The last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "centralita.example.toml"
YEAR, MONTH = 2026, 11


def _figures(url: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    from callstats.service_report import build
    from servicedesk.config import load_config
    from servicedesk.db import make_engine, make_sessionmaker

    cfg = load_config(CONFIG)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        t, cpu = time.perf_counter(), time.process_time()
        r = build(s, cfg, YEAR, MONTH, edition="internal", as_of=datetime(2026, 12, 3, tzinfo=UTC))
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
    engine.dispose()
    per_queue = {q.queue: q.figures.as_dict() for q in r.queues}
    return {
        "seconds": took,
        "cpu_seconds": cpu,
        "per_queue": per_queue,
        "offered": r.overall.offered,
        "incidents": r.headline.incidents_opened,
    }


def _pdf(url: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from callstats import service_render
    from callstats.service_report import Scope, build
    from servicedesk.config import load_config
    from servicedesk.db import make_engine, make_sessionmaker
    from servicedesk.models import Organisation

    cfg = load_config(CONFIG)
    engine = make_engine(url)
    service_render.charts.plt  # noqa: B018 - imported before the clock starts, as in a server
    import weasyprint  # noqa: F401

    with make_sessionmaker(engine)() as s:
        oid, name = s.execute(
            select(Organisation.id, Organisation.name).order_by(Organisation.id)
        ).first()  # type: ignore[misc]
        t, cpu = time.perf_counter(), time.process_time()
        r = build(
            s, cfg, YEAR, MONTH, scope=Scope(oid, name), as_of=datetime(2026, 12, 3, tzinfo=UTC)
        )
        pdf = service_render.to_pdf(r, cfg, "es")
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
    engine.dispose()
    return {"seconds": took, "cpu_seconds": cpu, "bytes": len(pdf)}


def _anchor(url: str) -> dict[str, Any]:
    """Load every call of the month as an ORM row and aggregate in Python (the old way)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from callstats import aggregate, reports
    from callstats.records import _window, queue_call_from_row
    from servicedesk.config import load_config
    from servicedesk.contracts import month_bounds
    from servicedesk.db import make_engine, make_sessionmaker
    from servicedesk.models import Call

    cfg = load_config(CONFIG)
    engine = make_engine(url)
    start, end = month_bounds(YEAR, MONTH, cfg.service.timezone)
    as_of = datetime(2026, 12, 3, tzinfo=UTC)
    with make_sessionmaker(engine)() as s:
        t = time.perf_counter()
        rows = s.scalars(select(Call).where(_window(start, end))).all()
        calls = [qc for qc in (queue_call_from_row(row) for row in rows) if qc is not None]
        rules_for = aggregate.rules_from_config(cfg)
        per_queue = aggregate.by_queue(calls, rules_for)
        # the old report's other sections, over the same calls
        reports.monthly_report(s, cfg, YEAR, MONTH, calls=calls, as_of=as_of)
        took = time.perf_counter() - t
    engine.dispose()
    return {"seconds": took, "per_queue": {q: f.as_dict() for q, f in per_queue.items()}}


WRITE_CALLS = 2000


def _listener_writes(engine: Any, pbx: str) -> float:
    """Seconds to write WRITE_CALLS calls the way the listener does (its CallStore,
    batches of 50, each call written three times: `bench.db_writes`)."""
    from ami_listener.store import CallStore
    from bench.db_writes import write_calls
    from servicedesk.db import make_sessionmaker

    store = CallStore(make_sessionmaker(engine), pbx)
    began = time.perf_counter()
    write_calls(store, 0, WRITE_CALLS, 50)
    return time.perf_counter() - began


def _write_cost(url: str) -> dict[str, Any]:
    """The triggers' price on the listener's writes: the same writes with and without."""
    from servicedesk import call_summary
    from servicedesk.db import make_engine
    from servicedesk.models import Base

    engine = make_engine(url, role="listener")
    Base.metadata.create_all(engine)
    with_triggers = _listener_writes(engine, "pbx-a")
    with engine.begin() as conn:
        call_summary.drop_triggers(conn)
    without = _listener_writes(engine, "pbx-b")
    engine.dispose()
    return {"with_triggers_s": with_triggers, "without_triggers_s": without}


def _child(fn_name: str, url: str, conn: Any) -> None:
    out = globals()[fn_name](url)
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.send(out)
    conn.close()


def in_child(fn_name: str, url: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter: its peak RSS is its own."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn_name, url, child))
    proc.start()
    out = parent.recv()
    proc.join()
    return out


def populate(url: str, calls: int, incidents: int, orgs: int) -> float:
    from bench.history import populate as fill
    from servicedesk import call_summary
    from servicedesk.config import load_config
    from servicedesk.db import make_engine
    from servicedesk.models import Base

    cfg = load_config(CONFIG)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:  # a bulk load: count the summaries once, afterwards
        call_summary.drop_triggers(conn)
    t = time.perf_counter()
    fill(
        engine,
        cfg,
        YEAR,
        MONTH,
        months=1,
        calls=calls,
        incidents=incidents,
        orgs=orgs,
        exact_due=False,
    )
    took = time.perf_counter() - t
    t = time.perf_counter()
    with engine.begin() as conn:
        call_summary.recount(conn, cfg)
    print(f"  summaries counted (`centralita db summary`) in {time.perf_counter() - t:.1f} s")
    # statistics for the planner, as after any bulk load; on PostgreSQL a VACUUM too, as
    # autovacuum does after many inserts (its visibility map lets the counts read the
    # indexes alone)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    engine.dispose()
    return took


def bench_engine(name: str, url: str, scratch_url: str, args: argparse.Namespace) -> dict[str, Any]:
    gen = populate(url, args.calls, args.incidents, args.orgs)
    print(
        f"[{name}] generated {args.calls:,} calls and {args.incidents:,} incidents in {gen:.1f} s",
        flush=True,
    )
    figs = [in_child("_figures", url) for _ in range(args.runs)]
    pdfs = [in_child("_pdf", url) for _ in range(args.runs)]
    anchor = in_child("_anchor", url)
    writes = in_child("_write_cost", scratch_url)
    if anchor["per_queue"] != figs[0]["per_queue"]:
        raise SystemExit(f"[{name}] the database's figures differ from the Python anchor's")
    out = {
        "figures_s": statistics.median(f["seconds"] for f in figs),
        "figures_cpu_s": statistics.median(f["cpu_seconds"] for f in figs),
        "figures_max_rss_mb": max(f["max_rss_mb"] for f in figs),
        "pdf_one_org_s": statistics.median(p["seconds"] for p in pdfs),
        "pdf_one_org_cpu_s": statistics.median(p["cpu_seconds"] for p in pdfs),
        "pdf_max_rss_mb": max(p["max_rss_mb"] for p in pdfs),
        "anchor_s": anchor["seconds"],
        "anchor_max_rss_mb": anchor["max_rss_mb"],
        "offered": figs[0]["offered"],
        "incidents_opened": figs[0]["incidents"],
    }
    out["ratio_anchor_over_figures"] = out["anchor_s"] / out["figures_s"]
    per_k = 1000 / WRITE_CALLS
    out["listener_writes_per_1000_calls_s"] = writes["with_triggers_s"] * per_k
    out["listener_writes_no_triggers_per_1000_calls_s"] = writes["without_triggers_s"] * per_k
    print(
        f"[{name}] figures (every section, whole desk) median {out['figures_s']:.3f} s "
        f"(CPU {out['figures_cpu_s']:.3f} s), peak {out['figures_max_rss_mb']:.0f} MB (goal ≤ 1 s)\n"
        f"[{name}] PDF for one organisation median {out['pdf_one_org_s']:.3f} s "
        f"(CPU {out['pdf_one_org_cpu_s']:.3f} s) (goal ≤ 3 s)\n"
        f"[{name}] anchor (ORM rows aggregated in Python) {out['anchor_s']:.2f} s, "
        f"peak {out['anchor_max_rss_mb']:.0f} MB; ratio anchor/figures {out['ratio_anchor_over_figures']:.1f}x; "
        f"per-queue figures identical\n"
        f"[{name}] summary triggers' price on the listener's writes (3 upserts + rings per "
        f"call): {out['listener_writes_per_1000_calls_s']:.2f} s per 1,000 calls vs "
        f"{out['listener_writes_no_triggers_per_1000_calls_s']:.2f} s without",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=1_000_000)
    p.add_argument("--incidents", type=int, default=100_000)
    p.add_argument("--orgs", type=int, default=30)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--engines", default="sqlite,postgresql")
    args = p.parse_args(argv)
    results: dict[str, Any] = {}
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-monthly-") as tmp:
        if "sqlite" in engines:
            results["sqlite"] = bench_engine(
                "sqlite", f"sqlite:///{tmp}/bench.db", f"sqlite:///{tmp}/writes.db", args
            )
        if "postgresql" in engines:
            sys.path.insert(0, str(ROOT))
            from tests.servers import PostgresServer

            server = PostgresServer()
            try:
                results["postgresql"] = bench_engine(
                    "postgresql",
                    server.create_database("bench"),
                    server.create_database("writes"),
                    args,
                )
            finally:
                server.stop()
    print(
        json.dumps(
            {
                "bench": "monthly_report",
                "calls": args.calls,
                "incidents": args.incidents,
                "organisations": args.orgs,
                **{
                    f"{e}_{k}": round(v, 3) if isinstance(v, float) else v
                    for e, r in results.items()
                    for k, v in r.items()
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
