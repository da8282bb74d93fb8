"""Accounts of the web application: people who sign in with an email and a password.

Pure rules only (no I/O, no clock, no randomness): what a usable password is, when an
emailed token may be used, when sign-in attempts are throttled, which organizations a
person works for, which credentials they may claim, and the emails the account sends.
The use cases are in ``credstack.services.accounts``; storage in ``credstack.db.accounts``.

A credential is *claimed* by the person it was sent to: the award's recipient is an email
address, the account's address is that address and is verified, and the credential's own
``credentialSubject.identifier`` (a salted hash, OB 3.0 IdentityObject) names it too.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from html import escape
from typing import Any, Final, NewType, Protocol

from credstack.domain.credentials import hash_identity, normalize_email
from credstack.domain.errors import Conflict, CredstackError, Forbidden, Invalid
from credstack.domain.messages import Email, check_email_address
from credstack.domain.platform import Award, AwardId, OrgId, Role

UserId = NewType("UserId", str)

MIN_PASSWORD: Final = 12
MAX_PASSWORD: Final = 256  # argon2 takes any length; this bounds the work per request
VERIFY_EMAIL_LIFETIME: Final = timedelta(hours=48)
RESET_LIFETIME: Final = timedelta(hours=1)
MAX_TOKENS_PER_HOUR: Final = 3  # reset or verification emails per account and hour


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a token purpose, not a password


LIFETIMES: Final[dict[TokenPurpose, timedelta]] = {
    TokenPurpose.VERIFY_EMAIL: VERIFY_EMAIL_LIFETIME,
    TokenPurpose.RESET_PASSWORD: RESET_LIFETIME,
}


class Throttled(CredstackError):
    """Too many attempts in a short time; ``retry_after`` says how long to wait."""

    code = "throttled"

    def __init__(self, message: str, retry_after: timedelta) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class User:
    id: UserId
    email: str
    password_hash: str
    created_at: datetime
    email_verified_at: datetime | None = None
    did: str | None = None

    @property
    def verified(self) -> bool:
        return self.email_verified_at is not None


@dataclass(frozen=True, slots=True)
class AccountToken:
    """A single-use emailed token (stored by its hash only)."""

    token_hash: str
    user_id: UserId
    purpose: TokenPurpose
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser session (stored by the hash of the cookie's key)."""

    id_hash: str
    user_id: UserId
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """A role in an organization, from the organization's staff list."""

    org_id: OrgId
    slug: str
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class Claim:
    award: Award
    claimed_at: datetime


class PasswordHasher(Protocol):
    """Hashes passwords (the services' Argon2id one); ``verify`` never raises."""

    def hash(self, password: str) -> str: ...
    def verify(self, stored: str, password: str) -> bool: ...
    def needs_rehash(self, stored: str) -> bool: ...
    def spend(self, password: str) -> None:
        """Take as long as a verification (for addresses without an account)."""
        ...


class AccountRepository(Protocol):
    """Storage of accounts (``credstack.db.accounts.AccountStore``); flushes, never commits."""

    def add_user(self, user: User) -> None: ...
    def user(self, user_id: UserId) -> User | None: ...
    def user_by_email(self, email: str) -> User | None: ...
    def set_password(self, user_id: UserId, password_hash: str) -> None: ...
    def mark_verified(self, user_id: UserId, at: datetime) -> None: ...
    def set_did(self, user_id: UserId, did: str | None) -> None: ...
    def add_token(self, token: AccountToken) -> None: ...
    def token(self, token_hash: str) -> AccountToken | None: ...
    def use_token(self, token_hash: str, at: datetime) -> bool:
        """Mark the token used unless it was already (compare and set)."""
        ...

    def tokens_since(self, user_id: UserId, purpose: TokenPurpose, since: datetime) -> int: ...
    def add_session(self, session: WebSession) -> None: ...
    def find_session(self, id_hash: str) -> WebSession | None: ...
    def delete_session(self, id_hash: str) -> None: ...
    def delete_sessions_of(self, user_id: UserId) -> None: ...
    def add_failure(self, key: str, at: datetime) -> None: ...
    def failures_since(self, key: str, since: datetime) -> int: ...
    def clear_failures(self, key: str) -> None: ...
    def prune(self, keys: Sequence[str], user_id: UserId | None, before: datetime) -> None:
        """Forget failures of ``keys`` older than ``before`` and expired sessions of
        ``user_id`` (so neither table grows without bound)."""
        ...

    def memberships(self, email: str) -> list[Membership]: ...
    def awards_for_email(self, email: str) -> list[Award]: ...
    def award_by_claim_token(self, claim_token: str) -> Award | None: ...
    def add_claim(self, award_id: AwardId, user_id: UserId, at: datetime) -> None: ...
    def claimant(self, award_id: AwardId) -> UserId | None: ...
    def claims_of(self, user_id: UserId) -> list[Claim]: ...


# --- rules ------------------------------------------------------------------------------


def account_email(address: str) -> str:
    """The stored form of an account's address (normalized as awards hash it), or Invalid."""
    if not isinstance(address, str):
        raise Invalid("enter an email address", code="email.invalid")
    normalized = normalize_email(address)
    check_email_address(normalized, "email")
    return normalized


def check_password(password: str, email: str) -> None:
    """Length is what matters (NIST SP 800-63B): at least 12 characters, no composition
    rules; not the email address itself."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(
            f"choose a password of at least {MIN_PASSWORD} characters", code="password.short"
        )
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"a password has at most {MAX_PASSWORD} characters", code="password.long")
    if password.strip().lower() == email.strip().lower():
        raise Invalid("the password must not be your email address", code="password.email")


def check_token(token: AccountToken | None, purpose: TokenPurpose, now: datetime) -> AccountToken:
    """The token if it may be used now for ``purpose``; else Invalid saying why."""
    if token is None or token.purpose is not purpose:
        raise Invalid("this link is not valid; ask for a new one", code="token.unknown")
    if token.used_at is not None:
        raise Invalid("this link was already used; ask for a new one", code="token.used")
    if now >= token.expires_at:
        raise Invalid("this link has expired; ask for a new one", code="token.expired")
    return token


def check_token_budget(sent_last_hour: int) -> None:
    if sent_last_hour >= MAX_TOKENS_PER_HOUR:
        raise Throttled(
            "we sent several emails to this address in the last hour; try again later",
            timedelta(hours=1),
        )


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """Failed sign-ins tolerated per address and per client address within ``window``."""

    window: timedelta = timedelta(minutes=15)
    per_email: int = 5
    per_ip: int = 50

    def check(self, email_failures: int, ip_failures: int) -> None:
        if email_failures >= self.per_email or ip_failures >= self.per_ip:
            minutes = int(self.window.total_seconds() // 60)
            raise Throttled(
                f"too many failed sign-ins; wait {minutes} minutes or reset your password",
                self.window,
            )


def memberships_of(user: User, staff: Sequence[Membership]) -> list[Membership]:
    """Roles count only for a verified address: anyone can sign up with any address."""
    if not user.verified:
        return []
    return sorted(staff, key=lambda m: (m.name.lower(), m.slug))


def names_email(credential: Mapping[str, Any], email: str) -> bool:
    """Does the credential's subject identify ``email`` (hashed with its salt, or plain)?"""
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    wanted = normalize_email(email)
    for item in subjects:
        if not isinstance(item, Mapping):
            continue
        identifiers = item.get("identifier")
        listed = identifiers if isinstance(identifiers, list) else [identifiers]
        for identity in listed:
            if not isinstance(identity, Mapping):
                continue
            if identity.get("identityType") != "emailAddress":
                continue
            value = str(identity.get("identityHash", ""))
            if identity.get("hashed") is True:
                salt = str(identity.get("salt") or "")
                expected = hash_identity(wanted, salt)
                if hmac.compare_digest(expected.lower(), value.lower()):
                    return True
            elif normalize_email(value) == wanted:
                return True
    return False


def check_claim(
    user: User, award: Award, credential: Mapping[str, Any], claimed_by: UserId | None
) -> None:
    """May ``user`` claim ``award``? Raises Forbidden or Conflict saying why not."""
    if claimed_by == user.id:
        return
    if not user.verified:
        raise Forbidden(
            "confirm your email address first: we sent you a link when you signed up",
            code="account.unverified",
        )
    if (
        award.recipient_kind != "email"
        or award.recipient != user.email
        or not names_email(credential, user.email)
    ):
        raise Forbidden(
            "this credential was sent to another email address than your account's",
            code="claim.other_recipient",
        )
    if claimed_by is not None:
        raise Conflict("another account holds this credential", code="claim.taken")
    if award.revoked_at is not None:
        raise Conflict("the issuer has revoked this credential", code="claim.revoked")


def safe_next(target: str | None, default: str = "/wallet") -> str:
    """A local path to return to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x20 for c in target):
        return default
    return target


# --- emails -----------------------------------------------------------------------------


def _html(title: str, paragraphs: Sequence[str], link: str, label: str) -> str:
    body = "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        '<body style="font-family:sans-serif;line-height:1.5;color:#222222">\n'
        f"{body}"
        f'<p><a href="{escape(link)}" style="display:inline-block;padding:10px 16px;'
        'background:#1f4e8c;color:#ffffff;text-decoration:none;border-radius:4px">'
        f"{escape(label)}</a></p>\n"
        f"<p>Or open this address: {escape(link)}</p>\n"
        "</body></html>\n"
    )


def verification_email(to: str, link: str, token_hash: str) -> Email:
    subject = "Confirm your email address for credstack"
    lines = [
        "Hello,",
        "Please confirm that this is your email address. Once it is confirmed, you can "
        "claim the credentials issued to it and keep them in your wallet.",
        "The link works for 48 hours. If you did not sign up, you can ignore this email.",
    ]
    text = "\n\n".join([*lines[:2], f"Confirm your address:\n{link}", lines[2]]) + "\n"
    return Email(
        to=to,
        subject=subject,
        text=text,
        html=_html(subject, lines, link, "Confirm my email address"),
        dedupe_key=f"account:verify:{token_hash}",
    )


def reset_email(to: str, link: str, token_hash: str) -> Email:
    subject = "Reset your credstack password"
    lines = [
        "Hello,",
        "Someone (we hope you) asked to reset the password of your credstack account.",
        "The link works for one hour and only once. If you did not ask for it, ignore this "
        "email: your password stays as it is.",
    ]
    text = "\n\n".join([*lines[:2], f"Choose a new password:\n{link}", lines[2]]) + "\n"
    return Email(
        to=to,
        subject=subject,
        text=text,
        html=_html(subject, lines, link, "Choose a new password"),
        dedupe_key=f"account:reset:{token_hash}",
    )


def already_registered_email(to: str, sign_in_link: str, reset_link: str, key: str) -> Email:
    """Sent instead of a second account, so that sign-up never tells who has an account."""
    subject = "You already have a credstack account"
    lines = [
        "Hello,",
        "Someone (we hope you) tried to sign up with this email address, but it already "
        "has an account. Sign in instead; if you forgot the password, reset it at "
        f"{reset_link}.",
        "If this was not you, you can ignore this email.",
    ]
    text = "\n\n".join([*lines[:2], f"Sign in:\n{sign_in_link}", lines[2]]) + "\n"
    return Email(
        to=to,
        subject=subject,
        text=text,
        html=_html(subject, lines, sign_in_link, "Sign in"),
        dedupe_key=f"account:exists:{key}",
    )
