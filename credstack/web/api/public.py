"""Public, unauthenticated resources: DID documents, credentials, achievements, lists."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from credstack.domain.errors import NotFound
from credstack.domain.platform import AchievementId
from credstack.services import awards
from credstack.services.organizations import document_for, org_by_slug, profile_of
from credstack.services.status_registry import TTL_MS
from credstack.web.deps import PlatformDep, SessionDep
from credstack.web.pages.render import prefers_html
from credstack.web.pages.verify import credential_page

router = APIRouter(tags=["public"])
JSON_LD = "application/ld+json"


def _json(value: Any, media_type: str = "application/json", **headers: str) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), media_type=media_type, headers=headers)


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/orgs/{slug}/did.json")
def did_document(slug: str, found: PlatformDep) -> Response:
    """The organization's did:web document (every key, old ones included)."""
    org = org_by_slug(found.orgs, slug)
    return _json(
        document_for(found.keys, org, found.base_url),
        "application/did+json",
        **{"Cache-Control": "public, max-age=300"},
    )


@router.get("/orgs/{slug}")
def issuer_profile(slug: str, found: PlatformDep) -> Response:
    org = org_by_slug(found.orgs, slug)
    return _json(profile_of(org, found.base_url).to_json())


@router.get("/credentials/{award_id}")
def credential(award_id: str, request: Request, found: PlatformDep, db: SessionDep) -> Response:
    """The credential exactly as signed (the bytes of record); browsers, whose Accept
    prefers text/html, get its verification page instead."""
    if prefers_html(request.headers.get("accept")):
        return credential_page(request, found, db, award_id)
    award = awards.get_award(found, award_id)
    return Response(
        award.document,
        media_type="application/vc+ld+json",
        headers={"Cache-Control": "no-cache", "Vary": "Accept"},
    )


@router.get("/achievements/{achievement_id}")
def achievement(achievement_id: str, found: PlatformDep) -> Response:
    record = found.achievements.get(AchievementId(achievement_id))
    if record is None or not record.published:
        raise NotFound(f"no published achievement {achievement_id!r}")
    return _json(record.definition)


@router.get("/orgs/{slug}/status/{list_id}")
def status_list(slug: str, list_id: str, request: Request, found: PlatformDep) -> Response:
    """The signed BitstringStatusListCredential, with caching headers and ETag."""
    org, state = awards.list_state(found, slug, list_id)
    etag = f'"{state.id}-{state.version}"'
    headers = {
        "Cache-Control": f"public, max-age={TTL_MS // 1000}",
        "ETag": etag,
        "Last-Modified": state.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    cache: dict[tuple[str, int], Any] = request.app.state.list_cache
    document = cache.get((state.id, state.version))
    if document is None:
        document = awards.signed_list(found, org, state)
        if len(cache) > 256:
            cache.clear()
        cache[(state.id, state.version)] = document
    return _json(document, "application/vc+ld+json", **headers)
