"""Awards over a real database: recipients, validity, bytes of record, idempotency, status."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from credstack.crypto import status_list
from credstack.db.tables import AwardRow
from credstack.domain.credentials import hash_identity, parse_datetime
from credstack.domain.errors import Conflict, Invalid, NotFound
from credstack.domain.platform import AwardId, StatusPurpose
from credstack.services import awards
from credstack.services.platform import Platform
from credstack.services.status_registry import SIZE
from tests.db.support import DEFINITION, ScriptedRandom, check, define, issue, new_org


def test_an_award_by_did_names_the_recipient_as_the_subject(platform: Platform) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org), recipient_did="did:example:ada")
    document = json.loads(award.document)
    assert document["credentialSubject"]["id"] == "did:example:ada"
    assert (award.recipient, award.recipient_kind, award.claim_token) == (
        "did:example:ada",
        "did",
        None,
    )
    assert check(platform, award).verified


def test_an_award_by_email_publishes_only_a_salted_hash_of_it(
    platform: Platform, db: Session
) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org), recipient_email=" Ada@Example.org ")
    assert "ada@example.org" not in award.document.lower()
    [identity] = json.loads(award.document)["credentialSubject"]["identifier"]
    assert identity["hashed"] is True
    assert identity["identityType"] == "emailAddress"
    assert identity["identityHash"] == hash_identity("ada@example.org", identity["salt"])
    row = db.scalars(select(AwardRow).where(AwardRow.id == award.id)).one()
    assert (row.recipient, row.recipient_kind) == ("ada@example.org", "email")
    assert row.claim_token
    assert check(platform, award).verified


def test_an_award_needs_exactly_one_recipient(platform: Platform) -> None:
    org = new_org(platform)
    record = define(platform, org)
    with pytest.raises(Invalid, match="exactly one recipient"):
        issue(platform, org, record, recipient_email="a@example.org", recipient_did="did:ex:a")


def test_validity_days_set_valid_until_from_valid_from(platform: Platform) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org, validity_days=365))
    document = json.loads(award.document)
    valid_from = parse_datetime(document["validFrom"])
    assert valid_from == platform.now()
    assert parse_datetime(document["validUntil"]) == valid_from + timedelta(days=365)
    assert award.valid_until == valid_from + timedelta(days=365)


def test_an_explicit_valid_until_wins_over_validity_days(platform: Platform) -> None:
    org = new_org(platform)
    until = platform.now() + timedelta(days=10)
    award = issue(platform, org, define(platform, org, validity_days=365), valid_until=until)
    assert parse_datetime(json.loads(award.document)["validUntil"]) == until


def test_the_stored_document_is_the_signed_credential_that_verifies(platform: Platform) -> None:
    org = new_org(platform)
    record = define(platform, org)
    award = issue(platform, org, record)
    stored = platform.awards.get(award.id)
    assert stored is not None
    assert stored.document == award.document
    document = json.loads(stored.document)
    assert document["id"] == f"https://credstack.test/credentials/{award.id}"
    assert document["issuer"]["id"] == "did:web:credstack.test:orgs:acme"
    assert document["credentialSubject"]["achievement"] == record.definition
    assert [p["cryptosuite"] for p in document["proof"]] == ["eddsa-rdfc-2022"]
    result = check(platform, stored)
    assert result.verified, result.failed()
    tampered = {**document, "validUntil": "2099-01-01T00:00:00Z"}
    assert "proof.invalid" in check(platform, tampered).codes()


def test_the_same_idempotency_key_gives_back_the_first_award(platform: Platform) -> None:
    org = new_org(platform)
    record = define(platform, org)
    first = issue(platform, org, record, idempotency_key="enrolment-42")
    again = issue(platform, org, record, idempotency_key="enrolment-42", recipient_did="did:ex:b")
    assert again == first
    assert platform.awards.count(org.id) == 1
    other = define(platform, org, key="python")
    with pytest.raises(Conflict, match="idempotency key"):
        issue(platform, org, other, idempotency_key="enrolment-42")


def test_each_award_gets_a_revocation_and_a_suspension_entry_at_one_random_index(
    platform: Platform,
) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org))
    revocation, suspension = json.loads(award.document)["credentialStatus"]
    assert [revocation["statusPurpose"], suspension["statusPurpose"]] == [
        "revocation",
        "suspension",
    ]
    for entry, list_id in (
        (revocation, award.revocation_list_id),
        (suspension, award.suspension_list_id),
    ):
        url = f"https://credstack.test/orgs/acme/status/{list_id}"
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["statusListIndex"] == str(award.status_index)
        assert entry["statusListIndex"].isdigit()
        assert entry["statusListCredential"] == url
        assert entry["id"] == f"{url}#{award.status_index}"
    assert 0 <= award.status_index < SIZE
    assert award.revocation_list_id != award.suspension_list_id


def test_status_lists_are_per_organization_and_hold_131072_entries(platform: Platform) -> None:
    acme, other = new_org(platform, "acme"), new_org(platform, "other")
    a = issue(platform, acme, define(platform, acme))
    b = issue(platform, other, define(platform, other))
    assert {a.revocation_list_id, a.suspension_list_id}.isdisjoint(
        {b.revocation_list_id, b.suspension_list_id}
    )
    states = platform.status_lists.of(acme.id)
    assert sorted(s.purpose for s in states) == [StatusPurpose.REVOCATION, StatusPurpose.SUSPENSION]
    for state in states:
        assert len(state.bits) * 8 == SIZE == 131_072
        assert status_list.decode(status_list.encode(state.bits)) == state.bits
        assert not any(state.bits)


def test_two_awards_never_share_an_index_on_one_list(platform: Platform) -> None:
    org = new_org(platform)
    record = define(platform, org)
    platform.rng = ScriptedRandom(4242, 4242, 4242, 77)
    first = issue(platform, org, record)
    second = issue(platform, org, record)
    assert first.revocation_list_id == second.revocation_list_id
    assert (first.status_index, second.status_index) == (4242, 77)
    platform.rng = ScriptedRandom()
    indexes = {issue(platform, org, record).status_index for _ in range(8)}
    assert len(indexes) == 8
    assert not indexes & {4242, 77}
    state = platform.status_lists.get(first.revocation_list_id)
    assert state is not None
    assert state.entries_used == 10


def test_the_database_refuses_a_second_award_at_a_taken_index(platform: Platform) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org))
    twin = replace(award, id=AwardId("00000000-0000-4000-8000-000000000000"), claim_token=None)
    with pytest.raises(Conflict):
        platform.awards.add(twin)


def test_an_award_of_a_draft_or_of_another_organization_is_refused(platform: Platform) -> None:
    acme, other = new_org(platform, "acme"), new_org(platform, "other")
    draft = define(platform, acme, publish=False)
    with pytest.raises(Conflict, match="draft"):
        issue(platform, acme, draft)
    foreign = define(platform, other, definition={**DEFINITION, "name": "Theirs"})
    with pytest.raises(NotFound, match="another organization"):
        issue(platform, acme, foreign)


def test_an_award_is_found_by_its_uuid_or_its_credential_url(platform: Platform) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org))
    assert awards.find(platform, award.id) == award
    assert awards.find(platform, f"https://credstack.test/credentials/{award.id}") == award
