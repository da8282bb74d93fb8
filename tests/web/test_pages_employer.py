"""The employer view over HTTP: a share link verified in one step (no account), and a
search, for signed-in accounts only and rate limited, that finds only learners who opted
in, through credentials that verify now."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from credstack.services import awards, sharing
from tests.conftest import BASE_URL
from tests.web.pages_support import Visitor, settings_for, site, unique_email
from tests.web.test_pages_share import share
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
    folder = tmp_path_factory.mktemp("employer")
    with site(settings_for(database_url, BASE_URL, folder)) as built:
        yield built


def test_an_employer_verifies_a_share_link_in_one_step(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    org, _ = college(engine)
    award_key(engine, org, "excel-analysis", email)
    award_key(engine, org, "sql-fundamentals", email)  # the certificate stacks itself
    learner = signed_in(app, engine, email)
    claim_all(learner)
    wallet = learner.get("/wallet").text
    ids = re.findall(r'href="/wallet/credentials/([\w-]+)\.json"', wallet)
    assert len(ids) == 4  # two components, the stacked certificate and its CLR
    path = share(learner, *ids, display_name="Ada L")

    employer = Visitor(app, BASE_URL)  # no account
    employer.get("/employer")
    for pasted in (f"{BASE_URL}{path}", path, path.removeprefix("/s/")):
        checked = employer.post("/employer/verify", {"link": pasted})
        assert checked.status_code == 200
        assert "All 4 credentials verified." in checked.text
    assert "Credentials of Ada L" in checked.text
    assert "Comprehensive Learner Record" in checked.text
    assert checked.text.count("(and the 2 credentials inside)") == 1  # the stack's evidence
    assert "(and the 3 credentials inside)" in checked.text  # the CLR nests all three
    assert "Together, the credentials inside meet the requirements" in checked.text

    fragment = employer.post("/employer/verify", {"link": path}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("<h3>")  # htmx: the results only

    with services(engine) as ctx:
        component = ctx.platform.awards.get(ids[-1])
        assert component is not None
        awards.revoke(ctx.platform, component, "graded in error")
    again = employer.post("/employer/verify", {"link": path})
    assert re.search(r"[0-3] of 4 credentials verified\.", again.text)


def test_a_bad_or_foreign_link_is_explained(app: FastAPI) -> None:
    employer = Visitor(app, BASE_URL)
    employer.get("/employer")
    unknown = employer.post("/employer/verify", {"link": f"{BASE_URL}/s/{'A' * 43}"})
    assert unknown.status_code == 404
    assert "does not exist, was revoked or has expired" in unknown.text
    foreign = employer.post("/employer/verify", {"link": f"https://elsewhere.example/s/{'A' * 43}"})
    assert "not a share link of this site" in foreign.text
    assert employer.post("/employer/verify", {"link": "hello"}).status_code == 404


def test_search_needs_a_confirmed_account(app: FastAPI, engine: Engine) -> None:
    anonymous = Visitor(app, BASE_URL)
    page = anonymous.get("/employer").text
    assert "Searching needs an account" in page
    assert 'action="/employer/search"' not in page
    refused = anonymous.post("/employer/search", {"q": "pivot"})
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/sign-in")

    unconfirmed = Visitor(app, BASE_URL)
    email = unique_email()
    unconfirmed.sign_up(email)
    unconfirmed.sign_in(email)
    assert "Confirm your email address to search" in unconfirmed.get("/employer").text
    assert unconfirmed.post("/employer/search", {"q": "pivot"}).status_code == 403


def _profile(
    app: FastAPI, engine: Engine, skill: str, *, published: bool, findable: bool
) -> tuple[Visitor, str, str]:
    """A learner holding a credential aligned to ``skill``, with a profile showing it."""
    email = unique_email()
    issued = award_aligned(
        engine,
        email,
        name="Data Wrangling",
        alignment={
            "type": ["Alignment"],
            "targetName": f"{skill} tables",
            "targetUrl": f"https://skills.example/{skill}",
        },
    )
    learner = signed_in(app, engine, email)
    claim_all(learner)
    handle = f"l-{uuid.uuid4().hex[:10]}"
    form = {"handle": handle, "display_name": f"Learner {handle}", "items": f"award:{issued.id}"}
    form |= {"published": "yes"} if published else {}
    form |= {"findable": "yes"} if findable else {}
    learner.get("/wallet/profile")
    assert learner.post("/wallet/profile", form).status_code == 303
    return learner, handle, issued.id


def test_search_finds_only_opted_in_learners_with_verified_matches(
    app: FastAPI, engine: Engine
) -> None:
    skill = f"pivot{uuid.uuid4().hex[:6]}"
    _, found, _ = _profile(app, engine, skill, published=True, findable=True)
    _, not_findable, _ = _profile(app, engine, skill, published=True, findable=False)
    _, not_published, _ = _profile(app, engine, skill, published=False, findable=True)
    _, revoked, revoked_id = _profile(app, engine, skill, published=True, findable=True)
    with services(engine) as ctx:
        award = ctx.platform.awards.get(revoked_id)  # type: ignore[arg-type]
        assert award is not None
        awards.revoke(ctx.platform, award, "withdrawn")

    employer = signed_in(app, engine, unique_email("hr"))
    employer.get("/employer")
    results = employer.post("/employer/search", {"q": f"{skill} TABLES"})
    assert results.status_code == 200
    assert "1 learner found" in results.text
    assert f'href="/p/{found}"' in results.text
    for hidden in (not_findable, not_published, revoked):
        assert hidden not in results.text
    assert f"Matched: {skill} tables" in results.text
    assert "Verified." in results.text

    by_url = employer.post("/employer/search", {"q": f"skills.example/{skill}"})
    assert f'href="/p/{found}"' in by_url.text
    by_name = employer.post("/employer/search", {"q": f"wrangling {skill}"})
    assert f'href="/p/{found}"' in by_name.text
    nothing = employer.post("/employer/search", {"q": f"{skill} juggling"})
    assert "0 learners found" in nothing.text
    assert employer.post("/employer/search", {"q": "x"}).status_code == 422


def test_search_is_rate_limited_per_account(app: FastAPI, engine: Engine) -> None:
    employer = signed_in(app, engine, unique_email("hr"))
    employer.get("/employer")
    for _ in range(sharing.MAX_SEARCHES):
        assert employer.post("/employer/search", {"q": "anything"}).status_code == 200
    throttled = employer.post("/employer/search", {"q": "anything"})
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    other = signed_in(app, engine, unique_email("hr"))
    other.get("/employer")
    assert other.post("/employer/search", {"q": "anything"}).status_code == 200
