"""Issuing over HTTP against the live server: identity, achievements and awards."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select

from credstack.db.tables import AwardRow
from credstack.domain.credentials import hash_identity, parse_datetime
from tests.conftest import LiveServer
from tests.web.conftest import DEFINITION, Tenant, TenantFactory


def _stored_document(engine: Engine, award_id: str) -> str:
    with engine.connect() as connection:
        document = connection.scalar(select(AwardRow.document).where(AwardRow.id == award_id))
    assert isinstance(document, str)
    return document


def _method(credential: dict[str, Any]) -> str:
    method: str = credential["proof"][0]["verificationMethod"]
    return method


def test_the_did_document_lists_every_key_and_rotation_keeps_old_credentials_verifying(
    tenant: Tenant,
) -> None:
    achievement = tenant.define()
    before = tenant.award(achievement["id"])["credential"]
    rotated = tenant.api.post("/api/v1/org/keys/rotate")
    assert rotated.status_code == 201
    after = tenant.award(achievement["id"])["credential"]

    response = tenant.anon.get(f"/orgs/{tenant.slug}/did.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/did+json")
    document = response.json()
    assert document["id"] == tenant.did
    assert [m["id"] for m in document["verificationMethod"]] == [
        _method(before),
        _method(after),
    ]
    assert document == rotated.json()
    assert before["issuer"]["id"] == after["issuer"]["id"] == tenant.did
    for credential in (before, after):
        verified = tenant.verify(credential)
        assert verified.status_code == 200, verified.text


def test_a_profile_update_shows_in_the_profile_and_in_later_credentials(tenant: Tenant) -> None:
    achievement = tenant.define()
    changed = tenant.api.put(
        "/api/v1/org", json={"name": "Renamed College", "url": "https://renamed.example"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Renamed College"
    profile = tenant.anon.get(f"/orgs/{tenant.slug}").json()
    assert (profile["id"], profile["name"], profile["url"]) == (
        tenant.did,
        "Renamed College",
        "https://renamed.example",
    )
    credential = tenant.award(achievement["id"])["credential"]
    assert credential["issuer"]["name"] == "Renamed College"
    refused = tenant.api.put("/api/v1/org", json={"url": "not a url"})
    assert refused.status_code == 422
    assert "profile.url" in refused.json()["detail"]
    assert tenant.api.get("/api/v1/org").json()["profile"]["url"] == "https://renamed.example"


def test_achievement_versions_are_served_at_their_own_urls_once_published(
    tenant: Tenant, anon: httpx.Client, live_server: LiveServer
) -> None:
    first = tenant.define()
    second = tenant.define(definition={**DEFINITION, "name": "Data Literacy II"})
    assert (first["version"], second["version"]) == (1, 2)
    for version in (first, second):
        url = version["definition"]["id"]
        assert url == f"{live_server.url}/achievements/{version['id']}"
        served = anon.get(url)
        assert served.status_code == 200
        assert served.json() == version["definition"]
    assert anon.get(first["definition"]["id"]).json()["name"] == "Data Literacy"

    draft = tenant.define(definition={**DEFINITION, "name": "Draft"}, publish=False)
    hidden = anon.get(draft["definition"]["id"])
    assert hidden.status_code == 404
    assert hidden.json()["error"] == "not_found"
    published = tenant.api.post(f"/api/v1/achievements/{draft['id']}/publish")
    assert published.status_code == 200
    assert published.json()["published"] is True
    assert anon.get(draft["definition"]["id"]).json()["name"] == "Draft"
    listed = tenant.api.get("/api/v1/achievements").json()
    assert [(a["key"], a["version"]) for a in listed] == [("data", 1), ("data", 2), ("data", 3)]


def test_an_invalid_definition_gets_422_naming_the_field(tenant: Tenant) -> None:
    cases = [
        ({"key": "data", "definition": {"criteria": {"narrative": "x"}}}, "achievement.name"),
        ({"key": "data", "definition": {**DEFINITION, "criteria": 7}}, "achievement.criteria"),
        ({"key": "Not A Key", "definition": DEFINITION}, "key"),
        ({"key": "data", "definition": DEFINITION, "validity_days": 0}, "validity_days"),
        ({"key": "data", "definition": "a string"}, "definition"),
        ({"definition": DEFINITION}, "key"),
    ]
    for body, field in cases:
        response = tenant.api.post("/api/v1/achievements", json=body)
        assert response.status_code == 422, (body, response.text)
        assert set(response.json()) == {"error", "detail"}
        assert field in response.json()["detail"], (body, response.text)
    assert tenant.api.get("/api/v1/achievements").json() == []


def test_an_award_by_email_keeps_the_address_out_of_the_credential(
    tenant: Tenant, engine: Engine
) -> None:
    achievement = tenant.define(validity_days=30)
    made = tenant.award(achievement["key"], recipient_email="Grace@Example.org")
    assert made["recipient"] == "grace@example.org"
    credential = made["credential"]
    assert "grace@example.org" not in json.dumps(credential).lower()
    [identity] = credential["credentialSubject"]["identifier"]
    assert identity["identityHash"] == hash_identity("grace@example.org", identity["salt"])
    valid_from = parse_datetime(credential["validFrom"])
    assert parse_datetime(credential["validUntil"]) == valid_from + timedelta(days=30)
    assert made["validUntil"] is not None

    served = tenant.anon.get(credential["id"])
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/vc+ld+json")
    assert served.content == _stored_document(engine, made["id"]).encode("utf-8")
    assert json.loads(served.content) == credential
    verified = tenant.verify(json.loads(served.content))
    assert verified.status_code == 200
    codes = [c["code"] for c in verified.json()["checks"]]
    assert codes == [
        "structure.ok",
        "proof.ok",
        "issuer.ok",
        "validity.ok",
        "status.ok",
        "status.ok",
    ]
    assert verified.json()["verified"] is True
    assert verified.json()["errors"] == []


def test_an_award_by_did_is_issued_to_that_did(tenant: Tenant) -> None:
    achievement = tenant.define()
    made = tenant.award(achievement["id"], recipient_did="did:example:grace", learner_name="G")
    assert made["credential"]["credentialSubject"]["id"] == "did:example:grace"
    assert made["credential"]["credentialSubject"]["achievement"] == achievement["definition"]
    assert made["status"] == "active"


def test_the_same_idempotency_key_gives_201_then_200_with_the_same_award(tenant: Tenant) -> None:
    achievement = tenant.define()
    body = {"achievement": achievement["id"], "recipient_email": "ada@example.org"}
    headers = {"Idempotency-Key": "enrolment-2026-0042"}
    first = tenant.api.post("/api/v1/awards", json=body, headers=headers)
    again = tenant.api.post("/api/v1/awards", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    by_body = tenant.api.post(
        "/api/v1/awards", json={**body, "idempotency_key": "enrolment-2026-0042"}
    )
    assert by_body.status_code == 200
    assert by_body.json() == first.json()
    assert tenant.api.get("/api/v1/awards").json()["total"] == 1


def test_each_credential_has_revocation_and_suspension_entries_at_a_decimal_index(
    tenant: Tenant,
) -> None:
    achievement = tenant.define()
    first = tenant.award(achievement["id"])["credential"]["credentialStatus"]
    second = tenant.award(achievement["id"])["credential"]["credentialStatus"]
    for entries in (first, second):
        assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
        assert entries[0]["statusListIndex"] == entries[1]["statusListIndex"]
        assert entries[0]["statusListIndex"].isdigit()
        assert 0 <= int(entries[0]["statusListIndex"]) < 131_072
        for entry in entries:
            assert entry["type"] == "BitstringStatusListEntry"
            assert f"/orgs/{tenant.slug}/status/" in entry["statusListCredential"]
    assert first[0]["statusListCredential"] == second[0]["statusListCredential"]
    assert first[0]["statusListIndex"] != second[0]["statusListIndex"]


def test_a_new_award_can_be_fetched_the_moment_it_is_answered(
    tenant: Tenant, live_server: LiveServer
) -> None:
    """The request's transaction commits before the response goes out, not after."""
    achievement = tenant.define()
    one_connection_per_request = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {tenant.token}"},
        limits=one_connection_per_request,
    ) as fresh:
        for _ in range(4):
            made = tenant.award(achievement["id"])
            assert fresh.get(made["credential"]["id"]).status_code == 200
            assert fresh.get(f"/api/v1/awards/{made['id']}").status_code == 200


def test_another_tenants_achievement_cannot_be_awarded(tenants: TenantFactory) -> None:
    mine, theirs = tenants(), tenants()
    achievement = theirs.define()
    response = mine.api.post(
        "/api/v1/awards",
        json={"achievement": achievement["id"], "recipient_did": "did:example:x"},
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_result_value_is_linked_to_the_achievements_result_description(tenant: Tenant) -> None:
    grade = {
        "id": "https://example.org/results/grade",
        "type": ["ResultDescription"],
        "name": "Grade",
        "resultType": "LetterGrade",
        "allowedValue": ["A", "B", "C"],
    }
    graded = tenant.define("graded", definition={**DEFINITION, "resultDescription": [grade]})
    made = tenant.award(graded["id"], result="A")
    [result] = made["credential"]["credentialSubject"]["result"]
    assert (result["value"], result["resultDescription"]) == ("A", grade["id"])
    assert tenant.verify(made["credential"]).status_code == 200

    plain = tenant.define("plain")
    refused = tenant.api.post(
        "/api/v1/awards",
        json={"achievement": plain["id"], "recipient_did": "did:example:x", "result": "A"},
    )
    assert refused.status_code == 422
    assert "result" in refused.json()["detail"]
