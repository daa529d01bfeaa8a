"""The browser behind the UI tests (a pytest plugin, loaded by tests/api/conftest.py): one Debian Chromium
driven by Playwright per session (`browser`), a 1366x768 page per test that fails the test on any console
error or uncaught page error (`ui`), `expect` and `shot` (screenshots to test-artifacts/ui/).
Playwright is imported when a fixture runs, so the other API tests need no browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
TIMEOUT = 15_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


class Console:
    """Console errors and uncaught page errors seen by one page; `allowed` are regexes of expected ones."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def check(self) -> None:
        bad = [e for e in self.errors if not any(re.search(a, e) for a in self.allowed)]
        assert not bad, f"console errors: {bad}"


@pytest.fixture
def ui(browser: Any) -> Iterator[tuple[Any, Console]]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    console = Console()
    page.on("console", lambda msg: console.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
    yield page, console
    context.close()
    console.check()


def shot(page: Any, name: str, *, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(150)  # let the layout settle
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def expect(locator: Any) -> Any:
    return pytest.importorskip("playwright.sync_api").expect(locator)
