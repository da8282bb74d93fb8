"""Achievements over a real database: versions, immutability, dereferenceable ids."""

from __future__ import annotations

from typing import Any

import pytest

from credstack.domain.errors import Conflict, Invalid, NotFound
from credstack.services import achievements
from credstack.services.organizations import profile_of
from credstack.services.platform import Platform
from tests.db.support import DEFINITION, define, issue, new_org


def test_defining_a_key_twice_makes_version_1_then_version_2(platform: Platform) -> None:
    org = new_org(platform)
    first = define(platform, org)
    second = define(platform, org, definition={**DEFINITION, "name": "SQL Fundamentals II"})
    assert (first.version, second.version) == (1, 2)
    assert first.id != second.id
    assert (first.definition["version"], second.definition["version"]) == ("1", "2")
    assert [a.version for a in platform.achievements.of(org.id)] == [1, 2]
    assert achievements.resolve(platform.achievements, org, "sql") == second


def test_a_published_version_keeps_its_stored_definition(platform: Platform) -> None:
    org = new_org(platform)
    first = define(platform, org)
    define(platform, org, definition={**DEFINITION, "name": "Renamed", "description": "New."})
    stored = achievements.get(platform.achievements, org, first.id)
    assert stored.definition == first.definition
    assert stored.definition["name"] == "SQL Fundamentals"
    award = issue(platform, org, stored)
    assert award.achievement_id == first.id


def test_the_definition_id_is_the_dereferenceable_achievement_url(platform: Platform) -> None:
    org = new_org(platform)
    record = define(platform, org, definition={**DEFINITION, "id": "urn:uuid:caller-chosen"})
    assert record.definition["id"] == f"https://credstack.test/achievements/{record.id}"
    assert record.definition["creator"] == profile_of(org, platform.base_url).to_json()
    assert record.definition["type"] == ["Achievement"]


def test_a_draft_blocks_a_new_version_until_it_is_published(platform: Platform) -> None:
    org = new_org(platform)
    draft = define(platform, org, publish=False)
    assert not draft.published
    with pytest.raises(Conflict, match="draft"):
        define(platform, org)
    with pytest.raises(Conflict, match="draft"):
        issue(platform, org, draft)
    achievements.publish(platform.achievements, draft.id)
    assert achievements.get(platform.achievements, org, draft.id).published
    assert define(platform, org).version == 2


def test_an_award_by_key_uses_the_latest_published_version_not_a_draft(
    platform: Platform,
) -> None:
    org = new_org(platform)
    published = define(platform, org)
    define(platform, org, definition={**DEFINITION, "name": "Next"}, publish=False)
    assert achievements.resolve(platform.achievements, org, "sql") == published


def test_an_achievement_of_another_organization_is_not_found(platform: Platform) -> None:
    acme, other = new_org(platform, "acme"), new_org(platform, "other")
    record = define(platform, acme)
    with pytest.raises(NotFound, match="no achievement"):
        achievements.resolve(platform.achievements, other, record.id)


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"criteria": {"narrative": "x"}}, "achievement.name"),
        ({**DEFINITION, "criteria": 5}, "achievement.criteria"),
        ({**DEFINITION, "type": ["Badge"]}, "type"),
        ({**DEFINITION, "image": {"id": "not a uri"}}, "image.id"),
    ],
)
def test_an_invalid_definition_is_refused_naming_the_field(
    platform: Platform, definition: dict[str, Any], field: str
) -> None:
    org = new_org(platform)
    with pytest.raises(Invalid, match=field.replace(".", r"\.")):
        define(platform, org, definition=definition)
    assert platform.achievements.of(org.id) == []


@pytest.mark.parametrize("key", ["SQL", "sql_1", "-sql", "sql-", "sql\n", "a" * 101])
def test_an_achievement_key_breaking_the_rules_is_refused(platform: Platform, key: str) -> None:
    with pytest.raises(Invalid, match="key"):
        define(platform, new_org(platform), key=key)


def test_validity_days_must_be_positive(platform: Platform) -> None:
    with pytest.raises(Invalid, match="validity_days"):
        define(platform, new_org(platform), validity_days=0)
