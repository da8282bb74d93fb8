"""Fixtures for HTTP tests: clients of the one live server, and tenants (an organization
with an API token) created straight in its database with unique slugs."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from credstack.db.repositories import Repositories
from credstack.db.session import session_factory, transaction
from credstack.domain.platform import ALL_SCOPES, ApiToken, OrgId
from credstack.services.organizations import create_organization, org_did
from credstack.web.deps import token_hash
from tests.conftest import SECRET, LiveServer

DEFINITION: dict[str, Any] = {
    "type": ["Achievement"],
    "name": "Data Literacy",
    "description": "Reads charts and tables critically.",
    "criteria": {"narrative": "Pass the final assessment."},
}


@dataclass
class Tenant:
    """An organization of the live server, an API client holding its token, and helpers."""

    slug: str
    org_id: str
    did: str
    token: str
    api: httpx.Client
    anon: httpx.Client

    def define(self, key: str = "data", **body: Any) -> dict[str, Any]:
        body.setdefault("definition", DEFINITION)
        response = self.api.post("/api/v1/achievements", json={"key": key, **body})
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    def award(self, achievement: str, **body: Any) -> dict[str, Any]:
        if "recipient_email" not in body and "recipient_did" not in body:
            body["recipient_did"] = "did:example:learner"
        response = self.api.post("/api/v1/awards", json={"achievement": achievement, **body})
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    def verify(self, credential: dict[str, Any]) -> httpx.Response:
        return self.anon.post("/credentials/verify", json={"verifiableCredential": credential})


def client(server: LiveServer, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def add_token(engine: Engine, org_id: str, scopes: Iterable[str] = ALL_SCOPES) -> str:
    """A new API token of ``org_id``, stored hashed as the CLI stores it."""
    value = "csk_" + secrets.token_urlsafe(32)
    with transaction(session_factory(engine)) as session:
        token = ApiToken(
            str(uuid.uuid4()), OrgId(org_id), "tests", frozenset(scopes), datetime.now(UTC)
        )
        Repositories(session).tokens.add(token, token_hash(value))
    return value


@pytest.fixture(scope="session")
def anon(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client without credentials (a relying party, a browser)."""
    with client(live_server) as http:
        yield http


TenantFactory = Callable[..., Tenant]


@pytest.fixture
def tenants(live_server: LiveServer, engine: Engine, anon: httpx.Client) -> Iterator[TenantFactory]:
    """Make organizations with a token (``scopes`` default: all) on the live server."""
    opened: list[httpx.Client] = []

    def make(scopes: Iterable[str] = ALL_SCOPES, name: str = "Tenant College") -> Tenant:
        slug = f"t-{uuid.uuid4().hex[:12]}"
        with transaction(session_factory(engine)) as session:
            repos = Repositories(session)
            org = create_organization(
                repos.orgs, repos.keys, slug=slug, name=name, secret=SECRET, now=datetime.now(UTC)
            )
        token = add_token(engine, org.id, scopes)
        api = client(live_server, token)
        opened.append(api)
        did = org_did(live_server.settings.base_url, slug)
        return Tenant(slug, org.id, did, token, api, anon)

    yield make
    for api in opened:
        api.close()


@pytest.fixture
def tenant(tenants: TenantFactory) -> Tenant:
    return tenants()
