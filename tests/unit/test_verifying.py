"""Verification: every form of input, every check with its stable code, and it never raises."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import credstack
from credstack.crypto import status_list
from credstack.crypto.canonical import rdfc
from credstack.crypto.keys import Ed25519Key, b64url, ed25519_from_seed, multibase_encode
from credstack.crypto.loader import default_loader
from credstack.crypto.proofs import add_proof
from credstack.domain import baking
from credstack.domain.achievements import Achievement, Criteria, Profile
from credstack.domain.credentials import RecipientDid, RecipientEmail, build_credential
from credstack.services.checks import VerificationResult
from credstack.services.issuing import sign
from credstack.services.status_lists import LocalStatusLists
from credstack.services.verifying import VerifyOptions, verify

KEY = ed25519_from_seed(bytes.fromhex("4f" * 32))
OTHER = ed25519_from_seed(bytes.fromhex("a1" * 32))
ISSUED = datetime(2025, 1, 1, tzinfo=UTC)
LATER = ISSUED + timedelta(days=30)
UNTIL = ISSUED + timedelta(days=365)
FORMATS = ["eddsa-rdfc-2022", "eddsa-jcs-2022", "vc-jwt"]
DI_SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
ALL_OK = ["structure.ok", "proof.ok", "issuer.ok", "validity.ok", "status.none"]
LIST_URL = "https://issuer.example/status/revocation"
SUSPENSION_URL = "https://issuer.example/status/suspension"
INDEX = 94567


def unsigned(
    issuer: Ed25519Key = KEY,
    *,
    status: Mapping[str, Any] | None = None,
    recipient: RecipientDid | RecipientEmail | None = None,
) -> dict[str, Any]:
    return build_credential(
        credential_id="urn:uuid:6b0d2f1c-0000-4000-8000-000000000007",
        issuer=Profile(id=issuer.controller, name="Example College"),
        achievement=Achievement(
            id="https://issuer.example/achievements/sql",
            name="SQL Fundamentals",
            description="Query relational databases.",
            criteria=Criteria(narrative="Pass the assessed project."),
        ),
        recipient=recipient or RecipientEmail("ada@example.org", "s4lt"),
        valid_from=ISSUED,
        valid_until=UNTIL,
        credential_status=status,
    )


def issued(suite: str = "eddsa-rdfc-2022", **kwargs: Any) -> Any:
    return sign(unsigned(**kwargs), KEY, suite=suite, created=ISSUED)


def options(**kwargs: Any) -> VerifyOptions:
    return VerifyOptions(now=kwargs.pop("now", LATER), **kwargs)


def code(result: VerificationResult, prefix: str) -> str:
    (found,) = [c.code for c in result.checks if c.code.startswith(prefix + ".")]
    return found


# -- the happy path ----------------------------------------------------------------------


@pytest.mark.parametrize("suite", FORMATS)
def test_a_freshly_issued_credential_verifies_with_every_check_ok(suite: str) -> None:
    result = verify(issued(suite), options())
    assert result.verified
    assert result.codes() == ALL_OK
    assert all(c.ok for c in result.checks)
    assert result.form == ("jwt" if suite == "vc-jwt" else "json")
    assert result.credential is not None
    assert result.credential["id"] == "urn:uuid:6b0d2f1c-0000-4000-8000-000000000007"


@pytest.mark.parametrize("suite", FORMATS)
def test_the_facade_verifies_the_same_way(suite: str) -> None:
    result = credstack.verify(issued(suite), now=LATER)
    assert result.verified
    assert result.codes() == ALL_OK


def test_a_credential_given_as_json_text_or_bytes_verifies() -> None:
    text = json.dumps(issued())
    for data in (text, text.encode(), b"\xef\xbb\xbf" + text.encode(), "\n  " + text + "\n"):
        result = verify(data, options())
        assert result.verified, result.failed()
        assert result.form == "json"


def test_a_vc_jwt_given_as_bytes_verifies() -> None:
    token = issued("vc-jwt")
    assert isinstance(token, str)
    result = verify(token.encode() + b"\n", options())
    assert result.verified
    assert result.form == "jwt"


def test_a_recipient_identified_by_did_verifies() -> None:
    result = verify(issued(recipient=RecipientDid("did:example:ada")), options())
    assert result.verified


def test_the_result_serializes_to_verified_and_checks() -> None:
    as_json = verify(issued(), options()).to_json()
    assert set(as_json) == {"verified", "checks"}
    assert as_json["verified"] is True
    assert [c["code"] for c in as_json["checks"]] == ALL_OK
    assert all(set(c) == {"code", "ok", "message"} for c in as_json["checks"])


# -- baked images --------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "vc-jwt"])
@pytest.mark.parametrize("kind", ["png", "svg"])
def test_a_baked_image_verifies_and_reports_its_form(kind: str, suite: str) -> None:
    image = baking.demo_badge_png("SQL") if kind == "png" else baking.demo_badge_svg("SQL")
    baked = credstack.bake(image, issued(suite))
    result = verify(baked, options())
    assert result.verified, result.failed()
    assert result.form == kind
    assert result.credential is not None
    assert result.credential["id"] == "urn:uuid:6b0d2f1c-0000-4000-8000-000000000007"


# -- unusable input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe\x00garbage\x80",
        b"",
        "   ",
        "[1, 2, 3]",
        '"a string"',
        "null",
        '{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ',
        baking.demo_badge_png("empty"),
        baking.demo_badge_svg("empty"),
        b"\x89PNG\r\n\x1a\n truncated",
    ],
    ids=[
        "garbage-bytes",
        "empty-bytes",
        "blank-text",
        "json-array",
        "json-string",
        "json-null",
        "truncated-json",
        "png-without-credential",
        "svg-without-credential",
        "truncated-png",
    ],
)
def test_unusable_input_gives_a_single_input_unusable_check(data: bytes | str) -> None:
    result = verify(data, options())
    assert not result.verified
    assert result.codes() == ["input.unusable"]
    assert not result.checks[0].ok
    assert result.checks[0].message
    assert result.credential is None


@pytest.mark.parametrize(
    "data",
    ["[" * 100_000, '{"a": ' + "9" * 5000 + "}"],
    ids=["deeply-nested-json", "huge-integer"],
)
def test_verification_never_raises_even_on_pathological_json(data: str) -> None:
    result = verify(data, options())
    assert result.codes() == ["input.unusable"]


def test_a_json_object_that_is_no_credential_fails_every_check_without_raising() -> None:
    result = verify({"hello": "world"}, options())
    assert not result.verified
    assert [c.code for c in result.failed()] == [
        "structure.invalid",
        "proof.missing",
        "issuer.missing",
    ]


# -- each failure has its own code ---------------------------------------------------------


@pytest.mark.parametrize("suite", FORMATS)
def test_an_expired_credential_fails_validity_but_keeps_a_valid_proof(suite: str) -> None:
    result = verify(issued(suite), options(now=UNTIL + timedelta(days=1)))
    assert not result.verified
    assert code(result, "validity") == "validity.expired"
    assert code(result, "proof") == "proof.ok"
    assert [c.code for c in result.failed()] == ["validity.expired"]


@pytest.mark.parametrize("suite", FORMATS)
def test_a_credential_is_not_valid_before_valid_from(suite: str) -> None:
    result = verify(issued(suite), options(now=ISSUED - timedelta(days=1)))
    assert [c.code for c in result.failed()] == ["validity.not_yet_valid"]


def test_a_few_minutes_of_clock_skew_are_tolerated() -> None:
    assert verify(issued(), options(now=ISSUED - timedelta(minutes=4))).verified
    assert verify(issued(), options(now=UNTIL + timedelta(minutes=4))).verified
    assert not verify(issued(), options(now=UNTIL + timedelta(minutes=6))).verified


@pytest.mark.parametrize("suite", DI_SUITES)
def test_a_credential_signed_by_another_key_than_the_issuers_is_an_issuer_mismatch(
    suite: str,
) -> None:
    forged = add_proof(
        unsigned(), OTHER, suite=suite, created="2025-01-01T00:00:00Z", loader=default_loader()
    )
    result = verify(forged, options())
    assert not result.verified
    assert code(result, "proof") == "proof.ok"
    assert [c.code for c in result.failed()] == ["issuer.mismatch"]


def test_a_schema_violation_is_a_structure_failure() -> None:
    credential = unsigned()
    del credential["credentialSubject"]["achievement"]["criteria"]
    signed = sign(credential, KEY, created=ISSUED)
    result = verify(signed, options())
    assert not result.verified
    assert [c.code for c in result.failed()] == ["structure.invalid"]
    assert "criteria" in result.failed()[0].message


def test_a_subject_with_neither_id_nor_identifier_is_a_structure_failure() -> None:
    credential = unsigned()
    del credential["credentialSubject"]["identifier"]
    result = verify(sign(credential, KEY, created=ISSUED), options())
    assert [c.code for c in result.failed()] == ["structure.invalid"]


def test_a_credential_without_the_vc_2_context_first_is_a_structure_failure() -> None:
    credential = unsigned()
    credential["@context"] = [*credential["@context"][1:], credential["@context"][0]]
    result = verify(credential, options())
    assert "structure.invalid" in result.codes()
    assert "@context must start with" in result.failed()[0].message


@pytest.mark.parametrize("suite", DI_SUITES)
def test_a_credential_whose_proof_was_removed_has_proof_missing(suite: str) -> None:
    signed = issued(suite)
    del signed["proof"]
    result = verify(signed, options())
    assert not result.verified
    assert [c.code for c in result.failed()] == ["proof.missing", "issuer.unbound"]


@pytest.mark.parametrize("suite", DI_SUITES)
def test_a_tampered_credential_has_an_invalid_proof(suite: str) -> None:
    signed = issued(suite)
    signed["credentialSubject"]["achievement"]["name"] = "Doctor of Medicine"
    result = verify(signed, options())
    assert [c.code for c in result.failed()] == ["proof.invalid", "issuer.unbound"]


def test_a_suite_outside_the_allow_list_has_an_invalid_proof() -> None:
    result = verify(issued("eddsa-jcs-2022"), options(suites=frozenset({"eddsa-rdfc-2022"})))
    assert not result.verified
    assert code(result, "proof") == "proof.invalid"
    assert "eddsa-jcs-2022" in result.failed()[0].message
    assert "not among the allowed" in result.failed()[0].message


def test_vc_jwt_can_be_left_out_of_the_allowed_formats() -> None:
    result = verify(issued("vc-jwt"), options(allow_jwt=False))
    assert not result.verified
    assert code(result, "proof") == "proof.invalid"
    assert "VC-JWT" in result.failed()[0].message


def test_a_vc_jwt_with_an_unknown_kid_reports_which_key_is_missing() -> None:
    credential = unsigned()
    claims = {**credential, "iss": KEY.controller, "nbf": int(ISSUED.timestamp())}
    kid = "did:web:issuer.example#key-7"
    head = b64url(json.dumps({"alg": "EdDSA", "kid": kid, "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    token = f"{head}.{body}.{b64url(KEY.sign(f'{head}.{body}'.encode()))}"
    result = verify(token, options())
    assert not result.verified
    assert result.form == "jwt"
    proof = next(c for c in result.checks if c.code.startswith("proof."))
    assert proof.code == "proof.invalid"
    assert kid in proof.message
    assert "issuer.unbound" in result.codes()


def test_a_jwt_whose_payload_does_not_decode_reports_only_the_proof() -> None:
    result = verify("eyJhbGciOiJFZERTQSJ9.eyJhIjoi.c2ln", options())
    assert result.codes() == ["proof.invalid"]
    assert result.credential is None


@pytest.mark.parametrize("suite", DI_SUITES)
def test_an_undefined_term_added_after_signing_is_proof_undefined_term(suite: str) -> None:
    signed = issued(suite)
    signed["credentialSubject"]["favouriteColour"] = "green"
    result = verify(signed, options())
    assert not result.verified
    assert code(result, "proof") == "proof.undefined_term"
    assert "favouriteColour" in result.failed()[0].message


def test_a_vc_2_credential_without_valid_from_passes_the_validity_check() -> None:
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": KEY.controller,
        "credentialSubject": {"id": "did:example:ada"},
    }
    result = verify(sign(credential, KEY, created=ISSUED), options())
    assert result.verified, result.failed()


def _rdfc_proof_without_safe_mode(document: dict[str, Any], key: Ed25519Key) -> dict[str, Any]:
    """eddsa-rdfc-2022 computed directly (vc-di-eddsa 3.3), bypassing credstack's safe mode."""
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-01-01T00:00:00Z",
        "verificationMethod": key.verification_method,
        "proofPurpose": "assertionMethod",
    }
    loader = default_loader()
    config = rdfc({**proof, "@context": document["@context"]}, loader, safe=False)
    data = rdfc(document, loader, safe=False)
    digest = hashlib.sha256(config.encode()).digest() + hashlib.sha256(data.encode()).digest()
    return {**document, "proof": [{**proof, "proofValue": multibase_encode(key.sign(digest))}]}


@pytest.mark.parametrize(
    ("signed_id", "swapped_id"),
    [
        ("did:example:ada lovelace", "did:example:mallory x"),
        ("1:ada", "1:mallory"),
    ],
)
def test_swapping_the_recipient_of_a_credential_is_always_detected(
    signed_id: str, swapped_id: str
) -> None:
    """The subject ids are ones JSON-LD drops: a proof made without safe mode signs no
    recipient at all, so verification must refuse the credential rather than accept a swap."""
    credential = unsigned(recipient=RecipientDid("did:example:ada"))
    credential["credentialSubject"]["id"] = signed_id
    signed = _rdfc_proof_without_safe_mode(credential, KEY)
    stolen = copy.deepcopy(signed)
    stolen["credentialSubject"]["id"] = swapped_id
    assert not verify(stolen, options()).verified


# -- status ------------------------------------------------------------------------------


def status_entry(url: str = LIST_URL, purpose: str = "revocation") -> dict[str, Any]:
    return {
        "id": f"{url}#{INDEX}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(INDEX),
        "statusListCredential": url,
    }


def list_credential(
    url: str = LIST_URL,
    purpose: str = "revocation",
    *,
    flagged: bool,
    signer: Ed25519Key = KEY,
    claimed_issuer: Ed25519Key = KEY,
) -> dict[str, Any]:
    bits = status_list.new_bitstring()
    if flagged:
        status_list.set_status(bits, INDEX)
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": claimed_issuer.controller,
        "validFrom": "2024-06-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": status_list.encode(bits),
        },
    }
    return add_proof(document, signer, created="2024-06-01T00:00:00Z", loader=default_loader())


def verify_with_lists(
    credential: Any, *lists: dict[str, Any], now: datetime = LATER
) -> VerificationResult:
    base = options(now=now)
    return verify(credential, options(now=now, status=LocalStatusLists(lists, base)))


@pytest.mark.parametrize("suite", FORMATS)
def test_a_credential_whose_revocation_bit_is_set_is_revoked(suite: str) -> None:
    credential = issued(suite, status=status_entry())
    result = verify_with_lists(credential, list_credential(flagged=True))
    assert not result.verified
    assert [c.code for c in result.failed()] == ["status.revoked"]


def test_a_credential_whose_suspension_bit_is_set_is_suspended() -> None:
    credential = issued(status=status_entry(SUSPENSION_URL, "suspension"))
    result = verify_with_lists(
        credential, list_credential(SUSPENSION_URL, "suspension", flagged=True)
    )
    assert [c.code for c in result.failed()] == ["status.suspended"]


@pytest.mark.parametrize("suite", FORMATS)
def test_a_credential_whose_bit_is_clear_has_status_ok(suite: str) -> None:
    credential = issued(suite, status=status_entry())
    result = verify_with_lists(credential, list_credential(flagged=False))
    assert result.verified, result.failed()
    assert code(result, "status") == "status.ok"


def test_a_credential_on_two_lists_gets_one_status_check_per_entry() -> None:
    entries = [status_entry(), status_entry(SUSPENSION_URL, "suspension")]
    credential = sign(
        {**unsigned(), "credentialStatus": entries}, KEY, created=ISSUED, suite="eddsa-jcs-2022"
    )
    result = verify_with_lists(
        credential,
        list_credential(flagged=False),
        list_credential(SUSPENSION_URL, "suspension", flagged=True),
    )
    assert [c.code for c in result.checks if c.code.startswith("status.")] == [
        "status.ok",
        "status.suspended",
    ]


def test_a_status_list_that_is_not_available_is_unresolved() -> None:
    credential = issued(status=status_entry())
    result = verify_with_lists(credential)
    assert [c.code for c in result.failed()] == ["status.unresolved"]


def test_without_a_status_resolver_the_status_is_unresolved() -> None:
    result = verify(issued(status=status_entry()), options())
    assert [c.code for c in result.failed()] == ["status.unresolved"]


def test_a_tampered_status_list_is_unresolved() -> None:
    tampered = list_credential(flagged=False)
    flagged = list_credential(flagged=True)
    tampered["credentialSubject"]["encodedList"] = flagged["credentialSubject"]["encodedList"]
    result = verify_with_lists(issued(status=status_entry()), tampered)
    assert [c.code for c in result.failed()] == ["status.unresolved"]


def test_an_expired_status_list_is_unresolved() -> None:
    stale = list_credential(flagged=False)
    stale["validUntil"] = "2024-07-01T00:00:00Z"
    stale = add_proof(
        {k: v for k, v in stale.items() if k != "proof"},
        KEY,
        created="2024-06-01T00:00:00Z",
        loader=default_loader(),
    )
    result = verify_with_lists(issued(status=status_entry()), stale)
    assert [c.code for c in result.failed()] == ["status.unresolved"]


def test_a_list_for_another_purpose_is_a_status_failure() -> None:
    credential = issued(status=status_entry())
    result = verify_with_lists(credential, list_credential(purpose="suspension", flagged=True))
    assert [c.code for c in result.failed()] == ["status.invalid"]


def test_a_status_list_signed_by_another_key_than_its_issuers_is_unresolved() -> None:
    forged = list_credential(flagged=True, signer=OTHER, claimed_issuer=KEY)
    result = verify_with_lists(issued(status=status_entry()), forged)
    assert [c.code for c in result.failed()] == ["status.unresolved"]
