"""The 1EdTech Open Badges 3.0 and CLR 2.0 eddsa-rdfc-2022 vectors, and the OB 3.0 schema.

The vectors come from the OB implementation guide pages in
shared/specs/ob_v3p0/test-vectors-1edtech/ (credential JSON, key, hashes, signature and
proofValue) and the canonical N-Quads files beside them (STANDARDS-NOTES 1.10 and 2.2).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import credstack
from credstack.crypto.canonical import rdfc
from credstack.crypto.keys import Ed25519Key
from credstack.crypto.loader import OfflineLoader
from credstack.crypto.proofs import add_proof, unsecured, verify_proof
from credstack.domain.credentials import validate_schema

from .support import (
    GUIDE,
    OB_KEY_MULTIBASE,
    SPECS,
    GuidePage,
    controller_resolver,
    guide_page,
    ob_test_key,
    read_json,
    read_text,
    requires_shared,
)

pytestmark = requires_shared

ISSUER = "https://example.edu/issuers/565049"
CREATED = "2010-01-01T19:23:24Z"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
OB_DOC_HASH = "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773"
OB_PROOF_HASH = "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19"
OB_PROOF_VALUE = (
    "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr"
)
CLR_PROOF_VALUE = (
    "zF52sU1nfPAjcwCqtgxPNSor6SJnAzRBwZW5VNQXPt8xXCHkd39sgqj32DnMjhFCzbyHsLkhQ8HpBqQTkMgXy329"
)
NESTED_PROOF_VALUE = (
    "z45QnLySMt2mWuW787G6cf3SLkP97ZkMZxLeXH5yaaTQPCtTup4GCV95tU8HEnQJSyGCokSj3AvUhmJtvveTmN4Vu"
)
OB_EXAMPLES = sorted(
    [
        *(SPECS / "ob_v3p0").glob("example_*.json"),
        SPECS / "ob_v3p0" / "validator-fixture_complete.json",
    ]
    if SPECS.is_dir()
    else []
)


@pytest.fixture(scope="module")
def ob_page() -> GuidePage:
    return guide_page("linked-data-proof-ob.html")


@pytest.fixture(scope="module")
def clr_page() -> GuidePage:
    return guide_page("linked-data-proof-clr.html")


@pytest.fixture(scope="module")
def ob_key(ob_page: GuidePage) -> Ed25519Key:
    return ob_test_key(ob_page, ISSUER)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _proof_canon(signed: dict[str, Any], loader: OfflineLoader) -> str:
    """The canonical proof configuration of the first proof credstack added."""
    proof = signed["proof"][0]
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    return rdfc({**options, "@context": signed["@context"]}, loader)


def _only_proof(document: dict[str, Any]) -> dict[str, Any]:
    proof = document["proof"]
    (only,) = proof if isinstance(proof, list) else [proof]
    assert isinstance(only, dict)
    return only


# -- Open Badges 3.0 -------------------------------------------------------------------


def test_the_ob_page_key_is_the_published_ob_test_multikey(
    ob_page: GuidePage, ob_key: Ed25519Key
) -> None:
    assert ob_page.private_hex.endswith(ob_page.public_hex)
    assert ob_key.public.material.hex() == ob_page.public_hex
    assert ob_key.public.multibase == OB_KEY_MULTIBASE
    assert f"publicKeyMultibase: '{OB_KEY_MULTIBASE}'" in ob_page.blocks["Multikey"]
    assert ob_key.verification_method == _only_proof(ob_page.signed)["verificationMethod"]


def test_the_ob_page_signs_the_credential_it_shows(ob_page: GuidePage) -> None:
    assert unsecured(ob_page.signed) == ob_page.credential


def test_credstack_canonicalizes_the_ob_vector_document_exactly_as_1edtech(
    ob_page: GuidePage, loader: OfflineLoader
) -> None:
    canonical = rdfc(ob_page.credential, loader)
    assert canonical == read_text(GUIDE / "obv3p0" / "document-canon.txt")
    assert _sha256(canonical) == OB_DOC_HASH == ob_page.code("Document hash (hex)")


def test_credstack_canonicalizes_the_ob_proof_configuration_exactly_as_1edtech(
    ob_page: GuidePage, ob_key: Ed25519Key, loader: OfflineLoader
) -> None:
    signed = add_proof(ob_page.credential, ob_key, created=CREATED, loader=loader)
    canonical = _proof_canon(signed, loader)
    assert canonical == read_text(GUIDE / "obv3p0" / "proof-canon.txt")
    assert _sha256(canonical) == OB_PROOF_HASH == ob_page.code("Proof hash (hex)")
    assert ob_page.code("Data to sign (hex)") == OB_PROOF_HASH + OB_DOC_HASH


def test_credstack_signs_the_ob_vector_with_the_published_signature_and_proof_value(
    ob_page: GuidePage, ob_key: Ed25519Key, loader: OfflineLoader
) -> None:
    signature = ob_key.sign(bytes.fromhex(ob_page.code("Data to sign (hex)")))
    assert signature.hex() == ob_page.code("Signature (hex)")
    signed = add_proof(ob_page.credential, ob_key, created=CREATED, loader=loader)
    (proof,) = signed["proof"]
    assert proof["proofValue"] == OB_PROOF_VALUE == ob_page.code("Proof value (hex)")
    assert proof == _only_proof(ob_page.signed) == ob_page.json_block("Proof")


def test_the_signed_ob_vector_verifies_against_the_issuers_controller_document(
    ob_page: GuidePage, ob_key: Ed25519Key, loader: OfflineLoader
) -> None:
    signed = ob_page.signed
    method = verify_proof(
        signed, _only_proof(signed), resolve=controller_resolver(ob_key), loader=loader
    )
    assert method.controller == ISSUER == signed["issuer"]["id"]


def test_credstack_verify_finds_the_signed_ob_vectors_proof_and_issuer_valid(
    ob_page: GuidePage, ob_key: Ed25519Key
) -> None:
    result = credstack.verify(ob_page.signed, now=NOW, resolver=controller_resolver(ob_key))
    checks = {c.code: c.ok for c in result.checks}
    assert checks["proof.ok"]
    assert checks["issuer.ok"]
    assert checks["validity.ok"]


def test_credstack_verify_accepts_the_1edtech_signed_ob_vector_whose_proof_is_one_object(
    ob_page: GuidePage, ob_key: Ed25519Key
) -> None:
    result = credstack.verify(ob_page.signed, now=NOW, resolver=controller_resolver(ob_key))
    assert result.verified, result.to_json()


# -- CLR 2.0 ---------------------------------------------------------------------------


def test_credstack_canonicalizes_the_clr_vector_document_exactly_as_1edtech(
    clr_page: GuidePage, loader: OfflineLoader
) -> None:
    canonical = rdfc(clr_page.credential, loader)
    expected = read_text(GUIDE / "clrv2p0" / "document-canon.txt")
    assert canonical == expected
    assert len(canonical.splitlines()) == 49
    assert _sha256(canonical) == clr_page.code("Document hash (hex)")


def test_credstack_canonicalizes_the_clr_proof_configuration_exactly_as_1edtech(
    clr_page: GuidePage, ob_key: Ed25519Key, loader: OfflineLoader
) -> None:
    signed = add_proof(clr_page.credential, ob_key, created=CREATED, loader=loader)
    canonical = _proof_canon(signed, loader)
    assert canonical == read_text(GUIDE / "clrv2p0" / "proof-canon.txt")
    assert _sha256(canonical) == clr_page.code("Proof hash (hex)")


def test_credstack_signs_the_clr_vector_with_the_published_outer_proof_value(
    clr_page: GuidePage, ob_key: Ed25519Key, loader: OfflineLoader
) -> None:
    signature = ob_key.sign(bytes.fromhex(clr_page.code("Data to sign (hex)")))
    assert signature.hex() == clr_page.code("Signature (hex)")
    signed = add_proof(clr_page.credential, ob_key, created=CREATED, loader=loader)
    (proof,) = signed["proof"]
    assert proof["proofValue"] == CLR_PROOF_VALUE == clr_page.code("Proof value (hex)")
    assert proof == _only_proof(clr_page.signed)
    assert unsecured(signed) == unsecured(clr_page.signed) == clr_page.credential


def test_credstack_signs_the_nested_achievement_credential_with_its_published_proof_value(
    clr_page: GuidePage, ob_key: Ed25519Key, loader: OfflineLoader
) -> None:
    nested = clr_page.credential["credentialSubject"]["verifiableCredential"]
    if not nested:
        pytest.skip("the CLR page holds no nested credential")
    inner = nested[0]
    signed = add_proof(unsecured(inner), ob_key, created=CREATED, loader=loader)
    assert signed["proof"][0]["proofValue"] == NESTED_PROOF_VALUE
    assert signed["proof"] == inner["proof"]


def test_the_signed_clr_vector_and_its_nested_credential_verify(
    clr_page: GuidePage, ob_key: Ed25519Key, loader: OfflineLoader
) -> None:
    resolve = controller_resolver(ob_key)
    signed = clr_page.signed
    inner = signed["credentialSubject"]["verifiableCredential"][0]
    for document in (signed, inner):
        verify_proof(document, _only_proof(document), resolve=resolve, loader=loader)
    result = credstack.verify(signed, now=NOW, resolver=resolve)
    assert result.verified, result.to_json()


def test_the_clr_outer_proof_covers_the_nested_proof_value(
    clr_page: GuidePage, ob_key: Ed25519Key, loader: OfflineLoader
) -> None:
    # VC v2 declares `proof` as an @graph container: the nested proof is in the outer dataset.
    tampered = copy.deepcopy(clr_page.signed)
    inner_proof = tampered["credentialSubject"]["verifiableCredential"][0]["proof"][0]
    inner_proof["proofValue"] = inner_proof["proofValue"][:-1] + "1"
    result = credstack.verify(tampered, now=NOW, resolver=controller_resolver(ob_key))
    assert "proof.invalid" in result.codes()


# -- OB 3.0 JSON Schema ----------------------------------------------------------------


def _minimal_spec_sample() -> dict[str, Any]:
    """The minimal OpenBadgeCredential quoted in STANDARDS-NOTES 1.1 (OB docformat sample)."""
    notes = read_text(SPECS / "STANDARDS-NOTES.md")
    section = notes.split("### 1.1 ", 1)[1].split("### 1.2 ", 1)[0]
    match = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert match, "STANDARDS-NOTES 1.1 holds no JSON sample"
    value = json.loads(match.group(1))
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("path", OB_EXAMPLES, ids=lambda p: Path(p).name)
def test_the_published_ob_examples_pass_the_strict_ob_schema(path: Path) -> None:
    assert validate_schema(read_json(path)) == []


def test_the_minimal_spec_sample_passes_the_strict_ob_schema() -> None:
    sample = _minimal_spec_sample()
    assert sample["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert validate_schema(sample) == []


def test_the_strict_ob_schema_reports_a_type_given_as_a_plain_string() -> None:
    sample = _minimal_spec_sample()
    sample["type"] = "OpenBadgeCredential"
    problems = validate_schema(sample)
    assert problems
    assert any(p.startswith("type") for p in problems), problems


def test_the_strict_ob_schema_reports_the_1edtech_vectors_single_proof_object(
    ob_page: GuidePage,
) -> None:
    # STANDARDS-NOTES 1.8: the 2024 schema demands arrays; the guide's vector has an object.
    problems = validate_schema(ob_page.signed)
    assert len(problems) == 1
    assert problems[0].startswith("proof: ")
    as_array = {**ob_page.signed, "proof": [ob_page.signed["proof"]]}
    assert validate_schema(as_array) == []
