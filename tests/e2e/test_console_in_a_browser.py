"""An issuer with a real browser (Chromium) works in the console over real HTTP: signs in,
defines an achievement watching its live Open Badges 3.0 preview, imports a CTDL pathway
and sees its graph, bulk-issues a small CSV and watches the progress bar reach done; the
pages also serve a phone-sized screen. Screenshots (``CREDSTACK_SCREENSHOTS=1``):
docs/screenshots/console-*.png.
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from credstack.db.repositories import platform_for
from credstack.db.session import session_factory, transaction
from credstack.domain.platform import Organization, Role, StaffMember
from credstack.jobs import BulkRunner
from credstack.services import achievements, awards
from credstack.services.organizations import create_organization, profile_of
from tests.conftest import SECRET, LiveServer
from tests.e2e.conftest import screenshot
from tests.web.pages_support import PASSWORD, link_in_outbox, unique_email

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

from playwright.sync_api import Page, expect  # after the skip above

CTDL = (
    Path(__file__).resolve().parents[1]
    / "unit"
    / "fixtures"
    / "pathways"
    / "data-analytics.ctdl.json"
)


def organization(engine: Engine, base_url: str, staff: str) -> Organization:
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=base_url, secret=SECRET)
        org = create_organization(
            found.orgs,
            found.keys,
            slug=f"e2e-{uuid.uuid4().hex[:10]}",
            name="Northwind College",
            secret=SECRET,
            now=datetime.now(UTC),
        )
        found.orgs.add_staff(StaffMember(org.id, staff, Role.ISSUER))
    return org


def work_the_queue(server: LiveServer) -> None:
    """On PostgreSQL, what ``credstack worker --once`` does (in a thread of its own: this
    one runs Playwright's event loop); on SQLite the server works."""
    settings = server.settings
    if not settings.use_procrastinate:
        return

    def work() -> None:
        with BulkRunner.open(
            database_url=settings.database_url,
            base_url=settings.base_url,
            secret=SECRET,
            use_procrastinate=True,
        ) as runner:
            runner.work(once=True)

    worker = threading.Thread(target=work, name="bulk-worker")
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the bulk worker did not finish"


def sign_in(page: Page, base: str, engine: Engine, email: str) -> None:
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


def test_an_issuer_defines_imports_and_bulk_issues_in_the_console(
    page: Page, live_server: LiveServer, engine: Engine
) -> None:
    base = live_server.url
    email = unique_email("registrar")
    org = organization(engine, live_server.settings.base_url, email)
    sign_in(page, base, engine, email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Console").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Issuer console")
    page.get_by_role("link", name="Open the console of Northwind College").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind College")
    screenshot(page, "console-overview")

    # an achievement, with the live preview following what is typed
    nav = page.get_by_role("navigation", name="Console sections")
    nav.get_by_role("link", name="Achievements").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Fill in the form")
    page.get_by_label("Name", exact=True).fill("Data Literacy")
    expect(preview).to_contain_text("Not valid yet.")  # no description, no criteria yet
    page.get_by_label("Description").fill("Reads charts and tables critically.")
    page.get_by_label("Criteria").fill("Pass the final assessment.")
    expect(preview.locator("pre")).to_contain_text('"name": "Data Literacy"')
    page.get_by_label("Credits").fill("2")
    page.get_by_label("Achievement type").select_option("MicroCredential")
    expect(preview.locator("pre")).to_contain_text('"creditsAvailable": 2.0')
    expect(preview.locator("pre")).to_contain_text('"achievementType": "MicroCredential"')
    expect(page).to_have_url(f"{base}/console/{org.slug}/achievements")  # htmx: no reload
    screenshot(page, "console-achievement")
    page.get_by_role("button", name="Publish achievement").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Published Data Literacy (key data-literacy, version 1)."
    )
    expect(page.get_by_role("rowheader", name="Data Literacy")).to_be_visible()

    # a CTDL pathway: checked while pasted, imported as a draft, its graph drawn
    nav.get_by_role("link", name="Pathways").click()
    page.get_by_label("Paste the JSON").fill(CTDL.read_text())
    check = page.locator("#pathway-check")
    expect(check.locator("svg.pathway-graph")).to_be_visible()
    page.get_by_role("button", name="Import as draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"Data Analytics.*, version 1")
    )
    graph = page.locator("svg.pathway-graph")
    expect(graph).to_be_visible()
    expect(graph.locator("[data-node='milestone:certificate']")).to_be_visible()
    expect(graph).to_contain_text("SQL Fundamentals")
    expect(page.get_by_role("heading", name="If you publish this version")).to_be_visible()
    screenshot(page, "console-pathway")
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_role("status").first).to_contain_text("Published Data Analytics version 1.")

    # bulk issuing: the file's check, then the progress bar until done
    nav.get_by_role("link", name="Bulk issue").click()
    page.get_by_label("Achievement").select_option(label="Data Literacy")
    rows = "".join(f"cohort{i}-{org.slug}@example.org,Learner {i}\n" for i in range(6))
    page.get_by_label("File (CSV or XLSX)").set_input_files(
        {"name": "cohort.csv", "mimeType": "text/csv", "buffer": f"email,name\n{rows}".encode()}
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("status").first).to_contain_text("6 rows checked.")
    page.get_by_role("button", name="Issue 6 credentials").click()
    progress = page.locator("#job-progress")
    expect(progress).to_be_visible()
    work_the_queue(live_server)
    expect(progress.locator(".job-state")).to_have_text("Done", timeout=60_000)
    expect(page.locator("#job-bar")).to_have_attribute("value", "6")
    expect(progress).to_contain_text("6 of 6 rows processed (100%): 6 issued")
    screenshot(page, "console-bulk")

    page.get_by_role("link", name="See the issued credentials").click()
    expect(
        page.get_by_role("heading", name=re.compile(r"Issued credentials \(6\)"))
    ).to_be_visible()
    nav.get_by_role("link", name="Analytics").click()
    expect(page.locator("svg.chart")).to_have_count(5)
    screenshot(page, "console-analytics")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    nav.get_by_role("link", name="Awards").click()
    expect(page.get_by_role("button", name=re.compile("^Suspend")).first).to_be_visible()
    screenshot(page, "console-awards-phone")


def test_suspending_and_revoking_work_from_the_keyboard_in_place(
    page: Page, live_server: LiveServer, engine: Engine
) -> None:
    base = live_server.url
    email = unique_email("registrar")
    org = organization(engine, live_server.settings.base_url, email)
    learner = unique_email("learner")
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=live_server.settings.base_url, secret=SECRET)
        record = achievements.define(
            found.achievements,
            org,
            key="sql",
            definition={"name": "SQL", "description": "SQL.", "criteria": {"narrative": "x"}},
            creator=profile_of(org, found.base_url),
            base_url=found.base_url,
            now=datetime.now(UTC),
        )
        request = awards.AwardRequest(recipient_email=learner)
        award = awards.issue_award(found, awards.issuer_of(found, org), record, request)
    sign_in(page, base, engine, email)
    page.goto(f"{base}/console/{org.slug}/awards")
    card = page.locator(f"#award-{award.id}")

    suspend = card.get_by_role("button", name=re.compile("^Suspend"))
    suspend.focus()
    page.keyboard.press("Enter")  # htmx swaps the card in place
    expect(card.locator(".tag")).to_have_text("suspended")
    expect(card.get_by_role("button", name=re.compile("^Unsuspend"))).to_be_focused()
    expect(page.locator("#award-status")).to_have_text(f"Suspended the credential of {learner}.")
    page.keyboard.press("Tab")
    expect(card.locator("summary")).to_be_focused()
    page.keyboard.press("Enter")  # opens "Revoke…"
    page.keyboard.press("Tab")
    expect(card.get_by_label("Reason (kept private to your organization)")).to_be_focused()
    page.keyboard.type("graded in error")
    page.keyboard.press("Enter")
    expect(card).to_contain_text("revoked")
    expect(card).to_contain_text("graded in error")
    expect(card.locator(f"#reason-{award.id}")).to_be_focused()
    expect(page).to_have_url(f"{base}/console/{org.slug}/awards")
