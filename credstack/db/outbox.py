"""The outbox: emails queued in the same transaction as the change they announce.

An award and its notice commit together or not at all; a sender delivers them afterwards
(``credstack.services.notifications.send_pending``). The unique ``dedupe_key`` makes each
notice go out once, even when two transactions queue it at the same moment: the insert is
``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` (SQLite and PostgreSQL alike), so the
one that loses the race gets False and its transaction goes on unharmed (no savepoint, no
aborted PostgreSQL transaction, no select-then-insert window).

Two senders never deliver the same email: ``pending`` locks the rows it returns on
PostgreSQL (``FOR UPDATE SKIP LOCKED``, so another sender takes the next ones), and
``claim`` counts the attempt only if nobody else did (on SQLite the second sender waits for
the first one's write lock, then finds the attempt counted and skips the email).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from credstack.db.repositories import utc
from credstack.db.tables import OutboxRow
from credstack.domain.messages import Email, QueuedEmail

_SUBJECT_MAX = 300  # OutboxRow.subject
_ERROR_MAX = 2000


class SqlOutbox:
    """The ``MailQueue`` port over one SQLAlchemy session (it flushes, never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, email: Email, now: datetime) -> bool:
        """Queue ``email``; False when its dedupe key was queued before (by anyone)."""
        statement = _insert_unless_queued(self.session.get_bind().dialect.name)
        inserted = self.session.execute(
            statement.values(_values(email, now)).returning(OutboxRow.id)
        ).first()
        return inserted is not None

    def enqueue_many(self, emails: Sequence[Email], now: datetime) -> int:
        """Queue a batch of emails with one multi-row INSERT (executemany), each dedupe key
        once as :meth:`enqueue` does; returns how many were given to the database."""
        if not emails:
            return 0
        statement = _insert_unless_queued(self.session.get_bind().dialect.name)
        entropy = os.urandom(16 * len(emails))  # one system call for the batch's ids
        ids = (uuid.UUID(bytes=entropy[i : i + 16], version=4) for i in range(0, len(entropy), 16))
        rows = [_values(email, now, str(next(ids))) for email in emails]
        self.session.execute(statement, rows)
        return len(emails)

    def pending(self, limit: int, due: Sequence[datetime]) -> list[QueuedEmail]:
        if limit <= 0 or not due:
            return []
        ready = or_(
            *(
                and_(OutboxRow.attempts == n, OutboxRow.created_at <= before)
                for n, before in enumerate(due)
            )
        )
        rows = self.session.scalars(
            select(OutboxRow)
            .where(OutboxRow.sent_at.is_(None), ready)
            .order_by(OutboxRow.created_at, OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it
        )
        return [self._record(row) for row in rows]

    def claim(self, email_id: str, attempts: int) -> bool:
        result = self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == email_id,
                OutboxRow.attempts == attempts,
                OutboxRow.sent_at.is_(None),
            )
            .values(attempts=OutboxRow.attempts + 1)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    def mark_sent(self, email_id: str, at: datetime) -> None:
        self.session.execute(update(OutboxRow).where(OutboxRow.id == email_id).values(sent_at=at))

    def mark_failed(self, email_id: str, error: str) -> None:
        self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == email_id)
            .values(last_error=error[:_ERROR_MAX] or "failed")
        )

    def sent_keys(self, prefix: str) -> set[str]:
        keys = self.session.scalars(
            select(OutboxRow.dedupe_key).where(
                OutboxRow.dedupe_key.startswith(prefix, autoescape=True)
            )
        )
        return set(keys)

    def by_key(self, dedupe_key: str) -> QueuedEmail | None:
        """The queued email with this dedupe key, sent or not."""
        row = self.session.scalar(select(OutboxRow).where(OutboxRow.dedupe_key == dedupe_key))
        return self._record(row) if row else None

    @staticmethod
    def _record(row: OutboxRow) -> QueuedEmail:
        created_at = utc(row.created_at)
        assert created_at is not None
        return QueuedEmail(
            id=row.id,
            email=Email(
                to=row.to,
                subject=row.subject,
                text=row.text,
                html=row.html,
                dedupe_key=row.dedupe_key,
            ),
            created_at=created_at,
            attempts=row.attempts,
            sent_at=utc(row.sent_at),
            last_error=row.last_error,
        )


def _values(email: Email, now: datetime, email_id: str | None = None) -> dict[str, Any]:
    subject = email.subject
    if len(subject) > _SUBJECT_MAX:
        subject = subject[: _SUBJECT_MAX - 1] + "…"
    return {
        "id": email_id or str(uuid.uuid4()),
        "dedupe_key": email.dedupe_key or f"once:{uuid.uuid4()}",
        "to": email.to,
        "subject": subject,
        "text": email.text,
        "html": email.html,
        "created_at": now,
        "attempts": 0,
    }


def _insert_unless_queued(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` in the database's dialect."""
    if dialect == "postgresql":
        return postgresql.insert(OutboxRow).on_conflict_do_nothing(
            index_elements=[OutboxRow.dedupe_key]
        )
    if dialect == "sqlite":
        return sqlite.insert(OutboxRow).on_conflict_do_nothing(
            index_elements=[OutboxRow.dedupe_key]
        )
    raise NotImplementedError(f"the outbox supports SQLite and PostgreSQL, not {dialect}")
