"""The stacking engine over HTTP: import a CTDL pathway, award its components one by one,
watch progress move until the stack and its CLR arrive, revoke, verify with components."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from credstack.domain.platform import Scope
from tests.web.conftest import Tenant, TenantFactory

FIXTURES = Path(__file__).parents[1] / "unit" / "fixtures" / "pathways"


def ctdl_pathway() -> tuple[dict[str, Any], str]:
    """The CTDL example with a fresh pathway id (the live server's database is shared)."""
    text = (FIXTURES / "ctdl-standards-example.json").read_text("utf-8")
    fresh = f"ce-{uuid.uuid4()}"
    text = text.replace("ce-11111111-1111-4111-8111-111111111111", fresh)
    return json.loads(text), fresh


def progress(tenant: Tenant, learner: str, iri: str) -> dict[str, Any]:
    response = tenant.api.get(f"/api/v1/learners/{learner}/progress", params={"pathway": iri})
    assert response.status_code == 200, response.text
    [item] = response.json()
    return dict(item)


def test_ctdl_pathway_to_stack_to_suspension_over_http(tenant: Tenant) -> None:
    document, _ = ctdl_pathway()
    imported = tenant.api.post("/api/v1/pathways", params={"publish": True}, json=document)
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["published"] is True
    assert body["problems"] == []
    iri = body["id"]

    learner = f"learner-{uuid.uuid4().hex[:8]}@example.org"
    definition = tenant.api.get("/api/v1/pathway", params={"id": iri}).json()["definition"]
    components = [c for c in definition["components"] if c["kind"] == "achievement"]
    assert len(components) >= 2
    start = progress(tenant, learner, iri)
    assert start["percent"] == 0
    assert start["complete"] is False

    achievements = {a["key"]: a for a in tenant.api.get("/api/v1/achievements").json()}
    seen = []
    issued = []
    for component in components:
        key = component["achievementId"].rsplit("/", 1)[-1]
        award = tenant.award(achievements[key]["id"], recipient_email=learner)
        issued.append(award)
        seen.append(progress(tenant, learner, iri)["percent"])
    assert seen == sorted(seen)
    assert seen[-1] == 100.0

    stacks = tenant.api.get(f"/api/v1/learners/{learner}/stacks").json()
    assert [s["state"] for s in stacks] == ["active"]
    clr = tenant.anon.get(stacks[0]["clr"], headers={"Accept": "application/json"})
    assert clr.status_code == 200
    verified = tenant.anon.post("/stacks/verify", content=clr.content)
    result = verified.json()
    assert result["verified"] is True, result
    assert "stack.ok" in [c["code"] for c in result["checks"]]
    assert len(result["components"]) == len(components) + 1

    revoked = tenant.api.post(f"/api/v1/awards/{issued[0]['id']}/revoke", json={"reason": "error"})
    assert revoked.status_code == 200, revoked.text
    stacks = tenant.api.get(f"/api/v1/learners/{learner}/stacks").json()
    assert stacks[0]["state"] == "suspended"
    after = tenant.anon.post("/stacks/verify", content=clr.content).json()
    assert after["verified"] is False
    codes = [c["code"] for c in after["checks"]]
    assert "status.suspended" in codes
    assert "components.invalid" in codes

    exported = tenant.anon.get("/pathways/ctdl", params={"id": iri})
    assert exported.status_code == 200
    graph = exported.json()["@graph"]
    assert any(node.get("@type") == "ceterms:Pathway" for node in graph)


def test_pathway_errors_are_json_and_scoped(tenants: TenantFactory) -> None:
    reader = tenants(scopes=[Scope.ORG_READ])
    document, _ = ctdl_pathway()
    refused = reader.api.post("/api/v1/pathways", json=document)
    assert refused.status_code == 403
    assert set(refused.json()) == {"error", "detail"}
    bad = reader.api.post("/api/v1/pathways/validate", json={"hello": "world"})
    assert bad.status_code in (400, 422)
    assert set(bad.json()) == {"error", "detail"}
    broken = {
        "format": "credstack-pathway/1", "id": "https://x.example/p", "name": "P",
        "description": "", "version": 1, "orgId": "", "finalMilestone": "m",
        "components": [{"kind": "achievement", "id": "a", "achievementId": "urn:x:a"}],
        "milestones": [{"id": "m", "name": "M", "achievementId": "urn:x:m",
                        "requirement": {"kind": "at_least", "n": 3, "of": ["a"]}}],
    }  # fmt: skip
    checked = reader.api.post("/api/v1/pathways/validate", json=broken).json()
    assert checked["valid"] is False
    assert any("a" in p["components"] or "m" in p["components"] for p in checked["problems"])
    missing = reader.api.get("/api/v1/pathway", params={"id": "https://nowhere.example/p"})
    assert missing.status_code == 404
    assert set(missing.json()) == {"error", "detail"}
