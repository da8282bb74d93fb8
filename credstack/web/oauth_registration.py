"""Dynamic Client Registration (RFC 7591) as the OB 3.0 API profiles it.

https://www.imsglobal.org/spec/ob/v3p0/#dynamic-client-registration: no initial access
token; the request must carry ``client_name, client_uri, logo_uri, tos_uri, policy_uri,
software_id, software_version, redirect_uris`` (an array) and ``scope``; every URL is
https and all share one hostname; ``token_endpoint_auth_method`` can only be
``client_secret_basic``, ``grant_types`` only ``authorization_code`` and
``refresh_token``, ``response_types`` only ``code``. The 201 answer echoes the metadata
with ``client_id``, ``client_secret`` (shown once; stored as a digest),
``client_id_issued_at`` and ``client_secret_expires_at: 0`` (never).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import InvalidRequestError  # type: ignore[import-untyped]
from authlib.oauth2.rfc7591 import (  # type: ignore[import-untyped]
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)

from credstack.db.oauth import ClientRecord
from credstack.web.oauth import SCOPES_SUPPORTED, OAuthServer, new_secret
from credstack.web.oauth_grants import BASIC, Client, digest

REQUIRED_TEXT = ("client_name", "software_id", "software_version", "scope")
REQUIRED_URLS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
LIST_FIELDS = ("redirect_uris", "grant_types", "response_types", "contacts")
MAX_FIELD = 2000


def _check_request(data: Mapping[str, Any]) -> None:
    """Presence and shape of the fields the OB 3.0 profile requires (before authlib's)."""
    for name in (*REQUIRED_TEXT, *REQUIRED_URLS):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidClientMetadataError(f"{name} is required (a non-empty string)")
        if len(value) > MAX_FIELD:
            raise InvalidClientMetadataError(f"{name} is too long")
    for name in LIST_FIELDS:
        value = data.get(name)
        if name == "redirect_uris" and value is None:
            raise InvalidRedirectURIError("redirect_uris is required (an array)")
        if value is not None and (
            not isinstance(value, list)
            or not all(isinstance(v, str) and 0 < len(v) <= MAX_FIELD for v in value)
        ):
            raise InvalidClientMetadataError(f"{name} must be an array of strings")
    if not data["redirect_uris"]:
        raise InvalidRedirectURIError("redirect_uris needs at least one URI")


def _check_urls(metadata: Mapping[str, Any]) -> None:
    """Every URL https, without a fragment, and all on the same hostname."""
    urls = [(name, str(metadata[name])) for name in REQUIRED_URLS]
    urls += [("redirect_uris", str(uri)) for uri in metadata["redirect_uris"]]
    hosts = set()
    for name, url in urls:
        parts = urlsplit(url)
        kind = InvalidRedirectURIError if name == "redirect_uris" else InvalidClientMetadataError
        if parts.scheme != "https" or not parts.hostname or parts.fragment:
            raise kind(f"{name} must be https URLs without a fragment")
        hosts.add(parts.hostname.lower())
    if len(hosts) > 1:
        raise InvalidClientMetadataError("all URLs of a client must share one hostname")


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    server: OAuthServer

    def authenticate_token(self, request: object) -> bool:
        return True  # OB 3.0: registration MUST NOT require an initial access token

    def get_server_metadata(self) -> dict[str, Any]:
        return {
            "scopes_supported": SCOPES_SUPPORTED,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": [BASIC],
        }

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        data = request.payload.data
        if not isinstance(data, dict) or not data:
            raise InvalidRequestError("the body must be a JSON object of client metadata")
        _check_request(data)
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        _check_urls(metadata)
        return metadata

    def generate_client_id(self, request: object) -> str:
        return secrets.token_urlsafe(24)

    def generate_client_secret(self, request: object) -> str:
        return new_secret()

    def generate_client_info(self, request: object) -> dict[str, Any]:
        return {
            "client_id": self.generate_client_id(request),
            "client_secret": self.generate_client_secret(request),
            "client_id_issued_at": int(self.server.now().timestamp()),
            "client_secret_expires_at": 0,
        }

    def save_client(
        self, client_info: Mapping[str, Any], client_metadata: Mapping[str, Any], request: object
    ) -> Client:
        record = ClientRecord(
            client_id=str(client_info["client_id"]),
            secret_hash=digest(str(client_info["client_secret"])),
            metadata={
                **client_metadata,
                "client_id_issued_at": client_info["client_id_issued_at"],
            },
            created_at=self.server.now(),
        )
        self.server.store.add_client(record)
        return Client(record)
