"""Accounts of the web application: sign-up with a confirmed address, sessions, CSRF,
throttled sign-in, password reset, roles from staff lists, DIDs, and claiming credentials
sent to one's address (with a real SMTP server for the emails, end to end)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from credstack.crypto.did import did_key
from credstack.crypto.keys import ed25519_from_seed
from credstack.db.accounts import AccountStore
from credstack.db.outbox import SqlOutbox
from credstack.db.session import make_engine, session_factory, transaction
from credstack.db.tables import LoginFailureRow, OutboxRow, UserRow, WebSessionRow
from credstack.domain.accounts import (
    LoginPolicy,
    Throttled,
    check_password,
    names_email,
    safe_next,
)
from credstack.domain.credentials import hash_identity
from credstack.domain.errors import Forbidden, Invalid
from credstack.services import accounts
from credstack.services.accounts import Accounts, Argon2Passwords
from credstack.services.platform import Platform
from credstack.testing import SmtpTestServer
from tests.conftest import BASE_URL, Clock
from tests.fresh_database import fresh_database
from tests.web.pages_support import (
    PASSWORD,
    Visitor,
    issue,
    link_in_outbox,
    settings_for,
    site,
    subjects_in_outbox,
    unique_email,
)

UNSAFE_FORMS = [
    "/sign-up",
    "/sign-in",
    "/sign-out",
    "/verify",
    "/account/reset",
    "/account/reset/some-token",
    "/account/verify-email",
    "/account/did",
    "/wallet/claim",
    "/claim/some-token",
]


@pytest.fixture(scope="module")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("pages")
    with site(settings_for(database_url, BASE_URL, folder)) as built:
        yield built


@pytest.fixture
def visitor(app: FastAPI) -> Visitor:
    return Visitor(app, BASE_URL)


def confirmed(visitor: Visitor, engine: Engine, email: str) -> Visitor:
    """Sign up, open the confirmation link from the outbox, sign in."""
    assert visitor.sign_up(email).status_code == 303
    opened = visitor.get(link_in_outbox(engine, email, "/account/verify-email/"))
    assert opened.status_code == 303
    assert visitor.sign_in(email).headers["location"] == "/wallet"
    return visitor


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", UNSAFE_FORMS)
def test_every_form_post_without_the_csrf_token_is_refused_with_403(
    visitor: Visitor, path: str
) -> None:
    visitor.get("/")  # the browser holds a session cookie
    response = visitor.http.post(path, data={"email": "a@example.org"}, headers={"Accept": "*/*"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "came from another site" in response.text


def test_a_token_of_another_session_or_a_forged_one_is_refused(app: FastAPI) -> None:
    alice, mallory = Visitor(app, BASE_URL), Visitor(app, BASE_URL)
    alice.get("/sign-in")
    mallory.get("/sign-in")
    assert alice.token != mallory.token
    alice.token = mallory.token
    assert alice.post("/verify", {"credential": "{}"}).status_code == 403
    alice.token = "forged"
    assert alice.post("/verify", {"credential": "{}"}).status_code == 403


def test_a_post_without_any_session_cookie_is_refused_even_with_a_token(
    app: FastAPI, visitor: Visitor
) -> None:
    visitor.get("/verify")
    stranger = TestClient(app, base_url=BASE_URL)
    response = stranger.post("/verify", data={"credential": "{}", "csrf_token": visitor.token})
    assert response.status_code == 403


def test_htmx_sends_the_token_in_a_header(visitor: Visitor) -> None:
    page = visitor.get("/verify").text
    assert f'hx-headers=\'{{"X-CSRF-Token": "{visitor.token}"}}\'' in page
    response = visitor.http.post(
        "/verify",
        data={"credential": "{}"},
        headers={"HX-Request": "true", "X-CSRF-Token": visitor.token},
    )
    assert response.status_code == 200


# --- sign-up, passwords and sessions ------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes_never_in_plain(
    visitor: Visitor, engine: Engine
) -> None:
    email = unique_email()
    visitor.sign_up(email)
    with transaction(session_factory(engine)) as session:
        stored = session.scalars(select(UserRow.password_hash).where(UserRow.email == email)).one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_sign_up_refuses_short_passwords_and_bad_addresses(visitor: Visitor) -> None:
    short = visitor.sign_up(unique_email(), "too short")
    assert short.status_code == 422
    assert "at least 12 characters" in short.text
    assert 'aria-invalid="true"' in short.text
    bad = visitor.sign_up("not an address")
    assert bad.status_code == 422
    assert "not a valid email address" in bad.text


def test_signing_up_twice_reveals_nothing_and_tells_the_owner_by_email(
    app: FastAPI, engine: Engine
) -> None:
    email = unique_email()
    first = Visitor(app, BASE_URL).sign_up(email)
    second = Visitor(app, BASE_URL).sign_up(email)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"] == "/sign-in"
    assert sorted(subjects_in_outbox(engine, email)) == [
        "Confirm your email address for credstack",
        "You already have a credstack account",
    ]


def test_the_session_cookie_is_signed_httponly_samesite_lax_and_secure_on_https(
    visitor: Visitor, engine: Engine
) -> None:
    email = unique_email()
    visitor.sign_up(email)
    response = visitor.sign_in(email)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-credstack")
    )
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert {"httponly", "secure", "samesite=lax", "path=/", "max-age=1209600"} <= set(flags)
    assert not any(f.startswith("domain=") for f in flags)  # __Host- cookies have none
    key, _, mac = cookie.split(";")[0].split("=", 1)[1].partition(".")
    assert len(key) >= 43
    assert len(mac) == 64  # 256 random bits and an HMAC-SHA256
    with transaction(session_factory(engine)) as session:
        assert session.get(WebSessionRow, accounts.digest(key)) is not None  # stored hashed


def test_over_plain_http_the_cookie_is_not_secure(database_url: str, tmp_path: Path) -> None:
    with site(settings_for(database_url, "http://127.0.0.1:8000", tmp_path)) as app:
        response = TestClient(app, base_url="http://127.0.0.1:8000").get("/", headers={})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("credstack_session=")
    assert "httponly" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_a_tampered_session_cookie_is_a_stranger(visitor: Visitor, engine: Engine) -> None:
    confirmed(visitor, engine, unique_email())
    assert visitor.get("/wallet").status_code == 200
    value = visitor.session_cookie
    assert value is not None
    key, _, mac = value.partition(".")
    changed = key[:-1] + ("B" if key.endswith("A") else "A")
    visitor.http.cookies.set("__Host-credstack_session", f"{changed}.{mac}", path="/")
    assert visitor.get("/wallet").headers["location"] == "/sign-in?next=/wallet"


def test_signing_in_rotates_the_key_and_signing_out_ends_the_session_on_the_server(
    app: FastAPI, visitor: Visitor, engine: Engine
) -> None:
    email = unique_email()
    visitor.sign_up(email)
    before = visitor.session_cookie
    visitor.sign_in(email)
    signed_in = visitor.session_cookie
    assert signed_in is not None
    assert before != signed_in
    assert visitor.get("/account").status_code == 200
    visitor.post("/sign-out")
    thief = TestClient(app, base_url=BASE_URL, follow_redirects=False)
    thief.cookies.set("__Host-credstack_session", signed_in, path="/")
    assert thief.get("/account").status_code == 303  # the old cookie opens nothing


def test_wrong_passwords_are_throttled_per_address(visitor: Visitor, engine: Engine) -> None:
    email = unique_email()
    visitor.sign_up(email)
    for _ in range(LoginPolicy().per_email):
        wrong = visitor.sign_in(email, "not the password at all")
        assert wrong.status_code == 422
        assert "email address or the password is wrong" in wrong.text
    blocked = visitor.sign_in(email)  # even the right password waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) == 900
    assert "too many failed sign-ins" in blocked.text


def test_unknown_addresses_fail_like_wrong_passwords(visitor: Visitor) -> None:
    response = visitor.sign_in(unique_email("nobody"))
    assert response.status_code == 422
    assert "email address or the password is wrong" in response.text


def test_sign_in_returns_only_to_local_pages(visitor: Visitor, engine: Engine) -> None:
    email = unique_email()
    visitor.sign_up(email)
    response = visitor.sign_in(email, next_path="//evil.example/wallet")
    assert response.headers["location"] == "/wallet"


# --- the address, confirmed -----------------------------------------------------------------


def test_the_confirmation_link_confirms_the_address_and_can_be_opened_again(
    visitor: Visitor, engine: Engine
) -> None:
    email = unique_email()
    visitor.sign_up(email)
    link = link_in_outbox(engine, email, "/account/verify-email/")
    first = visitor.follow(visitor.get(link))
    assert "Your email address is confirmed" in first.text
    again = visitor.get(link)
    assert again.status_code == 303  # harmless: a mail scanner may have opened it first
    assert visitor.get("/account/verify-email/not-a-token").status_code == 400


def test_an_unconfirmed_account_can_ask_for_a_new_link(visitor: Visitor, engine: Engine) -> None:
    email = unique_email()
    visitor.sign_up(email)
    visitor.sign_in(email)
    assert "not confirmed yet" in visitor.get("/account").text
    response = visitor.follow(visitor.post("/account/verify-email"))
    assert f"We sent a new confirmation link to {email}" in response.text
    assert subjects_in_outbox(engine, email).count("Confirm your email address for credstack") == 2


# --- password reset -----------------------------------------------------------------------


@pytest.fixture
def ctx(platform: Platform, db: Session) -> Accounts:
    """Account use cases over the test transaction and the test clock (cheap Argon2)."""
    platform.outbox = SqlOutbox(db)
    cheap = Argon2Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    return Accounts(platform, AccountStore(db), passwords=cheap)


def _token(db: Session, email: str, path: str) -> str:
    texts = db.scalars(
        select(OutboxRow.text).where(OutboxRow.to == email).order_by(OutboxRow.created_at.desc())
    )
    for text in texts:
        found = re.search(rf"{re.escape(path)}([\w-]+)", text)
        if found:
            return found.group(1)
    raise AssertionError(f"no link to {path} for {email}")


def test_a_reset_link_works_once(ctx: Accounts, db: Session) -> None:
    email = unique_email()
    user = accounts.sign_up(ctx, email, PASSWORD)
    assert user is not None
    key = accounts.start_session(ctx, user)
    accounts.request_reset(ctx, email)
    token = _token(db, email, "/account/reset/")

    accounts.reset_password(ctx, token, "a brand new passphrase")

    with pytest.raises(Invalid) as used:
        accounts.reset_password(ctx, token, "yet another passphrase")
    assert used.value.code == "token.used"
    assert accounts.session_user(ctx, key) is None  # every session ended
    assert accounts.sign_in(ctx, email, "a brand new passphrase", "127.0.0.1").id == user.id
    with pytest.raises(Invalid):
        accounts.sign_in(ctx, email, PASSWORD, "127.0.0.1")


def test_a_reset_link_expires_after_one_hour(ctx: Accounts, db: Session, clock: Clock) -> None:
    email = unique_email()
    accounts.sign_up(ctx, email, PASSWORD)
    accounts.request_reset(ctx, email)
    token = _token(db, email, "/account/reset/")
    clock.advance(minutes=59)
    accounts.reset_token(ctx, token)  # still usable
    clock.advance(minutes=1)
    with pytest.raises(Invalid) as expired:
        accounts.reset_password(ctx, token, "a brand new passphrase")
    assert expired.value.code == "token.expired"


def test_old_sign_in_failures_and_expired_sessions_are_forgotten(
    ctx: Accounts, db: Session, clock: Clock
) -> None:
    email = unique_email()
    user = accounts.sign_up(ctx, email, PASSWORD)
    assert user is not None
    for _ in range(3):
        with pytest.raises(Invalid):
            accounts.sign_in(ctx, email, "wrong, wrong, wrong", "127.0.0.1")
    old = accounts.start_session(ctx, user)
    clock.advance(days=15)
    with pytest.raises(Invalid):
        accounts.sign_in(ctx, email, "wrong, wrong, wrong", "127.0.0.1")
    key = accounts.digest(f"email:{email}")
    assert db.scalar(select(func.count()).where(LoginFailureRow.key == key)) == 1
    accounts.start_session(ctx, accounts.sign_in(ctx, email, PASSWORD, "127.0.0.1"))
    assert db.get(WebSessionRow, accounts.digest(old)) is None


def test_the_confirmation_link_expires_after_48_hours(
    ctx: Accounts, db: Session, clock: Clock
) -> None:
    email = unique_email()
    accounts.sign_up(ctx, email, PASSWORD)
    token = _token(db, email, "/account/verify-email/")
    clock.advance(hours=48)
    with pytest.raises(Invalid) as expired:
        accounts.verify_email(ctx, token)
    assert expired.value.code == "token.expired"


def test_reset_emails_are_limited_and_unknown_addresses_get_none(
    ctx: Accounts, db: Session
) -> None:
    email = unique_email()
    accounts.sign_up(ctx, email, PASSWORD)
    for _ in range(3):
        accounts.request_reset(ctx, email)
    with pytest.raises(Throttled):
        accounts.request_reset(ctx, email)
    accounts.request_reset(ctx, unique_email("nobody"))
    resets = db.scalars(select(OutboxRow.subject).where(OutboxRow.subject.like("Reset%"))).all()
    assert len(resets) == 3


def test_resetting_through_the_pages(visitor: Visitor, engine: Engine) -> None:
    email = unique_email()
    visitor.sign_up(email)
    asked = visitor.follow(visitor.form("/account/reset", {"email": email}))
    assert "If an account uses that address" in asked.text
    link = link_in_outbox(engine, email, "/account/reset/")
    weak = visitor.form(link, {"password": "short"})
    assert weak.status_code == 422
    done = visitor.follow(visitor.form(link, {"password": "a brand new passphrase"}))
    assert "Your password is changed" in done.text
    assert visitor.get(link).status_code == 400  # used
    assert visitor.sign_in(email).status_code == 422
    assert visitor.sign_in(email, "a brand new passphrase").status_code == 303


# --- roles and DIDs -------------------------------------------------------------------------


def test_staff_of_an_organization_get_its_role_once_the_address_is_confirmed(
    visitor: Visitor, engine: Engine
) -> None:
    email = unique_email("registrar")
    issue(engine, BASE_URL, did="did:example:x", staff=(email.upper(), "issuer"), name="Rolewood")
    visitor.sign_up(email)
    visitor.sign_in(email)
    assert visitor.get("/console").status_code == 403  # unconfirmed: anyone could sign up
    assert 'href="/console"' not in visitor.get("/").text
    visitor.get(link_in_outbox(engine, email, "/account/verify-email/"))
    console = visitor.get("/console")
    assert console.status_code == 200
    assert re.search(r"<td>Rolewood</td>\s*<td>Issuer</td>", console.text)
    assert 'href="/console"' in visitor.get("/").text


def test_learners_without_a_role_see_no_console(visitor: Visitor, engine: Engine) -> None:
    confirmed(visitor, engine, unique_email())
    response = visitor.get("/console")
    assert response.status_code == 403
    assert "staff of an organization" in response.text


def test_a_did_key_or_did_web_can_be_linked_and_nonsense_cannot(
    visitor: Visitor, engine: Engine
) -> None:
    confirmed(visitor, engine, unique_email())
    key = did_key(ed25519_from_seed(bytes(32)).public)
    linked = visitor.follow(_did(visitor, key))
    assert f"Linked {key}" in linked.text
    assert visitor.follow(_did(visitor, "did:web:learner.example")).status_code == 200
    for bad in (
        "did:key:zNotAKey",
        "did:example:123",
        "did:web:",
        "did:web:-bad.example",
        "did:web:host/path",
        "https://example.org",
    ):
        refused = _did(visitor, bad)
        assert refused.status_code == 422, bad
    assert "did:web:learner.example" in visitor.get("/account").text


def _did(visitor: Visitor, value: str) -> Response:
    visitor.get("/account")
    return visitor.post("/account/did", {"did": value})


# --- claiming -------------------------------------------------------------------------------


def test_the_claim_rule_needs_the_address_in_the_credential_itself() -> None:
    credential = {
        "credentialSubject": {
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": hash_identity("ada@example.org", "pepper"),
                    "salt": "pepper",
                }
            ]
        }
    }
    assert names_email(credential, " Ada@Example.org ")
    assert not names_email(credential, "grace@example.org")
    assert not names_email({"credentialSubject": {"id": "did:example:1"}}, "ada@example.org")


def test_pure_rules_for_passwords_and_return_paths() -> None:
    with pytest.raises(Invalid):
        check_password("ada@example.org", "ada@example.org")
    check_password("twelve chars", "ada@example.org")
    assert safe_next("/claim/abc") == "/claim/abc"
    for unsafe in ("//evil.example", "https://evil.example", "/\\evil", "", None):
        assert safe_next(unsafe) == "/wallet"


def test_only_a_confirmed_recipient_may_claim(ctx: Accounts, engine: Engine) -> None:
    email = unique_email()
    issued = issue(engine, BASE_URL, email=email)
    user = accounts.sign_up(ctx, email, PASSWORD)
    assert user is not None
    with pytest.raises(Forbidden) as unconfirmed:
        accounts.claim(ctx, user, issued.award)
    assert unconfirmed.value.code == "account.unverified"
    other = accounts.sign_up(ctx, unique_email("other"), PASSWORD)
    assert other is not None
    ctx.store.mark_verified(other.id, ctx.now())
    other = ctx.store.user(other.id)
    assert other is not None
    with pytest.raises(Forbidden) as elsewhere:
        accounts.claim(ctx, other, issued.award)
    assert elsewhere.value.code == "claim.other_recipient"


def test_a_learner_claims_what_was_sent_to_them_and_downloads_it(
    visitor: Visitor, engine: Engine
) -> None:
    email = unique_email()
    issued = issue(engine, BASE_URL, email=email)
    confirmed(visitor, engine, email)
    wallet = visitor.get("/wallet").text
    assert "Waiting for you (1)" in wallet
    assert "Your credentials (0)" in wallet
    claimed = visitor.follow(visitor.post("/wallet/claim", {"award_id": issued.award.id}))
    assert "Added 1 credential to your wallet." in claimed.text
    assert "Your credentials (1)" in claimed.text
    assert "Spreadsheet Modelling" in claimed.text
    assert "Verified." in claimed.text  # live verification state
    download = visitor.get(f"/wallet/credentials/{issued.award.id}.json")
    assert download.status_code == 200
    assert download.text == issued.award.document  # the bytes of record
    assert download.headers["content-disposition"].startswith("attachment;")
    status = visitor.get(
        f"/wallet/credentials/{issued.award.id}/status", headers={"HX-Request": "true"}
    )
    assert status.text.lstrip().startswith('<p class="state verdict-valid">')


def test_nobody_else_can_download_or_claim_it(app: FastAPI, engine: Engine) -> None:
    email = unique_email()
    issued = issue(engine, BASE_URL, email=email)
    owner = confirmed(Visitor(app, BASE_URL), engine, email)
    owner.post("/wallet/claim")
    other = confirmed(Visitor(app, BASE_URL), engine, unique_email("other"))
    assert other.get(f"/wallet/credentials/{issued.award.id}.json").status_code == 404
    claim_page = other.get(f"/claim/{issued.award.claim_token}")
    assert "sent to another email address" in claim_page.text
    refused = other.post(f"/claim/{issued.award.claim_token}")
    assert refused.status_code == 403


def test_the_claim_link_of_the_award_email_leads_through_sign_in(
    visitor: Visitor, engine: Engine
) -> None:
    email = unique_email()
    issued = issue(engine, BASE_URL, email=email)
    claim_path = link_in_outbox(engine, email, "/claim/")
    assert claim_path == f"/claim/{issued.award.claim_token}"
    anonymous = visitor.get(claim_path)
    assert f'href="/sign-in?next={claim_path}"' in anonymous.text
    visitor.sign_up(email)
    visitor.get(link_in_outbox(engine, email, "/account/verify-email/"))
    assert visitor.sign_in(email, next_path=claim_path).headers["location"] == claim_path
    visitor.get(claim_path)
    added = visitor.follow(visitor.post(claim_path))
    assert "The credential is in your wallet now." in added.text
    assert "This credential is in your wallet" in visitor.get(claim_path).text


# --- end to end, with a real SMTP server ------------------------------------------------------


def _link(message: EmailMessage, path: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    found = re.search(rf"https://credstack\.test({re.escape(path)}[\w-]+)", text)
    assert found, f"no {path} link in {text[:300]}"
    return found.group(1)


def test_claim_flow_end_to_end_with_emails_through_smtp(tmp_path: Path) -> None:
    with (
        fresh_database("sqlite", tmp_path, "pages_claim") as url,
        SmtpTestServer() as smtp,
    ):
        settings = settings_for(
            url,
            BASE_URL,
            tmp_path,
            email_backend="smtp",
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            mail_interval_seconds=0.1,
        )
        engine = make_engine(url)
        email = unique_email("ada")
        try:
            issued = issue(engine, BASE_URL, email=email)
            with site(settings) as app, TestClient(app, base_url=BASE_URL) as running:
                assert app.state.mail_worker.running
                del running
                visitor = Visitor(app, BASE_URL)
                [notice] = smtp.wait_for(1, 15.0)
                claim_path = _link(notice, "/claim/")
                visitor.sign_up(email)
                confirmation = smtp.wait_for(2, 15.0)[1]
                assert confirmation["Subject"] == "Confirm your email address for credstack"
                visitor.get(_link(confirmation, "/account/verify-email/"))
                visitor.sign_in(email, next_path=claim_path)
                visitor.get(claim_path)
                wallet = visitor.follow(visitor.post(claim_path))
        finally:
            engine.dispose()
    assert "Your credentials (1)" in wallet.text
    assert issued.award.id in wallet.text
    assert "Verified." in wallet.text


def test_account_emails_wait_in_the_outbox_in_the_same_transaction(
    ctx: Accounts, db: Session, clock: Clock
) -> None:
    email = unique_email()
    accounts.sign_up(ctx, email, PASSWORD)
    queued = db.scalars(select(OutboxRow).where(OutboxRow.to == email)).one()
    assert queued.sent_at is None
    assert queued.dedupe_key.startswith("account:verify:")
    assert queued.created_at.replace(tzinfo=None) == clock.now.replace(tzinfo=None)
