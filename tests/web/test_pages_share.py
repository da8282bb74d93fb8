"""Sharing over HTTP: nothing is public by default; share links show only the chosen
credentials, each verified live, until revoked or expired (then 404, alike); a public
profile stays hidden until published."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from credstack.domain.accounts import User
from credstack.services import awards, sharing
from tests.conftest import BASE_URL
from tests.web.pages_support import Visitor, settings_for, site, unique_email
from tests.web.test_pages_wallet import (
    award_aligned,
    award_key,
    claim_all,
    college,
    services,
    signed_in,
)


@pytest.fixture(scope="module")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("share")
    with site(settings_for(database_url, BASE_URL, folder)) as built:
        yield built


def share(visitor: Visitor, *award_ids: str, **fields: str) -> str:
    """Create a share link of ``award_ids`` through the page; its path (``/s/…``)."""
    visitor.get("/wallet/shares")
    items = [f"award:{a}" for a in award_ids]
    response = visitor.http.post(
        "/wallet/shares",
        data={"csrf_token": visitor.token, "items": items, "expires": "30", **fields},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 303, response.text
    page = visitor.follow(response).text
    found = re.search(r"Share link created: https://credstack\.test(/s/[\w-]+)", page)
    assert found, page
    return found.group(1)


def test_a_share_link_shows_only_the_chosen_credentials(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    chosen = award_aligned(engine, email, name="Chosen Badge")
    kept = award_aligned(engine, email, name="Private Badge")
    owner = signed_in(app, engine, email)
    claim_all(owner)
    path = share(owner, chosen.id, label="Application at Contoso", display_name="Ada L")

    anyone = Visitor(app, BASE_URL)
    page = anyone.get(path)
    assert page.status_code == 200
    assert "Credentials of Ada L" in page.text
    assert "Chosen Badge" in page.text
    assert "Private Badge" not in page.text
    assert "1 of 1 verified." in page.text
    assert "Verified." in page.text
    assert "Application at Contoso" not in page.text  # the label is the learner's own
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert page.headers["referrer-policy"] == "no-referrer"
    document = anyone.get(f"{path}/credentials/{chosen.id}.json")
    assert document.text == chosen.document
    assert anyone.get(f"{path}/credentials/{kept.id}.json").status_code == 404

    listed = owner.get("/wallet/shares").text
    assert "Application at Contoso" in listed
    assert "opened 1 time" in listed
    assert f"{BASE_URL}{path}" in listed  # the learner can copy it again


def test_a_revoked_credential_shows_as_revoked_on_its_link(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    issued = award_aligned(engine, email)
    owner = signed_in(app, engine, email)
    claim_all(owner)
    path = share(owner, issued.id)
    with services(engine) as ctx:
        awards.revoke(ctx.platform, issued, "issued in error")
    page = Visitor(app, BASE_URL).get(path).text
    assert "0 of 1 verified." in page
    assert "Revoked." in page


def test_revoked_expired_and_unknown_links_are_not_found(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    issued = award_aligned(engine, email)
    owner = signed_in(app, engine, email)
    claim_all(owner)
    path = share(owner, issued.id)
    anyone = Visitor(app, BASE_URL)
    assert anyone.get(path).status_code == 200

    other = signed_in(app, engine, unique_email("eve"))
    listed = owner.get("/wallet/shares").text
    link_id = re.search(r'action="/wallet/shares/([\w-]+)/revoke"', listed)
    assert link_id
    other.get("/wallet/shares")
    assert other.post(f"/wallet/shares/{link_id.group(1)}/revoke").status_code == 404
    assert anyone.get(path).status_code == 200

    owner.get("/wallet/shares")
    revoked = owner.follow(owner.post(f"/wallet/shares/{link_id.group(1)}/revoke"))
    assert "Revoked the share link" in revoked.text
    gone = anyone.get(path)
    assert gone.status_code == 404
    assert "does not exist, was revoked or has expired" in gone.text
    assert anyone.get(f"{path}/credentials/{issued.id}.json").status_code == 404

    # A link made eight days ago that lasted seven days (the services' clock, moved back).
    past = datetime.now(UTC) - timedelta(days=8)
    with services(engine, clock=lambda: past) as ctx:
        user = ctx.accounts.user_by_email(email)
        assert isinstance(user, User)
        old = sharing.create_link(ctx, user, items=[f"award:{issued.id}"], expires_in_days=7)
        token = sharing.token_of(ctx, old)
    assert anyone.get(f"/s/{token}").status_code == 404
    assert "expired" in owner.get("/wallet/shares").text
    assert anyone.get("/s/" + "x" * 43).status_code == 404


def test_the_public_profile_is_hidden_until_published(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    shown = award_aligned(engine, email, name="Shown Badge")
    award_aligned(engine, email, name="Hidden Badge")
    handle = f"ada-{shown.id[:8]}"
    owner = signed_in(app, engine, email)
    claim_all(owner)
    anyone = Visitor(app, BASE_URL)
    assert anyone.get(f"/p/{handle}").status_code == 404

    form = {"handle": handle, "display_name": "Ada Lovelace", "items": f"award:{shown.id}"}
    owner.get("/wallet/profile")
    saved = owner.follow(owner.post("/wallet/profile", form))
    assert "It stays hidden until you publish it." in saved.text
    assert anyone.get(f"/p/{handle}").status_code == 404

    owner.post("/wallet/profile", {**form, "published": "yes", "headline": "Data analyst"})
    page = anyone.get(f"/p/{handle}")
    assert page.status_code == 200
    assert "<h1>Ada Lovelace</h1>" in page.text
    assert "Data analyst" in page.text
    assert "Shown Badge" in page.text
    assert "Hidden Badge" not in page.text
    assert "Verified." in page.text
    assert page.headers["x-robots-tag"] == "noindex, nofollow"

    owner.get("/wallet/profile")
    owner.post("/wallet/profile", form)  # unpublished again
    assert anyone.get(f"/p/{handle}").status_code == 404


def test_profile_addresses_are_checked_and_unique(app: FastAPI, engine: Engine) -> None:
    first = signed_in(app, engine, unique_email())
    second = signed_in(app, engine, unique_email())
    handle = f"taken-{datetime.now(UTC).microsecond}"
    first.get("/wallet/profile")
    assert first.post("/wallet/profile", {"handle": handle, "display_name": "A"}).status_code == 303
    second.get("/wallet/profile")
    taken = second.post("/wallet/profile", {"handle": handle, "display_name": "B"})
    assert taken.status_code == 422
    assert "this profile address is taken" in taken.text
    bad = second.post("/wallet/profile", {"handle": "No Spaces!", "display_name": "B"})
    assert bad.status_code == 422
    assert "lower-case letters" in bad.text
    foreign = second.post(
        "/wallet/profile", {"handle": "fine-handle", "display_name": "B", "items": "award:nope"}
    )
    assert foreign.status_code == 422
    assert "not in your wallet" in foreign.text


def test_stacks_are_shared_with_their_components(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    org, _ = college(engine)
    award_key(engine, org, "excel-analysis", email)
    award_key(engine, org, "sql-fundamentals", email)
    owner = signed_in(app, engine, email)
    claim_all(owner)
    wallet = owner.get("/wallet").text
    named = r'<span class="visually-hidden"> of Data Analyst Certificate</span>'
    stack = re.search(
        r'href="/wallet/credentials/([\w-]+)\.json"[^>]*>Download JSON' + named, wallet
    )
    assert stack
    page = Visitor(app, BASE_URL).get(share(owner, stack.group(1))).text
    assert "Data Analyst Certificate" in page
    assert "1 of 1 verified." in page
    assert "(and the 2 credentials inside)" in page
    assert "Excel Analysis" in page
    assert "SQL Fundamentals" in page
