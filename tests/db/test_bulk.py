"""Bulk issuing over a real database: the validation report, jobs, batches and resuming.

Every unit of work of a job is a savepoint of the test's transaction here (committed as
far as the job can tell, rolled back after the test). The console script and the worker,
with real commits and a real ``kill -9``, are in tests/cli/test_bulk_cli.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from credstack.db.bulk_jobs import BulkJobs
from credstack.db.session import make_engine, session_factory, transaction
from credstack.db.tables import AwardRow, BulkJobRow, BulkRowRow
from credstack.domain.bulk import BulkRow, RecipientSpec
from credstack.domain.errors import Conflict, Invalid
from credstack.domain.platform import AchievementVersion, Organization
from credstack.services import bulk
from credstack.services.bulk import BulkJob, BulkUnit, JobState, StoredRow, UnitOfWork
from credstack.services.platform import Platform
from tests.conftest import Clock
from tests.db.support import check, define, new_org, platform_over
from tests.fresh_database import fresh_database


def units(db: Session, platform: Platform) -> UnitOfWork:
    """Units of work as savepoints of the test's transaction (one rng for all of them)."""

    @contextmanager
    def unit() -> Iterator[BulkUnit]:
        with db.begin_nested():
            yield BulkUnit(platform_over(db, clock=platform.clock, rng=platform.rng), BulkJobs(db))

    return unit


def csv_of(count: int, start: int = 0, header: str = "email,name,credits_earned") -> bytes:
    lines = [header, *(f"learner{i}@example.org,Learner {i},1.5" for i in range(start, count))]
    return ("\n".join(lines) + "\n").encode()


def award_count(db: Session, org: Organization) -> int:
    return int(db.scalar(select(func.count()).where(AwardRow.org_id == org.id)) or 0)


def most_awards_per_recipient(db: Session, org: Organization) -> int:
    counts = db.scalars(
        select(func.count()).where(AwardRow.org_id == org.id).group_by(AwardRow.recipient)
    )
    return max(counts, default=0)


@pytest.fixture
def org(platform: Platform) -> Organization:
    return new_org(platform)


@pytest.fixture
def achievement(platform: Platform, org: Organization) -> AchievementVersion:
    return define(platform, org)


def prepare(
    platform: Platform, db: Session, org: Organization, record: AchievementVersion, data: bytes
) -> bulk.Prepared:
    return bulk.prepare(BulkJobs(db), org, record, "learners.csv", data, now=platform.now())


def issue_all(
    platform: Platform,
    db: Session,
    org: Organization,
    record: AchievementVersion,
    data: bytes,
) -> BulkJob:
    prepared = prepare(platform, db, org, record, data)
    assert prepared.job is not None, prepared.report_json()
    bulk.start(BulkJobs(db), prepared.job.id, now=platform.now())
    return bulk.run(prepared.job.id, units(db, platform))


def test_a_file_with_row_errors_gets_a_report_and_nothing_is_stored_or_issued(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    data = (
        b"email,name,valid_until\n"
        b"ada@example.org,Ada,2030-01-01\n"
        b"not-an-email,Bob,\n"
        b"cy@example.org,Cy,2030-02-30\n"
        b"ADA@example.org , Ada ,2030-01-01\n"
    )
    prepared = prepare(platform, db, org, achievement, data)

    assert not prepared.ok
    assert prepared.job is None
    assert (prepared.total, prepared.valid) == (4, 1)
    assert [(e.row, e.column) for e in prepared.errors] == [
        (3, "email"),
        (4, "valid_until"),
        (5, None),
    ]
    assert "duplicate of row 2" in prepared.errors[2].message
    report = prepared.report_json()
    assert report["errors"][0] == {
        "row": 3,
        "column": "email",
        "message": "'not-an-email' is not an email address",
    }
    assert BulkJobs(db).of(org.id) == []
    assert award_count(db, org) == 0


def test_unknown_and_missing_columns_are_reported_on_the_header_row(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    prepared = prepare(platform, db, org, achievement, b"name,grade\nAda,A\n")

    assert prepared.job is None
    assert [(e.row, e.column) for e in prepared.errors] == [(1, "grade"), (1, None)]
    assert "unknown column 'grade'" in prepared.errors[0].message
    assert "missing column" in prepared.errors[1].message


def test_an_unreadable_file_is_unusable_input(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    with pytest.raises(Invalid, match="UTF-16"):
        prepare(platform, db, org, achievement, "email\nada@example.org\n".encode("utf-16"))


def test_a_draft_achievement_is_refused_before_reading_the_file(
    platform: Platform, db: Session, org: Organization
) -> None:
    draft = define(platform, org, key="draft", publish=False)
    with pytest.raises(Conflict, match="draft"):
        prepare(platform, db, org, draft, csv_of(2))


def test_warnings_alone_still_make_a_job(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    data = b"email,result\nada@example.org,pass\nada@example.org,merit\n"
    prepared = prepare(platform, db, org, achievement, data)

    assert prepared.ok
    assert [(w.row, w.column) for w in prepared.warnings] == [(3, "email")]
    assert prepared.job is not None
    assert prepared.job.state == JobState.VALIDATED
    assert prepared.job.total == 2
    assert award_count(db, org) == 0

    bulk.start(BulkJobs(db), prepared.job.id, now=platform.now())
    job = bulk.run(prepared.job.id, units(db, platform))
    assert (job.state, job.issued) == (JobState.DONE, 2)


def test_a_300_row_job_issues_300_credentials_that_all_verify(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    prepared = prepare(platform, db, org, achievement, csv_of(300))
    assert prepared.job is not None
    job_id = prepared.job.id
    assert bulk.start(BulkJobs(db), job_id, now=platform.now()).state == JobState.QUEUED
    seen: list[tuple[str, int]] = []

    job = bulk.run(
        job_id,
        units(db, platform),
        batch_size=100,
        on_progress=lambda j: seen.append((j.state, j.done)),
    )

    assert (job.state, job.total, job.issued, job.existing, job.failed) == (
        JobState.DONE,
        300,
        300,
        0,
        0,
    )
    assert job.finished_at is not None
    assert seen[:3] == [("running", 100), ("running", 200), ("running", 300)]
    assert seen[-1] == ("done", 300)
    assert award_count(db, org) == 300
    assert most_awards_per_recipient(db, org) == 1
    ids = BulkJobs(db).award_ids(job_id)
    assert [number for number, _ in ids] == list(range(2, 302))
    for _, award_id in ids:
        award = platform.awards.get(award_id)
        assert award is not None
        assert award.idempotency_key is not None
        assert award.idempotency_key.startswith(f"bulk:{achievement.id}:")
        assert check(platform, award).verified
    first = platform.awards.get(ids[0][1])
    assert first is not None
    subject = json.loads(first.document)["credentialSubject"]
    assert subject["creditsEarned"] == 1.5


def test_running_the_same_file_again_issues_nothing_new(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    data = csv_of(12)
    first = prepare(platform, db, org, achievement, data)
    assert first.job is not None
    again = prepare(platform, db, org, achievement, data)
    assert again.job is not None
    assert again.job.id == first.job.id  # an unfinished job of the file is given back
    bulk.start(BulkJobs(db), first.job.id, now=platform.now())
    assert bulk.run(first.job.id, units(db, platform)).issued == 12

    rerun = issue_all(platform, db, org, achievement, data)

    assert rerun.id != first.job.id
    assert (rerun.state, rerun.issued, rerun.existing, rerun.failed) == (JobState.DONE, 0, 12, 0)
    assert award_count(db, org) == 12
    assert {job.id for job in BulkJobs(db).of(org.id)} == {rerun.id, first.job.id}


def test_the_same_rows_in_another_file_order_are_found_already_issued(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    issue_all(platform, db, org, achievement, csv_of(6))
    shuffled = b"name,credits_earned,email\n" + b"".join(
        f"Learner {i},1.50,LEARNER{i}@example.org\n".encode() for i in (5, 3, 1, 0, 2, 4, 6)
    )

    job = issue_all(platform, db, org, achievement, shuffled)

    assert (job.issued, job.existing) == (1, 6)
    assert award_count(db, org) == 7


def test_the_same_file_for_another_achievement_is_issued_again(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    other = define(platform, org, key="python")
    issue_all(platform, db, org, achievement, csv_of(3))

    job = issue_all(platform, db, org, other, csv_of(3))

    assert (job.issued, job.existing) == (3, 0)
    assert award_count(db, org) == 6


class Crash(Exception):
    pass


def test_a_batch_that_dies_is_redone_and_every_row_is_issued_once(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    prepared = prepare(platform, db, org, achievement, csv_of(50))
    assert prepared.job is not None
    job_id = prepared.job.id
    bulk.start(BulkJobs(db), job_id, now=platform.now())
    opened = 0
    unit = units(db, platform)

    @contextmanager
    def dies_in_the_third_batch() -> Iterator[BulkUnit]:
        nonlocal opened
        opened += 1
        with unit() as work:
            yield work
            if opened == 4:  # the start, two committed batches, then this one
                raise Crash("killed before the commit")

    with pytest.raises(Crash):
        bulk.run(job_id, dies_in_the_third_batch, batch_size=10)

    stalled = BulkJobs(db).get(job_id)
    assert stalled is not None
    assert (stalled.state, stalled.done) == (JobState.RUNNING, 20)
    assert award_count(db, org) == 20
    assert bulk.resumable(BulkJobs(db)) == [job_id]

    job = bulk.run(job_id, unit, batch_size=10)

    assert (job.state, job.issued, job.existing) == (JobState.DONE, 50, 0)
    assert award_count(db, org) == 50
    assert most_awards_per_recipient(db, org) == 1
    assert bulk.resumable(BulkJobs(db)) == []


def test_an_award_made_before_its_row_was_marked_is_found_not_made_again(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    prepared = prepare(platform, db, org, achievement, csv_of(5))
    assert prepared.job is not None
    job_id = prepared.job.id
    bulk.start(BulkJobs(db), job_id, now=platform.now())
    # A runner issued row 3's credential, then died before marking the row.
    [row] = [r for r in BulkJobs(db).claim(job_id, 5, platform.now()) if r.number == 3]
    request = bulk.award_request(
        bulk.row_from_json(row.number, row.data),
        bulk.idempotency_key(achievement.id, row.fingerprint),
    )
    from credstack.services import awards  # noqa: PLC0415 - only this test issues directly

    made = awards.issue_award(platform, awards.issuer_of(platform, org), achievement, request)

    job = bulk.run(job_id, units(db, platform))

    assert (job.issued, job.existing) == (4, 1)
    assert dict(BulkJobs(db).award_ids(job_id))[3] == made.id
    assert award_count(db, org) == 5


def test_a_row_that_cannot_be_issued_fails_alone_and_is_reported(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    prepared = prepare(platform, db, org, achievement, csv_of(4))
    assert prepared.job is not None
    job_id = prepared.job.id
    db.execute(
        update(BulkRowRow)
        .where(BulkRowRow.job_id == job_id, BulkRowRow.number == 3)
        .values(data={"kind": "email"})
    )
    bulk.start(BulkJobs(db), job_id, now=platform.now())

    job = bulk.run(job_id, units(db, platform))

    assert (job.state, job.issued, job.failed, job.pending) == (JobState.DONE, 3, 1, 0)
    [(number, error)] = BulkJobs(db).failures(job_id)
    assert number == 3
    assert "unreadable" in error
    assert award_count(db, org) == 3


def test_a_job_whose_signing_key_is_gone_fails_with_the_reason(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    prepared = prepare(platform, db, org, achievement, csv_of(3))
    assert prepared.job is not None
    bulk.start(BulkJobs(db), prepared.job.id, now=platform.now())
    platform.keys.deactivate_all(org.id)

    job = bulk.run(prepared.job.id, units(db, platform))

    assert job.state == JobState.FAILED
    assert job.error is not None
    assert "no active signing key" in job.error
    assert award_count(db, org) == 0
    with pytest.raises(Conflict, match="upload the file again"):
        bulk.start(BulkJobs(db), job.id, now=platform.now())


def test_a_job_runs_only_once_started_and_a_finished_one_is_left_alone(
    platform: Platform, db: Session, org: Organization, achievement: AchievementVersion
) -> None:
    prepared = prepare(platform, db, org, achievement, csv_of(2))
    assert prepared.job is not None
    with pytest.raises(Conflict, match="not been started"):
        bulk.run(prepared.job.id, units(db, platform))
    bulk.start(BulkJobs(db), prepared.job.id, now=platform.now())
    done = bulk.run(prepared.job.id, units(db, platform))

    assert bulk.start(BulkJobs(db), done.id, now=platform.now()).state == JobState.DONE
    assert bulk.run(done.id, units(db, platform)) == done


def test_a_stored_row_comes_back_with_the_same_fingerprint(clock: Clock) -> None:
    row = BulkRow(
        number=7,
        recipient=RecipientSpec("email", "Ada@Example.org"),
        name="Ada Lovelace",
        valid_from=datetime(2026, 1, 31, 13, 0, 0, 500, tzinfo=UTC),
        valid_until=datetime(2027, 1, 31, tzinfo=UTC),
        credits_earned=2.5,
        evidence_url="https://evidence.example/ada",
        result="merit",
        narrative="Built a parser.",
    )
    stored = json.loads(json.dumps(bulk.row_json(row)))

    again = bulk.row_from_json(7, stored)

    assert again == row
    assert again.fingerprint() == row.fingerprint()
    assert "activity_start" not in stored


def test_postgresql_runners_claim_different_rows_of_one_job(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path, "bulk_claims") as url:
        engine = make_engine(url)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        with transaction(sessions) as session:
            platform = platform_over(session, clock=lambda: now)
            org = new_org(platform)
            record = define(platform, org)
            jobs = BulkJobs(session)
            job = bulk.BulkJob(
                "job-1", org.id, record.id, "f.csv", "0" * 64, JobState.RUNNING, now, total=10
            )
            jobs.add(job)
            jobs.add_rows(job.id, [StoredRow(n, f"{n:064d}", {}) for n in range(2, 12)])
        first, second = sessions(), sessions()
        try:
            with first.begin(), second.begin():
                mine = [r.number for r in BulkJobs(first).claim(job.id, 4, now)]
                theirs = [r.number for r in BulkJobs(second).claim(job.id, 4, now)]
                assert mine == [2, 3, 4, 5]
                assert theirs == [6, 7, 8, 9]
                assert BulkJobs(second).pending(job.id) == 10
                assert not BulkJobs(second).finish(job.id, now)
        finally:
            first.close()
            second.close()
            with transaction(sessions) as session:
                state = session.scalar(select(BulkJobRow.state).where(BulkJobRow.id == job.id))
            engine.dispose()
        assert state == "running"
