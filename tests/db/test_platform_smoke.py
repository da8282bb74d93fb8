"""The platform's main path over a real database: organization, achievement, award, revoke."""

from __future__ import annotations

import json

from credstack.services import achievements, awards
from credstack.services.organizations import create_organization, profile_of
from credstack.services.platform import Platform
from credstack.services.verifying import VerifyOptions, verify
from tests.conftest import SECRET

DEFINITION = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}


def test_an_award_verifies_until_it_is_revoked(platform: Platform) -> None:
    org = create_organization(
        platform.orgs, platform.keys, slug="acme", name="Acme", secret=SECRET, now=platform.now()
    )
    record = achievements.define(
        platform.achievements,
        org,
        key="sql",
        definition=DEFINITION,
        creator=profile_of(org, platform.base_url),
        base_url=platform.base_url,
        now=platform.now(),
        validity_days=365,
    )
    award = awards.issue_award(
        platform,
        awards.issuer_of(platform, org),
        record,
        awards.AwardRequest(recipient_email="ada@example.org"),
    )
    options = VerifyOptions(
        now=platform.now(),
        resolve=awards.resolver(platform),
        status=awards.PlatformStatusLists(platform),
    )
    assert verify(json.loads(award.document), options).verified
    awards.revoke(platform, award, "copied the project")
    result = verify(json.loads(award.document), options)
    assert "status.revoked" in result.codes()
    assert platform.awards.get(award.id) is not None
