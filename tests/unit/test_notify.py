"""Email delivery: SMTP against a real local server, the console mailer, settings."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest
from pydantic import SecretStr

from credstack.domain.errors import CredstackError, Invalid
from credstack.domain.messages import Email, award_email
from credstack.notify import (
    ConsoleMailer,
    DeliveryFailed,
    Mailer,
    RecordingMailer,
    SmtpMailer,
    mailer_from_settings,
)
from credstack.settings import Settings
from credstack.testing import SmtpTestServer

SENDER = "Zertifikatsstelle Jürgen <no-reply@credstack.example>"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as running:
        yield running


def an_email(**overrides: str | None) -> Email:
    args: dict[str, str | None] = {
        "learner_email": "juergen@example.org",
        "learner_name": "Jürgen",
        "achievement_name": "Zertifikat für Jürgen",
        "issuer_name": "Hochschule Süd",
        "claim_url": "https://issuer.example/claim/1?t=a&b=c",
        "credential_url": "https://issuer.example/credentials/1",
    }
    args.update(overrides)
    return award_email(**args)  # type: ignore[arg-type]


def part(message: EmailMessage, content_type: str) -> str:
    body = message.get_body(preferencelist=(content_type.split("/")[1],))
    assert body is not None
    assert body.get_content_type() == content_type
    content = body.get_content()
    assert isinstance(content, str)
    return content


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- SmtpMailer against a real SMTP server -------------------------------------------------


def test_smtp_mailer_delivers_a_multipart_message_with_its_headers(
    server: SmtpTestServer,
) -> None:
    email = an_email()
    SmtpMailer(server.host, server.port, sender=SENDER).send(email)

    [message] = server.wait_for(1)
    assert message["To"] == "juergen@example.org"
    assert message["From"] == SENDER
    assert message["Subject"] == "You have earned Zertifikat für Jürgen from Hochschule Süd"
    assert message["Message-ID"].endswith("@credstack.example>")
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message.get_content_type() == "multipart/alternative"
    assert part(message, "text/plain") == email.text
    assert part(message, "text/html") == email.html


def test_smtp_mailer_uses_the_sender_address_and_the_recipient_as_envelope(
    server: SmtpTestServer,
) -> None:
    SmtpMailer(server.host, server.port, sender=SENDER).send(an_email())
    server.wait_for(1)
    [received] = server.received
    assert received.mail_from == "no-reply@credstack.example"
    assert received.rcpt_tos == ("juergen@example.org",)
    assert received.login is None


def test_smtp_mailer_encodes_a_utf8_subject_for_a_7bit_transport(
    server: SmtpTestServer,
) -> None:
    mailer = SmtpMailer(server.host, server.port, sender=SENDER)
    wire = mailer.message(an_email()).as_bytes()
    assert wire.isascii()  # RFC 2047 headers, quoted-printable bodies
    mailer.send(Email(to="a@example.org", subject="Zertifikat für Jürgen", text="Grüße ✓"))
    [message] = server.wait_for(1)
    assert message["Subject"] == "Zertifikat für Jürgen"
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "Grüße ✓\n"


def test_smtp_mailer_gives_every_message_its_own_message_id(server: SmtpTestServer) -> None:
    mailer = SmtpMailer(server.host, server.port, sender=SENDER)
    mailer.send(an_email())
    mailer.send(an_email())
    first, second = server.wait_for(2)
    assert first["Message-ID"] != second["Message-ID"]


def test_smtp_mailer_logs_in_when_given_credentials() -> None:
    with SmtpTestServer(credentials=("credstack", PASSWORD)) as server:
        mailer = SmtpMailer(
            server.host, server.port, sender=SENDER, username="credstack", password=PASSWORD
        )
        mailer.send(an_email())
        server.wait_for(1)
        assert server.received[0].login == "credstack"


def test_smtp_mailer_wrong_password_fails_without_revealing_it() -> None:
    wrong = "hunter2-is-not-it"
    with SmtpTestServer(credentials=("credstack", PASSWORD)) as server:
        mailer = SmtpMailer(
            server.host, server.port, sender=SENDER, username="credstack", password=wrong
        )
        with pytest.raises(DeliveryFailed) as info:
            mailer.send(an_email())
        assert server.received == []
    message = str(info.value)
    assert "535" in message
    assert "credstack" in message
    assert wrong not in message
    assert wrong not in repr(mailer)
    assert "\n" not in message


def test_smtp_mailer_refused_recipient_raises_delivery_failed_naming_the_reply() -> None:
    with SmtpTestServer(refuse_recipients="550 5.1.1 mailbox unavailable") as server:
        mailer = SmtpMailer(server.host, server.port, sender=SENDER, password=PASSWORD)
        with pytest.raises(DeliveryFailed) as info:
            mailer.send(an_email())
    message = str(info.value)
    assert info.value.code == "email.failed"
    assert isinstance(info.value, CredstackError)
    assert "juergen@example.org" in message
    assert "550 5.1.1 mailbox unavailable" in message
    assert PASSWORD not in message
    assert "\n" not in message


def test_smtp_mailer_unreachable_server_raises_a_one_line_delivery_failed() -> None:
    port = closed_port()
    mailer = SmtpMailer(
        "127.0.0.1", port, sender=SENDER, username="credstack", password=PASSWORD, timeout=2.0
    )
    with pytest.raises(DeliveryFailed) as info:
        mailer.send(an_email())
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "refused" in message.lower()
    assert PASSWORD not in message
    assert "\n" not in message


def test_smtp_mailer_starttls_against_a_server_without_tls_fails_cleanly(
    server: SmtpTestServer,
) -> None:
    mailer = SmtpMailer(server.host, server.port, sender=SENDER, starttls=True)
    with pytest.raises(DeliveryFailed, match="STARTTLS"):
        mailer.send(an_email())
    assert server.received == []


@pytest.mark.parametrize("sender", ["no address", "a@example.org\r\nBcc: x@example.org"])
def test_smtp_mailer_rejects_a_sender_without_a_valid_address(sender: str) -> None:
    with pytest.raises(Invalid):
        SmtpMailer("127.0.0.1", 25, sender=sender)


# --- ConsoleMailer, RecordingMailer, settings ----------------------------------------------


def test_console_mailer_writes_recipient_subject_and_text_to_its_stream() -> None:
    stream = io.StringIO()
    email = an_email()
    ConsoleMailer(stream).send(email)
    output = stream.getvalue()
    assert "To: juergen@example.org\n" in output
    assert f"Subject: {email.subject}\n" in output
    assert email.text.rstrip("\n") in output
    assert "https://issuer.example/claim/1?t=a&b=c" in output


def test_console_mailer_defaults_to_the_current_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleMailer().send(Email(to="a@example.org", subject="Hi", text="Body"))
    assert "Subject: Hi" in capsys.readouterr().out


def test_recording_mailer_keeps_sent_emails_in_order() -> None:
    mailer = RecordingMailer()
    first, second = an_email(), an_email(learner_email="b@example.org")
    mailer.send(first)
    mailer.send(second)
    assert mailer.sent == [first, second]


def test_mailer_from_settings_builds_a_console_mailer_by_default() -> None:
    mailer: Mailer = mailer_from_settings(Settings(email_backend="console"))
    assert isinstance(mailer, ConsoleMailer)


def test_mailer_from_settings_builds_an_smtp_mailer_from_the_smtp_settings(
    server: SmtpTestServer,
) -> None:
    settings = Settings(
        email_backend="smtp",
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_password=SecretStr(PASSWORD),
        smtp_starttls=False,
        mail_from=SENDER,
    )
    mailer = mailer_from_settings(settings)
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.host, mailer.port, mailer.sender) == (server.host, server.port, SENDER)
    mailer.send(an_email())
    assert len(server.wait_for(1)) == 1
