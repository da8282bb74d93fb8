"""Small builders shared by the platform tests over a real database (no fakes)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from credstack.db.repositories import platform_for
from credstack.domain.platform import AchievementVersion, Award, Organization
from credstack.services import achievements, awards
from credstack.services.checks import VerificationResult
from credstack.services.organizations import create_organization, profile_of
from credstack.services.platform import Platform
from credstack.services.verifying import VerifyOptions, verify
from tests.conftest import BASE_URL, SECRET

DEFINITION: dict[str, Any] = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}


def new_org(platform: Platform, slug: str = "acme", **fields: Any) -> Organization:
    return create_organization(
        platform.orgs,
        platform.keys,
        slug=slug,
        name=fields.pop("name", "Acme College"),
        secret=SECRET,
        now=platform.now(),
        **fields,
    )


def define(
    platform: Platform,
    org: Organization,
    key: str = "sql",
    definition: dict[str, Any] | None = None,
    **options: Any,
) -> AchievementVersion:
    return achievements.define(
        platform.achievements,
        org,
        key=key,
        definition=definition or DEFINITION,
        creator=profile_of(org, platform.base_url),
        base_url=platform.base_url,
        now=platform.now(),
        **options,
    )


def issue(
    platform: Platform, org: Organization, record: AchievementVersion, **request: Any
) -> Award:
    if "recipient_email" not in request and "recipient_did" not in request:
        request["recipient_email"] = "ada@example.org"
    return awards.issue_award(
        platform, awards.issuer_of(platform, org), record, awards.AwardRequest(**request)
    )


def check(platform: Platform, award: Award | dict[str, Any]) -> VerificationResult:
    """Verify as a relying party of this platform would (keys and lists from storage)."""
    options = VerifyOptions(
        now=platform.now(),
        resolve=awards.resolver(platform),
        status=awards.PlatformStatusLists(platform),
    )
    document = json.loads(award.document) if isinstance(award, Award) else award
    return verify(document, options)


def platform_over(session: Session, **world: Any) -> Platform:
    """A platform over ``session`` the way the composition roots build one."""
    return platform_for(
        session,
        base_url=BASE_URL,
        secret=SECRET,
        **world,
    )


class ScriptedRandom(random.Random):
    """Returns the scripted numbers first, then seeded random ones; ``before`` runs once."""

    def __init__(self, *script: int, before: Callable[[], None] | None = None) -> None:
        super().__init__(11)
        self.script = list(script)
        self.before = before

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if self.before is not None:
            before, self.before = self.before, None
            before()
        if self.script:
            return self.script.pop(0)
        return super().randrange(start, stop, step)
