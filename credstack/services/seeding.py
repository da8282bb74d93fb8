"""Demo data for ``make run``: two organizations, each with a catalogue of three
micro-credentials stacked into a published pathway, and learners with awards. A learner
holding all three gets the stack's certificate and CLR from the stacking engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credstack.domain.achievements import Achievement
from credstack.domain.platform import Organization
from credstack.services import achievements, awards, pathway_catalog
from credstack.services.catalog import Stack, cybersecurity_stack, data_analyst_stack
from credstack.services.organizations import create_organization, profile_of
from credstack.services.platform import Platform

LEARNERS = (
    ("ada@example.org", "Ada Lovelace", 3),
    ("grace@example.org", "Grace Hopper", 2),
    ("alan@example.org", "Alan Turing", 1),
)


@dataclass(frozen=True, slots=True)
class Seeded:
    organizations: tuple[Organization, ...]
    awards: int


def _key(achievement: Achievement) -> str:
    return achievement.id.rsplit("/", 1)[-1]


def _catalog(platform: Platform, org: Organization, stack: Stack) -> int:
    creator = profile_of(org, platform.base_url)
    issuer = awards.issuer_of(platform, org)
    issued = 0
    versions = []
    for achievement in (*stack.components, stack.certificate):
        definition = {k: v for k, v in achievement.to_json().items() if k not in ("id", "creator")}
        versions.append(
            achievements.define(
                platform.achievements,
                org,
                key=_key(achievement),
                definition=definition,
                creator=creator,
                base_url=platform.base_url,
                now=platform.now(),
                validity_days=730,
            )
        )
    pathway = stack_pathway(platform, org, stack)
    pathway_catalog.import_pathway(platform, org, pathway, publish=True)
    for email, name, count in LEARNERS:
        for record in versions[: min(count, len(stack.components))]:
            awards.issue_award(
                platform,
                issuer,
                record,
                awards.AwardRequest(
                    recipient_email=email,
                    learner_name=name,
                    credits_earned=1.0,
                    idempotency_key=f"seed:{record.key}:{email}",
                ),
            )
            issued += 1
    return issued


def stack_pathway(platform: Platform, org: Organization, stack: Stack) -> dict[str, Any]:
    """The stack as a pathway in credstack's format: the components in recommended order,
    all of them for the certificate."""
    keys = [_key(a) for a in stack.components]
    return {
        "format": "credstack-pathway/1",
        "id": pathway_catalog.pathway_url(platform.base_url, org.slug, _key(stack.certificate)),
        "name": stack.name,
        "description": stack.certificate.description,
        "version": 1,
        "orgId": org.id,
        "cascadePolicy": "suspend",
        "finalMilestone": "certificate",
        "components": [
            {
                "kind": "achievement",
                "id": key,
                "name": achievement.name,
                "achievementId": pathway_catalog.key_url(platform.base_url, org.slug, key),
                "credits": achievement.credits_available,
                "hours": achievement.learning_hours,
                "alignments": [a.target_url for a in achievement.alignments if a.target_url],
                **({"precedes": [keys[i + 1]]} if i + 1 < len(keys) else {}),
            }
            for i, (key, achievement) in enumerate(zip(keys, stack.components, strict=True))
        ],
        "milestones": [
            {
                "id": "certificate",
                "name": stack.certificate.name,
                "achievementId": pathway_catalog.key_url(
                    platform.base_url, org.slug, _key(stack.certificate)
                ),
                "achievementType": stack.certificate.achievement_type or "Certificate",
                "requirement": {"kind": "all_of", "of": keys},
            }
        ],
    }


def seed_demo(platform: Platform) -> Seeded | None:
    """Create the demo data unless any organization exists (then do nothing)."""
    if platform.orgs.all():
        return None
    now = platform.now()
    college = create_organization(
        platform.orgs,
        platform.keys,
        slug="demo-college",
        name="credstack Demo College",
        secret=platform.secret,
        now=now,
        url="https://college.example",
        email="registrar@college.example",
        owner="registrar@college.example",
    )
    institute = create_organization(
        platform.orgs,
        platform.keys,
        slug="cyber-institute",
        name="Cyber Skills Institute",
        secret=platform.secret,
        now=now,
        url="https://cyber.example",
        email="office@cyber.example",
        owner="office@cyber.example",
    )
    issued = _catalog(platform, college, data_analyst_stack(platform.base_url))
    issued += _catalog(platform, institute, cybersecurity_stack(platform.base_url))
    return Seeded((college, institute), issued)
