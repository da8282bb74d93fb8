"""Revocation and suspension over HTTP, and the status lists a relying party fetches."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from credstack.crypto import status_list
from credstack.crypto.did import DidResolver
from credstack.services.verifying import VerifyOptions, verify
from tests.web.conftest import Tenant, TenantFactory


def _entry(credential: dict[str, Any], purpose: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        e for e in credential["credentialStatus"] if e["statusPurpose"] == purpose
    ]
    [entry] = found
    return entry


def _bit(anon: httpx.Client, did_document: dict[str, Any], entry: dict[str, Any]) -> int:
    """Fetch the list credential, verify it with credstack, and read the entry's bit."""
    response = anon.get(entry["statusListCredential"])
    assert response.status_code == 200
    document = response.json()
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["credentialSubject"]["statusPurpose"] == entry["statusPurpose"]
    options = VerifyOptions(now=datetime.now(UTC), resolve=DidResolver([did_document]))
    result = verify(document, options)
    assert result.verified, result.failed()
    bits = status_list.decode(document["credentialSubject"]["encodedList"])
    assert len(bits) * 8 == 131_072
    return status_list.get_status(bits, int(entry["statusListIndex"]))


def _failed_codes(response: httpx.Response) -> list[str]:
    return [c["code"] for c in response.json()["errors"]]


def test_a_revoked_credential_shows_on_its_list_and_fails_verification(
    tenant: Tenant, anon: httpx.Client
) -> None:
    achievement = tenant.define()
    made = tenant.award(achievement["id"])
    credential = made["credential"]
    did_document = anon.get(f"/orgs/{tenant.slug}/did.json").json()
    assert _bit(anon, did_document, _entry(credential, "revocation")) == 0
    assert tenant.verify(credential).status_code == 200

    reason = f"copied the project {uuid.uuid4()}"
    revoked = tenant.api.post(f"/api/v1/awards/{made['id']}/revoke", json={"reason": reason})
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"

    assert _bit(anon, did_document, _entry(credential, "revocation")) == 1
    assert _bit(anon, did_document, _entry(credential, "suspension")) == 0
    refused = tenant.verify(credential)
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "verification_failed"
    assert "status.revoked" in body["detail"]
    assert body["verified"] is False
    assert _failed_codes(refused) == ["status.revoked"]
    assert len(body["checks"]) == 6

    public = [
        revoked,
        refused,
        anon.get(credential["id"]),
        anon.get(_entry(credential, "revocation")["statusListCredential"]),
        anon.get(f"/orgs/{tenant.slug}"),
        anon.get(f"/orgs/{tenant.slug}/did.json"),
    ]
    for response in public:
        assert reason not in response.text
    private = tenant.api.get(f"/api/v1/awards/{made['id']}").json()
    assert private["revocationReason"] == reason


def test_a_suspension_is_reported_until_it_is_lifted(tenant: Tenant, anon: httpx.Client) -> None:
    achievement = tenant.define()
    made = tenant.award(achievement["id"])
    credential = made["credential"]
    did_document = anon.get(f"/orgs/{tenant.slug}/did.json").json()

    suspended = tenant.api.post(f"/api/v1/awards/{made['id']}/suspend")
    assert suspended.json()["status"] == "suspended"
    assert _bit(anon, did_document, _entry(credential, "suspension")) == 1
    refused = tenant.verify(credential)
    assert refused.status_code == 400
    assert _failed_codes(refused) == ["status.suspended"]

    lifted = tenant.api.post(f"/api/v1/awards/{made['id']}/unsuspend")
    assert lifted.json()["status"] == "active"
    assert _bit(anon, did_document, _entry(credential, "suspension")) == 0
    accepted = tenant.verify(credential)
    assert accepted.status_code == 200
    assert all(c["ok"] for c in accepted.json()["checks"])


def test_a_revoked_credential_cannot_be_unsuspended(tenant: Tenant) -> None:
    made = tenant.award(tenant.define()["id"])
    tenant.api.post(f"/api/v1/awards/{made['id']}/revoke")
    response = tenant.api.post(f"/api/v1/awards/{made['id']}/unsuspend")
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"


def test_a_status_list_is_cacheable_and_answers_304_until_it_changes(
    tenant: Tenant, anon: httpx.Client
) -> None:
    made = tenant.award(tenant.define()["id"])
    url = _entry(made["credential"], "revocation")["statusListCredential"]
    first = anon.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/vc+ld+json")
    assert first.headers["cache-control"] == "public, max-age=300"
    assert first.json()["credentialSubject"]["ttl"] == 300_000
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert first.headers["last-modified"].endswith("GMT")

    unchanged = anon.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert json.loads(anon.get(url).content) == first.json()

    tenant.api.post(f"/api/v1/awards/{made['id']}/revoke")
    changed = anon.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert (
        changed.json()["credentialSubject"]["encodedList"]
        != (first.json()["credentialSubject"]["encodedList"])
    )


def test_an_unknown_status_list_or_one_under_another_slug_is_not_found(
    tenant: Tenant, anon: httpx.Client, tenants: TenantFactory
) -> None:
    made = tenant.award(tenant.define()["id"])
    list_id = _entry(made["credential"], "revocation")["statusListCredential"].rsplit("/", 1)[1]
    other: Tenant = tenants()
    for url in (
        f"/orgs/{tenant.slug}/status/{uuid.uuid4()}",
        f"/orgs/{other.slug}/status/{list_id}",
        f"/orgs/no-such-org/status/{list_id}",
    ):
        response = anon.get(url)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
