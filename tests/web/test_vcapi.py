"""The W3C VC-API over HTTP: issue, verify credentials and presentations, update status."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.web.conftest import Tenant, TenantFactory

OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def unsigned(**fields: Any) -> dict[str, Any]:
    """A caller-built Open Badges credential, as a VC-API client would send it."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", OB_CONTEXT],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": "did:example:someone-else",
        "name": "Data Literacy",
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://example.org/achievements/data-literacy",
                "type": ["Achievement"],
                "name": "Data Literacy",
                "description": "Reads charts and tables critically.",
                "criteria": {"narrative": "Pass the final assessment."},
            },
        },
        **fields,
    }


def issue(tenant: Tenant, **options: Any) -> httpx.Response:
    return tenant.api.post(
        "/credentials/issue", json={"credential": unsigned(), "options": options}
    )


def test_issuing_signs_as_the_organization_with_an_assigned_id_and_status(
    tenant: Tenant, anon: httpx.Client
) -> None:
    response = issue(tenant)
    assert response.status_code == 201, response.text
    credential = response.json()["verifiableCredential"]
    assert credential["issuer"]["id"] == tenant.did
    assert credential["id"].startswith(f"{anon.base_url}/credentials/")
    uuid.UUID(credential["id"].rsplit("/", 1)[1])
    assert [e["statusPurpose"] for e in credential["credentialStatus"]] == [
        "revocation",
        "suspension",
    ]
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert credential["proof"][0]["verificationMethod"].startswith(f"{tenant.did}#")
    assert credential["validFrom"]
    assert anon.get(credential["id"]).json() == credential
    verified = tenant.verify(credential)
    assert verified.status_code == 200, verified.text


def test_issuing_with_the_jcs_cryptosuite_is_supported(tenant: Tenant) -> None:
    response = issue(tenant, cryptosuite="eddsa-jcs-2022")
    assert response.status_code == 201, response.text
    credential = response.json()["verifiableCredential"]
    assert credential["proof"][0]["cryptosuite"] == "eddsa-jcs-2022"
    assert tenant.verify(credential).status_code == 200


def test_issuing_refuses_a_caller_chosen_id_and_an_unknown_cryptosuite(tenant: Tenant) -> None:
    with_id = tenant.api.post(
        "/credentials/issue",
        json={"credential": unsigned(id="https://example.org/credentials/mine")},
    )
    assert with_id.status_code == 422
    assert "id" in with_id.json()["detail"]
    unknown = issue(tenant, cryptosuite="rot13-2025")
    assert unknown.status_code == 422
    assert "cryptosuite" in unknown.json()["detail"]
    assert "eddsa-rdfc-2022" in unknown.json()["detail"]
    assert tenant.api.get("/api/v1/awards").json()["total"] == 0


def _status(tenant: Tenant, credential_id: str, **purposes: bool) -> httpx.Response:
    entries = [{"statusPurpose": p, "status": v} for p, v in purposes.items()]
    return tenant.api.post(
        "/credentials/status", json={"credentialId": credential_id, "credentialStatus": entries}
    )


def test_status_updates_through_the_vc_api_show_in_verification(tenant: Tenant) -> None:
    credential = issue(tenant).json()["verifiableCredential"]
    suspended = _status(tenant, credential["id"], suspension=True)
    assert suspended.status_code == 200
    assert suspended.json() == {
        "credentialId": credential["id"],
        "revoked": False,
        "suspended": True,
    }
    refused = tenant.verify(credential)
    assert refused.status_code == 400
    assert [c["code"] for c in refused.json()["errors"]] == ["status.suspended"]

    assert _status(tenant, credential["id"], suspension=False).json()["suspended"] is False
    assert tenant.verify(credential).status_code == 200

    assert _status(tenant, credential["id"], revocation=True).json()["revoked"] is True
    refused = tenant.verify(credential)
    assert refused.status_code == 400
    assert [c["code"] for c in refused.json()["errors"]] == ["status.revoked"]


def test_status_updates_that_cannot_be_made_are_refused(
    tenant: Tenant, tenants: TenantFactory
) -> None:
    credential = issue(tenant).json()["verifiableCredential"]
    undo = _status(tenant, credential["id"], revocation=False)
    assert undo.status_code == 422
    assert "revocation" in undo.json()["detail"]
    unknown = _status(tenant, credential["id"], refresh=True)
    assert unknown.status_code == 422
    assert "refresh" in unknown.json()["detail"]
    stranger: Tenant = tenants()
    foreign = _status(stranger, credential["id"], revocation=True)
    assert foreign.status_code == 404
    assert tenant.verify(credential).status_code == 200


def test_a_presentation_with_one_revoked_credential_fails_and_lists_each_credential(
    tenant: Tenant, anon: httpx.Client
) -> None:
    good = issue(tenant).json()["verifiableCredential"]
    bad = issue(tenant).json()["verifiableCredential"]
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [good, bad],
    }
    accepted = anon.post("/presentations/verify", json={"verifiablePresentation": presentation})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["verified"] is True
    assert [r["verified"] for r in accepted.json()["credentialResults"]] == [True, True]

    _status(tenant, bad["id"], revocation=True)
    refused = anon.post("/presentations/verify", json={"verifiablePresentation": presentation})
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "verification_failed"
    assert body["verified"] is False
    results = body["credentialResults"]
    assert [r["verified"] for r in results] == [True, False]
    assert [r["id"] for r in results] == [good["id"], bad["id"]]
    assert [c["code"] for c in results[1]["checks"] if not c["ok"]] == ["status.revoked"]


def test_a_subject_id_too_long_to_store_is_refused_not_a_server_error(
    tenant: Tenant, live_server: LiveServer
) -> None:
    credential = unsigned()
    credential["credentialSubject"]["id"] = "did:example:" + "a" * 600
    response = tenant.api.post("/credentials/issue", json={"credential": credential})
    if not live_server.settings.is_postgres:  # SQLite does not enforce column lengths
        assert response.status_code == 201
        return
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": "invalid",
        "detail": "a value is too long, out of range or not storable",
    }


def test_a_presentation_holding_things_that_are_not_credentials_gets_400_per_item(
    anon: httpx.Client,
) -> None:
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [1, None, "not a jwt", ["a"]],
    }
    response = anon.post("/presentations/verify", json={"verifiablePresentation": presentation})
    assert response.status_code == 400, response.text
    results = response.json()["credentialResults"]
    assert len(results) == 4
    for result in results:
        assert result["verified"] is False
        assert [c["code"] for c in result["checks"]] == ["input.unusable"]


def test_a_verify_request_that_is_not_json_or_lacks_the_credential_gets_422(
    anon: httpx.Client,
) -> None:
    garbled = anon.post(
        "/credentials/verify", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbled.status_code == 422, garbled.text
    assert garbled.json()["error"] == "invalid"
    missing = anon.post("/credentials/verify", json={"credential": {}})
    assert missing.status_code == 422
    assert "verifiableCredential" in missing.json()["detail"]


def test_verifying_again_and_again_answers_the_same_and_a_revocation_shows_at_once(
    tenant: Tenant,
) -> None:
    """The second and later answers come from the process's cache (decision 0013); the
    server's own revocation drops the cached list at once."""
    credential = issue(tenant).json()["verifiableCredential"]
    answers = [tenant.verify(credential) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert answers[0].headers["content-type"] == "application/json"
    assert [c["code"] for c in answers[0].json()["checks"]][:2] == ["structure.ok", "proof.ok"]

    assert _status(tenant, credential["id"], revocation=True).status_code == 200

    refused = tenant.verify(credential)
    assert refused.status_code == 400
    assert [c["code"] for c in refused.json()["errors"]] == ["status.revoked"]
