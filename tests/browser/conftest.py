"""Real Chromium (Debian's, never a downloaded one) against the panel on a real server thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.panel.conftest import PASSWORD, Panel, bus, db_url, panel  # noqa: F401  (fixtures)
from tests.panel.server import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def base_url(panel: Panel) -> Iterator[str]:  # noqa: F811
    with serve(panel.app) as url:
        yield url


class Session:
    """One logged-in browser context, with every JS dialog recorded (none may ever fire)."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.context = browser.new_context(base_url=base_url)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.console_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def login(self, username: str, password: str = PASSWORD) -> Page:
        self.page.goto("/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("#login-submit")
        self.page.wait_for_load_state()
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def open_session(browser: Browser, base_url: str) -> Iterator:  # type: ignore[type-arg]
    sessions: list[Session] = []

    def make() -> Session:
        s = Session(browser, base_url)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()
