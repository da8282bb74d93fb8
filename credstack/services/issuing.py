"""Sign credentials: Data Integrity proofs or an OB 3.0 VC-JWT.

Issuing raises: an issuer that is not the key's controller, an undefined term (safe
mode) or an unknown suite stops it with an error naming the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from credstack.crypto import jwt
from credstack.crypto.canonical import ensure_defined
from credstack.crypto.keys import SigningKey
from credstack.crypto.loader import OfflineLoader, default_loader
from credstack.crypto.proofs import SUITES, add_proof
from credstack.domain.credentials import format_datetime
from credstack.domain.errors import Invalid, IssuerMismatch

VC_JWT = "vc-jwt"
ALL_FORMATS = (*SUITES, VC_JWT)


def check_issuer(credential: Mapping[str, Any], key: SigningKey) -> None:
    issuer = jwt.issuer_id(credential)
    if issuer is None:
        raise Invalid("the credential has no issuer (a URL or an object with an id)")
    if issuer != key.controller:
        raise IssuerMismatch(
            f"the credential's issuer {issuer!r} is not the key's controller {key.controller!r}"
        )


def sign(
    credential: Mapping[str, Any],
    key: SigningKey,
    *,
    suite: str = "eddsa-rdfc-2022",
    created: datetime,
    loader: OfflineLoader | None = None,
) -> dict[str, Any] | str:
    """Secure ``credential``: a signed copy (Data Integrity) or a compact JWS (``vc-jwt``)."""
    if not isinstance(credential, Mapping):
        raise Invalid("a credential must be a JSON object")
    check_issuer(credential, key)
    chosen_loader = loader or default_loader()
    if suite == VC_JWT:
        ensure_defined(credential, chosen_loader)
        return jwt.encode(credential, key)
    if suite not in SUITES:
        raise Invalid(f"unknown suite {suite!r}; choose one of {', '.join(ALL_FORMATS)}")
    return add_proof(
        credential, key, suite=suite, created=format_datetime(created), loader=chosen_loader
    )
