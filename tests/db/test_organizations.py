"""Organizations over a real database: slugs, sealed signing keys, rotation, profile."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from credstack.crypto.keys import ed25519_from_seed
from credstack.crypto.sealing import SealError, unseal
from credstack.db.tables import SigningKeyRow
from credstack.domain.errors import Conflict, Invalid
from credstack.services.awards import issuer_by_slug
from credstack.services.organizations import (
    document_for,
    issuer_for,
    org_by_slug,
    org_did,
    rotate_key,
    update_profile,
)
from credstack.services.platform import Platform
from tests.conftest import SECRET, Clock
from tests.db.support import check, define, issue, new_org


@pytest.mark.parametrize("slug", ["a", "7", "acme", "acme-college-2", "a" * 64])
def test_a_slug_of_lowercase_letters_digits_and_inner_hyphens_is_accepted(
    platform: Platform, slug: str
) -> None:
    org = new_org(platform, slug)
    assert org_by_slug(platform.orgs, slug) == org
    assert org_did(platform.base_url, slug) == f"did:web:credstack.test:orgs:{slug}"


@pytest.mark.parametrize(
    "slug",
    ["", "-acme", "acme-", "Acme", "acme_college", "acme college", "ácme", "a" * 65, "acme\n"],
)
def test_a_slug_breaking_the_rules_is_refused(platform: Platform, slug: str) -> None:
    with pytest.raises(Invalid, match="slug"):
        new_org(platform, slug)
    assert platform.orgs.by_slug(slug) is None


def test_a_second_organization_with_the_same_slug_is_a_conflict(platform: Platform) -> None:
    new_org(platform, "acme")
    with pytest.raises(Conflict, match="acme"):
        new_org(platform, "acme", name="Another Acme")


def test_an_organization_needs_a_name(platform: Platform) -> None:
    with pytest.raises(Invalid, match="name"):
        new_org(platform, "acme", name="   ")


def test_an_organization_with_a_malformed_url_or_email_is_refused(platform: Platform) -> None:
    with pytest.raises(Invalid, match=r"profile\.url"):
        new_org(platform, "acme", url="not a url")
    with pytest.raises(Invalid, match=r"profile\.email"):
        new_org(platform, "acme", email="nobody")
    assert platform.orgs.by_slug("acme") is None


def test_the_signing_key_secret_is_sealed_at_rest(platform: Platform, db: Session) -> None:
    org = new_org(platform)
    row = db.scalars(select(SigningKeyRow).where(SigningKeyRow.org_id == org.id)).one()
    seed = unseal(SECRET, row.sealed_secret, org.id.encode())
    assert len(seed) == 32
    assert seed not in row.sealed_secret
    assert seed.hex().encode() not in row.sealed_secret
    assert row.sealed_secret.startswith(b"v1")
    assert ed25519_from_seed(seed).public.multibase == row.public_multibase
    issuer = issuer_by_slug(platform, "acme")
    assert issuer.key.public.multibase == row.public_multibase


def test_unsealing_with_another_secret_fails_with_key_unsealable(platform: Platform) -> None:
    org = new_org(platform)
    with pytest.raises(SealError) as raised:
        issuer_for(
            platform.orgs,
            platform.keys,
            org,
            secret=b"another-secret-that-is-long-enough",
            base_url=platform.base_url,
        )
    assert raised.value.code == "key.unsealable"
    assert "CREDSTACK_SECRET_KEY" in raised.value.message


def test_a_sealed_key_moved_to_another_organization_does_not_unseal(platform: Platform) -> None:
    acme, other = new_org(platform, "acme"), new_org(platform, "other")
    [stored] = platform.keys.of(acme.id)
    with pytest.raises(SealError):
        unseal(SECRET, stored.sealed_secret, other.id.encode())


def test_rotation_keeps_old_keys_published_and_old_credentials_verifying(
    platform: Platform, clock: Clock
) -> None:
    org = new_org(platform)
    record = define(platform, org)
    before = issue(platform, org, record)
    clock.advance(minutes=1)
    rotate_key(platform.keys, org, secret=SECRET, now=platform.now())
    after = issue(platform, org, record)

    old_method = json.loads(before.document)["proof"][0]["verificationMethod"]
    new_method = json.loads(after.document)["proof"][0]["verificationMethod"]
    assert old_method != new_method
    document = document_for(platform.keys, org, platform.base_url)
    published = [m["id"] for m in document["verificationMethod"]]
    assert published == [old_method, new_method]
    assert set(published) <= set(document["assertionMethod"])
    assert [k.active for k in platform.keys.of(org.id)] == [False, True]
    assert check(platform, before).verified
    assert check(platform, after).verified


def test_a_profile_update_changes_the_issuer_of_later_credentials_only(
    platform: Platform,
) -> None:
    org = new_org(platform)
    record = define(platform, org)
    before = issue(platform, org, record)
    updated = update_profile(
        platform.orgs,
        org,
        name="Acme University",
        url="https://acme.example",
        email="badges@acme.example",
        description=None,
    )
    assert platform.orgs.by_slug("acme") == updated
    assert updated.name == "Acme University"
    after = issue(platform, updated, record)
    assert json.loads(after.document)["issuer"]["name"] == "Acme University"
    assert json.loads(after.document)["issuer"]["url"] == "https://acme.example"
    assert json.loads(before.document)["issuer"]["name"] == "Acme College"
    assert check(platform, after).verified


def test_a_profile_update_that_would_break_the_profile_is_refused(platform: Platform) -> None:
    org = new_org(platform)
    with pytest.raises(Invalid, match="cannot change"):
        update_profile(platform.orgs, org, slug="elsewhere")
    with pytest.raises(Invalid, match=r"profile\.url"):
        update_profile(platform.orgs, org, url="javascript-alert")
    with pytest.raises(Invalid, match="name"):
        update_profile(platform.orgs, org, name=" ")
    assert platform.orgs.by_slug("acme") == org
