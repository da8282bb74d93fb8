"""Data Integrity proofs: eddsa-rdfc-2022 and eddsa-jcs-2022, proof sets and refusals."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from credstack.crypto.did import DID_V1, DidResolver
from credstack.crypto.keys import Ed25519Key, ed25519_from_seed, generate_rsa, rebind
from credstack.crypto.loader import default_loader
from credstack.crypto.proofs import (
    DEFAULT_SUITES,
    PROOF_TYPE,
    SUITES,
    ProofError,
    add_proof,
    proofs_of,
    unsecured,
    verify_proof,
)
from credstack.domain.errors import Invalid, InvalidKey, UndefinedTerm

VC_V2 = "https://www.w3.org/ns/credentials/v2"
CREATED = "2025-01-01T00:00:00Z"
SUITE_NAMES = sorted(SUITES)
KEY = ed25519_from_seed(bytes.fromhex("9b" * 32))
SECOND = ed25519_from_seed(bytes.fromhex("7e" * 32))
RESOLVE = DidResolver()


def document(issuer: str = KEY.controller) -> dict[str, Any]:
    return {
        "@context": [VC_V2],
        "id": "urn:uuid:0b4f3c33-0000-4000-8000-000000000001",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "Ada Lovelace"},
    }


def signed(suite: str, key: Ed25519Key = KEY, **options: Any) -> dict[str, Any]:
    return add_proof(
        document(), key, suite=suite, created=CREATED, loader=default_loader(), **options
    )


def check(doc: dict[str, Any], proof: Any, **options: Any) -> Any:
    return verify_proof(doc, proof, resolve=RESOLVE, loader=default_loader(), **options)


def test_both_suites_are_registered_and_allowed_by_default() -> None:
    assert SUITE_NAMES == ["eddsa-jcs-2022", "eddsa-rdfc-2022"]
    assert frozenset(SUITE_NAMES) == DEFAULT_SUITES


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_a_signed_document_verifies_with_the_signing_key(suite: str) -> None:
    secured = signed(suite)
    (proof,) = proofs_of(secured)
    assert proof["type"] == PROOF_TYPE
    assert proof["cryptosuite"] == suite
    assert proof["created"] == CREATED
    assert proof["verificationMethod"] == KEY.verification_method
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z")
    method = check(secured, proof)
    assert method.id == KEY.verification_method
    assert method.controller == KEY.controller


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_signing_is_deterministic_for_a_fixed_created_time(suite: str) -> None:
    assert signed(suite) == signed(suite)


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_adding_a_proof_leaves_the_input_document_unchanged(suite: str) -> None:
    original = document()
    before = copy.deepcopy(original)
    add_proof(original, KEY, suite=suite, created=CREATED, loader=default_loader())
    assert original == before
    assert unsecured(signed(suite)) == before


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_a_changed_value_breaks_the_signature(suite: str) -> None:
    secured = signed(suite)
    secured["credentialSubject"]["name"] = "Charles Babbage"
    with pytest.raises(ProofError, match="does not match"):
        check(secured, proofs_of(secured)[0])


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_a_changed_proof_option_breaks_the_signature(suite: str) -> None:
    secured = signed(suite)
    proof = {**proofs_of(secured)[0], "created": "2030-01-01T00:00:00Z"}
    with pytest.raises(ProofError, match="does not match"):
        check(secured, proof)


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_a_proof_set_of_two_keys_verifies_each_proof(suite: str) -> None:
    both = add_proof(signed(suite), SECOND, suite=suite, created=CREATED, loader=default_loader())
    first, second = proofs_of(both)
    assert check(both, first).id == KEY.verification_method
    assert check(both, second).id == SECOND.verification_method


def test_a_proof_set_may_mix_the_two_suites() -> None:
    both = add_proof(
        signed("eddsa-rdfc-2022"),
        SECOND,
        suite="eddsa-jcs-2022",
        created=CREATED,
        loader=default_loader(),
    )
    assert [p["cryptosuite"] for p in proofs_of(both)] == ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
    for proof in proofs_of(both):
        check(both, proof)


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_tampering_one_proof_of_a_set_fails_that_proof_only(suite: str) -> None:
    both = add_proof(signed(suite), SECOND, suite=suite, created=CREATED, loader=default_loader())
    both["proof"][1] = {**both["proof"][1], "proofValue": both["proof"][0]["proofValue"]}
    first, second = proofs_of(both)
    check(both, first)
    with pytest.raises(ProofError, match="does not match"):
        check(both, second)


def test_a_suite_outside_the_allow_list_is_refused() -> None:
    secured = signed("eddsa-jcs-2022")
    with pytest.raises(ProofError, match="not among the allowed"):
        check(secured, proofs_of(secured)[0], allowed=frozenset({"eddsa-rdfc-2022"}))


def test_an_unknown_suite_cannot_sign() -> None:
    with pytest.raises(Invalid, match="unknown proof suite"):
        add_proof(
            document(), KEY, suite="ecdsa-rdfc-2019", created=CREATED, loader=default_loader()
        )


def test_a_proof_of_another_type_is_refused() -> None:
    secured = signed("eddsa-rdfc-2022")
    proof = {**proofs_of(secured)[0], "type": "Ed25519Signature2020"}
    with pytest.raises(ProofError, match="not supported"):
        check(secured, proof)


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_a_proof_for_another_purpose_is_refused(suite: str) -> None:
    secured = signed(suite, proof_purpose="authentication")
    proof = proofs_of(secured)[0]
    with pytest.raises(ProofError, match="proofPurpose is 'authentication'"):
        check(secured, proof)
    assert check(secured, proof, purpose="authentication").id == KEY.verification_method


def test_a_key_not_authorised_for_assertions_is_refused() -> None:
    did = "did:web:example.com"
    signer = rebind(KEY, did, f"{did}#auth-only")
    resolver = DidResolver(
        [
            {
                "@context": [DID_V1],
                "id": did,
                "verificationMethod": [
                    {"id": "#auth-only", "publicKeyMultibase": KEY.public.multibase}
                ],
                "authentication": ["#auth-only"],
            }
        ]
    )
    secured = add_proof(
        document(did), signer, suite="eddsa-rdfc-2022", created=CREATED, loader=default_loader()
    )
    with pytest.raises(ProofError, match="not authorised for assertionMethod"):
        verify_proof(secured, proofs_of(secured)[0], resolve=resolver, loader=default_loader())


def test_a_verification_method_that_cannot_be_resolved_is_refused() -> None:
    did = "did:web:unknown.example"
    signer = rebind(KEY, did, f"{did}#key-1")
    secured = add_proof(
        document(did), signer, suite="eddsa-rdfc-2022", created=CREATED, loader=default_loader()
    )
    with pytest.raises(ProofError, match="cannot be resolved offline"):
        check(secured, proofs_of(secured)[0])


def test_a_proof_naming_no_verification_method_is_refused() -> None:
    secured = signed("eddsa-rdfc-2022")
    proof = dict(proofs_of(secured)[0])
    del proof["verificationMethod"]
    with pytest.raises(ProofError, match="no verificationMethod"):
        check(secured, proof)


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_an_rsa_key_cannot_sign_an_eddsa_proof(suite: str) -> None:
    rsa = generate_rsa()
    with pytest.raises(InvalidKey, match="Ed25519"):
        add_proof(
            document(rsa.controller), rsa, suite=suite, created=CREATED, loader=default_loader()
        )


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_a_proof_without_proof_value_is_refused(suite: str) -> None:
    secured = signed(suite)
    proof = dict(proofs_of(secured)[0])
    del proof["proofValue"]
    with pytest.raises(ProofError, match="no proofValue"):
        check(secured, proof)


@pytest.mark.parametrize("value", ["uAAECAwQ", "z0OIl", "not multibase"])
@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_a_proof_value_that_is_not_base58btc_multibase_is_refused(suite: str, value: str) -> None:
    secured = signed(suite)
    proof = {**proofs_of(secured)[0], "proofValue": value}
    with pytest.raises(ProofError, match="not base58btc multibase"):
        check(secured, proof)


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_an_undefined_term_is_refused_when_signing(suite: str) -> None:
    doc = document()
    doc["credentialSubject"]["nickname"] = "Ada"
    with pytest.raises(UndefinedTerm, match="nickname"):
        add_proof(doc, KEY, suite=suite, created=CREATED, loader=default_loader())


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_an_undefined_term_added_after_signing_is_reported_as_such(suite: str) -> None:
    secured = signed(suite)
    secured["credentialSubject"]["nickname"] = "Ada"
    with pytest.raises(UndefinedTerm, match="nickname"):
        check(secured, proofs_of(secured)[0])


def test_a_jcs_proof_whose_context_does_not_start_the_documents_is_refused() -> None:
    secured = signed("eddsa-jcs-2022")
    proof = {**proofs_of(secured)[0], "@context": ["https://www.w3.org/ns/credentials/examples/v2"]}
    with pytest.raises(ProofError, match="@context"):
        check(secured, proof)


def test_a_single_proof_object_is_read_like_a_one_item_proof_set() -> None:
    secured = signed("eddsa-rdfc-2022")
    secured["proof"] = secured["proof"][0]
    (proof,) = proofs_of(secured)
    assert check(secured, proof).id == KEY.verification_method
