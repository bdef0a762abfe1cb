"""The reports blueprint: supervisors and admins see the monthly service report
(with its charts as images the CSP allows) and download it; agents may not;
what the browser sends is parsed before use."""

from __future__ import annotations

import io
import json
import re

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicedesk.db import make_engine
from servicedesk.models import Organisation
from tests.callstats.service_fixture import ALFA, BETA, seed_month
from tests.panel.conftest import Panel, login


def _seed(panel: Panel) -> int:
    from servicedesk.db import make_sessionmaker

    engine = make_engine(panel.db_url)
    try:
        factory = make_sessionmaker(engine)
        seed_month(factory)
        with Session(engine) as s:
            return s.scalar(select(Organisation.id).where(Organisation.name == ALFA))  # type: ignore[return-value]
    finally:
        engine.dispose()


def test_supervisor_sees_and_downloads_the_monthly_report(panel: Panel) -> None:
    org = _seed(panel)
    client = panel.app.test_client()
    login(client, "sofia")  # a supervisor whose panel is in English
    page = client.get(f"/reports/?month=2026-03&organisation={org}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Monthly service report" in html and ALFA in html and BETA not in html
    assert 'href="/reports/"' in html  # the nav link
    charts = re.findall(r'<img alt="[^"]*" src="data:image/svg\+xml;base64,', html)
    assert len(charts) >= 3
    assert "<style" not in html.split('id="service-report"')[1]  # the CSP allows no inline styles
    assert client.get("/reports/service_report.css").mimetype == "text/css"
    pdf = client.get(f"/reports/monthly.pdf?month=2026-03&organisation={org}")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    assert "attachment" in pdf.headers["Content-Disposition"]
    xlsx = client.get(f"/reports/monthly.xlsx?month=2026-03&organisation={org}&edition=internal")
    wb = load_workbook(io.BytesIO(xlsx.data))
    assert "Calls per queue" in wb.sheetnames and "Agents" in wb.sheetnames
    data = json.loads(client.get("/reports/monthly.json?month=2026-03").data)
    total = next(r for r in data["tables"]["calls"] if r["queue"] == "TOTAL")
    assert total["offered"] == 9  # the whole desk: Alfa's 8 and Beta's 1
    interval = client.get("/reports/interval?day=2026-03-02&minutes=60")
    assert interval.status_code == 200 and "network_es" in interval.get_data(as_text=True)
    assert 'class="report-chart"' in interval.get_data(as_text=True)
    csv_text = client.get("/reports/interval.csv?day=2026-03-02&minutes=60").get_data(as_text=True)
    assert "intervals,2026-03-02T10:00:00-06:00,network_es,3" in csv_text


def test_reports_refuse_agents_and_bad_input(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "ana")
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/monthly.pdf").status_code == 403
    admin = panel.app.test_client()
    login(admin, "root")
    assert admin.get("/reports/?month=2026-13").status_code == 400
    assert admin.get("/reports/?month=٢٠٢٦-03").status_code == 400  # ASCII digits only
    assert admin.get("/reports/?month=2026-03&organisation=1%20OR%201").status_code == 400
    assert admin.get("/reports/?month=2026-03&organisation=999999").status_code == 404
    assert admin.get("/reports/monthly.exe?month=2026-03").status_code == 404
    assert admin.get("/reports/interval?day=2026-02-30").status_code == 400
    assert admin.get("/reports/?month=2026-03&edition=secret").status_code == 400
    assert admin.get("/reports/?month=2026-03").status_code == 200  # an empty desk still renders
