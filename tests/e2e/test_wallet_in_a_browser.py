"""A learner with a real browser (Chromium) over real HTTP: signs up, confirms, claims a
credential and sees the pathway map change after another award (made through the
services in between, then a reload); shares a credential, and the link opened in a fresh
browser (no cookies) shows it verified; an employer verifies the whole link in one step.

``CREDSTACK_SCREENSHOTS=1`` saves docs/screenshots/wallet-map*.png, share*.png and
employer*.png.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from tests.conftest import LiveServer
from tests.e2e.conftest import screenshot
from tests.web.pages_support import PASSWORD, link_in_outbox, unique_email
from tests.web.test_pages_wallet import award_key, college

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

from playwright.sync_api import Browser, Page, expect  # after the skip above


def test_the_map_follows_awards_and_a_share_link_verifies_elsewhere(
    page: Page, browser: Browser, live_server: LiveServer, engine: Engine
) -> None:
    base = live_server.url
    email = unique_email("ada")
    org, _ = college(engine, live_server.settings.base_url)
    award_key(engine, org, "excel-analysis", email, live_server.settings.base_url)

    page.goto(f"{base}/sign-up")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text("Check your inbox")
    page.goto(base + link_in_outbox(engine, email, "/account/verify-email/"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/wallet")
    page.get_by_role("button", name="Add to my wallet: Excel Analysis").click()
    expect(page.get_by_role("status")).to_contain_text("Added 1 credential to your wallet.")

    pathway = page.locator("article.pathway-map", has_text="Data Analyst")
    expect(pathway.locator(".earned-count")).to_have_text("1")
    expect(pathway.locator('[data-node="excel"]')).to_have_class(re.compile(r"\bnode-earned\b"))
    expect(pathway.locator('[data-node="sql"]')).to_have_class(re.compile(r"\bnode-available\b"))
    expect(pathway.locator('[data-node="python"]')).to_have_class(re.compile(r"\bnode-locked\b"))
    expect(pathway.locator('[data-component="python"]')).to_contain_text("Locked")

    award_key(engine, org, "sql-fundamentals", email, live_server.settings.base_url)
    page.reload()
    pathway = page.locator("article.pathway-map", has_text="Data Analyst")
    expect(pathway.locator(".earned-count")).to_have_text("2")
    expect(pathway.locator('[data-node="sql"]')).to_have_class(re.compile(r"\bnode-earned\b"))
    expect(pathway.locator('[data-node="python"]')).to_have_class(re.compile(r"\bnode-available\b"))
    expect(pathway.locator(".stacks")).to_contain_text("Data Analyst Certificate: active")
    expect(page.get_by_role("heading", name="Waiting for you (3)")).to_be_visible()
    page.get_by_role("button", name="Add all 3").click()
    expect(page.get_by_role("heading", name="Your credentials (4)")).to_be_visible()
    pathway.scroll_into_view_if_needed()
    screenshot(page, "wallet-map")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    screenshot(page, "wallet-map-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.goto(f"{base}/wallet/shares")
    page.get_by_role("checkbox", name=re.compile("^Excel Analysis")).check()
    page.get_by_label("Your name as shown (optional)").fill("Ada Lovelace")
    page.get_by_role("button", name="Create share link").click()
    expect(page.get_by_role("status")).to_contain_text("Share link created")
    link = page.locator("input.share-url").first.input_value()
    assert link.startswith(f"{live_server.settings.base_url}/s/")
    screenshot(page, "share-links")

    fresh = browser.new_context(viewport={"width": 1280, "height": 860})  # no cookies
    errors: list[str] = []
    other = fresh.new_page()
    other.set_default_timeout(15_000)
    other.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    other.on("pageerror", lambda e: errors.append(str(e)))
    try:
        other.goto(link)
        expect(other.get_by_role("heading", level=1)).to_have_text("Credentials of Ada Lovelace")
        expect(other.locator(".summary")).to_have_text("1 of 1 verified.")
        card = other.locator(".shared-card", has_text="Excel Analysis")
        expect(card.locator(".state")).to_contain_text("Verified.")
        expect(other.get_by_text("SQL Fundamentals")).to_have_count(0)
        screenshot(other, "share")

        other.goto(f"{base}/employer")
        other.get_by_label("Share link or its code").fill(link)
        other.get_by_role("button", name="Verify all").click()  # htmx swaps the results in
        results = other.locator("#verify-results")
        expect(results.get_by_role("status")).to_have_text("All 1 credentials verified.")
        expect(other).to_have_url(f"{base}/employer")
        screenshot(other, "employer")
        other.set_viewport_size({"width": 390, "height": 844})
        screenshot(other, "employer-phone")
    finally:
        fresh.close()
    assert errors == [], f"the browser reported errors: {errors}"
