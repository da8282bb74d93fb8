"""authlib's models and grants over credstack's OAuth storage (``credstack.db.oauth``).

* ``Client``: a dynamically registered client; ``client_secret_basic`` only, exact
  redirect URIs, the scopes it registered, grant types ``authorization_code`` and (when
  registered) ``refresh_token``.
* ``S256Only``: PKCE always, ``S256`` only.
* ``CodeGrant``: ``redirect_uri``, ``scope`` and ``state`` required; the redirect carries
  ``code``, ``scope`` and ``state``; codes live 600 s and are spent by one conditional
  UPDATE; a code presented again revokes every token it produced.
* ``RefreshGrant``: refresh tokens rotate; a spent one presented again revokes its family.
* ``Revocation``: RFC 7009; a refresh token takes its family (access tokens too) with it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from authlib.common.urls import add_params_to_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AccessDeniedError,
    AuthorizationCodeGrant,
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Request,
    RefreshTokenGrant,
    TokenMixin,
    scope_to_list,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636.challenge import (  # type: ignore[import-untyped]
    CodeChallenge,
    compare_s256_code_challenge,
)

from credstack.db.oauth import ClientRecord, GrantRecord

if TYPE_CHECKING:
    from credstack.web.oauth import OAuthServer

CODE_LIFETIME = timedelta(seconds=600)
BASIC = "client_secret_basic"
TokenResponse = tuple[int, dict[str, Any], list[tuple[str, str]]]


def digest(value: str) -> str:
    """How codes, tokens and client secrets are stored: SHA-256 hex (they are random)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Subject:
    """The resource owner: a user identified by a verified email address."""

    email: str


class Client(ClientMixin):  # type: ignore[misc]
    """A dynamically registered client (RFC 7591 metadata in ``metadata``)."""

    def __init__(self, record: ClientRecord) -> None:
        self.record = record
        self.client_id = record.client_id
        self.metadata = record.metadata

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # the OB API requires redirect_uri in every authorization request

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client registered; None (invalid_scope) if none."""
        if not scope:
            return None
        allowed = set(scope_to_list(str(self.metadata.get("scope", ""))))
        granted = [s for s in dict.fromkeys(scope.split()) if s in allowed]
        return " ".join(granted) if granted else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in list(self.metadata.get("redirect_uris", []))

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(digest(client_secret), self.record.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == BASIC

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in list(self.metadata.get("grant_types") or ["authorization_code"])


class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    def __init__(self, grant: GrantRecord) -> None:
        self.grant = grant

    def get_redirect_uri(self) -> str:
        return str(self.grant.data["redirect_uri"])

    def get_scope(self) -> str:
        return self.grant.scope

    @property
    def code_challenge(self) -> str | None:
        value = self.grant.data.get("code_challenge")
        return str(value) if value else None

    @property
    def code_challenge_method(self) -> str | None:
        value = self.grant.data.get("code_challenge_method")
        return str(value) if value else None


class Token(TokenMixin):  # type: ignore[misc]
    """An access or refresh token as authlib's validators and endpoints see it."""

    def __init__(self, grant: GrantRecord, now: datetime) -> None:
        self.grant = grant
        self.now = now

    @property
    def subject(self) -> str:
        return self.grant.subject or ""

    def check_client(self, client: Client) -> bool:
        return self.grant.client_id == client.client_id

    def get_scope(self) -> str:
        return self.grant.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.grant.expires_at - self.now).total_seconds()))

    def is_expired(self) -> bool:
        return self.grant.expires_at <= self.now

    def is_revoked(self) -> bool:
        return self.grant.revoked_at is not None or (
            self.grant.kind == "refresh" and self.grant.used_at is not None
        )

    def get_user(self) -> Subject:
        return Subject(self.subject)


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE as the OB 3.0 API requires it: always, and with S256 only."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - authlib's class attribute
    CODE_CHALLENGE_METHODS = {"S256": compare_s256_code_challenge}  # noqa: RUF012

    def validate_code_challenge(self, grant: CodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send code_challenge and code_challenge_method=S256"
            )
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256; plain is refused")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = [BASIC]  # noqa: RUF012 - authlib's class attribute
    server: OAuthServer

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuth2Request, client: Client) -> str:
        redirect_uri = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("redirect_uri is required")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("redirect_uri is not one this client registered")
        return str(redirect_uri)

    def validate_authorization_request(self) -> str:
        redirect_uri = str(super().validate_authorization_request())
        if not self.request.payload.state:
            raise InvalidRequestError("state is required", redirect_uri=redirect_uri)
        return redirect_uri

    def create_authorization_response(
        self, redirect_uri: str, grant_user: Subject | None
    ) -> tuple[int, str, list[tuple[str, str]]]:
        """302 to the client with ``code``, ``scope`` and ``state`` (OB 3.0 requires all)."""
        if not grant_user:
            raise AccessDeniedError(redirect_uri=redirect_uri)
        self.request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, self.request)
        params = [("code", code), ("scope", self.request.scope)]
        if self.request.payload.state:
            params.append(("state", self.request.payload.state))
        return 302, "", [("Location", add_params_to_uri(redirect_uri, params))]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        server, data = self.server, request.payload.data
        grant_id = str(uuid.uuid4())
        server.store.add_grant(
            GrantRecord(
                id=grant_id,
                kind="code",
                value_hash=digest(code),
                client_id=request.client.client_id,
                subject=request.user.email,
                scope=request.scope,
                expires_at=server.now() + CODE_LIFETIME,
                data={
                    "redirect_uri": data.get("redirect_uri"),
                    "code_challenge": data.get("code_challenge"),
                    "code_challenge_method": data.get("code_challenge_method"),
                },
                family_id=grant_id,
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = self.server.store.by_hash(["code"], digest(code))
        if found is None or found.client_id != client.client_id:
            return None
        if found.used_at is not None:  # used twice: deny and revoke what it produced
            self.server.store.revoke_family(found.id, self.server.now())
            return None
        if found.revoked_at is not None or found.expires_at <= self.server.now():
            return None
        return AuthorizationCode(found)

    def create_token_response(self) -> TokenResponse:
        code: AuthorizationCode = self.request.authorization_code
        if not self.server.store.claim(code.grant.id, self.server.now()):
            raise InvalidGrantError("the authorization code was already used")
        response: TokenResponse = super().create_token_response()
        return response

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing left to do: ``create_token_response`` spent the code (``claim``)."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Subject | None:
        subject = authorization_code.grant.subject
        return Subject(subject) if subject else None


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = [BASIC]  # noqa: RUF012 - authlib's class attribute
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate: each refresh token works once
    server: OAuthServer

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        found = self.server.store.by_hash(["refresh"], digest(refresh_token))
        if found is None:
            return None
        now = self.server.now()
        if found.used_at is not None and found.family_id:  # a rotated token came back
            self.server.store.revoke_family(found.family_id, now)
            return None
        token = Token(found, now)
        return None if token.is_revoked() or token.is_expired() else token

    def authenticate_user(self, refresh_token: Token) -> Subject | None:
        return Subject(refresh_token.subject) if refresh_token.subject else None

    def create_token_response(self) -> TokenResponse:
        token: Token = self.request.refresh_token
        if not self.server.store.claim(token.grant.id, self.server.now()):
            raise InvalidGrantError("the refresh token was already used")
        response: TokenResponse = super().create_token_response()
        return response

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Nothing left to do: ``create_token_response`` spent the token (``claim``)."""


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009. A refresh token takes its whole family (and access tokens) with it."""

    CLIENT_AUTH_METHODS = [BASIC]  # noqa: RUF012 - authlib's class attribute
    server: OAuthServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        hinted_refresh = (token_type_hint or "").startswith("refresh")
        kinds = ["refresh", "access"] if hinted_refresh else ["access", "refresh"]
        found = self.server.store.by_hash(kinds, digest(token_string))
        return Token(found, self.server.now()) if found is not None else None

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        now = self.server.now()
        if token.grant.kind == "refresh" and token.grant.family_id:
            self.server.store.revoke_family(token.grant.family_id, now)
        else:
            self.server.store.revoke(token.grant.id, now)
