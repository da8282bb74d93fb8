"""Real-browser tests: Playwright drives the Debian Chromium at /usr/bin/chromium against
the live server (``tests/conftest.py``). They skip, saying why, where that browser or
Playwright is missing; nothing is downloaded (never ``playwright install``).

``CREDSTACK_SCREENSHOTS=1`` saves screenshots of the main pages to docs/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Playwright's sync API keeps an asyncio loop running
    in this thread while it is open, which breaks later tests of the same xdist worker
    that call ``asyncio.run`` (aiosmtpd, procrastinate); closing it per module ends that
    before pytest moves to another module."""
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests skipped: no Chromium at /usr/bin/chromium "
            "(install it with: apt-get install chromium chromium-driver)"
        )
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        pytest.skip("browser tests skipped: Playwright for Python is not installed (dev extra)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at a desktop size; console errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    yield opened
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def screenshot(page: Page, name: str) -> None:
    """Save docs/screenshots/{name}.png when CREDSTACK_SCREENSHOTS=1 (else nothing)."""
    if os.environ.get("CREDSTACK_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
