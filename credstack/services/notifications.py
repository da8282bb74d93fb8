"""Learner notifications: deliver queued emails, and queue expiry reminders when due.

Award notices are queued by ``issue_award`` in the award's own transaction; reminders are
queued here by a periodic job. Both reach learners through :func:`send_pending`, which
never raises for a delivery problem: the email stays queued with the error text and is
tried again later (after 1 minute, 10 minutes, 1 hour and 6 hours), five attempts in all.
Delivery is at least once: a sender that dies after handing an email to the server but
before its transaction commits sends that email again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from credstack.domain.errors import Invalid
from credstack.domain.messages import due_reminders, reminder_email
from credstack.domain.platform import AchievementId, Award, OrgId
from credstack.domain.ports import Mailer, MailQueue
from credstack.services.awards import credential_url
from credstack.services.platform import Platform

log = logging.getLogger(__name__)

# The n-th attempt waits RETRY_AFTER[n - 1] after the email was queued.
RETRY_AFTER: Final[tuple[timedelta, ...]] = (
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
MAX_ATTEMPTS: Final = len(RETRY_AFTER)
_REASON_MAX = 500


def send_pending(
    outbox: MailQueue, mailer: Mailer, now: datetime, limit: int = 100
) -> tuple[int, int]:
    """Deliver up to ``limit`` due emails, oldest first; return ``(sent, failed)``.

    A failed email keeps its place with one more attempt and the error text; after
    :data:`MAX_ATTEMPTS` attempts it is given up (and stays in the outbox as a record).
    """
    sent = failed = 0
    for queued in outbox.pending(limit, [now - wait for wait in RETRY_AFTER]):
        if not outbox.claim(queued.id, queued.attempts):
            continue  # another sender took it
        try:
            mailer.send(queued.email)
        except Exception as exc:  # noqa: BLE001 - no mailer problem may stop the queue
            outbox.mark_failed(queued.id, _reason(exc))
            failed += 1
        else:
            outbox.mark_sent(queued.id, now)
            sent += 1
    return sent, failed


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"


def queue_reminders(
    platform: Platform, outbox: MailQueue, now: datetime, offsets: Sequence[int]
) -> int:
    """Queue the expiry reminders due at ``now``; return how many were queued.

    Looks at unrevoked credentials of email recipients whose ``validUntil`` falls within
    ``max(offsets)`` days, and queues at most one reminder each as
    :func:`~credstack.domain.messages.due_reminders` decides. The outbox's dedupe keys
    (``reminder:{credential_url}:{days}``) are the record of what was queued, so running
    this twice, or from two processes, queues nothing new.
    """
    wanted = sorted(set(offsets))
    if not wanted:
        return 0
    names = _Names(platform)
    queued = 0
    for award in platform.awards.expiring(now, now + timedelta(days=wanted[-1])):
        if award.recipient_kind != "email" or award.valid_until is None:
            continue
        if award.revoked_at is not None:
            continue
        url = credential_url(platform.base_url, award.id)
        prefix = f"reminder:{url}:"
        already = {
            int(offset)
            for key in outbox.sent_keys(prefix)
            if (offset := key.removeprefix(prefix)).isdecimal()
        }
        for days in due_reminders(award.valid_until, now, wanted, already):
            try:
                email = reminder_email(
                    learner_email=award.recipient,
                    achievement_name=names.achievement(award),
                    issuer_name=names.issuer(award.org_id),
                    valid_until=award.valid_until,
                    days_left=days,
                    renew_url=None,
                    credential_url=url,
                )
            except Invalid as exc:  # one unusable record must not hold up the others
                log.warning("no expiry reminder for %s: %s", url, exc.message)
                continue
            if outbox.enqueue(email, now):
                queued += 1
    return queued


class _Names:
    """Achievement and issuer names for reminders, looked up once per run."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._achievements: dict[AchievementId, str] = {}
        self._issuers: dict[OrgId, str] = {}

    def achievement(self, award: Award) -> str:
        if award.achievement_id is not None:
            if award.achievement_id not in self._achievements:
                record = self._platform.achievements.get(award.achievement_id)
                name = record.definition.get("name") if record else None
                self._achievements[award.achievement_id] = str(name or "")
            if self._achievements[award.achievement_id]:
                return self._achievements[award.achievement_id]
        return _name_in_document(award.document)

    def issuer(self, org_id: OrgId) -> str:
        if org_id not in self._issuers:
            org = self._platform.orgs.get(org_id)
            self._issuers[org_id] = org.name if org else ""
        return self._issuers[org_id]


def _name_in_document(document: str) -> str:
    """``credentialSubject.achievement.name`` of the credential as signed (or "")."""
    try:
        subject = json.loads(document).get("credentialSubject")
    except (ValueError, AttributeError):
        return ""
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    name = achievement.get("name") if isinstance(achievement, dict) else None
    return name if isinstance(name, str) else ""
