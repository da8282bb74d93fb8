"""Every error is JSON ``{"error", "detail"}`` with a 4xx status and no traceback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.web.conftest import DEFINITION, Tenant

LIMIT = 200_000  # max_body_bytes of the live server (tests/conftest.py)


def assert_problem(response: httpx.Response, status: int, error: str | None = None) -> str:
    """The response is a JSON problem with exactly ``error`` and ``detail``; returns detail."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    assert isinstance(body["error"], str)
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if error is not None:
        assert body["error"] == error
    for trace in ("Traceback", 'File "', "sqlalchemy", "psycopg", "line "):
        assert trace not in response.text
    detail: str = body["detail"]
    return detail


def test_malformed_json_gets_422(tenant: Tenant) -> None:
    for path in ("/api/v1/awards", "/api/v1/achievements", "/credentials/verify"):
        response = tenant.api.post(
            path, content=b'{"achievement": "data",', headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 422, "invalid")


def test_a_body_of_the_wrong_shape_gets_422_naming_the_field(tenant: Tenant) -> None:
    cases = [
        ("/api/v1/awards", [1, 2], None),
        ("/api/v1/awards", {"recipient_did": "did:example:a"}, "achievement"),
        ("/api/v1/awards", {"achievement": "data", "colour": "blue"}, "colour"),
        ("/api/v1/awards", {"achievement": "data", "valid_until": "soon"}, "valid_until"),
        ("/api/v1/achievements", {"key": "k", "definition": DEFINITION, "publish": "maybe"}, None),
        ("/credentials/verify", {"verifiableCredential": 5}, "verifiableCredential"),
        ("/credentials/status", {"credentialId": "x"}, "credentialStatus"),
    ]
    for path, body, field in cases:
        detail = assert_problem(tenant.api.post(path, json=body), 422, "invalid")
        if field is not None:
            assert field in detail, (path, body, detail)


def test_an_unknown_route_or_resource_gets_404(tenant: Tenant, anon: httpx.Client) -> None:
    assert_problem(anon.get("/no/such/route"), 404, "not_found")
    assert_problem(anon.get("/credentials/00000000-0000-4000-8000-000000000000"), 404)
    assert_problem(anon.get("/achievements/unknown"), 404, "not_found")
    assert_problem(anon.get("/orgs/no-such-org/did.json"), 404, "not_found")
    assert_problem(tenant.api.get("/api/v1/awards/unknown"), 404, "not_found")
    assert_problem(tenant.api.post("/api/v1/awards", json={"achievement": "nope"}), 404)


def test_a_wrong_method_gets_405(anon: httpx.Client) -> None:
    assert_problem(anon.put("/credentials/verify", json={}), 405, "method_not_allowed")
    assert_problem(anon.delete("/healthz"), 405, "method_not_allowed")


def test_a_body_over_the_limit_gets_413_when_declared(tenant: Tenant) -> None:
    payload = b'{"achievement": "' + b"x" * LIMIT + b'"}'
    response = tenant.api.post(
        "/api/v1/awards", content=payload, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "too_large")


def test_a_body_over_the_limit_gets_413_when_sent_in_chunks(tenant: Tenant) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"achievement": "'
        for _ in range(LIMIT // 10_000 + 1):
            yield b"x" * 10_000
        yield b'"}'

    for path in ("/api/v1/awards", "/credentials/verify"):
        response = tenant.api.post(
            path, content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "too_large")
    small = tenant.api.post(
        "/credentials/verify",
        content=iter([b'{"verifiableCredential":', b' "not a credential"}']),
        headers={"Content-Type": "application/json"},
    )
    assert small.status_code == 400  # under the limit, chunked bodies are read as usual


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/api/v1/awards", {"achievement": "data", "learner_name": "n" * 300}, {}),
        ("/api/v1/awards", {"achievement": "data", "recipient_did": "did:ex:" + "a" * 600}, {}),
        ("/api/v1/awards", {"achievement": "data"}, {"Idempotency-Key": "k" * 300}),
        ("/api/v1/awards", {"achievement": "data", "learner_name": "nul\u0000byte"}, {}),
        (
            "/api/v1/achievements",
            {"key": "long", "definition": DEFINITION, "validity_days": 10**12},
            {},
        ),
    ],
)
def test_input_the_database_cannot_hold_gets_422_not_a_server_error(
    tenant: Tenant, path: str, body: dict[str, object], headers: dict[str, str]
) -> None:
    tenant.define()
    if path == "/api/v1/awards":
        body = {"recipient_did": "did:example:ada", **body}
    detail = assert_problem(tenant.api.post(path, json=body, headers=headers), 422, "invalid")
    assert any(
        name in detail for name in ("learner_name", "recipient_did", "idempotency", "validity_days")
    )
    assert tenant.api.get("/api/v1/awards").json()["total"] == 0


def test_paging_past_any_sensible_range_gets_422(tenant: Tenant) -> None:
    for query in ("limit=0", "limit=501", "offset=-1", "offset=99999999999999999999"):
        assert_problem(tenant.api.get(f"/api/v1/awards?{query}"), 422, "invalid")


def test_a_profile_field_too_long_for_storage_gets_422(tenant: Tenant) -> None:
    assert "name" in assert_problem(tenant.api.put("/api/v1/org", json={"name": "n" * 300}), 422)
    assert tenant.api.get("/api/v1/org").json()["profile"]["name"] == "Tenant College"


def test_the_openapi_document_lists_the_routes(anon: httpx.Client, live_server: LiveServer) -> None:
    response = anon.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/healthz": "get",
        "/orgs/{slug}/did.json": "get",
        "/orgs/{slug}": "get",
        "/orgs/{slug}/status/{list_id}": "get",
        "/credentials/{award_id}": "get",
        "/achievements/{achievement_id}": "get",
        "/credentials/issue": "post",
        "/credentials/verify": "post",
        "/credentials/status": "post",
        "/presentations/verify": "post",
        "/api/v1/org": "put",
        "/api/v1/org/keys/rotate": "post",
        "/api/v1/achievements": "post",
        "/api/v1/achievements/{achievement_id}/publish": "post",
        "/api/v1/awards": "post",
        "/api/v1/awards/{award_id}": "get",
        "/api/v1/awards/{award_id}/revoke": "post",
        "/api/v1/awards/{award_id}/suspend": "post",
        "/api/v1/awards/{award_id}/unsuspend": "post",
    }
    for path, method in expected.items():
        assert method in paths.get(path, {}), path
    assert live_server.url


def test_a_nul_character_in_a_path_gets_a_4xx_problem(
    tenant: Tenant, anon: httpx.Client, live_server: LiveServer
) -> None:
    expected = 422 if live_server.settings.is_postgres else 404
    assert_problem(anon.get("/orgs/%00/did.json"), expected)
    assert_problem(anon.get("/credentials/%00"), expected)
    assert_problem(tenant.api.post("/api/v1/awards/%00/revoke"), expected)
