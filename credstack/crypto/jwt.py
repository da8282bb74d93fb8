"""VC-JWT as Open Badges 3.0 profiles it (https://www.imsglobal.org/spec/ob/v3p0/#jwt-proof).

A compact JWS (RFC 7515) whose payload is the credential plus the registered claims
``iss`` (issuer id), ``jti`` (credential id), ``nbf`` (validFrom), ``sub``
(credentialSubject id) and ``exp`` (validUntil). Header: ``alg`` (EdDSA or RS256),
``kid`` (a verification-method URL) and ``typ: JWT``; OB allows no other headers.
Legacy VC 1.1 tokens that carry the credential in a ``vc`` claim are read too.
The JWS framing is a few lines of base64url; the signatures come from libsodium and
``cryptography`` (see docs/decisions/0004-vc-jwt.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from credstack.crypto.did import VerificationMethod
from credstack.crypto.keys import PublicKey, SigningKey, b64url, b64url_decode
from credstack.domain.errors import Invalid

COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$")
ALLOWED_HEADERS = frozenset({"alg", "kid", "jwk", "typ"})
ALGORITHMS = frozenset({"EdDSA", "RS256"})


class JwtError(Invalid):
    code = "proof.invalid"


def is_compact_jws(text: str) -> bool:
    return bool(COMPACT_JWS.match(text.strip()))


def _timestamp(value: Any, claim: str) -> int:
    if not isinstance(value, str):
        raise Invalid(f"{claim} needs a date-time string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid(f"{claim} {value!r} is not a date-time") from exc
    if moment.tzinfo is None:
        raise Invalid(f"{claim} {value!r} has no time zone")
    return int(moment.timestamp())


def _subject_id(credential: Mapping[str, Any]) -> str | None:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    value = subject.get("id") if isinstance(subject, Mapping) else None
    return value if isinstance(value, str) else None


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    value = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return value if isinstance(value, str) else None


def claims_for(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The credential with the OB 3.0 JWT claims added."""
    claims: dict[str, Any] = dict(credential)
    claims["iss"] = issuer_id(credential)
    if "id" in credential:
        claims["jti"] = credential["id"]
    claims["nbf"] = _timestamp(credential.get("validFrom"), "validFrom")
    subject = _subject_id(credential)
    if subject:
        claims["sub"] = subject
    if "validUntil" in credential:
        claims["exp"] = _timestamp(credential["validUntil"], "validUntil")
    return claims


def encode(credential: Mapping[str, Any], key: SigningKey) -> str:
    """Sign ``credential`` as an OB 3.0 VC-JWT (compact JWS)."""
    header = {"alg": key.public.algorithm, "kid": key.verification_method, "typ": "JWT"}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(
            json.dumps(claims_for(credential), separators=(",", ":"), ensure_ascii=False).encode()
        )
    )
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, payload, signing input and signature of a compact JWS (no checks)."""
    token = token.strip()
    if not is_compact_jws(token):
        raise JwtError("not a compact JWS (three base64url parts separated by dots)")
    head, body, sig = token.split(".")
    try:
        header = json.loads(b64url_decode(head))
        payload = json.loads(b64url_decode(body))
        signature = b64url_decode(sig)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JwtError(f"the JWT does not decode: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JwtError("the JWT header and payload must be JSON objects")
    return header, payload, f"{head}.{body}".encode("ascii"), signature


def credential_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The credential inside a JWT payload (the payload itself, or the legacy ``vc`` claim)."""
    if isinstance(payload.get("vc"), Mapping):
        return dict(payload["vc"])
    return {k: v for k, v in payload.items() if k not in ("iss", "jti", "nbf", "sub", "exp")}


def verify(
    token: str, resolve: Callable[[str], VerificationMethod | None]
) -> tuple[dict[str, Any], VerificationMethod | None]:
    """Check the JWS signature and the OB claim rules; returns the credential and signer."""
    header, payload, signing_input, signature = decode_unverified(token)
    extra = set(header) - ALLOWED_HEADERS
    if extra:
        raise JwtError(f"JOSE headers {sorted(extra)} are not allowed by OB 3.0")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise JwtError(f"JWT alg {alg!r} is not accepted (EdDSA or RS256)")
    if "typ" in header and header["typ"] != "JWT":
        raise JwtError(f"JWT typ must be 'JWT', not {header['typ']!r}")
    method: VerificationMethod | None = None
    if isinstance(header.get("kid"), str):
        method = resolve(header["kid"])
        if method is None:
            raise JwtError(f"key {header['kid']!r} cannot be resolved offline")
        public = method.public_key
    elif isinstance(header.get("jwk"), Mapping):
        public = PublicKey.from_jwk(header["jwk"])
    else:
        raise JwtError("the JWT header names no key (kid or jwk)")
    if public.algorithm != alg:
        raise JwtError(f"alg {alg} does not match the {public.kind} key")
    if not public.verify(signature, signing_input):
        raise JwtError("the JWT signature does not match")
    credential = credential_of(payload)
    _check_claims(payload, credential)
    return credential, method


def _check_claims(payload: Mapping[str, Any], credential: Mapping[str, Any]) -> None:
    if payload.get("iss") != issuer_id(credential):
        raise JwtError("the iss claim does not match the credential issuer")
    if "jti" in payload and payload["jti"] != credential.get("id"):
        raise JwtError("the jti claim does not match the credential id")
    if "sub" in payload and payload["sub"] != _subject_id(credential):
        raise JwtError("the sub claim does not match credentialSubject.id")
    if "vc" in payload:
        return
    if "validFrom" in credential and payload.get("nbf") != _timestamp(
        credential["validFrom"], "validFrom"
    ):
        raise JwtError("the nbf claim does not equal validFrom")
    if (
        "exp" in payload
        and "validUntil" in credential
        and payload["exp"] != _timestamp(credential["validUntil"], "validUntil")
    ):
        raise JwtError("the exp claim does not equal validUntil")


def expires_at(payload: Mapping[str, Any]) -> datetime | None:
    value = payload.get("exp")
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None
