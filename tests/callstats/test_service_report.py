"""The monthly service report's figures, section by section, against hand-computed
expectations on the small month of `service_fixture` (both engines), and the
XLSX, PDF and HTML renderings of the same report."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from callstats import erlang, service_render
from callstats.service_report import Scope, ScopeError, build, resolve_scope
from callstats.staffing import history_plan_for_month
from servicedesk.config import CentralitaConfig
from tests.callstats.service_fixture import ALFA, AS_OF, BETA, seed_month


@pytest.fixture()
def month(session_factory: sessionmaker[Session]) -> dict[str, int]:
    return seed_month(session_factory)


def _alfa(s: Session, cfg: CentralitaConfig, edition: str = "client"):  # type: ignore[no-untyped-def]
    return build(s, cfg, 2026, 3, scope=resolve_scope(s, ALFA), edition=edition, as_of=AS_OF)  # type: ignore[arg-type]


def test_calls_section(month, session_factory, example_config) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        r = _alfa(s, example_config)
    q = {line.queue: line.figures for line in r.queues}
    net, gen = q["network_es"], q["general_es"]
    assert (
        net.offered,
        net.answered,
        net.answered_within_sl,
        net.abandoned,
        net.short_abandoned,
    ) == (4, 2, 1, 2, 1)
    assert (
        net.service_level == 50.0
        and net.asa == 17.5
        and net.aht == 150.0
        and net.longest_wait == 40
    )
    assert (
        gen.offered,
        gen.answered,
        gen.timeout,
        gen.exit_empty,
        gen.exit_key,
        gen.join_empty,
    ) == (4, 1, 1, 1, 1, 1)
    assert gen.sl_formula == "offered_minus_short" and gen.service_level == 25.0  # 1 ÷ (4 − 0)
    # queues with different formulas: the totals use "answered", and say so
    assert r.overall_formula == "answered" and r.overall.offered == 8
    assert round(r.overall.service_level, 1) == 66.7 and r.overall.abandon_rate == 25.0
    days = {d.day: f for d, f in r.by_day.items()}
    assert (days[2].offered, days[2].answered, days[2].service_level) == (3, 2, 50.0)
    assert (days[3].offered, days[3].join_empty, days[3].service_level) == (5, 1, 100.0)
    assert {h: f.offered for h, f in r.by_hour.items()} == {10: 4, 11: 1, 16: 3}
    assert r.heat[(date(2026, 3, 3), 16)] == 3
    assert r.abandon_causes() == {
        "abandoned_long": 1,
        "short_abandoned": 1,
        "timeout": 1,
        "exit_empty": 1,
        "exit_key": 1,
        "withdraw": 0,
        "join_empty": 1,
    }
    # the month before, same organisation: one call answered after 50 s on network_es
    assert (r.previous.offered, r.previous.answered, r.previous.service_level) == (1, 1, 0.0)
    # the whole desk also has Beta's call
    with session_factory() as s:
        desk = build(s, example_config, 2026, 3, as_of=AS_OF)
    assert desk.overall.offered == 9 and desk.scope.is_desk


def test_incidents_sla_and_breaches(month, session_factory, example_config) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        r = _alfa(s, example_config)
    assert r.incidents["opened"] == {"critical": 1, "high": 1, "medium": 1, "low": 9, "planned": 1}
    assert r.incidents["resolved"] == {"high": 2, "low": 9}  # one opened in February
    assert r.incidents["closed"] == {"high": 1}
    assert r.incidents["reopened"] == {"high": 1}
    assert r.incidents_by_channel["phone"] == {"high": 1, "low": 9, "planned": 1}
    assert r.incidents_by_channel["email"] == {"medium": 1}
    sla = {line.priority: line for line in r.sla}
    assert (sla["critical"].response.met, sla["critical"].resolution.pending) == (1, 1)
    assert (sla["high"].response.met, sla["high"].resolution.breached) == (1, 1)
    assert (sla["medium"].response.breached, sla["medium"].resolution.breached) == (1, 1)
    assert (sla["low"].response.met, sla["low"].resolution.met, sla["low"].incidents) == (9, 9, 9)
    assert (sla["planned"].response.none, sla["planned"].resolution.none) == (1, 1)
    assert round(r.headline.response_compliance, 1) == round(100 * 11 / 12, 1)
    assert round(r.headline.resolution_compliance, 1) == round(100 * 9 / 11, 1)
    assert [(b.number, b.clock) for b in r.breaches] == [
        (1, "resolution"),
        (2, "response"),
        (2, "resolution"),
    ]
    assert r.breaches[0].done_at is not None and r.breaches[1].done_at is None
    # the whole desk adds Beta's low ticket, stored without due times: judged from the policy
    with session_factory() as s:
        desk = build(s, example_config, 2026, 3, as_of=AS_OF)
    low = next(line for line in desk.sla if line.priority == "low")
    assert low.incidents == 10 and low.response.breached == 1


def test_satisfaction_and_contracts(month, session_factory, example_config) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        r = _alfa(s, example_config)
        beta = build(
            s, example_config, 2026, 3, scope=resolve_scope(s, contract="B-1"), as_of=AS_OF
        )
        with pytest.raises(ScopeError):
            resolve_scope(s, "Nadie")
    total = r.satisfaction_total
    assert total.scores == [0, 1, 0, 1, 1] and total.responses == 3
    assert round(total.csat, 1) == 66.7 and round(total.mean, 2) == 3.67
    rows = {(a.contract, a.priority): a for a in r.allotments}
    assert {c for c, _ in rows} == {"A-1"}
    low = rows[("A-1", "low")]
    assert (low.used, low.allotted, low.percent, low.over, low.streak, low.flagged) == (
        9,
        8,
        112.5,
        True,
        3,
        True,
    )
    assert low.history == [9, 9, 9]
    assert rows[("A-1", "high")].used == 1 and not rows[("A-1", "high")].over
    # every allotted priority is listed, used or not
    assert {(a.priority, a.used, a.allotted) for a in beta.allotments} == {
        ("critical", 0, 20),
        ("high", 0, 20),
        ("medium", 0, 20),
        ("low", 1, 20),
        ("planned", 0, 20),
    }
    assert beta.overall.offered == 1  # Beta's calls only, by its organisation


def test_agents_and_staffing(month, session_factory, example_config) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        r = _alfa(s, example_config, "internal")
        plan = history_plan_for_month(s, example_config, 2026, 3)
        desk = build(s, example_config, 2026, 3, edition="internal", as_of=AS_OF)
    # the desk report reuses its month's counts for staffing: the same plan
    assert desk.staffing is not None and desk.staffing.needs == plan.needs
    a = {line.agent: line for line in r.agents}["1001"]
    assert (a.figures.answered, a.figures.talk_total) == (2, 300)
    assert a.time.logged_in_s == 8 * 3600 and a.time.paused_s == 45 * 60
    assert a.pauses == {"lunch": 45 * 60.0}
    assert round(a.time.occupancy, 3) == round(100 * 300 / (8 * 3600 - 2700), 3)
    assert r.staffing is not None
    # Mondays 10:00-10:30 on network_es: 3 calls over the 13 Mondays of Jan-Mar 2026
    need = next(
        n
        for n in plan.needs
        if n.queue == "network_es" and n.weekday == 0 and n.start.hour == 10 and n.start.minute == 0
    )
    assert need.calls == round(3 / 13, 2)
    handle = (100 + 200 + 50) / 3 + 10  # talk + the queue's wrap-up
    want = erlang.agents_needed(
        3 / 13 * 2, handle, target_sl=0.8, target_seconds=20, max_occupancy=0.85
    )
    assert need.needed == want.agents and need.scheduled == -(-want.agents // 0.7)
    # one Monday of five in March with 1001 logged in at that half-hour: 0.2 agents
    assert need.logged_in == 0.2 and need.flag == "under"


def test_xlsx_has_numbers_not_text(month, session_factory, example_config) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        r = _alfa(s, example_config, "internal")
    wb = load_workbook(io.BytesIO(service_render.to_xlsx(r, example_config, "es")))
    assert {
        "Resumen ejecutivo",
        "Llamadas por cola",
        "Definiciones",
        "Dimensionamiento (Erlang C)",
    } <= set(wb.sheetnames)
    ws = wb["Llamadas por cola"]
    header = [c.value for c in ws[2]]
    assert header[:3] == ["Cola", "Recibidas", "Atendidas"]
    rows = {row[0]: row for row in ws.iter_rows(min_row=3, values_only=True) if row[0]}
    assert rows["network_es"][1] == 4 and isinstance(rows["network_es"][1], int)
    col = header.index("Nivel de servicio %")
    sl_cell = next(row[col] for row in ws.iter_rows(min_row=3) if row[0].value == "network_es")
    assert sl_cell.data_type == "n" and sl_cell.value == 50 and sl_cell.number_format == "0.0"
    gen = next(row[col] for row in ws.iter_rows(min_row=3) if row[0].value == "general_es")
    assert gen.value == 25 and gen.data_type == "n"
    assert rows["Total"][header.index("Fórmula NS")] == "answered"
    ws = wb["Incumplimientos de SLA"]
    assert [row[0] for row in ws.iter_rows(min_row=3, values_only=True)] == [
        "INC-000001",
        "INC-000002",
        "INC-000002",
    ]


def test_pdf_text_spanish_and_english(
    month, session_factory, example_config, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        r = _alfa(s, example_config)
    for lang, words in (
        (
            "es",
            [
                "Informe mensual de servicio",
                "Resumen ejecutivo",
                "marzo de 2026",
                "Definiciones",
                "Página 1 de",
            ],
        ),
        (
            "en",
            [
                "Monthly service report",
                "Executive summary",
                "March 2026",
                "Definitions",
                "Page 1 of",
            ],
        ),
    ):
        pdf = tmp_path / f"r-{lang}.pdf"
        pdf.write_bytes(service_render.to_pdf(r, example_config, lang))
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for w in words:
            assert w in text, (lang, w)
        assert ALFA in text and BETA not in text
        assert "Agentes" not in text and "Agents" not in text  # client edition
    # each queue's SL formula and threshold on the definitions page, in words
    assert (
        "atendidas en umbral ÷ (recibidas − abandonos cortos)" in text
        or "answered within ÷ (offered − short abandons)" in text
    )
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89" in info  # A4


def test_html_escapes_names(session_factory, example_config) -> None:  # type: ignore[no-untyped-def]
    from servicedesk.models import Organisation

    with session_factory() as s:
        s.add(Organisation(name="<script>alert(1)</script>"))
        s.commit()
        r = build(
            s,
            example_config,
            2026,
            3,
            scope=resolve_scope(s, "<script>alert(1)</script>"),
            as_of=AS_OF,
        )
    html = service_render.to_html(r, example_config, "en")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert Scope().is_desk


def test_summary_judges_the_figure_as_printed(month, session_factory, example_config) -> None:  # type: ignore[no-untyped-def]
    """84.96 % prints as 85.0: against "≥ 85 %" the summary must say met, not missed."""
    from callstats import service_grids
    from callstats.service_report import Headline

    with session_factory() as s:
        report = _alfa(s, example_config)
    target = example_config.reports.targets.csat_percent
    for value, verdict in ((target - 0.04, "cumple"), (target - 0.06, "no cumple")):
        report.headline = Headline(csat=value)
        grid = service_grids.summary_grid(report, example_config, "es")
        (row,) = [r for r in grid.rows if r[0] == "Satisfacción (CSAT)"]
        assert row[3] == verdict, (value, row)
