"""Admin API (``/api/v1``) for the organization of the bearer token, by scope."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from credstack.domain.achievements import Achievement
from credstack.domain.credentials import Evidence, Result
from credstack.domain.errors import Invalid, NotFound
from credstack.domain.platform import AchievementVersion, Award, Scope
from credstack.services import achievements, awards
from credstack.services.organizations import (
    document_for,
    profile_of,
    rotate_key,
    update_profile,
)
from credstack.web.api.models import AchievementIn, AwardIn, ProfileUpdate, StatusChange
from credstack.web.deps import Caller, PlatformDep, require

router = APIRouter(prefix="/api/v1", tags=["admin"])


def _who(scope: Scope) -> Any:
    return Depends(require(scope))


def achievement_json(record: AchievementVersion) -> dict[str, Any]:
    return {
        "id": record.id,
        "key": record.key,
        "version": record.version,
        "published": record.published,
        "validityDays": record.validity_days,
        "definition": record.definition,
    }


def award_json(award: Award, *, with_document: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": award.id,
        "achievementId": award.achievement_id,
        "recipient": award.recipient,
        "issuedAt": award.issued_at.isoformat(),
        "validUntil": award.valid_until.isoformat() if award.valid_until else None,
        "status": "revoked" if award.revoked_at else "suspended" if award.suspended else "active",
    }
    if with_document:
        out["credential"] = json.loads(award.document)
    return out


@router.get("/org")
def get_org(found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_READ)]) -> dict[str, Any]:
    return {
        "slug": who.org.slug,
        "profile": profile_of(who.org, found.base_url).to_json(),
        "didDocument": document_for(found.keys, who.org, found.base_url),
    }


@router.put("/org")
def put_org(
    body: ProfileUpdate, found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_WRITE)]
) -> dict[str, Any]:
    org = update_profile(found.orgs, who.org, **body.model_dump())
    return profile_of(org, found.base_url).to_json()


@router.post("/org/keys/rotate", status_code=201)
def rotate(found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_WRITE)]) -> dict[str, Any]:
    rotate_key(found.keys, who.org, secret=found.secret, now=found.now())
    return document_for(found.keys, who.org, found.base_url)


@router.get("/achievements")
def list_achievements(
    found: PlatformDep, who: Annotated[Caller, _who(Scope.ORG_READ)]
) -> list[dict[str, Any]]:
    return [achievement_json(a) for a in found.achievements.of(who.org.id)]


@router.post("/achievements", status_code=201)
def create_achievement(
    body: AchievementIn, found: PlatformDep, who: Annotated[Caller, _who(Scope.ACHIEVEMENTS_WRITE)]
) -> dict[str, Any]:
    record = achievements.define(
        found.achievements,
        who.org,
        key=body.key,
        definition=body.definition,
        creator=profile_of(who.org, found.base_url),
        base_url=found.base_url,
        now=found.now(),
        validity_days=body.validity_days,
        publish=body.publish,
    )
    return achievement_json(record)


@router.post("/achievements/{achievement_id}/publish")
def publish_achievement(
    achievement_id: str,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.ACHIEVEMENTS_WRITE)],
) -> dict[str, Any]:
    record = achievements.get(found.achievements, who.org, achievement_id)
    achievements.publish(found.achievements, record.id)
    return achievement_json(achievements.get(found.achievements, who.org, achievement_id))


@router.post("/awards", status_code=201)
def create_award(
    body: AwardIn,
    response: Response,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.AWARDS_ISSUE)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Issue a credential. Retrying with the same Idempotency-Key returns the first one."""
    record = achievements.resolve(found.achievements, who.org, body.achievement)
    key = idempotency_key or body.idempotency_key
    if key:
        existing = found.awards.by_idempotency_key(who.org.id, key)
        if existing is not None:
            response.status_code = 200
            return award_json(existing)
    request = awards.AwardRequest(
        recipient_email=body.recipient_email,
        recipient_did=body.recipient_did,
        learner_name=body.learner_name,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        activity_start=body.activity_start,
        activity_end=body.activity_end,
        credits_earned=body.credits_earned,
        evidence=tuple(Evidence(**e.model_dump()) for e in body.evidence),
        results=_results(record, body.result),
        idempotency_key=key,
    )
    award = awards.issue_award(found, awards.issuer_of(found, who.org), record, request)
    return award_json(award)


def _results(record: AchievementVersion, value: str | None) -> tuple[Result, ...]:
    """``result`` is the value of the achievement's one result description."""
    if value is None:
        return ()
    descriptions = Achievement.from_json(record.definition).result_descriptions
    if len(descriptions) != 1:
        raise Invalid(
            f"result: the achievement has {len(descriptions)} result descriptions; "
            "a result value needs exactly one"
        )
    return (Result(value=value, result_description=descriptions[0].id),)


@router.get("/awards")
def list_awards(
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.AWARDS_READ)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    items = found.awards.of(who.org.id, limit=limit, offset=offset)
    return {
        "total": found.awards.count(who.org.id),
        "awards": [award_json(a, with_document=False) for a in items],
    }


def _own(found: PlatformDep, who: Caller, award_id: str) -> Award:
    award = awards.find(found, award_id)
    if award.org_id != who.org.id:
        raise NotFound(f"no credential {award_id!r}")
    return award


@router.get("/awards/{award_id}")
def get_award(
    award_id: str, found: PlatformDep, who: Annotated[Caller, _who(Scope.AWARDS_READ)]
) -> dict[str, Any]:
    award = _own(found, who, award_id)
    data = award_json(award)
    data["revocationReason"] = award.revocation_reason
    return data


@router.post("/awards/{award_id}/revoke")
def revoke_award(
    award_id: str,
    found: PlatformDep,
    who: Annotated[Caller, _who(Scope.STATUS_WRITE)],
    body: StatusChange | None = None,
) -> dict[str, Any]:
    award = awards.revoke(found, _own(found, who, award_id), body.reason if body else None)
    return award_json(award, with_document=False)


@router.post("/awards/{award_id}/suspend")
def suspend_award(
    award_id: str, found: PlatformDep, who: Annotated[Caller, _who(Scope.STATUS_WRITE)]
) -> dict[str, Any]:
    return award_json(awards.suspend(found, _own(found, who, award_id)), with_document=False)


@router.post("/awards/{award_id}/unsuspend")
def unsuspend_award(
    award_id: str, found: PlatformDep, who: Annotated[Caller, _who(Scope.STATUS_WRITE)]
) -> dict[str, Any]:
    award = awards.suspend(found, _own(found, who, award_id), suspended=False)
    return award_json(award, with_document=False)
