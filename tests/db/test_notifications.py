"""Learner emails over a real database and a real SMTP server (aiosmtpd on 127.0.0.1):
the award notice queued with the award, delivery and retries, and expiry reminders."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session

from credstack.db.outbox import SqlOutbox
from credstack.db.tables import OutboxRow
from credstack.domain.messages import Email
from credstack.domain.platform import AchievementVersion, Award, Organization
from credstack.notify import SmtpMailer
from credstack.services import achievements, awards
from credstack.services.notifications import MAX_ATTEMPTS, queue_reminders, send_pending
from credstack.services.organizations import create_organization, profile_of
from credstack.services.platform import Platform
from credstack.testing import SmtpTestServer
from tests.conftest import SECRET, Clock

DEFINITION = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}
LEARNER = "ada@example.org"
DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SENDER = "credstack <no-reply@credstack.test>"
OFFSETS = (60, 30, 7)


@dataclasses.dataclass
class World:
    platform: Platform
    outbox: SqlOutbox
    org: Organization
    achievement: AchievementVersion
    clock: Clock

    def award(self, **request: object) -> Award:
        fields = {"recipient_email": LEARNER, **request}
        return awards.issue_award(
            self.platform,
            awards.issuer_of(self.platform, self.org),
            self.achievement,
            awards.AwardRequest(**fields),  # type: ignore[arg-type]
        )

    def award_key(self, award: Award) -> str:
        return f"award:{awards.credential_url(self.platform.base_url, award.id)}"

    def reminder_key(self, award: Award, days: int) -> str:
        return f"reminder:{awards.credential_url(self.platform.base_url, award.id)}:{days}"

    def reminder_keys(self, award: Award) -> set[str]:
        url = awards.credential_url(self.platform.base_url, award.id)
        return self.outbox.sent_keys(f"reminder:{url}:")


@pytest.fixture
def world(platform: Platform, db: Session, clock: Clock) -> World:
    # Emails committed by others (the live server of the web tests shares this database)
    # are not this test's: mark them sent in this test's transaction, rolled back after it.
    db.execute(update(OutboxRow).where(OutboxRow.sent_at.is_(None)).values(sent_at=clock.now))
    outbox = SqlOutbox(db)
    wired = dataclasses.replace(platform, outbox=outbox)
    org = create_organization(
        wired.orgs, wired.keys, slug="acme", name="Acme College", secret=SECRET, now=wired.now()
    )
    record = achievements.define(
        wired.achievements,
        org,
        key="sql",
        definition=DEFINITION,
        creator=profile_of(org, wired.base_url),
        base_url=wired.base_url,
        now=wired.now(),
        validity_days=365,
    )
    return World(wired, outbox, org, record, clock)


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


def mailer_for(server: SmtpTestServer) -> SmtpMailer:
    return SmtpMailer(server.host, server.port, sender=SENDER, timeout=5)


def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def unreachable_mailer() -> SmtpMailer:
    return SmtpMailer("127.0.0.1", closed_port(), sender=SENDER, timeout=5)


# --- the award notice -----------------------------------------------------------------


def test_issuing_an_award_to_an_email_queues_one_notice_even_when_the_request_is_retried(
    world: World,
) -> None:
    first = world.award(idempotency_key="enrol-4711")
    again = world.award(idempotency_key="enrol-4711")

    assert again.id == first.id
    prefix = f"award:{world.platform.base_url}/credentials/"
    assert world.outbox.sent_keys(prefix) == {world.award_key(first)}


def test_an_award_to_a_did_queues_no_email(world: World) -> None:
    award = world.award(recipient_email=None, recipient_did=DID)

    assert world.outbox.by_key(world.award_key(award)) is None


def test_the_award_notice_reaches_a_real_smtp_server_with_the_claim_link(
    world: World, smtp: SmtpTestServer
) -> None:
    award = world.award(learner_name="Ada Lovelace")

    assert send_pending(world.outbox, mailer_for(smtp), world.clock.now) == (1, 0)

    [message] = smtp.wait_for(1)
    assert message["To"] == LEARNER
    assert "SQL Fundamentals" in message["Subject"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"{world.platform.base_url}/claim/{award.claim_token}" in text
    assert f"{world.platform.base_url}/credentials/{award.id}" in text
    queued = world.outbox.by_key(world.award_key(award))
    assert queued is not None
    assert queued.sent_at == world.clock.now
    assert queued.attempts == 1


def test_a_sent_email_is_not_sent_again(world: World, smtp: SmtpTestServer) -> None:
    world.award()
    send_pending(world.outbox, mailer_for(smtp), world.clock.now)
    world.clock.advance(days=1)

    assert send_pending(world.outbox, mailer_for(smtp), world.clock.now) == (0, 0)
    assert len(smtp.received) == 1


# --- failures and retries ---------------------------------------------------------------


def test_an_unreachable_smtp_server_leaves_the_email_queued_with_the_error(world: World) -> None:
    award = world.award()

    assert send_pending(world.outbox, unreachable_mailer(), world.clock.now) == (0, 1)

    queued = world.outbox.by_key(world.award_key(award))
    assert queued is not None
    assert queued.sent_at is None
    assert queued.attempts == 1
    assert queued.last_error is not None
    assert LEARNER in queued.last_error
    assert "127.0.0.1" in queued.last_error


def test_a_failed_email_waits_before_the_next_attempt_and_is_then_delivered(
    world: World, smtp: SmtpTestServer
) -> None:
    award = world.award()
    send_pending(world.outbox, unreachable_mailer(), world.clock.now)

    assert send_pending(world.outbox, mailer_for(smtp), world.clock.now) == (0, 0)
    world.clock.advance(minutes=2)
    assert send_pending(world.outbox, mailer_for(smtp), world.clock.now) == (1, 0)

    assert [m["To"] for m in smtp.wait_for(1)] == [LEARNER]
    queued = world.outbox.by_key(world.award_key(award))
    assert queued is not None
    assert queued.sent_at == world.clock.now
    assert queued.attempts == 2


def test_an_email_is_given_up_after_five_failed_attempts(
    world: World, smtp: SmtpTestServer
) -> None:
    award = world.award()
    for _ in range(MAX_ATTEMPTS):
        assert send_pending(world.outbox, unreachable_mailer(), world.clock.now) == (0, 1)
        world.clock.advance(days=1)

    assert send_pending(world.outbox, mailer_for(smtp), world.clock.now) == (0, 0)
    queued = world.outbox.by_key(world.award_key(award))
    assert queued is not None
    assert (queued.attempts, queued.sent_at) == (MAX_ATTEMPTS, None)
    assert smtp.received == []


def test_a_refused_recipient_fails_only_that_email(world: World) -> None:
    world.award()
    world.award(recipient_email="grace@example.org")

    with SmtpTestServer(refuse_recipients="550 5.1.1 no such user") as server:
        assert send_pending(world.outbox, mailer_for(server), world.clock.now) == (0, 2)


# --- the outbox itself ------------------------------------------------------------------


def test_the_outbox_queues_each_dedupe_key_once(world: World) -> None:
    email = Email(to=LEARNER, subject="Hello", text="Hi.", dedupe_key="test:once")

    assert world.outbox.enqueue(email, world.clock.now) is True
    assert world.outbox.enqueue(email, world.clock.now) is False
    assert world.outbox.sent_keys("test:once") == {"test:once"}


def test_emails_without_a_dedupe_key_are_all_queued(world: World) -> None:
    email = Email(to=LEARNER, subject="Hello", text="Hi.")

    assert world.outbox.enqueue(email, world.clock.now) is True
    assert world.outbox.enqueue(email, world.clock.now) is True


def test_two_transactions_queuing_the_same_notice_at_once_store_it_once(
    engine: Engine, clock: Clock
) -> None:
    email = Email(to=LEARNER, subject="Hello", text="Hi.", dedupe_key="test:race")
    first_queued = threading.Event()
    results: dict[str, bool] = {}

    def first() -> None:
        with Session(engine) as session, session.begin():
            results["first"] = SqlOutbox(session).enqueue(email, clock.now)
            first_queued.set()
            threading.Event().wait(0.5)  # commit only after the second one tried

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert first_queued.wait(10)
        with Session(engine) as session, session.begin():
            results["second"] = SqlOutbox(session).enqueue(email, clock.now)
            after = SqlOutbox(session).sent_keys("test:race")
        worker.join(10)
        assert results == {"first": True, "second": False}
        assert after == {"test:race"}
    finally:
        worker.join(10)
        with Session(engine) as session, session.begin():
            session.execute(delete(OutboxRow).where(OutboxRow.dedupe_key == "test:race"))


# --- expiry reminders -------------------------------------------------------------------


def test_the_60_day_reminder_is_queued_once_when_55_days_are_left(world: World) -> None:
    award = world.award()
    world.clock.advance(days=310)

    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 1
    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 0
    assert world.reminder_keys(award) == {world.reminder_key(award, 60)}


def test_no_reminder_is_queued_while_more_than_60_days_are_left(world: World) -> None:
    award = world.award()
    world.clock.advance(days=300)

    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 0
    assert world.reminder_keys(award) == set()


def test_the_30_day_reminder_follows_when_25_days_are_left(
    world: World, smtp: SmtpTestServer
) -> None:
    award = world.award()
    world.clock.advance(days=310)
    queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS)
    world.clock.advance(days=30)

    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 1
    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 0
    assert world.reminder_keys(award) == {
        world.reminder_key(award, 60),
        world.reminder_key(award, 30),
    }
    assert send_pending(world.outbox, mailer_for(smtp), world.clock.now) == (3, 0)
    subjects = sorted(str(m["Subject"]) for m in smtp.wait_for(3))
    assert subjects == [
        "You have earned SQL Fundamentals from Acme College",
        "Your credential SQL Fundamentals expires in 30 days",
        "Your credential SQL Fundamentals expires in 60 days",
    ]


def test_a_reminder_missed_while_the_job_was_down_is_not_sent_late(world: World) -> None:
    award = world.award()
    world.clock.advance(days=360)

    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 1
    assert world.reminder_keys(award) == {world.reminder_key(award, 7)}


def test_a_revoked_credential_gets_no_reminder(world: World) -> None:
    award = world.award()
    awards.revoke(world.platform, award, "copied the project")
    world.clock.advance(days=310)

    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 0
    assert world.reminder_keys(award) == set()


def test_a_did_recipient_gets_no_reminder(world: World) -> None:
    award = world.award(recipient_email=None, recipient_did=DID)
    world.clock.advance(days=310)

    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 0
    assert world.reminder_keys(award) == set()


def test_an_expired_credential_gets_no_reminder(world: World) -> None:
    award = world.award()
    world.clock.advance(days=366)

    assert queue_reminders(world.platform, world.outbox, world.clock.now, OFFSETS) == 0
    assert world.reminder_keys(award) == set()


def test_without_reminder_days_no_reminder_is_queued(world: World) -> None:
    world.award()
    world.clock.advance(days=360)

    assert queue_reminders(world.platform, world.outbox, world.clock.now, ()) == 0
