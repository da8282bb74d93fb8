"""The learner's wallet over HTTP: pathway maps that follow awards, downloads (JSON, baked
PNG and SVG that unbake to the credential, a PDF certificate whose QR code and link point
at the verification page), LinkedIn links, imports of other issuers' credentials, CSRF.

The helpers here (a learner signed in, a college with a published pathway, credentials
of another issuer) are shared with the sharing, employer and browser tests.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

import credstack
from credstack.db.accounts import AccountStore
from credstack.db.outbox import SqlOutbox
from credstack.db.repositories import platform_for
from credstack.db.session import session_factory, transaction
from credstack.db.sharing import SharingStore
from credstack.domain import baking
from credstack.domain.platform import Award, Organization
from credstack.services import achievements, awards, pathway_catalog, sharing
from credstack.services.organizations import create_organization, profile_of
from tests.conftest import BASE_URL, SECRET
from tests.web.pages_support import Visitor, link_in_outbox, settings_for, site, unique_email

# --- helpers shared with the other wallet, sharing, employer and browser tests ------------


def signed_in(app: FastAPI, engine: Engine, email: str, base_url: str = BASE_URL) -> Visitor:
    """A visitor who signed up with ``email``, confirmed it from the outbox and signed in."""
    visitor = Visitor(app, base_url)
    assert visitor.sign_up(email).status_code == 303
    visitor.get(link_in_outbox(engine, email, "/account/verify-email/"))
    assert visitor.sign_in(email).status_code == 303
    return visitor


@contextmanager
def services(engine: Engine, base_url: str = BASE_URL, **world: Any) -> Iterator[sharing.Sharing]:
    """The services over one transaction, committed at the end (as a request's is)."""
    with transaction(session_factory(engine)) as session:
        found = platform_for(
            session, base_url=base_url, secret=SECRET, outbox=SqlOutbox(session), **world
        )
        yield sharing.Sharing(found, SharingStore(session), AccountStore(session))


def data_analyst(iri: str) -> dict[str, Any]:
    """Excel, SQL and Python (after SQL); any two make a Certificate, all three a Diploma."""
    return {
        "format": "credstack-pathway/1",
        "id": iri,
        "name": "Data Analyst",
        "description": "Excel, SQL and Python add up to a Data Analyst certificate.",
        "version": 1,
        "orgId": "",
        "finalMilestone": "diploma",
        "components": [
            {"kind": "achievement", "id": "excel", "achievementId": "urn:x:excel",
             "name": "Excel Analysis", "credits": 2, "precedes": ["sql"]},
            {"kind": "achievement", "id": "sql", "achievementId": "urn:x:sql",
             "name": "SQL Fundamentals", "credits": 2},
            {"kind": "achievement", "id": "python", "achievementId": "urn:x:python",
             "name": "Python for Data", "credits": 2, "prerequisites": ["sql"]},
        ],
        "milestones": [
            {"id": "certificate", "name": "Data Analyst Certificate",
             "achievementId": "urn:x:certificate", "achievementType": "Certificate",
             "requirement": {"kind": "at_least", "n": 2, "of": ["excel", "sql", "python"]}},
            {"id": "diploma", "name": "Data Analyst Diploma",
             "achievementId": "urn:x:diploma", "achievementType": "Diploma",
             "requirement": {"kind": "all_of", "of": ["excel", "sql", "python"]}},
        ],
    }  # fmt: skip


def college(engine: Engine, base_url: str = BASE_URL) -> tuple[Organization, str]:
    """A new organization with the Data Analyst pathway published (a unique IRI)."""
    iri = f"https://college.example/pathways/{uuid.uuid4().hex[:10]}"
    with services(engine, base_url) as ctx:
        found = ctx.platform
        org = create_organization(
            found.orgs,
            found.keys,
            slug=f"c-{uuid.uuid4().hex[:12]}",
            name="City College",
            secret=SECRET,
            now=datetime.now(UTC),
        )
        record, problems = pathway_catalog.import_pathway(
            found, org, data_analyst(iri), publish=True
        )
        assert problems == [], problems
        assert record.published
    return org, iri


def award_key(
    engine: Engine, org: Organization, key: str, email: str, base_url: str = BASE_URL
) -> Award:
    """An award of the organization's achievement ``key`` (committed; stacks follow)."""
    with services(engine, base_url) as ctx:
        found = ctx.platform
        record = pathway_catalog.key_of(
            found, org, pathway_catalog.key_url(base_url, org.slug, key)
        )
        assert record is not None, key
        return awards.issue_award(
            found,
            awards.issuer_of(found, org),
            record,
            awards.AwardRequest(recipient_email=email, learner_name="Ada Lovelace"),
        )


PIVOT = {
    "type": ["Alignment"],
    "targetName": "Pivot tables",
    "targetUrl": "https://skills.example/pivot-tables",
    "targetType": "ceasn:Competency",
}


def award_aligned(
    engine: Engine,
    email: str,
    *,
    name: str = "Spreadsheet Wizardry",
    alignment: dict[str, Any] | None = None,
    base_url: str = BASE_URL,
) -> Award:
    """A credential whose achievement aligns to a competency (default: pivot tables)."""
    definition = {
        "type": ["Achievement"],
        "name": name,
        "description": "Summarises data with pivot tables.",
        "criteria": {"narrative": "Pass the project."},
        "alignment": [alignment or PIVOT],
    }
    with services(engine, base_url) as ctx:
        found = ctx.platform
        org = create_organization(
            found.orgs,
            found.keys,
            slug=f"a-{uuid.uuid4().hex[:12]}",
            name="Aligned Academy",
            secret=SECRET,
            now=datetime.now(UTC),
        )
        record = achievements.define(
            found.achievements,
            org,
            key="wizardry",
            definition=definition,
            creator=profile_of(org, base_url),
            base_url=base_url,
            now=datetime.now(UTC),
        )
        return awards.issue_award(
            found,
            awards.issuer_of(found, org),
            record,
            awards.AwardRequest(recipient_email=email),
        )


def foreign(email: str, *, jwt: bool = False, name: str = "Open Data MOOC") -> str:
    """A credential of another issuer (a did:key, not this platform) issued to ``email``."""
    key = credstack.generate_key()
    unsigned = credstack.build_credential(
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        issuer=credstack.Profile(id=key.controller, name="Open MOOC"),
        achievement=credstack.Achievement(
            id="https://mooc.example/achievements/open-data",
            name=name,
            description="Finds and cleans open data.",
            criteria=credstack.Criteria(narrative="Complete the course."),
        ),
        recipient=credstack.RecipientEmail(email, salt=uuid.uuid4().hex[:8]),
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    )
    signed = credstack.sign(unsigned, key, suite="vc-jwt" if jwt else "eddsa-rdfc-2022")
    return signed if isinstance(signed, str) else json.dumps(signed)


def claim_all(visitor: Visitor) -> None:
    visitor.get("/wallet")
    assert visitor.post("/wallet/claim").status_code == 303


def node_class(html: str, node: str) -> str:
    """The class attribute of a node of the pathway graph in ``html``."""
    found = re.search(rf'<g class="([^"]+)" data-node="{re.escape(node)}">', html)
    assert found, f"no node {node!r} in the map"
    return found.group(1)


def component_state(html: str, component: str) -> str:
    found = re.search(rf'class="state-row state-(\w+)" data-component="{component}"', html)
    assert found, f"no component {component!r} in the list"
    return found.group(1)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("wallet")
    with site(settings_for(database_url, BASE_URL, folder)) as built:
        yield built


# --- the pathway map --------------------------------------------------------------------


def test_the_pathway_map_changes_after_an_award(app: FastAPI, engine: Engine) -> None:
    email = unique_email("ada")
    org, _ = college(engine)
    award_key(engine, org, "excel-analysis", email)
    visitor = signed_in(app, engine, email)
    claim_all(visitor)

    before = visitor.get("/wallet").text
    assert "Your pathways (1)" in before
    assert re.search(r'earned-count">1</span> of 3 earned', before)
    assert "node-earned" in node_class(before, "excel")
    assert "node-available" in node_class(before, "sql")
    assert "node-locked" in node_class(before, "python")  # after SQL
    assert component_state(before, "python") == "locked"
    assert "after SQL Fundamentals" in before
    assert "#e7f3ea" in before  # the earned colour is drawn
    assert "Stacked credentials" not in before

    award_key(engine, org, "sql-fundamentals", email)  # meets the certificate milestone
    after = visitor.get("/wallet").text
    assert re.search(r'earned-count">2</span> of 3 earned', after)
    assert "node-earned" in node_class(after, "sql")
    assert "node-available" in node_class(after, "python")  # unlocked
    assert "node-earned" in node_class(after, "milestone:certificate")
    assert component_state(after, "sql") == "earned"
    assert "4 credits" in after or '<span class="big">4</span>' in after
    stacks = after[after.index("Stacked credentials") :]
    assert "Data Analyst Certificate" in stacks
    assert 'tag-stack-active">active' in stacks
    assert "Python for Data" in after[after.index("Next steps") :]
    # The stacked credential and its CLR wait to be claimed like any other.
    assert "Waiting for you (3)" in after


def test_a_learner_without_pathways_sees_no_map(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    award_aligned(engine, email)
    visitor = signed_in(app, engine, email)
    claim_all(visitor)
    page = visitor.get("/wallet").text
    assert "Your credentials (1)" in page
    assert "Your pathways" not in page


# --- downloads --------------------------------------------------------------------------


def test_downloads_json_baked_images_and_a_certificate(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    issued = award_aligned(engine, email)
    visitor = signed_in(app, engine, email)
    claim_all(visitor)
    base = f"/wallet/credentials/{issued.id}"
    wallet = visitor.get("/wallet").text
    for href in (
        f"{base}.json",
        f"{base}/badge.png",
        f"{base}/badge.svg",
        f"{base}/certificate.pdf",
    ):
        assert f'href="{href}"' in wallet

    document = visitor.get(f"{base}.json")
    assert json.loads(document.text) == json.loads(issued.document)

    png = visitor.get(f"{base}/badge.png")
    assert png.headers["content-type"] == "image/png"
    assert (
        png.headers["content-disposition"] == f'attachment; filename="credential-{issued.id}.png"'
    )
    assert baking.unbake(png.content) == issued.document  # the exact stored text
    assert credstack.unbake(png.content) == json.loads(issued.document)

    svg = visitor.get(f"{base}/badge.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert baking.unbake(svg.content) == issued.document
    assert b"Spreadsheet Wizardry" in svg.content
    assert b"<title" in svg.content

    pdf = visitor.get(f"{base}/certificate.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    url = f"{BASE_URL}/credentials/{issued.id}"
    assert pdf.content.count(f"/URI ({url})".encode()) == 2  # the QR code and the link
    assert b"/Title (Spreadsheet Wizardry: certificate)" in pdf.content

    assert visitor.get(f"{base}.jwt").status_code == 404  # stored with a Data Integrity proof
    stranger = signed_in(app, engine, unique_email("eve"))
    for suffix in ("/badge.png", "/badge.svg", "/certificate.pdf", ".json"):
        assert stranger.get(f"{base}{suffix}").status_code == 404


def test_each_card_offers_linkedin_with_the_organization_id(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    issued = award_aligned(engine, email)
    visitor = signed_in(app, engine, email)
    claim_all(visitor)

    def linkedin() -> dict[str, list[str]]:
        found = re.search(
            r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', visitor.get("/wallet").text
        )
        assert found
        link = found.group(1).replace("&amp;", "&")
        return parse_qs(urlsplit(link).query)

    without = linkedin()
    assert without["organizationName"] == ["Aligned Academy"]
    assert "organizationId" not in without
    with services(engine) as ctx:
        sharing.set_linkedin_organization_id(ctx, issued.org_id, "1337")
    params = linkedin()
    assert params["startTask"] == ["CERTIFICATION_NAME"]
    assert params["name"] == ["Spreadsheet Wizardry"]
    assert params["organizationId"] == ["1337"]
    assert params["certUrl"] == [f"{BASE_URL}/credentials/{issued.id}"]
    assert params["certId"] == [issued.id]
    assert params["issueYear"] == [str(issued.issued_at.year)]
    assert params["issueMonth"] == [str(issued.issued_at.month)]
    with pytest.raises(credstack.Invalid), services(engine) as ctx:
        sharing.set_linkedin_organization_id(ctx, issued.org_id, "acme")


# --- importing another issuer's credential ----------------------------------------------


def test_import_another_issuers_credential_pasted_or_as_a_badge(
    app: FastAPI, engine: Engine
) -> None:
    email = unique_email()
    visitor = signed_in(app, engine, email)
    visitor.get("/wallet")
    pasted = visitor.post("/wallet/import", {"credential": foreign(email)})
    assert pasted.status_code == 303
    wallet = visitor.follow(pasted).text
    assert "Imported “Open Data MOOC” from Open MOOC." in wallet
    assert "Your credentials (1)" in wallet
    card = wallet[wallet.index("<h3>Open Data MOOC</h3>") :]
    assert "imported" in card[:300]
    assert "Verified." in card

    # A VC-JWT, baked into a PNG: kept as received (its signature is the JWS).
    token = foreign(email, jwt=True, name="Open Data MOOC II")
    image = baking.bake(baking.demo_badge_png("mooc"), token)
    visitor.get("/wallet")
    uploaded = visitor.http.post(
        "/wallet/import",
        data={"csrf_token": visitor.token},
        files={"upload": ("badge.png", image, "image/png")},
    )
    assert uploaded.status_code == 303, uploaded.text
    wallet = visitor.follow(uploaded).text
    assert "Your credentials (2)" in wallet
    found = re.search(r'href="(/wallet/imports/[^"/]+)\.jwt"', wallet)
    assert found, "a VC-JWT import offers its .jwt"
    assert visitor.get(f"{found.group(1)}.jwt").text == token
    assert baking.unbake(visitor.get(f"{found.group(1)}/badge.svg").content) == token
    status = visitor.get(f"{found.group(1)}/status", headers={"HX-Request": "true"})
    assert 'class="state verdict-valid"' in status.text
    assert visitor.get(f"{found.group(1)}/certificate.pdf").status_code == 404  # not ours

    someone_elses = visitor.post("/wallet/import", {"credential": foreign("bob@example.org")})
    assert someone_elses.status_code == 422
    assert "was not issued to" in someone_elses.text
    assert visitor.post("/wallet/import", {"credential": ""}).status_code == 422


def test_an_unconfirmed_account_cannot_import(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    visitor = Visitor(app, BASE_URL)
    visitor.sign_up(email)
    visitor.sign_in(email)
    visitor.get("/wallet")
    refused = visitor.post("/wallet/import", {"credential": foreign(email)})
    assert refused.status_code == 422
    assert "confirm your email address" in refused.text


# --- CSRF ---------------------------------------------------------------------------------

UNSAFE = [
    "/wallet/import",
    "/wallet/profile",
    "/wallet/shares",
    "/wallet/shares/some-link/revoke",
    "/employer/verify",
    "/employer/search",
]


@pytest.mark.parametrize("path", UNSAFE)
def test_every_form_needs_its_csrf_token(app: FastAPI, engine: Engine, path: str) -> None:
    visitor = signed_in(app, engine, unique_email())
    visitor.get("/wallet")
    missing = visitor.http.post(path, data={"items": "x"}, headers={"Accept": "text/html"})
    assert missing.status_code == 403
    assert "the form expired or came from another site" in missing.text
    forged = visitor.http.post(path, data={"csrf_token": "forged"}, headers={"Accept": "text/html"})
    assert forged.status_code == 403
