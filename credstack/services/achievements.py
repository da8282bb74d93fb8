"""Achievements (credential definitions) with immutable published versions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from credstack.domain.achievements import Achievement, Profile
from credstack.domain.errors import Conflict, Invalid, NotFound
from credstack.domain.platform import AchievementId, AchievementVersion, Organization
from credstack.domain.ports import AchievementRepository

KEY = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?\Z")
MAX_VALIDITY_DAYS = 36_525  # a century; more overflows dates and database integers


def achievement_url(base_url: str, achievement_id: str) -> str:
    return f"{base_url.rstrip('/')}/achievements/{achievement_id}"


def define(
    achievements: AchievementRepository,
    org: Organization,
    *,
    key: str,
    definition: Mapping[str, Any],
    creator: Profile,
    base_url: str,
    now: datetime,
    validity_days: int | None = None,
    publish: bool = True,
) -> AchievementVersion:
    """A new version of achievement ``key`` (version 1 when new).

    The stored definition is the OB 3.0 Achievement JSON with its ``id`` set to this
    version's dereferenceable URL and the organization as ``creator``.
    """
    if not KEY.match(key):
        raise Invalid(f"achievement key {key!r} must be lowercase letters, digits and hyphens")
    if validity_days is not None and not 0 < validity_days <= MAX_VALIDITY_DAYS:
        raise Invalid(f"validity_days must be a number of days from 1 to {MAX_VALIDITY_DAYS}")
    latest = achievements.latest(org.id, key)
    if latest is not None and not latest.published:
        raise Conflict(f"achievement {key!r} has an unpublished draft v{latest.version}")
    version = 1 if latest is None else latest.version + 1
    new_id = AchievementId(str(uuid.uuid4()))
    body = {**definition, "id": achievement_url(base_url, new_id), "creator": creator.to_json()}
    body.setdefault("type", ["Achievement"])
    body.setdefault("version", str(version))
    parsed = Achievement.from_json(body)
    record = AchievementVersion(
        new_id, org.id, key, version, publish, parsed.to_json(), now, validity_days
    )
    achievements.add(record)
    return record


def publish(achievements: AchievementRepository, achievement_id: AchievementId) -> None:
    found = achievements.get(achievement_id)
    if found is None:
        raise NotFound(f"no achievement {achievement_id}")
    achievements.publish(achievement_id)


def get(
    achievements: AchievementRepository, org: Organization, achievement_id: str
) -> AchievementVersion:
    found = achievements.get(AchievementId(achievement_id))
    if found is None or found.org_id != org.id:
        raise NotFound(f"organization {org.slug!r} has no achievement {achievement_id!r}")
    return found


def resolve(
    achievements: AchievementRepository, org: Organization, reference: str
) -> AchievementVersion:
    """An achievement by version id, or by key (its latest published version)."""
    if KEY.match(reference):
        latest = achievements.latest(org.id, reference)
        if latest is not None and not latest.published:
            published = [a for a in achievements.of(org.id) if a.key == reference and a.published]
            latest = published[-1] if published else latest
        if latest is not None:
            return latest
    return get(achievements, org, reference)
