"""Account use cases: sign up, confirm the address, sign in, reset the password, link a
DID, and claim the credentials sent to one's address.

Passwords are hashed with Argon2id (argon2-cffi, RFC 9106 parameters). Emailed tokens and
session keys are random (256 bits) and stored as SHA-256 digests only, so a copy of the
database opens no account. Emails go through the platform's outbox, in the same
transaction as the change they announce (docs/decisions/0009-email-outbox.md).
Rules live in :mod:`credstack.domain.accounts`; the clock is ``platform.now``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from credstack.crypto.did import did_web_url, resolve_did_key
from credstack.domain.accounts import (
    LIFETIMES,
    AccountRepository,
    AccountToken,
    Claim,
    LoginPolicy,
    Membership,
    PasswordHasher,
    TokenPurpose,
    User,
    UserId,
    WebSession,
    account_email,
    already_registered_email,
    check_claim,
    check_password,
    check_token,
    check_token_budget,
    memberships_of,
    reset_email,
    verification_email,
)
from credstack.domain.errors import CredstackError, Invalid, NotFound
from credstack.domain.messages import Email
from credstack.domain.platform import Award, AwardId
from credstack.services.platform import Platform

SESSION_LIFETIME = timedelta(days=14)
_WEB_DID = re.compile(r"did:web:[A-Za-z0-9.%-]+(?::[A-Za-z0-9._~%-]+)*")
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?(?::[0-9]{1,5})?"
)
WRONG = "the email address or the password is wrong"


class Argon2Passwords:
    """Argon2id with argon2-cffi's defaults (RFC 9106 "low memory": t=3, m=64 MiB, p=4)."""

    def __init__(self, hasher: _Argon2 | None = None) -> None:
        self._hasher = hasher or _Argon2()
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    def spend(self, password: str) -> None:
        """Verify against a throwaway hash: an unknown address costs as much as a known one."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(new_secret())
        self.verify(self._dummy, password)


def digest(value: str) -> str:
    """How tokens and session keys are stored: the SHA-256 of the random value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(slots=True)
class Accounts:
    """What the account use cases run over: the platform (outbox, awards, clock, base URL),
    the account storage and the password hasher."""

    platform: Platform
    store: AccountRepository
    passwords: PasswordHasher = field(default_factory=Argon2Passwords)
    policy: LoginPolicy = field(default_factory=LoginPolicy)
    session_lifetime: timedelta = SESSION_LIFETIME

    def now(self) -> datetime:
        return self.platform.now()

    def url(self, path: str) -> str:
        return f"{self.platform.base_url.rstrip('/')}{path}"

    def send(self, email: Email) -> None:
        if self.platform.outbox is not None:
            self.platform.outbox.enqueue(email, self.now())


# --- signing up and confirming the address ----------------------------------------------


def sign_up(ctx: Accounts, email: str, password: str) -> User | None:
    """Create an account and email a confirmation link; None when the address has one.

    Either way the person is told to check their email, so sign-up reveals nobody's
    account: an existing account's owner gets a note instead of a second account.
    """
    address = account_email(email)
    check_password(password, address)
    existing = ctx.store.user_by_email(address)
    if existing is not None:
        key = digest(f"{existing.id}:{ctx.now().date().isoformat()}")
        ctx.send(
            already_registered_email(
                existing.email, ctx.url("/sign-in"), ctx.url("/account/reset"), key
            )
        )
        return None
    user = User(
        id=UserId(str(uuid.uuid4())),
        email=address,
        password_hash=ctx.passwords.hash(password),
        created_at=ctx.now(),
    )
    ctx.store.add_user(user)
    _send_verification(ctx, user)
    return user


def _issue_token(ctx: Accounts, user: User, purpose: TokenPurpose) -> tuple[str, AccountToken]:
    since = ctx.now() - timedelta(hours=1)
    check_token_budget(ctx.store.tokens_since(user.id, purpose, since))
    raw = new_secret()
    now = ctx.now()
    token = AccountToken(
        token_hash=digest(raw),
        user_id=user.id,
        purpose=purpose,
        email=user.email,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    ctx.store.add_token(token)
    return raw, token


def _send_verification(ctx: Accounts, user: User) -> None:
    raw, token = _issue_token(ctx, user, TokenPurpose.VERIFY_EMAIL)
    link = ctx.url(f"/account/verify-email/{raw}")
    ctx.send(verification_email(user.email, link, token.token_hash))


def resend_verification(ctx: Accounts, user: User) -> bool:
    """Email a new confirmation link (False when the address is confirmed already)."""
    if user.verified:
        return False
    _send_verification(ctx, user)
    return True


def verify_email(ctx: Accounts, raw: str) -> User:
    """Confirm the address the token was sent to. Opening the link again is harmless."""
    token = ctx.store.token(digest(raw))
    if token is not None and token.used_at is not None:
        user = ctx.store.user(token.user_id)
        if user is not None and user.verified and user.email == token.email:
            return user
    token = check_token(token, TokenPurpose.VERIFY_EMAIL, ctx.now())
    user = ctx.store.user(token.user_id)
    if user is None or user.email != token.email:
        raise Invalid("this link is not valid; ask for a new one", code="token.unknown")
    if not ctx.store.use_token(token.token_hash, ctx.now()):
        raise Invalid("this link was already used; ask for a new one", code="token.used")
    if not user.verified:
        ctx.store.mark_verified(user.id, ctx.now())
    found = ctx.store.user(user.id)
    assert found is not None
    return found


# --- signing in and sessions ------------------------------------------------------------


def _failure_keys(email: str, client: str) -> tuple[str, str]:
    return digest(f"email:{email.strip().lower()}"), digest(f"ip:{client}")


def sign_in(ctx: Accounts, email: str, password: str, client: str) -> User:
    """The account whose password this is; Invalid (wrong) or Throttled (too many tries).

    Failures count per address and per client address over the policy's window; a
    success clears the address's count. Unknown addresses cost a hash too, so timing does
    not tell who has an account.
    """
    by_email, by_ip = _failure_keys(email, client)
    since = ctx.now() - ctx.policy.window
    ctx.policy.check(
        ctx.store.failures_since(by_email, since), ctx.store.failures_since(by_ip, since)
    )
    try:
        address = account_email(email)
    except Invalid:
        address = ""
    user = ctx.store.user_by_email(address) if address else None
    if user is None:
        ctx.passwords.spend(password)
        ok = False
    else:
        ok = ctx.passwords.verify(user.password_hash, password)
    if not ok or user is None:
        ctx.store.prune([by_email, by_ip], None, since)
        ctx.store.add_failure(by_email, ctx.now())
        ctx.store.add_failure(by_ip, ctx.now())
        raise Invalid(WRONG, code="sign_in.failed")
    ctx.store.clear_failures(by_email)
    if ctx.passwords.needs_rehash(user.password_hash):
        ctx.store.set_password(user.id, ctx.passwords.hash(password))
    return user


def start_session(ctx: Accounts, user: User) -> str:
    """A new session for ``user``; returns the random key the cookie carries."""
    key = new_secret()
    now = ctx.now()
    ctx.store.prune([], user.id, now)
    ctx.store.add_session(
        WebSession(digest(key), user.id, created_at=now, expires_at=now + ctx.session_lifetime)
    )
    return key


def session_user(ctx: Accounts, key: str) -> User | None:
    """The signed-in user of a session key, or None (unknown or expired)."""
    found = ctx.store.find_session(digest(key))
    if found is None:
        return None
    if ctx.now() >= found.expires_at:
        ctx.store.delete_session(found.id_hash)
        return None
    return ctx.store.user(found.user_id)


def end_session(ctx: Accounts, key: str) -> None:
    ctx.store.delete_session(digest(key))


# --- password reset ---------------------------------------------------------------------


def request_reset(ctx: Accounts, email: str) -> None:
    """Email a reset link if the address has an account (silently nothing otherwise)."""
    try:
        address = account_email(email)
    except Invalid:
        return
    user = ctx.store.user_by_email(address)
    if user is None:
        return
    raw, token = _issue_token(ctx, user, TokenPurpose.RESET_PASSWORD)
    ctx.send(reset_email(user.email, ctx.url(f"/account/reset/{raw}"), token.token_hash))


def reset_token(ctx: Accounts, raw: str) -> AccountToken:
    """The reset token if it may still be used (raises Invalid otherwise)."""
    return check_token(ctx.store.token(digest(raw)), TokenPurpose.RESET_PASSWORD, ctx.now())


def reset_password(ctx: Accounts, raw: str, password: str) -> User:
    """Set a new password with a reset token: single use, one hour; every session of the
    account ends. Following the emailed link also proves the address, so it is confirmed."""
    token = reset_token(ctx, raw)
    user = ctx.store.user(token.user_id)
    if user is None or user.email != token.email:
        raise Invalid("this link is not valid; ask for a new one", code="token.unknown")
    check_password(password, user.email)
    if not ctx.store.use_token(token.token_hash, ctx.now()):
        raise Invalid("this link was already used; ask for a new one", code="token.used")
    ctx.store.set_password(user.id, ctx.passwords.hash(password))
    ctx.store.delete_sessions_of(user.id)
    if not user.verified:
        ctx.store.mark_verified(user.id, ctx.now())
    found = ctx.store.user(user.id)
    assert found is not None
    return found


# --- roles, DIDs and claims -------------------------------------------------------------


def memberships(ctx: Accounts, user: User) -> list[Membership]:
    """The organizations whose staff list names the account's (verified) address."""
    return memberships_of(user, ctx.store.memberships(user.email))


def check_did(value: str) -> str:
    """A did:key (that decodes to a key) or a did:web (that maps to an https URL)."""
    did = value.strip()
    try:
        if did.startswith("did:key:"):
            resolve_did_key(did)
            return did
        if did.startswith("did:web:"):
            host = unquote(did.removeprefix("did:web:").split(":")[0])
            if len(did) > 500 or not _WEB_DID.fullmatch(did) or not _HOST.fullmatch(host):
                raise Invalid("a did:web names a host (and path segments) only")
            did_web_url(did)
            return did
    except CredstackError as exc:
        raise Invalid(f"{did!r} is not a usable DID: {exc.message}", code="did.invalid") from exc
    raise Invalid("enter a did:key or a did:web", code="did.invalid")


def link_did(ctx: Accounts, user: User, value: str | None) -> User:
    """Link a DID to the account (or unlink it with an empty value)."""
    did = check_did(value) if value and value.strip() else None
    ctx.store.set_did(user.id, did)
    found = ctx.store.user(user.id)
    assert found is not None
    return found


def _credential(award: Award) -> dict[str, Any]:
    loaded = json.loads(award.document)
    return loaded if isinstance(loaded, dict) else {}


def pending(ctx: Accounts, user: User) -> list[Award]:
    """Credentials sent to the account's verified address that it has not claimed yet."""
    if not user.verified:
        return []
    waiting = []
    for award in ctx.store.awards_for_email(user.email):
        if award.revoked_at is not None or ctx.store.claimant(award.id) is not None:
            continue
        try:
            check_claim(user, award, _credential(award), None)
        except CredstackError:
            continue
        waiting.append(award)
    return sorted(waiting, key=lambda a: (a.issued_at, a.id))


def pending_award(ctx: Accounts, user: User, award_id: str) -> Award:
    for award in pending(ctx, user):
        if award.id == AwardId(award_id):
            return award
    raise NotFound("no credential with this id is waiting for you")


def check_claimable(ctx: Accounts, user: User, award: Award) -> bool:
    """Raise if ``user`` may not claim ``award``; True when it is in their wallet already."""
    claimed_by = ctx.store.claimant(award.id)
    check_claim(user, award, _credential(award), claimed_by)
    return claimed_by == user.id


def claim(ctx: Accounts, user: User, award: Award) -> Award:
    """Add ``award`` to the account's wallet (claiming twice changes nothing)."""
    claimed_by = ctx.store.claimant(award.id)
    check_claim(user, award, _credential(award), claimed_by)
    if claimed_by is None:
        ctx.store.add_claim(award.id, user.id, ctx.now())
    return award


def claim_all(ctx: Accounts, user: User) -> list[Award]:
    return [claim(ctx, user, award) for award in pending(ctx, user)]


def by_claim_token(ctx: Accounts, token: str) -> Award:
    award = ctx.store.award_by_claim_token(token) if token else None
    if award is None:
        raise NotFound("this claim link is not valid")
    return award


def claimed(ctx: Accounts, user: User) -> list[Claim]:
    """The account's wallet: claimed credentials, newest first."""
    return sorted(ctx.store.claims_of(user.id), key=lambda c: c.claimed_at, reverse=True)


def claimed_award(ctx: Accounts, user: User, award_id: str) -> Award:
    """One credential of the account's wallet (NotFound for anyone else's)."""
    for held in ctx.store.claims_of(user.id):
        if held.award.id == AwardId(award_id):
            return held.award
    raise NotFound("no such credential in your wallet")
