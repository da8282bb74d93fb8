"""The API process sends queued emails in the background: a real app's lifespan, a database
of its own and a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from credstack.db.session import make_engine, session_factory, transaction
from credstack.domain.platform import Award
from credstack.notify import SmtpMailer
from credstack.services import achievements, awards
from credstack.services.organizations import create_organization, profile_of
from credstack.services.platform import utc_now
from credstack.settings import Settings
from credstack.testing import SmtpTestServer
from credstack.web.app import create_app
from credstack.web.mail import MailWorker, platform_over
from tests.conftest import BASE_URL, SECRET
from tests.fresh_database import fresh_database

LEARNER = "ada@example.org"
DEFINITION = {
    "type": ["Achievement"],
    "name": "SQL Fundamentals",
    "description": "Query relational databases.",
    "criteria": {"narrative": "Pass the project."},
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_of_its_own(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "mail_worker") as url:
        yield url


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


def settings_for(url: str, server: SmtpTestServer, tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        database_url=url,
        base_url=BASE_URL,
        secret_key=SecretStr(SECRET.decode()),
        secret_key_file=tmp_path / "secret.key",
        email_backend="smtp",
        smtp_host=server.host,
        smtp_port=server.port,
        mail_from="credstack <no-reply@credstack.test>",
        **extra,  # type: ignore[arg-type]
    )


def issue_and_commit(settings: Settings, now: datetime) -> Award:
    """An award to LEARNER (valid 365 days), committed as a request would commit it."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            found = platform_over(session, settings, SECRET)
            found.clock = lambda: now
            org = create_organization(
                found.orgs, found.keys, slug="acme", name="Acme College", secret=SECRET, now=now
            )
            record = achievements.define(
                found.achievements,
                org,
                key="sql",
                definition=DEFINITION,
                creator=profile_of(org, BASE_URL),
                base_url=BASE_URL,
                now=now,
                validity_days=365,
            )
            return awards.issue_award(
                found,
                awards.issuer_of(found, org),
                record,
                awards.AwardRequest(recipient_email=LEARNER),
            )
    finally:
        engine.dispose()


async def while_running(app: FastAPI, server: SmtpTestServer, count: int) -> list[object]:
    async with app.router.lifespan_context(app):
        assert app.state.mail_worker.running
        return list(await asyncio.to_thread(server.wait_for, count, 15.0))


def test_the_api_process_sends_a_queued_award_notice_in_the_background(
    database_of_its_own: str, smtp: SmtpTestServer, tmp_path: Path
) -> None:
    settings = settings_for(database_of_its_own, smtp, tmp_path, mail_interval_seconds=0.1)
    award = issue_and_commit(settings, utc_now())
    app = create_app(settings)

    [message] = asyncio.run(while_running(app, smtp, 1))

    assert message["To"] == LEARNER  # type: ignore[index]
    assert f"{BASE_URL}/claim/{award.claim_token}" in str(message)
    assert not app.state.mail_worker.running  # stopped with the app
    app.state.engine.dispose()


def test_an_interval_of_zero_starts_no_background_sender(
    database_of_its_own: str, smtp: SmtpTestServer, tmp_path: Path
) -> None:
    settings = settings_for(database_of_its_own, smtp, tmp_path, mail_interval_seconds=0)
    app = create_app(settings)

    async def started() -> object:
        async with app.router.lifespan_context(app):
            return app.state.mail_worker

    assert asyncio.run(started()) is None
    app.state.engine.dispose()


def test_a_worker_run_queues_due_reminders_and_sends_them_with_the_notices(
    database_of_its_own: str, smtp: SmtpTestServer, tmp_path: Path
) -> None:
    settings = settings_for(database_of_its_own, smtp, tmp_path)
    issued_at = utc_now().replace(microsecond=0)
    issue_and_commit(settings, issued_at)
    later = issued_at + timedelta(days=340)
    engine = make_engine(settings.database_url)
    mailer = SmtpMailer(smtp.host, smtp.port, sender=settings.mail_from)
    worker = MailWorker(
        session_factory(engine), settings, SECRET, mailer=mailer, clock=lambda: later
    )
    try:
        assert worker.run_once() == (1, 2, 0)
        assert worker.run_once() == (0, 0, 0)  # reminders again only after an hour
    finally:
        engine.dispose()

    subjects = sorted(str(m["Subject"]) for m in smtp.wait_for(2))
    assert subjects == [
        "You have earned SQL Fundamentals from Acme College",
        "Your credential SQL Fundamentals expires in 30 days",
    ]
