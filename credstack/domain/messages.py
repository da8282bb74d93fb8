"""The emails credstack sends to learners: award notices and expiry reminders.

Pure functions: no I/O, no clock (``now`` is always passed in). An :class:`Email` is the
finished message; delivering it is the job of ``credstack.notify``.

Every value interpolated into an HTML body is HTML-escaped; the bodies link to credstack
only (no external images, no scripts). Subjects are single lines: any run of whitespace in
an interpolated name (including CR/LF) becomes one space, so a name cannot inject headers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Final

from credstack.domain.errors import Invalid

DEFAULT_REMINDER_DAYS: Final[tuple[int, ...]] = (60, 30, 7)

# A pragmatic address check (RFC 5321/5322 "dot-atom" local part and a dotted DNS domain,
# ASCII only: internationalised addresses would need SMTPUTF8 end to end; IDN domains can
# be given in their xn-- form). Quoted local parts, comments and IP literals are refused.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_ADDRESS_RE: Final = re.compile(
    rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})"
)
_MAX_ADDRESS = 254  # RFC 5321: 256 octets for the path, including the angle brackets
_MAX_LOCAL = 64
_URL_RE: Final = re.compile(r"https?://[^\s<>\"'\x00-\x1f\x7f]+", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def check_email_address(address: str, field: str = "email") -> str:
    """Return ``address`` if it is a plain ``local@domain.tld`` address; else raise Invalid."""
    if (
        not isinstance(address, str)
        or len(address) > _MAX_ADDRESS
        or not EMAIL_ADDRESS_RE.fullmatch(address)
        or len(address.rpartition("@")[0]) > _MAX_LOCAL
    ):
        raise Invalid(f"{field}: {address!r} is not a valid email address", code="email.invalid")
    return address


@dataclass(frozen=True)
class Email:
    """One message to one recipient.

    ``dedupe_key`` identifies the notification (not the delivery attempt): an outbox can use
    it to send each award notice and each reminder at most once.
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    dedupe_key: str | None = None

    def __post_init__(self) -> None:
        check_email_address(self.to, "email.to")
        if not self.subject.strip() or "\r" in self.subject or "\n" in self.subject:
            raise Invalid("email.subject: must be one non-blank line")
        if not self.text.strip():
            raise Invalid("email.text: must not be blank")


@dataclass(frozen=True)
class QueuedEmail:
    """An email in the outbox: ``attempts`` counts delivery attempts so far, ``last_error``
    says why the latest one failed, ``sent_at`` is set once it was delivered."""

    id: str
    email: Email
    created_at: datetime
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None


def award_email(
    *,
    learner_email: str,
    learner_name: str | None,
    achievement_name: str,
    issuer_name: str,
    claim_url: str,
    credential_url: str,
) -> Email:
    """The notice that a credential was awarded, with the link to claim it."""
    check_email_address(learner_email, "learner_email")
    achievement = _one_line(achievement_name, "achievement_name")
    issuer = _one_line(issuer_name, "issuer_name")
    claim = _check_url(claim_url, "claim_url")
    credential = _check_url(credential_url, "credential_url")
    greeting = _greeting(learner_name)

    subject = f"You have earned {achievement} from {issuer}"
    text = (
        f"{greeting},\n\n"
        f"{issuer} has awarded you the credential “{achievement}”.\n\n"
        f"Claim it here:\n{claim}\n\n"
        f"Once claimed, you can keep it in your wallet and share it; anyone can verify it at:\n"
        f"{credential}\n\n"
        f"If you were not expecting this email, you can ignore it.\n"
    )
    body = (
        f"<p>{escape(greeting)},</p>\n"
        f"<p>{escape(issuer)} has awarded you the credential "
        f"<strong>{escape(achievement)}</strong>.</p>\n"
        f"<p>{_button(claim, 'Claim your credential')}</p>\n"
        f"<p>Once claimed, you can keep it in your wallet and share it; anyone can verify it "
        f'at <a href="{escape(credential)}">{escape(credential)}</a>.</p>\n'
        f"<p>If you were not expecting this email, you can ignore it.</p>\n"
    )
    return Email(
        to=learner_email,
        subject=subject,
        text=text,
        html=_page(subject, body),
        dedupe_key=f"award:{credential_url}",
    )


def reminder_email(
    *,
    learner_email: str,
    achievement_name: str,
    issuer_name: str,
    valid_until: datetime,
    days_left: int,
    renew_url: str | None,
    credential_url: str,
) -> Email:
    """A reminder that a credential expires at ``valid_until`` (shown as a UTC date).

    ``days_left`` is the reminder's offset (one of the configured reminder days, as returned
    by :func:`due_reminders`); it appears in the subject and in the dedupe key
    ``reminder:{credential_url}:{days_left}``.
    """
    check_email_address(learner_email, "learner_email")
    achievement = _one_line(achievement_name, "achievement_name")
    issuer = _one_line(issuer_name, "issuer_name")
    credential = _check_url(credential_url, "credential_url")
    renew = None if renew_url is None else _check_url(renew_url, "renew_url")
    _check_aware(valid_until, "valid_until")
    if isinstance(days_left, bool) or not isinstance(days_left, int) or days_left < 0:
        raise Invalid(f"days_left: must be a non-negative integer, got {days_left!r}")
    expiry = valid_until.astimezone(UTC)
    at_midnight = expiry.time() == datetime.min.time()
    when = f"{expiry:%Y-%m-%d}" if at_midnight else f"{expiry:%Y-%m-%d %H:%M} UTC"
    within = "today" if days_left == 0 else "in 1 day" if days_left == 1 else f"in {days_left} days"

    subject = f"Your credential {achievement} expires {within}"
    if renew is None:
        action_text = f"Contact {issuer} if you need to renew it."
        action_html = f"<p>Contact {escape(issuer)} if you need to renew it.</p>\n"
    else:
        action_text = f"You can renew it here:\n{renew}"
        action_html = f"<p>{_button(renew, 'Renew your credential')}</p>\n"
    text = (
        f"Hello,\n\n"
        f"Your credential “{achievement}” from {issuer} expires on {when}.\n\n"
        f"{action_text}\n\n"
        f"Credential: {credential}\n"
    )
    body = (
        f"<p>Hello,</p>\n"
        f"<p>Your credential <strong>{escape(achievement)}</strong> from {escape(issuer)} "
        f"expires on <strong>{escape(when)}</strong>.</p>\n"
        f"{action_html}"
        f'<p>Credential: <a href="{escape(credential)}">{escape(credential)}</a></p>\n'
    )
    return Email(
        to=learner_email,
        subject=subject,
        text=text,
        html=_page(subject, body),
        dedupe_key=f"reminder:{credential_url}:{days_left}",
    )


def due_reminders(
    valid_until: datetime,
    now: datetime,
    offsets: Sequence[int],
    already_sent: Collection[int],
) -> list[int]:
    """The reminder offsets (in days) to send now: an empty list or exactly one offset.

    The reminder for offset ``d`` is due when ``valid_until - d days <= now < valid_until``.
    Only the smallest due offset is returned: when several are due at once (the job did not
    run for a while), the larger ones are skipped for good, since a learner should not get a
    "60 days left" email a week before expiry. If that smallest due offset is already in
    ``already_sent``, nothing is due: the larger offsets are never sent late. Record the
    returned offset as sent; skipped offsets need no record.

    Both datetimes must be timezone-aware; offsets must be non-negative integers.
    """
    _check_aware(valid_until, "valid_until")
    _check_aware(now, "now")
    for offset in offsets:
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise Invalid(f"reminder offsets: must be non-negative integers, got {offset!r}")
    if now >= valid_until:
        return []
    due = [d for d in offsets if now >= valid_until - timedelta(days=d)]
    if not due:
        return []
    smallest = min(due)
    return [] if smallest in already_sent else [smallest]


def _check_aware(value: datetime, field: str) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise Invalid(f"{field}: must be a timezone-aware datetime, got {value!r}")


def _one_line(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{field}: must be a non-empty string")
    return _WHITESPACE.sub(" ", value).strip()


def _greeting(learner_name: str | None) -> str:
    if learner_name is None or not learner_name.strip():
        return "Hello"
    return f"Hello {_WHITESPACE.sub(' ', learner_name).strip()}"


def _check_url(url: str, field: str) -> str:
    if not isinstance(url, str) or not _URL_RE.fullmatch(url):
        raise Invalid(f"{field}: {url!r} is not an http(s) URL")
    return url


def _button(url: str, label: str) -> str:
    return (
        f'<a href="{escape(url)}" style="display:inline-block;padding:10px 16px;'
        f'background:#1f4e8c;color:#ffffff;text-decoration:none;border-radius:4px">'
        f"{escape(label)}</a>"
    )


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        '<body style="font-family:sans-serif;line-height:1.5;color:#222222">\n'
        f"{body}"
        "</body></html>\n"
    )
