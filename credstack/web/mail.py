"""Learner emails from the API process: a background thread drains the outbox.

Award notices are queued in the award's own transaction (``issue_award``), so a request
never waits for a mail server and a rolled-back award sends nothing. Every API process
runs one daemon thread (started and stopped by the FastAPI lifespan) that, every
``CREDSTACK_MAIL_INTERVAL_SECONDS`` (default 5), sends the queued emails that are due, and
once an hour first queues the expiry reminders that are due (``CREDSTACK_REMINDER_DAYS``).

It runs whatever ``CREDSTACK_EMAIL_BACKEND`` is: ``console`` prints the emails in the
server's output (what ``make run`` wants), ``smtp`` sends them. Any number of processes
may run it at once: the outbox hands each email to one sender, and the reminders' dedupe
keys make a second run queue nothing. ``CREDSTACK_MAIL_INTERVAL_SECONDS=0`` turns the
thread off, for deployments that run ``credstack notify remind`` from cron (or a worker)
instead. The CLI commands use the same functions as the thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Final

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from credstack.db.outbox import SqlOutbox
from credstack.db.repositories import platform_for
from credstack.db.session import transaction
from credstack.domain.ports import Mailer
from credstack.notify import mailer_from_settings
from credstack.services.notifications import queue_reminders, send_pending
from credstack.services.platform import Platform, utc_now
from credstack.settings import Settings

log = logging.getLogger("credstack.mail")

BATCH: Final = 10  # emails per transaction: a crash re-sends at most one batch
MAX_BATCHES: Final = 100  # per run, so that one run ends even under a flood
REMINDER_EVERY: Final = timedelta(hours=1)


def platform_over(session: Session, settings: Settings, secret: bytes) -> Platform:
    """A platform over ``session`` with the outbox wired (for jobs outside a request)."""
    return platform_for(
        session,
        base_url=settings.base_url,
        secret=secret,
        outbox=SqlOutbox(session),
    )


def send_queued(
    sessions: sessionmaker[Session],
    mailer: Mailer,
    clock: Callable[[], datetime] = utc_now,
) -> tuple[int, int]:
    """Send every due email, one transaction per batch; return ``(sent, failed)``."""
    sent = failed = 0
    for _ in range(MAX_BATCHES):
        with transaction(sessions) as session:
            done, broken = send_pending(SqlOutbox(session), mailer, clock(), limit=BATCH)
        sent, failed = sent + done, failed + broken
        if done + broken < BATCH:
            break
    return sent, failed


def queue_due_reminders(
    sessions: sessionmaker[Session], settings: Settings, secret: bytes, now: datetime
) -> int:
    """Queue the expiry reminders due at ``now`` (one transaction); return how many."""
    with transaction(sessions) as session:
        found = platform_over(session, settings, secret)
        return queue_reminders(found, SqlOutbox(session), now, settings.reminder_days)


class MailWorker:
    """The background thread: ``start()``, then ``stop()`` (waits for the current run)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        secret: bytes,
        *,
        mailer: Mailer | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.secret = secret
        self.mailer = mailer if mailer is not None else mailer_from_settings(settings)
        self.clock = clock
        self.interval = settings.mail_interval_seconds
        self._next_reminders: datetime | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the mail worker is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="credstack-mail", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self) -> tuple[int, int, int]:
        """Queue reminders if an hour has passed, then send; ``(queued, sent, failed)``."""
        now = self.clock()
        queued = 0
        if self._next_reminders is None or now >= self._next_reminders:
            try:
                queued = queue_due_reminders(self.sessions, self.settings, self.secret, now)
            except Exception:  # tried again on the next run; sending goes on meanwhile
                log.exception("queuing expiry reminders failed")
            else:
                self._next_reminders = now + REMINDER_EVERY
        sent, failed = send_queued(self.sessions, self.mailer, self.clock)
        if queued or sent or failed:
            log.info("emails: %d reminders queued, %d sent, %d failed", queued, sent, failed)
        return queued, sent, failed

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:  # the database may be away for a while: try again later
                log.exception("the mail worker run failed; retrying in %g s", self.interval)
            self._stopping.wait(self.interval)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs the mail worker for the app's lifetime (unless the interval is 0)."""
    settings: Settings = app.state.settings
    worker = None
    if settings.mail_interval_seconds > 0:
        worker = MailWorker(app.state.sessions, settings, app.state.secret)
        worker.start()
    app.state.mail_worker = worker
    try:
        yield
    finally:
        if worker is not None:
            await asyncio.to_thread(worker.stop)
