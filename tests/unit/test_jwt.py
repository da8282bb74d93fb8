"""VC-JWT as Open Badges 3.0 profiles it: claims, header rules and signatures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from credstack.crypto import jwt
from credstack.crypto.did import DidResolver
from credstack.crypto.jwt import JwtError
from credstack.crypto.keys import Key, b64url, b64url_decode, ed25519_from_seed, generate_rsa

KEY = ed25519_from_seed(
    bytes.fromhex("c96ef9ea10c5e414c471723aff9de72c35fa5b70fae97e8832ecac7d2e2b8ed6")
)
RESOLVE = DidResolver()
VALID_FROM = "2025-03-01T12:00:00Z"
VALID_UNTIL = "2026-03-01T12:00:00Z"


def credential(issuer: str = KEY.controller) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:3c1b5d9e-0000-4000-8000-000000000042",
        "type": ["VerifiableCredential"],
        "issuer": {"id": issuer, "name": "Issuer"},
        "validFrom": VALID_FROM,
        "validUntil": VALID_UNTIL,
        "credentialSubject": {"id": "did:example:learner", "name": "Zoë"},
    }


def compact(header: dict[str, Any], payload: dict[str, Any], key: Key = KEY) -> str:
    """A compact JWS signed by ``key`` over exactly the given header and payload."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


def header(**extra: Any) -> dict[str, Any]:
    return {"alg": "EdDSA", "kid": KEY.verification_method, "typ": "JWT", **extra}


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, payload, _, _ = jwt.decode_unverified(token)
    return head, payload


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def test_an_eddsa_jwt_round_trips_to_the_same_credential() -> None:
    token = jwt.encode(credential(), KEY)
    assert jwt.is_compact_jws(token)
    verified, method = jwt.verify(token, RESOLVE)
    assert verified == credential()
    assert method is not None
    assert method.id == KEY.verification_method


def test_an_rs256_jwt_round_trips_to_the_same_credential() -> None:
    rsa = generate_rsa()
    token = jwt.encode(credential(rsa.controller), rsa)
    head, _ = parts(token)
    assert head["alg"] == "RS256"
    verified, method = jwt.verify(token, RESOLVE)
    assert verified == credential(rsa.controller)
    assert method is not None
    assert method.controller == rsa.controller


def test_the_header_names_alg_kid_and_typ_only() -> None:
    head, _ = parts(jwt.encode(credential(), KEY))
    assert head == {"alg": "EdDSA", "kid": KEY.verification_method, "typ": "JWT"}


def test_the_payload_carries_the_open_badges_claims_with_the_right_values() -> None:
    _, payload = parts(jwt.encode(credential(), KEY))
    assert payload["iss"] == KEY.controller
    assert payload["jti"] == "urn:uuid:3c1b5d9e-0000-4000-8000-000000000042"
    assert payload["sub"] == "did:example:learner"
    assert payload["nbf"] == epoch(VALID_FROM) == 1740830400
    assert payload["exp"] == epoch(VALID_UNTIL)
    assert jwt.expires_at(payload) == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert payload["credentialSubject"]["name"] == "Zoë"


def test_a_credential_without_valid_until_gets_no_exp_claim() -> None:
    unbounded = credential()
    del unbounded["validUntil"]
    _, payload = parts(jwt.encode(unbounded, KEY))
    assert "exp" not in payload
    assert jwt.expires_at(payload) is None


def test_an_issuer_given_as_a_plain_url_is_the_iss_claim() -> None:
    plain = {**credential(), "issuer": KEY.controller}
    assert parts(jwt.encode(plain, KEY))[1]["iss"] == KEY.controller


@pytest.mark.parametrize("extra", [{"x5u": "https://evil.example/k"}, {"crit": ["b64"]}])
def test_a_jose_header_outside_the_ob_profile_is_refused(extra: dict[str, Any]) -> None:
    token = compact(header(**extra), jwt.claims_for(credential()))
    with pytest.raises(JwtError, match=r"not allowed by OB 3\.0"):
        jwt.verify(token, RESOLVE)


def test_alg_none_with_an_empty_signature_is_not_even_a_jws() -> None:
    head = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64url(json.dumps(jwt.claims_for(credential())).encode())
    with pytest.raises(JwtError, match="not a compact JWS"):
        jwt.verify(f"{head}.{body}.", RESOLVE)


def test_alg_none_is_refused() -> None:
    token = compact({"alg": "none", "kid": KEY.verification_method}, jwt.claims_for(credential()))
    with pytest.raises(JwtError, match="alg 'none' is not accepted"):
        jwt.verify(token, RESOLVE)


@pytest.mark.parametrize("typ", ["vc+jwt", "JWS", "jwt+vc"])
def test_a_typ_other_than_jwt_is_refused(typ: str) -> None:
    token = compact(header(typ=typ), jwt.claims_for(credential()))
    with pytest.raises(JwtError, match="typ must be 'JWT'"):
        jwt.verify(token, RESOLVE)


def test_a_token_without_typ_is_accepted() -> None:
    head = header()
    del head["typ"]
    verified, _ = jwt.verify(compact(head, jwt.claims_for(credential())), RESOLVE)
    assert verified == credential()


def test_an_alg_that_does_not_fit_the_key_is_refused() -> None:
    token = compact(header(alg="RS256"), jwt.claims_for(credential()))
    with pytest.raises(JwtError, match="does not match the Ed25519 key"):
        jwt.verify(token, RESOLVE)


def test_a_tampered_payload_fails_the_signature() -> None:
    head, _, sig = jwt.encode(credential(), KEY).split(".")
    claims = jwt.claims_for(credential())
    claims["credentialSubject"]["name"] = "Mallory"
    forged = f"{head}.{b64url(json.dumps(claims).encode())}.{sig}"
    with pytest.raises(JwtError, match="signature does not match"):
        jwt.verify(forged, RESOLVE)


def test_a_signature_by_another_key_fails() -> None:
    other = ed25519_from_seed(bytes(32))
    token = compact(header(), jwt.claims_for(credential()), key=other)
    with pytest.raises(JwtError, match="signature does not match"):
        jwt.verify(token, RESOLVE)


def test_a_kid_that_cannot_be_resolved_is_reported_clearly() -> None:
    kid = "did:web:unknown.example#key-1"
    token = compact(header(kid=kid), jwt.claims_for(credential()))
    with pytest.raises(JwtError) as caught:
        jwt.verify(token, RESOLVE)
    assert kid in caught.value.message
    assert "cannot be resolved" in caught.value.message
    assert caught.value.code == "proof.invalid"


def test_a_header_naming_no_key_is_refused() -> None:
    token = compact({"alg": "EdDSA", "typ": "JWT"}, jwt.claims_for(credential()))
    with pytest.raises(JwtError, match="names no key"):
        jwt.verify(token, RESOLVE)


def test_an_embedded_jwk_checks_the_signature_but_binds_no_verification_method() -> None:
    token = compact(
        {"alg": "EdDSA", "jwk": KEY.public.jwk(), "typ": "JWT"}, jwt.claims_for(credential())
    )
    verified, method = jwt.verify(token, RESOLVE)
    assert verified == credential()
    assert method is None


def test_the_legacy_vc_claim_is_read() -> None:
    legacy = {
        "iss": KEY.controller,
        "jti": credential()["id"],
        "sub": "did:example:learner",
        "nbf": epoch(VALID_FROM),
        "vc": credential(),
    }
    verified, method = jwt.verify(compact(header(), legacy), RESOLVE)
    assert verified == credential()
    assert method is not None


@pytest.mark.parametrize(
    ("claim", "value", "message"),
    [
        ("iss", "did:example:someone-else", "iss claim"),
        ("jti", "urn:uuid:other", "jti claim"),
        ("sub", "did:example:other", "sub claim"),
        ("nbf", 0, "nbf claim"),
        ("exp", 4102444800, "exp claim"),
    ],
)
def test_a_registered_claim_that_contradicts_the_credential_is_refused(
    claim: str, value: object, message: str
) -> None:
    claims = {**jwt.claims_for(credential()), claim: value}
    with pytest.raises(JwtError, match=message):
        jwt.verify(compact(header(), claims), RESOLVE)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "not a jwt", "eyJ.eyJ.!!"])
def test_text_that_is_not_a_compact_jws_is_refused(token: str) -> None:
    assert not jwt.is_compact_jws(token)
    with pytest.raises(JwtError, match="not a compact JWS"):
        jwt.decode_unverified(token)


def test_a_header_that_is_not_a_json_object_is_refused() -> None:
    token = f"{b64url(b'[1]')}.{b64url(b'{}')}.{b64url(b'sig')}"
    with pytest.raises(JwtError, match="JSON objects"):
        jwt.decode_unverified(token)


def test_base64url_round_trips_without_padding() -> None:
    for data in (b"", b"f", b"fo", b"foo", bytes(range(256))):
        encoded = b64url(data)
        assert "=" not in encoded
        assert b64url_decode(encoded) == data
