"""The main job, end to end: `centralita demo` (pbxsim → IVR → queue → listener → panel) driven
from Chromium, then stopped with Ctrl-C. A real call routed by pbxsim pops on the agent's
screen filled from the IVR's choices, becomes an incident linked to the call, and is
counted on the supervisor's wallboard."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Browser, expect

from cti_panel.demo.data import DEMO_LOGINS

ROOT = Path(__file__).resolve().parents[2]


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.lines: list[str] = []
        self.url = ""
        self.ready = threading.Event()
        env = dict(os.environ)
        for key in ("CENTRALITA_DATABASE_URL", "CENTRALITA_REDIS_URL"):
            env.pop(key, None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "centralita",
                "demo",
                "--dir",
                str(workdir),
                "--port",
                "0",
                "--calls-per-minute",
                "24",
                "--duration",
                "240",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            m = re.search(r"open (http://127\.0\.0\.1:\d+/)", line)
            if m:
                self.url = m.group(1)
                self.ready.set()
        self.ready.set()

    def log(self) -> str:
        return "\n".join(self.lines[-80:])


@pytest.fixture()
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path / "demo")
    assert d.ready.wait(60) and d.url, d.log()
    yield d
    if d.proc.poll() is None:
        os.killpg(d.proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    try:
        d.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(d.proc.pid, signal.SIGKILL)
        raise


def _leftovers(workdir: Path) -> list[str]:
    out = []
    for p in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if str(workdir) in cmd or p.info["cwd"] == str(workdir):
                out.append(cmd)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def test_demo_call_pops_becomes_incident_and_counts_on_wallboard(
    demo: Demo, browser: Browser
) -> None:
    agent_login = next(x for x in DEMO_LOGINS if x.role == "agent")
    sup_login = next(x for x in DEMO_LOGINS if x.role == "supervisor")
    ctx = browser.new_context(base_url=demo.url)
    dialogs: list[str] = []
    page = ctx.new_page()
    page.on("dialog", lambda dlg: (dialogs.append(dlg.message), dlg.dismiss()))
    page.goto("/login")
    page.fill("#username", agent_login.username)
    page.fill("#password", agent_login.password)
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(r"/agent/$"))
    page.click("#join")
    expect(page.locator("#agent-queues")).to_contain_text("Red e internet", timeout=15_000)

    # pbxsim routes a real call to agent 1001: ring, then answer
    expect(page.locator("#pop-status")).to_have_attribute(
        "data-state", re.compile("ring|answer"), timeout=60_000
    )
    expect(page.locator("#pop-status")).to_have_attribute("data-state", "answer", timeout=20_000)
    queue = page.locator("#pop-queue").get_attribute("data-queue") or ""
    assert re.fullmatch(r"(network|general)_(es|en)", queue), queue
    queue_name = page.locator("#pop-queue").inner_text()
    assert "_" not in queue_name and "(" in queue_name, queue_name  # "Red e internet (español)"
    ivr = page.locator("#pop-ivr").inner_text()
    assert ivr.startswith("Llamó por:") and "_" not in ivr, ivr
    category = page.locator("#pop-category").get_attribute("data-category")
    if category:
        expect(page.locator("#inc-category")).to_have_value(category)
    assert page.locator("#pop-caller-num").inner_text()

    page.fill("#inc-title", "Llamada de la demo: sin servicio")
    page.click("#inc-create")
    expect(page.locator("#incident-result")).to_contain_text("INC-", timeout=10_000)
    number = page.locator("#incident-result").get_attribute("data-number")
    page2 = ctx.new_page()
    page2.goto(f"/incidents/{number}")
    expect(page2.locator("#inc-calls tbody tr")).to_have_count(1)
    expect(page2.locator("#inc-calls tbody tr td").nth(1)).to_have_text(queue_name)

    sup = browser.new_context(base_url=demo.url)
    wb = sup.new_page()
    wb.goto("/login")
    wb.fill("#username", sup_login.username)
    wb.fill("#password", sup_login.password)
    wb.click("#login-submit")
    row = wb.locator(f'#wb-queues tr[data-queue="{queue}"]')
    expect(row.locator("td.offered")).not_to_have_text("0", timeout=10_000)
    answered = int(row.locator("td.answered").inner_text())
    assert answered >= 1
    expect(wb.locator('#wb-agents [data-login="1001"] .state')).to_have_text(re.compile(r"\S"))
    assert dialogs == []
    ctx.close()
    sup.close()

    os.killpg(demo.proc.pid, signal.SIGINT)
    assert demo.proc.wait(timeout=30) == 0, demo.log()
    time.sleep(0.5)
    assert _leftovers(demo.workdir) == [], demo.log()
    assert "panel stopped" in demo.log() and "listener stopped" in demo.log()
