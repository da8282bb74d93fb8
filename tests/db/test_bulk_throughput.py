"""Bulk issuing at speed (decision 0013), over a real database: the signing pool, status
indices reserved per batch, batches signed ahead, multi-row writes, the outbox.

Outputs only, never timings: every row issued once, every credential verifying through the
general path, distinct status indices, one queued email per credential.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credstack.db.bulk_jobs import BulkJobs
from credstack.db.outbox import SqlOutbox
from credstack.db.tables import AwardRow, OutboxRow
from credstack.domain.achievements import Achievement
from credstack.domain.platform import AchievementVersion, Organization
from credstack.services import awards, bulk, status_registry
from credstack.services.bulk import BatchOutcome, BulkJob, BulkUnit, JobState, SignMany, UnitOfWork
from credstack.services.platform import Platform
from credstack.services.status_registry import FILL_LIMIT, SIZE
from credstack.signing_pool import SigningPool
from tests.conftest import SECRET
from tests.db.support import ScriptedRandom, check, define, issue, new_org, platform_over
from tests.db.test_bulk import award_count, csv_of, most_awards_per_recipient, prepare


@pytest.fixture
def org(platform: Platform) -> Organization:
    return new_org(platform)


@pytest.fixture
def achievement(platform: Platform, org: Organization) -> AchievementVersion:
    return define(platform, org)


def units(db: Session, platform: Platform, *, apart: bool = False) -> UnitOfWork:
    """Units of work as savepoints of the test's transaction, with the batch outbox (and,
    with ``apart``, reservations in a unit of their own, as on PostgreSQL)."""

    @contextmanager
    def unit() -> Iterator[BulkUnit]:
        with db.begin_nested():
            outbox = SqlOutbox(db)
            found = platform_over(db, clock=platform.clock, rng=platform.rng, outbox=outbox)
            yield BulkUnit(found, BulkJobs(db), outbox, unit if apart else None)

    return unit


def start(platform: Platform, db: Session, org: Organization, record: AchievementVersion,
          count: int) -> str:  # fmt: skip
    prepared = prepare(platform, db, org, record, csv_of(count))
    assert prepared.job is not None, prepared.report_json()
    bulk.start(BulkJobs(db), prepared.job.id, now=platform.now())
    return prepared.job.id


def outbox_count(db: Session, prefix: str = "award:") -> int:
    query = select(func.count()).where(OutboxRow.dedupe_key.startswith(prefix))
    return int(db.scalar(query) or 0)


def distinct_indices(db: Session, org: Organization) -> int:
    pairs = select(AwardRow.revocation_list_id, AwardRow.status_index).where(
        AwardRow.org_id == org.id
    )
    return int(db.scalar(select(func.count()).select_from(pairs.distinct().subquery())) or 0)


def assert_issued_once(platform: Platform, db: Session, org: Organization, job: BulkJob,
                       count: int) -> None:  # fmt: skip
    assert (job.state, job.issued, job.existing, job.failed) == (JobState.DONE, count, 0, 0)
    assert award_count(db, org) == count
    assert most_awards_per_recipient(db, org) == 1
    assert distinct_indices(db, org) == count
    assert outbox_count(db) == count
    for _, award_id in BulkJobs(db).award_ids(job.id):
        award = platform.awards.get(award_id)
        assert award is not None
        assert check(platform, award).verified, check(platform, award).failed()


# -- the signing pool ------------------------------------------------------------------


@pytest.mark.parametrize("apart", [False, True], ids=["in-unit", "reserved-apart"])
def test_a_job_signed_by_a_process_pool_issues_every_row_once_and_every_credential_verifies(
    platform: Platform,
    db: Session,
    org: Organization,
    achievement: AchievementVersion,
    apart: bool,
) -> None:
    job_id = start(platform, db, org, achievement, 45)

    with SigningPool(2, chunk=4, min_batch=1) as pool:
        job = bulk.run(job_id, units(db, platform, apart=apart), batch_size=10, sign_many=pool)

    assert_issued_once(platform, db, org, job, 45)
    first = platform.awards.get(BulkJobs(db).award_ids(job_id)[0][1])
    assert first is not None
    email = SqlOutbox(db).by_key(f"award:{awards.credential_url(platform.base_url, first.id)}")
    assert email is not None
    assert email.email.to == first.recipient
    assert email.sent_at is None
    assert f"/claim/{first.claim_token}" in email.email.text


def test_the_pool_and_this_process_sign_the_same_way(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    """A small batch signs in this process; whatever signed it, the same checks hold."""
    job_id = start(platform, db, org, achievement, 12)

    with SigningPool(2, min_batch=100) as pool:  # every batch is below min_batch
        job = bulk.run(job_id, units(db, platform), batch_size=5, sign_many=pool)

    assert_issued_once(platform, db, org, job, 12)


def test_the_default_batch_size_is_a_twentieth_of_the_job_within_bounds() -> None:
    assert bulk.batch_size_for(600) == bulk.BATCH_SIZE
    assert bulk.batch_size_for(10_000) == 500
    assert bulk.batch_size_for(100_000) == bulk.MAX_BATCH


# -- signing problems ------------------------------------------------------------------


def refusing(row_index: int) -> SignMany:
    """Signs in this process, but reports the ``row_index``-th document of each batch as
    not signed."""

    def sign_many(batch: bulk.SigningBatch) -> Callable[[], list[bulk.Signed]]:
        results = bulk.sign_documents(batch)
        if len(results) > row_index:
            results[row_index] = (False, "the signer refused")
        return lambda: results

    return sign_many


def test_a_row_whose_credential_could_not_be_signed_fails_alone(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    job_id = start(platform, db, org, achievement, 6)

    job = bulk.run(job_id, units(db, platform), batch_size=3, sign_many=refusing(1))

    assert (job.state, job.issued, job.failed, job.pending) == (JobState.DONE, 4, 2, 0)
    assert [error for _, error in BulkJobs(db).failures(job_id)] == [
        "not signed: the signer refused"
    ] * 2
    assert award_count(db, org) == outbox_count(db) == 4


def tampering(batch: bulk.SigningBatch) -> Callable[[], list[bulk.Signed]]:
    """Signs, then changes each credential's name after the fact."""
    results = []
    for ok, text in bulk.sign_documents(batch):
        signed = json.loads(text)
        signed["name"] = "Something else"
        results.append((ok, awards.stored_text(signed)))
    return lambda: results


def test_a_batch_whose_sample_does_not_verify_is_not_stored_and_the_job_fails(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    job_id = start(platform, db, org, achievement, 4)

    job = bulk.run(job_id, units(db, platform), sign_many=tampering)

    assert job.state == JobState.FAILED
    assert job.error is not None
    assert "did not verify" in job.error
    assert award_count(db, org) == outbox_count(db) == 0


def test_a_signature_that_the_published_key_does_not_verify_fails_the_row(
    platform: Platform, org: Organization, achievement: AchievementVersion
) -> None:
    issuer = awards.issuer_of(platform, org)
    other = awards.issuer_of(platform, new_org(platform, "other"))
    draft = awards.draft_award(
        platform.base_url,
        issuer,
        achievement,
        Achievement.from_json(achievement.definition),
        awards.AwardRequest(recipient_email="ada@example.org"),
        now=platform.now().replace(microsecond=0),
        status=("r", "s", 7),
    )
    batch = bulk.SigningBatch(issuer.key, issuer.key.public, platform.now(), [draft.unsigned])
    assert bulk.sign_documents(batch)[0][0] is True

    wrong = replace(batch, published=other.key.public)
    assert bulk.sign_documents(wrong) == [
        (False, "the signature does not verify with the published key")
    ]


# -- batches signed ahead, and rows someone else issued --------------------------------


def test_rows_of_the_batch_signed_ahead_that_another_runner_issued_are_not_issued_again(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    job_id = start(platform, db, org, achievement, 30)
    inner = units(db, platform)
    opened = 0

    @contextmanager
    def meanwhile() -> Iterator[BulkUnit]:
        nonlocal opened
        opened += 1
        if opened == 3:  # the second batch, signed ahead: another runner takes two rows
            with inner() as other:
                rows = [
                    r for r in other.jobs.claim(job_id, 30, platform.now()) if r.number in (13, 14)
                ]
                issued = BatchOutcome()
                for row in rows:
                    request = bulk.award_request(
                        bulk.row_from_json(row.number, row.data),
                        bulk.idempotency_key(achievement.id, row.fingerprint),
                    )
                    made = awards.issue_award(
                        other.platform, awards.issuer_of(other.platform, org), achievement, request
                    )
                    issued.issued.append((row.number, made.id))
                other.jobs.record(job_id, issued, platform.now())
        with inner() as work:
            yield work

    job = bulk.run(job_id, meanwhile, batch_size=10)

    assert (job.state, job.done, job.issued, job.failed) == (JobState.DONE, 30, 30, 0)
    assert award_count(db, org) == 30
    assert most_awards_per_recipient(db, org) == 1


def test_an_award_made_under_a_rows_key_while_its_batch_was_signed_is_found_not_duplicated(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    job_id = start(platform, db, org, achievement, 20)
    inner = units(db, platform)
    opened = 0

    @contextmanager
    def meanwhile() -> Iterator[BulkUnit]:
        nonlocal opened
        opened += 1
        if opened == 3:  # row 15 of the batch signed ahead is awarded elsewhere, unmarked
            with inner() as other:
                [row] = [r for r in other.jobs.claim(job_id, 20, platform.now()) if r.number == 15]
                request = bulk.award_request(
                    bulk.row_from_json(row.number, row.data),
                    bulk.idempotency_key(achievement.id, row.fingerprint),
                )
                awards.issue_award(
                    other.platform, awards.issuer_of(other.platform, org), achievement, request
                )
        with inner() as work:
            yield work

    job = bulk.run(job_id, meanwhile, batch_size=10)

    assert (job.state, job.done, job.issued, job.existing) == (JobState.DONE, 20, 19, 1)
    assert award_count(db, org) == 20
    assert most_awards_per_recipient(db, org) == 1
    assert distinct_indices(db, org) == 20


# -- status indices --------------------------------------------------------------------


def test_the_slot_permutation_is_a_bijection_with_an_inverse() -> None:
    key = status_registry.slot_key(SECRET, "list-1")
    indices = [status_registry.permute(key, slot) for slot in range(SIZE)]
    assert sorted(indices) == list(range(SIZE))
    assert indices[:64] != sorted(indices[:64])  # not the identity, nor monotonic
    assert all(status_registry.slot_of(key, indices[s]) == s for s in range(0, SIZE, 97))
    other = status_registry.slot_key(SECRET, "list-2")
    assert [status_registry.permute(other, s) for s in range(64)] != indices[:64]


def test_reservations_give_distinct_indices_and_skip_indices_awarded_one_by_one(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    seed = issue(platform, org, achievement)
    key = status_registry.slot_key(SECRET, seed.revocation_list_id)
    slot = 100
    platform.rng = ScriptedRandom(status_registry.permute(key, slot))
    first = issue(platform, org, achievement)  # a random index, the one-award way
    assert status_registry.slot_of(key, first.status_index) == slot
    jobs = BulkJobs(db)
    reserve = status_registry.reserve
    # Make the next reservation start right at that award's slot.
    state = platform.status_lists.get(first.revocation_list_id)
    assert state is not None
    platform.status_lists.save(replace(state, entries_used=slot))

    one = reserve(platform.status_lists, org, 5, now=platform.now(), secret=SECRET,
                  taken=jobs.taken_indices)  # fmt: skip
    two = reserve(platform.status_lists, org, 5, now=platform.now(), secret=SECRET,
                  taken=jobs.taken_indices)  # fmt: skip

    assert one.revocation.id == two.revocation.id == first.revocation_list_id
    assert one.suspension.id == first.suspension_list_id
    assert first.status_index not in one.indices
    assert seed.status_index not in (*one.indices, *two.indices)
    assert len(set(one.indices) | set(two.indices)) == 10
    assert one.revocation.entries_used == slot + 6  # the taken slot was skipped
    assert two.revocation.entries_used == slot + 11


def test_a_full_pair_is_replaced_before_a_reservation(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    first = issue(platform, org, achievement)
    state = platform.status_lists.get(first.revocation_list_id)
    assert state is not None
    platform.status_lists.save(replace(state, entries_used=FILL_LIMIT))

    found = status_registry.reserve(platform.status_lists, org, 3, now=platform.now(),
                                    secret=SECRET, taken=BulkJobs(db).taken_indices)  # fmt: skip

    assert found.revocation.id != first.revocation_list_id
    assert found.suspension.id != first.suspension_list_id
    assert found.revocation.entries_used == 3


def test_a_single_award_never_takes_an_index_a_reservation_holds(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    seed = issue(platform, org, achievement)
    reserved = status_registry.reserve(platform.status_lists, org, 4, now=platform.now(),
                                       secret=SECRET, taken=BulkJobs(db).taken_indices)  # fmt: skip
    assert reserved.revocation.id == seed.revocation_list_id
    held = reserved.indices[2]
    free = next(
        i for i in range(SIZE) if i not in reserved.indices and i != seed.status_index
        and status_registry.slot_of(status_registry.slot_key(SECRET, seed.revocation_list_id), i)
        >= reserved.revocation.entries_used
    )  # fmt: skip
    platform.rng = ScriptedRandom(held, free)

    award = issue(platform, org, achievement)

    assert award.status_index == free
