"""A person with a real browser (Chromium) uses the pages over real HTTP: signs up,
confirms the address from the emailed link, signs in, claims a credential; and anyone
sees a revoked credential as revoked, pasted into /verify or opened at its address."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from tests.conftest import LiveServer
from tests.e2e.conftest import screenshot
from tests.web.pages_support import PASSWORD, issue, link_in_outbox, unique_email

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

from playwright.sync_api import Page, expect  # after the skip above


def test_sign_up_confirm_sign_in_and_claim_into_the_wallet(
    page: Page, live_server: LiveServer, engine: Engine
) -> None:
    base = live_server.url
    email = unique_email("ada")
    issued = issue(engine, live_server.settings.base_url, email=email, name="Northwind College")

    page.goto(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Credentials anyone can check")
    screenshot(page, "home")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "sign-up")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text("Check your inbox")

    page.goto(base + link_in_outbox(engine, email, "/account/verify-email/"))
    expect(page.get_by_role("status")).to_contain_text("Your email address is confirmed")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{base}/wallet")
    expect(page.get_by_role("heading", name="Waiting for you (1)")).to_be_visible()
    page.get_by_role("button", name="Add to my wallet: Spreadsheet Modelling").click()
    expect(page.get_by_role("status")).to_contain_text("Added 1 credential to your wallet.")
    expect(page.get_by_role("heading", name="Your credentials (1)")).to_be_visible()
    card = page.locator(".card", has_text="Spreadsheet Modelling")
    expect(card.locator(".state")).to_contain_text("Verified.")
    with page.expect_response(re.compile(r"/wallet/credentials/.+/status$")) as checked:
        card.get_by_role("link", name=re.compile("^Check again")).click()  # htmx, no reload
    assert checked.value.status == 200
    expect(page).to_have_url(f"{base}/wallet")
    with page.expect_download() as download:
        card.get_by_role("link", name=re.compile("^Download JSON")).click()
    assert download.value.suggested_filename == f"credential-{issued.award.id}.json"
    screenshot(page, "wallet")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    screenshot(page, "wallet-phone")


def test_a_revoked_credential_shows_as_revoked_pasted_or_opened(
    page: Page, live_server: LiveServer, engine: Engine
) -> None:
    base = live_server.url
    revoked = issue(engine, live_server.settings.base_url, email=unique_email(), revoke=True)

    page.goto(f"{base}/verify")
    page.get_by_label("Paste a credential (JSON or JWT)").fill(revoked.award.document)
    page.get_by_role("button", name="Verify", exact=True).click()  # htmx swaps the result in
    result = page.locator("#result")
    expect(result.get_by_role("heading", level=2)).to_contain_text("Revoked")
    expect(result).to_contain_text("The issuer has revoked this credential")
    expect(page).to_have_url(f"{base}/verify")
    screenshot(page, "verify-revoked")

    page.goto(revoked.credential["id"])  # the credential URL: a browser gets the page
    expect(page.get_by_role("heading", level=2)).to_contain_text("Revoked")
    expect(page.get_by_label("Or enter a credential address of this site")).to_have_value(
        revoked.credential["id"]
    )


def test_the_pages_work_from_the_keyboard(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/verify")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/verify#main$"))
    page.keyboard.press("Tab")  # from the top of <main>: the first field of the form
    expect(page.get_by_label("Paste a credential (JSON or JWT)")).to_be_focused()
    page.get_by_label("Paste a credential (JSON or JWT)").fill("not a credential")
    page.get_by_label("Paste a credential (JSON or JWT)").press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Verify", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_contain_text("Not a credential")
