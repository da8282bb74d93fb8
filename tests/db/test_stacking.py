"""The stacking engine over a real database: stacks issue themselves, cascade and verify."""

from __future__ import annotations

import json
from typing import Any

import pytest

from credstack.domain.errors import Invalid
from credstack.domain.stack_records import StackState
from credstack.services import awards, ledger, pathway_catalog, recognition, stacking
from credstack.services.platform import Platform
from credstack.services.stack_verify import verify_stack
from tests.conftest import Clock
from tests.db.support import define, new_org

LEARNER = "ada@example.org"
IRI = "https://college.example/pathways/data-analyst"


def data_analyst(policy: str = "suspend") -> dict[str, Any]:
    """Three micro-credentials; any two make a Certificate, all three and 6 credits a Diploma."""
    return {
        "format": "credstack-pathway/1",
        "id": IRI,
        "name": "Data Analyst",
        "description": "Excel, SQL and Python add up to a Data Analyst certificate.",
        "version": 1,
        "orgId": "",
        "cascadePolicy": policy,
        "finalMilestone": "diploma",
        "components": [
            {"kind": "achievement", "id": "excel", "achievementId": "urn:x:excel",
             "name": "Excel Analysis", "credits": 2, "precedes": ["sql"]},
            {"kind": "achievement", "id": "sql", "achievementId": "urn:x:sql",
             "name": "SQL Fundamentals", "credits": 2},
            {"kind": "achievement", "id": "python", "achievementId": "urn:x:python",
             "name": "Python for Data", "credits": 2, "prerequisites": ["sql"]},
        ],
        "milestones": [
            {"id": "certificate", "name": "Data Analyst Certificate",
             "achievementId": "urn:x:certificate", "achievementType": "Certificate",
             "requirement": {"kind": "at_least", "n": 2, "of": ["excel", "sql", "python"]}},
            {"id": "diploma", "name": "Data Analyst Diploma",
             "achievementId": "urn:x:diploma", "achievementType": "Diploma",
             "requirement": {"kind": "all_of", "of": [
                 "excel", "sql", "python",
                 {"kind": "credits", "credits": 6, "pool": ["excel", "sql", "python"]}]}},
        ],
    }  # fmt: skip


def setup(platform: Platform, policy: str = "suspend") -> tuple[Any, Any]:
    org = new_org(platform, "college", name="City College")
    record, problems = pathway_catalog.import_pathway(
        platform, org, data_analyst(policy), publish=True
    )
    assert problems == []
    assert record.published
    assert record.version == 1
    return org, record


def award(platform: Platform, org: Any, key: str, learner: str = LEARNER) -> Any:
    issuer = awards.issuer_of(platform, org)
    record = pathway_catalog.key_of(
        platform, org, pathway_catalog.key_url(platform.base_url, org.slug, key)
    )
    assert record is not None, key
    return awards.issue_award(
        platform, issuer, record, awards.AwardRequest(recipient_email=learner)
    )


def test_import_binds_achievements_into_the_catalogue(platform: Platform) -> None:
    org, record = setup(platform)
    keys = sorted(a.key for a in platform.achievements.of(org.id))
    assert keys == [
        "data-analyst-certificate",
        "data-analyst-diploma",
        "excel-analysis",
        "python-for-data",
        "sql-fundamentals",
    ]
    stored = pathway_catalog.parsed(record)
    prefix = pathway_catalog.key_url(platform.base_url, "college", "")
    assert all(c.achievement_id.startswith(prefix) for c in stored.components)  # type: ignore[union-attr]
    diploma = next(a for a in platform.achievements.of(org.id) if a.key == "data-analyst-diploma")
    assert diploma.definition["achievementType"] == "Diploma"


def test_stack_and_clr_arrive_by_themselves_once(platform: Platform) -> None:
    org, _ = setup(platform)
    award(platform, org, "excel-analysis")
    [before] = stacking.learner_progress(platform, LEARNER, [IRI])
    assert before.progress.milestone("certificate").met is False
    assert platform.stacking is not None
    assert platform.stacking.stack_awards(learner=LEARNER) == []

    award(platform, org, "sql-fundamentals")
    stacks = platform.stacking.stack_awards(learner=LEARNER)
    assert [s.milestone for s in stacks] == ["certificate"]
    certificate = stacks[0]
    stack_doc = json.loads(platform.awards.get(certificate.award_id).document)  # type: ignore[arg-type, union-attr]
    assert stack_doc["credentialSubject"]["achievement"]["achievementType"] == "Certificate"
    assert stack_doc["credentialSubject"]["creditsEarned"] == 4.0
    clr_award = platform.awards.get(certificate.clr_award_id)  # type: ignore[arg-type]
    assert clr_award is not None
    assert clr_award.achievement_id is None
    clr = json.loads(clr_award.document)
    assert "ClrCredential" in clr["type"]
    nested = clr["credentialSubject"]["verifiableCredential"]
    assert len(nested) == 3  # the certificate and its two components, exactly as issued
    kinds = {a["associationType"] for a in clr["credentialSubject"]["association"]}
    assert kinds == {"isChildOf", "isParentOf", "precedes"}

    result = verify_stack(platform, clr)
    assert result.verified, [c.message for c in result.checks if not c.ok]
    assert "stack.ok" in result.codes()
    assert len(result.to_json()["components"]) == 3

    # Evaluating again (a sweep, another award elsewhere) issues nothing new.
    assert stacking.sweep(platform, [LEARNER]) == 0
    award(platform, org, "sql-fundamentals", learner="bob@example.org")
    assert len(platform.stacking.stack_awards(learner=LEARNER)) == 1

    award(platform, org, "python-for-data")
    milestones = sorted(s.milestone for s in platform.stacking.stack_awards(learner=LEARNER))
    assert milestones == ["certificate", "diploma"]


def test_revoking_a_component_suspends_the_stack_and_a_new_one_reinstates_it(
    platform: Platform,
) -> None:
    org, _ = setup(platform)
    award(platform, org, "excel-analysis")
    sql = award(platform, org, "sql-fundamentals")
    assert platform.stacking is not None
    [stack] = platform.stacking.stack_awards(learner=LEARNER)

    awards.revoke(platform, sql, "plagiarism")
    [stack] = platform.stacking.stack_awards(learner=LEARNER)
    assert stack.state is StackState.SUSPENDED
    assert "no longer met" in str(stack.reason)
    assert platform.awards.get(stack.award_id).suspended  # type: ignore[arg-type, union-attr]
    clr = json.loads(platform.awards.get(stack.clr_award_id).document)  # type: ignore[arg-type, union-attr]
    result = verify_stack(platform, clr)
    assert not result.verified
    assert "status.suspended" in result.codes()
    revoked = [c for c in result.components if "status.revoked" in c.codes()]
    assert len(revoked) == 1

    award(platform, org, "python-for-data")  # locked: its prerequisite SQL was revoked
    [stack] = platform.stacking.stack_awards(learner=LEARNER)
    assert stack.state is StackState.SUSPENDED
    award(platform, org, "sql-fundamentals")  # SQL again: all three now
    stacks = {s.milestone: s for s in platform.stacking.stack_awards(learner=LEARNER)}
    stack = stacks["certificate"]
    assert stack.state is StackState.ACTIVE
    assert stack.reason is None
    assert not platform.awards.get(stack.award_id).suspended  # type: ignore[arg-type, union-attr]


def test_revoke_policy_revokes_the_stack(platform: Platform) -> None:
    org, _ = setup(platform, policy="revoke")
    excel = award(platform, org, "excel-analysis")
    award(platform, org, "sql-fundamentals")
    awards.revoke(platform, excel)
    assert platform.stacking is not None
    [stack] = platform.stacking.stack_awards(learner=LEARNER)
    assert stack.state is StackState.REVOKED
    assert platform.awards.get(stack.award_id).revoked_at is not None  # type: ignore[arg-type, union-attr]


def test_stack_expires_with_its_earliest_component(platform: Platform, clock: Clock) -> None:
    org, _ = setup(platform)
    issuer = awards.issuer_of(platform, org)
    record = pathway_catalog.key_of(
        platform, org, pathway_catalog.key_url(platform.base_url, "college", "excel-analysis")
    )
    assert record is not None
    soon = clock.now.replace(microsecond=0) + __import__("datetime").timedelta(days=30)
    awards.issue_award(
        platform, issuer, record, awards.AwardRequest(recipient_email=LEARNER, valid_until=soon)
    )
    award(platform, org, "sql-fundamentals")
    assert platform.stacking is not None
    [stack] = platform.stacking.stack_awards(learner=LEARNER)
    stack_award = platform.awards.get(stack.award_id)  # type: ignore[arg-type]
    assert stack_award is not None
    assert stack_award.valid_until == soon
    clock.advance(days=31)
    assert stacking.sweep(platform, [LEARNER]) == 1
    [stack] = platform.stacking.stack_awards(learner=LEARNER)
    assert stack.state is StackState.SUSPENDED


def test_learners_keep_their_version_unless_they_opt_in(platform: Platform) -> None:
    org, _ = setup(platform)
    award(platform, org, "excel-analysis")
    stricter = data_analyst()
    stricter["milestones"][0]["requirement"] = {"kind": "all_of", "of": ["excel", "sql", "python"]}
    report = pathway_catalog.what_if_report(platform, org, stricter)
    assert report["changed"] is False
    v2, problems = pathway_catalog.import_pathway(platform, org, stricter, publish=True)
    assert problems == []
    assert v2.version == 2
    assert platform.stacking is not None
    assert platform.stacking.enrollment(LEARNER, IRI).version == 1  # type: ignore[union-attr]
    award(platform, org, "sql-fundamentals")  # v1: two of three
    assert [s.version for s in platform.stacking.stack_awards(learner=LEARNER)] == [1]
    stacking.enroll(platform, LEARNER, IRI, 2)
    assert platform.stacking.enrollment(LEARNER, IRI).version == 2  # type: ignore[union-attr]


def test_what_if_reports_who_would_lose_completion(platform: Platform) -> None:
    org, _ = setup(platform)
    award(platform, org, "excel-analysis")
    award(platform, org, "sql-fundamentals")
    stricter = data_analyst()
    stricter["milestones"][0]["requirement"] = {"kind": "all_of", "of": ["excel", "sql", "python"]}
    report = pathway_catalog.what_if_report(platform, org, stricter)
    certificate = next(m for m in report["milestones"] if m["milestone"] == "certificate")
    assert certificate["noLongerComplete"] == [LEARNER]


def test_invalid_pathway_is_stored_as_draft_and_refused_for_publishing(
    platform: Platform,
) -> None:
    org = new_org(platform, "college")
    broken = data_analyst()
    broken["milestones"][0]["requirement"] = {"kind": "at_least", "n": 5, "of": ["excel", "sql"]}
    record, problems = pathway_catalog.import_pathway(platform, org, broken, publish=True)
    assert not record.published
    assert problems
    assert "certificate" in " ".join(p.message for p in problems)
    with pytest.raises(Invalid):
        pathway_catalog.publish_version(platform, org, IRI)


def test_other_issuers_credential_counts_once_trusted(platform: Platform) -> None:
    org, _ = setup(platform)
    other = new_org(platform, "mooc", name="Open MOOC")
    mooc_sql = define(platform, other, "sql")
    mooc_award = awards.issue_award(
        platform,
        awards.issuer_of(platform, other),
        mooc_sql,
        awards.AwardRequest(recipient_email=LEARNER, credits_earned=3),
    )
    mooc_did = json.loads(mooc_award.document)["issuer"]["id"]
    with_external = data_analyst()
    with_external["components"].append(
        {"kind": "external", "id": "mooc-sql", "issuer": mooc_did,
         "achievementId": json.loads(mooc_award.document)["credentialSubject"]["achievement"]["id"],
         "credits": 2}
    )  # fmt: skip
    with_external["milestones"][0]["requirement"] = {
        "kind": "at_least", "n": 2, "of": ["excel", {"kind": "any_of", "of": ["sql", "mooc-sql"]}]
    }  # fmt: skip
    pathway_catalog.import_pathway(platform, org, with_external, publish=True)

    # A credential of another issuer arrives as a learner's import (here: its JSON).
    imported = recognition.import_credential(platform, LEARNER, mooc_award.document)
    assert imported.issuer == mooc_did
    with pytest.raises(Invalid, match="not issued to"):
        recognition.import_credential(platform, "eve@example.org", mooc_award.document)

    award(platform, org, "excel-analysis")
    assert platform.stacking is not None
    assert platform.stacking.stack_awards(learner=LEARNER) == []  # the issuer is not trusted
    recognition.trust_issuer(platform, org, mooc_did, "Open MOOC")
    assert stacking.sweep(platform, [LEARNER]) >= 1
    assert [s.milestone for s in platform.stacking.stack_awards(learner=LEARNER)] == ["certificate"]
    entries = ledger.ledger(platform, LEARNER, IRI).to_json()["entries"]
    assert sorted(e["source"] for e in entries) == ["equivalency", "native"]


def test_articulation_agreement_shows_in_the_ledger(platform: Platform) -> None:
    org, _ = setup(platform)
    other = new_org(platform, "uni", name="State University")
    stats = define(platform, other, "statistics")
    issued = awards.issue_award(
        platform,
        awards.issuer_of(platform, other),
        stats,
        awards.AwardRequest(recipient_email=LEARNER),
    )
    doc = json.loads(issued.document)
    recognition.add_articulation(
        platform,
        org,
        program=IRI,
        issuer=doc["issuer"]["id"],
        achievement_id=doc["credentialSubject"]["achievement"]["id"],
        credits=3,
        note="Statistics transfers as 3 credits",
    )
    award(platform, org, "excel-analysis")
    book = ledger.ledger(platform, LEARNER, IRI)
    assert book.total == 5.0
    assert sorted(e.source for e in book.entries) == ["articulation", "native"]
