"""OAuth 2.0 for the OB 3.0 API, built from authlib's server components.

authlib has no FastAPI/Starlette server integration; this module is the thin adapter:
``oauth2_request``/``json_request`` turn a Starlette request into authlib's
``OAuth2Request``/``JsonRequest`` and ``OAuthServer.handle_response`` turns authlib's
``(status, body, headers)`` back into a Starlette ``Response``. A server is built per
request over that request's unit of work (``OAuthStore``) and clock.

What the OB 3.0 security section demands
(https://www.imsglobal.org/spec/ob/v3p0/#api-security) is enforced by the models and
grants in ``credstack.web.oauth_grants`` (authorization code with PKCE S256, Basic client
authentication, single-use codes, rotating refresh tokens, RFC 7009 revocation) and by
``credstack.web.oauth_registration`` (RFC 7591). Access tokens live 3600 s.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    ResourceProtector,
)
from authlib.oauth2.rfc6750 import (  # type: ignore[import-untyped]
    BearerTokenGenerator,
    BearerTokenValidator,
)
from starlette.requests import Request
from starlette.responses import Response

from credstack.db.oauth import GrantRecord, OAuthStore
from credstack.domain.ports import Clock
from credstack.web.oauth_grants import (
    AuthorizationCode,
    Client,
    CodeGrant,
    RefreshGrant,
    Revocation,
    S256Only,
    Token,
    digest,
)

SCOPE_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"


class ObScope(StrEnum):
    """The four scopes of the OB 3.0 API (https://www.imsglobal.org/spec/ob/v3p0/#scopes)."""

    CREDENTIAL_READONLY = SCOPE_BASE + "credential.readonly"
    CREDENTIAL_UPSERT = SCOPE_BASE + "credential.upsert"
    PROFILE_READONLY = SCOPE_BASE + "profile.readonly"
    PROFILE_UPDATE = SCOPE_BASE + "profile.update"


SCOPE_TEXT: dict[str, str] = {
    ObScope.CREDENTIAL_READONLY: "read the Open Badges credentials in your wallet",
    ObScope.CREDENTIAL_UPSERT: "add Open Badges credentials to your wallet, or update them",
    ObScope.PROFILE_READONLY: "read your profile",
    ObScope.PROFILE_UPDATE: "change your profile",
    "offline_access": "keep this access when you are away (a refresh token)",
}
SCOPES_SUPPORTED = [*ObScope, "offline_access"]
ACCESS_LIFETIME = timedelta(seconds=3600)
REFRESH_LIFETIME = timedelta(days=30)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- Starlette -> authlib requests ------------------------------------------------------


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """An authlib request; ``params`` are the OAuth parameters, ``form`` the POST body."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        params: Iterable[tuple[str, str]],
        form: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(params)
        self._form = _Payload(form).data

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data


class _JsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: dict[str, Any] | None) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any] | None:
        return self._data


class StarletteJsonRequest(JsonRequest):  # type: ignore[misc]
    def __init__(
        self, method: str, uri: str, headers: Mapping[str, str], data: dict[str, Any] | None
    ) -> None:
        super().__init__(method, uri, headers)
        self.payload = _JsonPayload(data)


def public_uri(request: Request, base_url: str) -> str:
    """The URL the client used, as the platform publishes it (``CREDSTACK_BASE_URL``)."""
    query = request.url.query
    return base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def oauth2_request(
    request: Request,
    base_url: str,
    params: Iterable[tuple[str, str]],
    form: Iterable[tuple[str, str]] = (),
) -> StarletteOAuth2Request:
    """Raises authlib's ``InsecureTransportError`` when the base URL is not https/loopback."""
    return StarletteOAuth2Request(
        request.method, public_uri(request, base_url), request.headers, params, form
    )


def json_request(
    request: Request, base_url: str, data: dict[str, Any] | None
) -> StarletteJsonRequest:
    return StarletteJsonRequest(
        request.method, public_uri(request, base_url), request.headers, data
    )


# --- the server -------------------------------------------------------------------------


def _random_token(**_context: Any) -> str:
    return new_secret()


class OAuthServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's AuthorizationServer over one unit of work."""

    def __init__(self, store: OAuthStore, clock: Clock) -> None:
        super().__init__(scopes_supported=SCOPES_SUPPORTED)
        self.store = store
        self.now = clock
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                _random_token, _random_token, int(ACCESS_LIFETIME.total_seconds())
            ),
        )
        self.register_grant(CodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Revocation)

    def query_client(self, client_id: str) -> Client | None:
        record = self.store.client(client_id)
        return Client(record) if record is not None else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        now = self.now()
        code: AuthorizationCode | None = request.authorization_code
        previous: Token | None = request.refresh_token
        family = (
            code.grant.id if code is not None else previous.grant.family_id if previous else None
        )
        common = {
            "client_id": request.client.client_id,
            "subject": request.user.email,
            "scope": str(token.get("scope", "")),
            "family_id": family,
        }
        self.store.add_grant(
            GrantRecord(
                id=str(uuid.uuid4()),
                kind="access",
                value_hash=digest(token["access_token"]),
                expires_at=now + timedelta(seconds=int(token["expires_in"])),
                **common,
            )
        )
        if "refresh_token" in token:
            self.store.add_grant(
                GrantRecord(
                    id=str(uuid.uuid4()),
                    kind="refresh",
                    value_hash=digest(token["refresh_token"]),
                    expires_at=now + REFRESH_LIFETIME,
                    **common,
                )
            )

    def create_oauth2_request(self, request: object) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("build the request with credstack.web.oauth.oauth2_request")

    def create_json_request(self, request: object) -> JsonRequest:
        if isinstance(request, JsonRequest):
            return request
        raise TypeError("build the request with credstack.web.oauth.json_request")

    def handle_response(
        self, status: int, body: object, headers: Iterable[tuple[str, str]]
    ) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else str(body or "")
        return Response(content, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        """No signal system here."""


# --- resource protection ----------------------------------------------------------------


class _AccessTokens(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, store: OAuthStore, now: datetime) -> None:
        super().__init__(realm="credstack")
        self.store = store
        self.now = now

    def authenticate_token(self, token_string: str) -> Token | None:
        found = self.store.by_hash(["access"], digest(token_string))
        return Token(found, self.now) if found is not None else None


def authorize_access(
    store: OAuthStore, now: datetime, headers: Mapping[str, str], scope: str
) -> Token:
    """The valid, unrevoked access token of the request carrying ``scope``.

    Raises authlib's ``MissingAuthorizationError``/``UnsupportedTokenTypeError``/
    ``InvalidTokenError`` (401) or ``InsufficientScopeError`` (403).
    """
    protector = ResourceProtector()
    protector.register_token_validator(_AccessTokens(store, now))
    token: Token = protector.validate_request([scope], _Headers(headers))
    return token


@dataclass(frozen=True, slots=True)
class _Headers:
    headers: Mapping[str, str]
