"""The public verification page: every form of input, plain-language checks, revoked
credentials, content negotiation of credential URLs, the layout and its HTML errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from credstack.db.repositories import platform_for
from credstack.db.session import session_factory, transaction
from credstack.domain import baking
from credstack.services import awards
from credstack.services.checks import Check, VerificationResult
from credstack.services.issuing import VC_JWT, sign
from credstack.web.pages.explain import SENTENCES, TOPICS, explain
from credstack.web.pages.render import TEMPLATES, prefers_html
from tests.conftest import BASE_URL, SECRET
from tests.web.pages_support import BROWSER, Issued, Visitor, issue, settings_for, site

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("verify-pages")
    with site(settings_for(database_url, BASE_URL, folder)) as built:
        yield built


@pytest.fixture
def visitor(app: FastAPI) -> Visitor:
    return Visitor(app, BASE_URL)


@pytest.fixture(scope="module")
def valid(app: FastAPI, engine: Engine) -> Issued:
    return issue(engine, BASE_URL, email="valid@example.org", name="Valid Institute")


@pytest.fixture(scope="module")
def revoked(app: FastAPI, engine: Engine) -> Issued:
    return issue(engine, BASE_URL, email="revoked@example.org", revoke=True)


def checks_of(html: str) -> list[tuple[str, str]]:
    """(Passed|Failed, topic) of each check the page lists."""
    return re.findall(
        r'visually-hidden">(Passed|Failed):</span>\s*<strong>([^<]+)\.</strong>', html
    )


def verdict_of(html: str) -> str:
    found = re.search(r'<h2 class="verdict"><span class="icon"[^>]*>.</span> ([^<]+)<', html)
    assert found, html[:500]
    return found.group(1)


def verify_text(visitor: Visitor, text: str) -> str:
    visitor.get("/verify")
    response = visitor.post("/verify", {"credential": text})
    assert response.status_code == 200
    return response.text


# --- what the page says -------------------------------------------------------------------


def test_a_pasted_valid_credential_is_verified_with_every_check_in_plain_words(
    visitor: Visitor, valid: Issued
) -> None:
    page = verify_text(visitor, valid.award.document)
    assert verdict_of(page) == "Verified"
    assert checks_of(page) == [
        ("Passed", "Format and schema"),
        ("Passed", "Signature"),
        ("Passed", "Issuer"),
        ("Passed", "Dates and expiry"),
        ("Passed", "Revocation and suspension"),
        ("Passed", "Revocation and suspension"),
    ]
    assert "The digital signature is valid: nothing has changed since it was issued." in page
    assert "Spreadsheet Modelling" in page
    assert "Valid Institute" in page
    assert "<code>proof.ok</code>" in page  # the technical detail stays available
    assert "The issuer has not revoked it." in page
    assert "The issuer has not suspended it." in page


def test_a_revoked_credential_is_shown_as_revoked(visitor: Visitor, revoked: Issued) -> None:
    page = verify_text(visitor, revoked.award.document)
    assert verdict_of(page) == "Revoked"
    assert "The issuer has revoked this credential: it is no longer valid." in page
    assert ("Failed", "Revocation and suspension") in checks_of(page)
    assert "The issuer has not suspended it." in page
    assert "issued in error" not in page  # the reason stays private to the issuer


def test_a_tampered_credential_is_not_genuine(visitor: Visitor, valid: Issued) -> None:
    changed = valid.credential
    changed["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    page = verify_text(visitor, json.dumps(changed))
    assert verdict_of(page) == "Not genuine"
    assert ("Failed", "Signature") in checks_of(page)


def test_a_vc_jwt_can_be_pasted(visitor: Visitor, engine: Engine, valid: Issued) -> None:
    unsigned = {k: v for k, v in valid.credential.items() if k != "proof"}
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=BASE_URL, secret=SECRET)
        key = awards.issuer_of(found, valid.org).key
        token = sign(unsigned, key, suite=VC_JWT, created=datetime.now(UTC))
    assert isinstance(token, str)
    page = verify_text(visitor, token)
    assert verdict_of(page) == "Verified"


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_a_baked_badge_image_can_be_uploaded(visitor: Visitor, valid: Issued, kind: str) -> None:
    image = baking.demo_badge_png("x") if kind == "png" else baking.demo_badge_svg("x")
    baked = baking.bake(image, valid.award.document)
    visitor.get("/verify")
    response = visitor.http.post(
        "/verify",
        data={"csrf_token": visitor.token, "credential": ""},
        files={"upload": (f"badge.{kind}", baked, f"image/{kind}")},
        headers=BROWSER,
    )
    assert verdict_of(response.text) == "Verified"


def test_unusable_input_is_explained(visitor: Visitor) -> None:
    page = verify_text(visitor, "hello there")
    assert verdict_of(page) == "Not a credential"
    assert "This is not a credential we can read" in page
    visitor.get("/verify")
    empty = visitor.post("/verify", {"credential": ""})
    assert empty.status_code == 422
    assert "paste a credential" in empty.text


def test_a_credential_address_of_this_site_can_be_opened(visitor: Visitor, revoked: Issued) -> None:
    url = revoked.credential["id"]
    page = visitor.get("/verify", params={"url": url})
    assert verdict_of(page.text) == "Revoked"
    elsewhere = visitor.get("/verify", params={"url": "https://elsewhere.example/credentials/1"})
    assert elsewhere.status_code == 404
    assert "opens credential addresses of this site" in elsewhere.text


def test_htmx_gets_only_the_result(visitor: Visitor, valid: Issued) -> None:
    visitor.get("/verify")
    response = visitor.post(
        "/verify", {"credential": valid.award.document}, headers={"HX-Request": "true"}
    )
    assert response.text.lstrip().startswith('<article class="result verdict-valid">')
    assert "<html" not in response.text


# --- content negotiation of credential URLs ----------------------------------------------------


def test_browsers_get_the_verification_page_and_clients_the_credential(
    app: FastAPI, revoked: Issued
) -> None:
    client = TestClient(app, base_url=BASE_URL)
    path = f"/credentials/{revoked.award.id}"
    page = client.get(path, headers=BROWSER)
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["vary"] == "Accept"
    assert verdict_of(page.text) == "Revoked"
    for accept in (
        "*/*",
        "application/json",
        "application/vc+ld+json",
        "application/json, text/html",
    ):
        data = client.get(path, headers={"Accept": accept})
        assert data.headers["content-type"] == "application/vc+ld+json", accept
        assert data.text == revoked.award.document
    missing = client.get("/credentials/no-such-id", headers=BROWSER)
    assert missing.status_code == 404
    assert "Credential not found" in missing.text
    assert client.get("/credentials/no-such-id").json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("text/html", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json", False),
        ("text/html;q=0.5, */*", False),
        ("text/html;q=0", False),
    ],
)
def test_which_accept_headers_prefer_a_page(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html


# --- plain language in one place ---------------------------------------------------------------


def test_every_check_code_has_a_plain_language_sentence() -> None:
    sources = (ROOT / "credstack" / "services").glob("*.py")
    codes = {
        code for path in sources for code in re.findall(r'Check\(\s*"([a-z_.]+)"', path.read_text())
    }
    codes |= {"issuer.mismatch"}
    assert len(codes) > 20
    assert sorted(codes - SENTENCES.keys()) == []
    assert {code.partition(".")[0] for code in SENTENCES} <= TOPICS.keys()


def test_unknown_codes_fall_back_to_the_checks_message() -> None:
    result = VerificationResult.of([Check("novel.thing", False, "it went wrong")], {}, "json")
    [view] = explain(result).checks
    assert view.sentence == "Failed: it went wrong"


def test_components_of_a_stacked_credential_are_listed_each_with_its_checks() -> None:
    def credential(name: str) -> dict[str, Any]:
        return {
            "type": ["VerifiableCredential"],
            "credentialSubject": {"achievement": {"name": name}},
        }

    stacked = VerificationResult.of(
        [Check("proof.ok", True, "ok"), Check("components.invalid", False, "1 of 2 failed")],
        {"type": ["VerifiableCredential", "ClrCredential"], "name": "Data Analyst"},
        "json",
        components=[
            VerificationResult.of([Check("proof.ok", True, "ok")], credential("SQL"), "json"),
            VerificationResult.of(
                [Check("status.revoked", False, "revoked")], credential("Python"), "json"
            ),
        ],
    )

    view = explain(stacked)
    assert view.kind == "Comprehensive Learner Record"
    assert view.title == "Not verified"
    assert "Some credentials inside did not verify" in view.summary
    assert [(c.name, c.title) for c in view.components] == [
        ("SQL", "Verified"),
        ("Python", "Revoked"),
    ]
    html = TEMPLATES.get_template("_verify_result.html").render(result=view, error="")
    assert "Credentials inside (2)" in html
    assert re.search(r"<h4 class=\"verdict\">.*Revoked.*\s*<span class=\"name\">Python", html)


# --- layout, navigation and errors ---------------------------------------------------------------


def test_the_home_page_explains_the_product_and_links_only_to_pages_that_exist(
    app: FastAPI,
) -> None:
    client = TestClient(app, base_url=BASE_URL)
    home = client.get("/", headers=BROWSER)
    assert home.status_code == 200
    assert "<h1>Credentials anyone can check</h1>" in home.text
    links = set(re.findall(r'href="(/[^"]*)"', home.text))
    assert {"/verify", "/wallet", "/sign-in", "/sign-up", "/docs", "/static/credstack.css"} <= links
    for link in sorted(links):
        assert client.get(link, headers=BROWSER).status_code in (200, 303), link


def test_pages_have_landmarks_a_skip_link_and_labelled_fields(visitor: Visitor) -> None:
    for path in ("/", "/verify", "/sign-in", "/sign-up", "/account/reset"):
        page = visitor.get(path).text
        assert '<html lang="en">' in page
        assert '<a class="skip" href="#main">' in page
        assert '<nav aria-label="Main">' in page
        assert '<main id="main"' in page
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        inputs = re.findall(r'<(?:input|textarea) id="([^"]+)"', page)
        labels = set(re.findall(r'<label for="([^"]+)"', page))
        assert set(inputs) <= labels, path


def test_pages_send_strict_security_headers_and_load_nothing_from_elsewhere(
    visitor: Visitor,
) -> None:
    response = visitor.get("/verify")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert not re.search(r'(?:src|href)="https?://', response.text)
    assert visitor.get("/static/htmx.min.js").text.startswith("var htmx=function()")


def test_unknown_pages_are_html_for_browsers_and_json_for_the_api(app: FastAPI) -> None:
    client = TestClient(app, base_url=BASE_URL)
    page = client.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404
    assert "<h1>Page not found</h1>" in page.text
    api = client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert api.status_code == 404
    assert api.json() == {"error": "not_found", "detail": "Not Found"}
    assert client.get("/no/such/page").json()["error"] == "not_found"


def test_flash_messages_show_once(visitor: Visitor) -> None:
    visitor.get("/account/reset")
    shown = visitor.follow(visitor.post("/account/reset", {"email": "x@example.org"}))
    assert "If an account uses that address" in shown.text
    assert "If an account uses that address" not in visitor.get("/sign-in").text
