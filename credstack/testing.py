"""Hypothesis strategies for credstack's domain objects (used by the test suite only).

Hypothesis is imported inside the functions so that ``credstack.testing`` stays importable
in an installation without the ``dev`` extra.
"""

# ruff: noqa: PLC0415  (the lazy imports above are deliberate)

from __future__ import annotations

from typing import TYPE_CHECKING

from credstack.domain.achievements import (
    ACHIEVEMENT_TYPES,
    Achievement,
    Alignment,
    Criteria,
    Image,
    Price,
    Profile,
    ResultDescription,
)

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy


def texts(max_size: int = 40) -> SearchStrategy[str]:
    """Non-blank unicode text (any UTF-8-encodable character: no lone surrogates)."""
    from hypothesis import strategies as st

    alphabet = st.characters(codec="utf-8")
    return st.text(alphabet, min_size=1, max_size=max_size).filter(lambda s: bool(s.strip()))


def credential_ids() -> SearchStrategy[str]:
    """Credential ids: ``urn:uuid:`` URNs or https URLs."""
    from hypothesis import strategies as st

    urns = st.uuids().map(lambda u: f"urn:uuid:{u}")
    urls = st.uuids().map(lambda u: f"https://issuer.example/credentials/{u.hex}")
    return st.one_of(urns, urls)


def _urls(kind: str) -> SearchStrategy[str]:
    from hypothesis import strategies as st

    return st.integers(min_value=0, max_value=10**6).map(
        lambda n: f"https://issuer.example/{kind}/{n}"
    )


def alignments() -> SearchStrategy[Alignment]:
    from hypothesis import strategies as st

    return st.builds(
        Alignment,
        target_name=texts(),
        target_url=_urls("framework"),
        target_code=st.none() | texts(10),
        target_description=st.none() | texts(),
        target_framework=st.none() | texts(),
        target_type=st.none() | st.sampled_from(["CFItem", "CTDL", "ceasn:Competency"]),
    )


def result_descriptions() -> SearchStrategy[ResultDescription]:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: DrawFn) -> ResultDescription:
        allowed = draw(st.lists(texts(5), max_size=4, unique=True))
        required: str | None = None
        with_required: bool = draw(st.booleans())
        if allowed and with_required:
            required = draw(st.sampled_from(allowed))
        return ResultDescription(
            id=f"urn:uuid:{draw(st.uuids())}",
            name=draw(texts()),
            result_type="LetterGrade" if allowed else draw(st.sampled_from(["Percent", "Status"])),
            allowed_values=tuple(allowed),
            required_value=required,
        )

    return build()


def achievements() -> SearchStrategy[Achievement]:
    """Random valid Achievements: unicode text, optional alignments, results and
    micro-credential fields (learning hours, price, level, ECTS)."""
    from hypothesis import strategies as st

    credits = st.none() | st.sampled_from([1.0, 2.5, 3.0, 6.0, 7.5, 30.0])
    prices = st.builds(
        Price,
        amount=st.integers(min_value=0, max_value=10**6).map(lambda c: f"{c // 100}.{c % 100:02d}"),
        currency=st.sampled_from(["EUR", "USD", "GBP", "CHF"]),
    )

    @st.composite
    def build(draw: DrawFn) -> Achievement:
        rds = draw(st.lists(result_descriptions(), max_size=3, unique_by=lambda r: r.id))
        return Achievement(
            id=draw(_urls("achievements")),
            name=draw(texts()),
            description=draw(texts(200)),
            criteria=draw(
                st.one_of(
                    st.builds(Criteria, narrative=texts(200)),
                    st.builds(Criteria, id=_urls("criteria")),
                )
            ),
            achievement_type=draw(st.none() | st.sampled_from(sorted(ACHIEVEMENT_TYPES))),
            alignments=tuple(draw(st.lists(alignments(), max_size=3))),
            credits_available=draw(credits),
            result_descriptions=tuple(rds),
            tags=tuple(draw(st.lists(texts(15), max_size=4))),
            image=draw(st.none() | st.builds(Image, id=_urls("images"))),
            version=draw(st.none() | st.sampled_from(["1.0", "2024-09"])),
            in_language=draw(st.none() | st.sampled_from(["en", "de-AT", "fr"])),
            creator=draw(st.none() | st.builds(Profile, id=_urls("profiles"), name=texts())),
            learning_hours=draw(st.none() | st.sampled_from([0.5, 8.0, 25.0, 150.0])),
            price=draw(st.none() | prices),
            level=draw(st.none() | st.sampled_from(["EQF 4", "EQF 5", "NQF 6"])),
            ects=draw(st.none() | st.sampled_from([1.0, 2.5, 5.0, 6.0])),
        )

    return build()


# --- A real SMTP server for tests --------------------------------------------------------

if TYPE_CHECKING:
    from email.message import EmailMessage

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session


class ReceivedMail:
    """One message as the test server received it: envelope, parsed message and login."""

    __slots__ = ("login", "mail_from", "message", "rcpt_tos")

    def __init__(
        self, mail_from: str, rcpt_tos: tuple[str, ...], message: EmailMessage, login: str | None
    ) -> None:
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.message = message
        self.login = login  # the SMTP AUTH login name, when the client logged in

    def __repr__(self) -> str:
        return (
            f"ReceivedMail(mail_from={self.mail_from!r}, rcpt_tos={self.rcpt_tos!r}, "
            f"subject={self.message['Subject']!r}, login={self.login!r})"
        )


class SmtpTestServer:
    """A real SMTP server (aiosmtpd, in a thread) on 127.0.0.1 and a free port.

    ::

        with SmtpTestServer() as server:
            SmtpMailer(server.host, server.port, sender=...).send(email)
            [message] = server.wait_for(1)

    ``credentials=(login, password)`` offers AUTH PLAIN/LOGIN without TLS and accepts only
    that pair; ``refuse_recipients="550 5.1.1 no such user"`` answers every RCPT TO with
    that reply. aiosmtpd is imported when the server starts, not with this module.
    """

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        refuse_recipients: str | None = None,
    ) -> None:
        import threading

        self.host = "127.0.0.1"
        self.port = 0
        self.credentials = credentials
        self.refuse_recipients = refuse_recipients
        self._received: list[ReceivedMail] = []
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    def __enter__(self) -> SmtpTestServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        if self._controller is not None:
            raise RuntimeError("SmtpTestServer is already running")
        self.port = _free_port(self.host)
        controller = Controller(
            _SmtpTestHandler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",  # else aiosmtpd asks socket.getfqdn() (DNS)
            ready_timeout=5.0,
            auth_require_tls=self.credentials is None,
            authenticator=self._authenticate if self.credentials is not None else None,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[ReceivedMail]:
        with self._changed:
            return list(self._received)

    @property
    def messages(self) -> list[EmailMessage]:
        return [mail.message for mail in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Block until at least ``count`` messages arrived; return them all (in order)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._received) >= count, timeout):
                raise AssertionError(
                    f"expected {count} message(s) within {timeout:g} s, got {len(self._received)}"
                )
            return [mail.message for mail in self._received]

    def _store(self, mail: ReceivedMail) -> None:
        with self._changed:
            self._received.append(mail)
            self._changed.notify_all()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(data, LoginPassword)
            and self.credentials is not None
            and (data.login, data.password)
            == tuple(part.encode("utf-8") for part in self.credentials)
        )
        # handled=False: aiosmtpd then answers a failure with "535 ... credentials invalid"
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


class _SmtpTestHandler:
    """aiosmtpd handler hooks for :class:`SmtpTestServer` (called on the server's thread)."""

    def __init__(self, server: SmtpTestServer) -> None:
        self._server = server

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self._server.refuse_recipients is not None:
            return self._server.refuse_recipients
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        from email import message_from_bytes, policy

        content = envelope.content
        raw = content.encode("utf-8") if isinstance(content, str) else content or b""
        raw = raw.replace(b"\r\n", b"\n")  # wire CRLF to Python's newline, as a mailbox does
        login = getattr(session.auth_data, "login", None)
        self._server._store(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=message_from_bytes(raw, policy=policy.default),
                login=login.decode("utf-8") if isinstance(login, bytes) else None,
            )
        )
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    """A port that was free a moment ago (aiosmtpd's Controller cannot bind port 0)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
