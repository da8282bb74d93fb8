"""Deliver :class:`~credstack.domain.messages.Email` messages: console, SMTP or in memory.

``mailer_from_settings`` picks the backend from ``CREDSTACK_EMAIL_BACKEND``. Delivery
problems surface as :class:`DeliveryFailed` with a one-line message that names the
recipient and the server but never the SMTP password.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Protocol, TextIO

from credstack.domain.errors import CredstackError, Invalid
from credstack.domain.messages import Email, check_email_address

if TYPE_CHECKING:
    from credstack.settings import Settings

_MAX_REASON = 200
_MIN_SCRUB = 4  # shorter passwords match ordinary words; scrubbing them would garble text
_WHITESPACE = re.compile(r"\s+")


class DeliveryFailed(CredstackError):
    """The mail server could not be reached or did not accept the message."""

    code = "email.failed"


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...


class ConsoleMailer:
    """Prints each email as a readable block (development: ``make run``).

    Without a ``stream`` it writes to whatever ``sys.stdout`` is at the time of sending.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, email: Email) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        lines = [
            "----- email " + "-" * 48,
            f"To: {email.to}",
            f"Subject: {email.subject}",
        ]
        if email.dedupe_key is not None:
            lines.append(f"Dedupe-Key: {email.dedupe_key}")
        if email.html is not None:
            lines.append("(with an HTML alternative)")
        lines += ["", email.text.rstrip("\n"), "-" * 60, ""]
        stream.write("\n".join(lines))
        stream.flush()


class RecordingMailer:
    """Keeps every email in ``sent`` instead of delivering it (tests and dry runs)."""

    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        self.sent.append(email)


class SmtpMailer:
    """Sends through an SMTP server with :mod:`smtplib`, one connection per email.

    ``starttls=True`` upgrades the connection with a verifying default TLS context before
    logging in; ``username`` (with ``password``) logs in with whatever AUTH mechanism the
    server offers. ``sender`` is the From header, e.g. ``credstack <no-reply@example.org>``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        sender: str,
        timeout: float = 10.0,
        local_hostname: str | None = None,
    ) -> None:
        if "\r" in sender or "\n" in sender:
            raise Invalid(f"mail_from: {sender!r} must be a single line", code="email.invalid")
        self._envelope_from = check_email_address(parseaddr(sender)[1], "mail_from")
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.starttls = starttls
        self.sender = sender
        self.timeout = timeout
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        return (
            f"SmtpMailer(host={self.host!r}, port={self.port!r}, username={self.username!r}, "
            f"starttls={self.starttls!r}, sender={self.sender!r})"
        )

    def message(self, email: Email) -> EmailMessage:
        """The MIME message ``send`` delivers (multipart/alternative when there is HTML)."""
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = email.to
        msg["Subject"] = email.subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain=self._envelope_from.rpartition("@")[2])
        # quoted-printable keeps non-ASCII bodies 7-bit clean for servers without 8BITMIME
        msg.set_content(email.text, cte="quoted-printable")
        if email.html is not None:
            msg.add_alternative(email.html, subtype="html", cte="quoted-printable")
        return msg

    def send(self, email: Email) -> None:
        msg = self.message(email)
        try:
            with smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            ) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(msg, from_addr=self._envelope_from, to_addrs=[email.to])
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            raise DeliveryFailed(
                f"email to {email.to} via {self.host}:{self.port} failed: {self._reason(exc)}"
            ) from None

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            reason = "; ".join(
                f"{rcpt} refused: {code} {_text(resp)}"
                for rcpt, (code, resp) in exc.recipients.items()
            )
        elif isinstance(exc, smtplib.SMTPResponseException):
            reason = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            reason = "the server closed the connection"
        elif isinstance(exc, UnicodeError):  # its text would quote part of the login
            reason = "the login or an address has characters the server cannot accept"
        elif isinstance(exc, TimeoutError):
            reason = f"timed out after {self.timeout:g} s"
        else:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            reason = f"login as {self.username!r} refused ({reason})"
        reason = _WHITESPACE.sub(" ", reason).strip()
        if self._password and len(self._password) >= _MIN_SCRUB:  # belt and braces
            reason = reason.replace(self._password, "***")
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 1] + "…"
        return reason


def mailer_from_settings(settings: Settings) -> Mailer:
    """``console`` prints to stdout; ``smtp`` sends with the ``smtp_*`` settings."""
    if settings.email_backend == "smtp":
        password = settings.smtp_password
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=None if password is None else password.get_secret_value(),
            starttls=settings.smtp_starttls,
            sender=settings.mail_from,
        )
    return ConsoleMailer()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
