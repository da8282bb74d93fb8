"""The admin API's guard: bearer tokens, scopes, tenancy, and tokens stored hashed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine, select

from credstack.db.repositories import Repositories
from credstack.db.session import session_factory, transaction
from credstack.db.tables import ApiTokenRow
from credstack.web.deps import token_hash
from tests.conftest import LiveServer
from tests.web.conftest import Tenant, TenantFactory, add_token, client

GUARDED = [
    ("GET", "/api/v1/org"),
    ("GET", "/api/v1/awards"),
    ("POST", "/api/v1/awards"),
    ("POST", "/api/v1/achievements"),
    ("POST", "/credentials/issue"),
    ("POST", "/credentials/status"),
]


def _assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "unauthorized"
    assert set(response.json()) == {"error", "detail"}


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Token csk_abc", "Basic dXNlcjpwYXNz", "csk_abc"]
)
def test_a_request_without_a_bearer_token_gets_401(
    anon: httpx.Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, path in GUARDED:
        _assert_unauthorized(anon.request(method, path, headers=headers, json={}))


def test_an_unknown_or_revoked_token_gets_401(
    tenant: Tenant, live_server: LiveServer, engine: Engine
) -> None:
    with client(live_server, "csk_" + "x" * 43) as unknown:
        _assert_unauthorized(unknown.get("/api/v1/org"))
    assert tenant.api.get("/api/v1/org").status_code == 200
    with transaction(session_factory(engine)) as session:
        tokens = Repositories(session).tokens
        found = tokens.by_hash(token_hash(tenant.token))
        assert found is not None
        tokens.revoke(found.id, datetime.now(UTC))
    _assert_unauthorized(tenant.api.get("/api/v1/org"))


def test_a_read_only_token_cannot_issue_or_change_anything(
    tenants: TenantFactory, engine: Engine, live_server: LiveServer
) -> None:
    owner = tenants()
    achievement = owner.define()
    award = owner.award(achievement["id"])
    with client(live_server, add_token(engine, owner.org_id, ["org:read"])) as reader:
        assert reader.get("/api/v1/org").status_code == 200
        assert reader.get("/api/v1/achievements").status_code == 200
        attempts = [
            (reader.post("/api/v1/awards", json={"achievement": "data"}), "awards:issue"),
            (reader.post("/credentials/issue", json={"credential": {}}), "awards:issue"),
            (reader.post(f"/api/v1/awards/{award['id']}/revoke"), "status:write"),
            (reader.get(f"/api/v1/awards/{award['id']}"), "awards:read"),
            (reader.post("/api/v1/achievements", json={}), "achievements:write"),
            (reader.put("/api/v1/org", json={"name": "Mine now"}), "org:write"),
            (reader.post("/api/v1/org/keys/rotate"), "org:write"),
        ]
        for response, scope in attempts:
            assert response.status_code == 403, response.text
            assert response.json()["error"] == "forbidden"
            assert scope in response.json()["detail"]
    assert owner.api.get("/api/v1/awards").json()["total"] == 1
    assert owner.verify(award["credential"]).status_code == 200


def test_one_organizations_token_cannot_see_or_change_another_organizations_awards(
    tenants: TenantFactory,
) -> None:
    mine, theirs = tenants(), tenants()
    award = theirs.award(theirs.define()["id"])
    assert mine.api.get(f"/api/v1/awards/{award['id']}").status_code == 404
    for action in ("revoke", "suspend", "unsuspend"):
        response = mine.api.post(f"/api/v1/awards/{award['id']}/{action}")
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"
    for reference in (award["id"], award["credential"]["id"]):
        status = mine.api.post(
            "/credentials/status",
            json={
                "credentialId": reference,
                "credentialStatus": [{"statusPurpose": "revocation", "status": True}],
            },
        )
        assert status.status_code == 404
    assert mine.api.get("/api/v1/awards").json() == {"total": 0, "awards": []}
    assert theirs.api.get(f"/api/v1/awards/{award['id']}").json()["status"] == "active"
    assert theirs.verify(award["credential"]).status_code == 200


def test_tokens_are_stored_only_as_hashes(tenant: Tenant, engine: Engine) -> None:
    with engine.connect() as connection:
        rows = connection.execute(
            select(ApiTokenRow).where(ApiTokenRow.org_id == tenant.org_id)
        ).all()
    assert len(rows) == 1
    assert tenant.token not in repr(tuple(rows[0]))
    assert rows[0].token_hash == hashlib.sha256(tenant.token.encode()).hexdigest()
