"""The W3C vc-di-eddsa test vectors (shared/specs/vc-di-eddsa/TestVectors), byte for byte.

https://www.w3.org/TR/vc-di-eddsa/#test-vectors : for eddsa-rdfc-2022 and eddsa-jcs-2022,
credstack must reproduce the key, both canonical forms, both hashes, the signature, the
proofValue and the signed proof object, and must verify every signed vector.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import credstack
from credstack.crypto.canonical import jcs, rdfc
from credstack.crypto.did import DidResolver
from credstack.crypto.keys import (
    ED25519_PRIV,
    Ed25519Key,
    ed25519_from_seed,
    key_from_json,
    multibase_decode,
    multibase_encode,
)
from credstack.crypto.loader import OfflineLoader
from credstack.crypto.proofs import ProofError, add_proof, verify_proof

from .support import (
    EDDSA_VECTORS,
    SPECS,
    read_json,
    read_text,
    requires_shared,
    skip_unless_offline,
)

pytestmark = requires_shared

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PROOF_SETS = EDDSA_VECTORS / "proof-set-chain"


@dataclass(frozen=True)
class Vector:
    """One signed vector folder: its suite, unsigned input and file-name suffix."""

    suite: str
    folder: str
    unsigned_file: str
    suffix: str

    @property
    def path(self) -> Path:
        return EDDSA_VECTORS / self.folder

    def file(self, stem: str, ext: str = "txt") -> Path:
        return self.path / f"{stem}{self.suffix}.{ext}"

    def text(self, stem: str) -> str:
        return read_text(self.file(stem))

    @property
    def unsigned(self) -> dict[str, Any]:
        return read_json(EDDSA_VECTORS / self.unsigned_file)

    @property
    def proof_config(self) -> dict[str, Any]:
        return read_json(self.file("proofConfig", "json"))

    @property
    def signed(self) -> dict[str, Any]:
        return read_json(self.file("signed", "json"))

    def canonical(self, document: dict[str, Any], loader: OfflineLoader) -> str:
        if self.suite == "eddsa-jcs-2022":
            return jcs(document).decode("utf-8")
        skip_unless_offline(document, loader)
        return rdfc(document, loader)


RDFC = Vector("eddsa-rdfc-2022", "eddsa-rdfc-2022", "unsigned.json", "DataInt")
RDFC_EMPLOYMENT = Vector(
    "eddsa-rdfc-2022", "eddsa-rdfc-2022/employ", "employmentAuth.json", "DataInt"
)
JCS = Vector("eddsa-jcs-2022", "eddsa-jcs-2022", "unsigned.json", "JCS")
VECTORS = [pytest.param(v, id=v.folder) for v in (RDFC, RDFC_EMPLOYMENT, JCS)]


@pytest.fixture(scope="module")
def key_pair() -> dict[str, Any]:
    return read_json(EDDSA_VECTORS / "keyPair.json")


@pytest.fixture(scope="module")
def vector_key(key_pair: dict[str, Any]) -> Ed25519Key:
    secret = multibase_decode(key_pair["privateKeyMultibase"])
    return ed25519_from_seed(secret[2:])


def test_the_vector_secret_key_is_a_multicodec_ed25519_seed_that_derives_the_public_key(
    key_pair: dict[str, Any], vector_key: Ed25519Key
) -> None:
    secret = multibase_decode(key_pair["privateKeyMultibase"])
    public = key_pair["publicKeyMultibase"]
    assert secret[:2] == ED25519_PRIV == bytes.fromhex("8026")
    assert len(secret) == 34
    assert vector_key.public.multibase == public
    assert vector_key.secret_multibase == key_pair["privateKeyMultibase"]
    assert vector_key.controller == f"did:key:{public}"
    assert vector_key.verification_method == f"did:key:{public}#{public}"
    assert vector_key.verification_method == RDFC.proof_config["verificationMethod"]


def test_a_key_file_holding_the_vector_key_pair_loads_as_the_same_key(
    key_pair: dict[str, Any], vector_key: Ed25519Key
) -> None:
    loaded = key_from_json(
        {
            "type": "Multikey",
            "controller": vector_key.controller,
            "publicKeyMultibase": key_pair["publicKeyMultibase"],
            "secretKeyMultibase": key_pair["privateKeyMultibase"],
        }
    )
    assert loaded == vector_key


@pytest.mark.parametrize("vector", VECTORS)
def test_credstack_canonicalizes_the_unsigned_document_exactly_as_the_vector(
    vector: Vector, loader: OfflineLoader
) -> None:
    assert vector.canonical(vector.unsigned, loader) == vector.text("canonDoc")


@pytest.mark.parametrize("vector", VECTORS)
def test_credstack_canonicalizes_the_proof_configuration_exactly_as_the_vector(
    vector: Vector, loader: OfflineLoader
) -> None:
    assert vector.canonical(vector.proof_config, loader) == vector.text("proofCanon")


@pytest.mark.parametrize("vector", VECTORS)
def test_credstack_hashes_the_canonical_forms_to_the_vector_hashes(
    vector: Vector, loader: OfflineLoader
) -> None:
    proof_hash = hashlib.sha256(vector.canonical(vector.proof_config, loader).encode()).hexdigest()
    doc_hash = hashlib.sha256(vector.canonical(vector.unsigned, loader).encode()).hexdigest()
    assert proof_hash == vector.text("proofHash")
    assert doc_hash == vector.text("docHash")
    assert proof_hash + doc_hash == vector.text("combinedHash")


@pytest.mark.parametrize("vector", VECTORS)
def test_credstack_signs_the_combined_hash_into_the_vector_signature_and_proof_value(
    vector: Vector, vector_key: Ed25519Key
) -> None:
    signature = vector_key.sign(bytes.fromhex(vector.text("combinedHash")))
    assert signature.hex() == vector.text("sigHex")
    assert multibase_encode(signature) == vector.text("sigBTC58")
    assert multibase_encode(signature) == vector.signed["proof"]["proofValue"]


@pytest.mark.parametrize("vector", VECTORS)
def test_credstack_signs_the_unsigned_document_into_the_vectors_signed_proof_object(
    vector: Vector, vector_key: Ed25519Key, loader: OfflineLoader
) -> None:
    skip_unless_offline(vector.unsigned, loader)
    config = vector.proof_config
    signed = add_proof(
        vector.unsigned, vector_key, suite=vector.suite, created=config["created"], loader=loader
    )
    expected = vector.signed
    (proof,) = signed["proof"]
    assert proof == expected["proof"]
    assert list(proof) == list(expected["proof"]), "the proof keys come in the vector's order"
    assert {k: v for k, v in signed.items() if k != "proof"} == vector.unsigned
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    assert {**options, "@context": vector.unsigned["@context"]} == config


@pytest.mark.parametrize("vector", VECTORS)
def test_every_signed_vector_verifies(vector: Vector, loader: OfflineLoader) -> None:
    signed = vector.signed
    skip_unless_offline(signed, loader)
    method = verify_proof(signed, signed["proof"], resolve=DidResolver(), loader=loader)
    assert method.id == signed["proof"]["verificationMethod"]


def test_the_signed_vectors_pass_the_full_verification_except_for_their_foreign_issuer() -> None:
    # The vectors name https://vc.example/issuers/5678 as issuer but are signed by a
    # did:key that issuer does not control: issuer.mismatch is the right verdict.
    for vector in (RDFC, JCS):
        checks = {c.code: c.ok for c in credstack.verify(vector.signed, now=NOW).checks}
        assert checks["structure.ok"] is True
        assert checks["proof.ok"] is True
        assert checks["validity.ok"] is True
        assert checks["issuer.mismatch"] is False


@pytest.mark.parametrize("name", ["signedProofSet1.json", "signedProofSet2.json"])
def test_every_proof_of_the_proof_set_vectors_verifies(name: str, loader: OfflineLoader) -> None:
    signed = read_json(PROOF_SETS / name)
    skip_unless_offline(signed, loader)
    proofs = signed["proof"] if isinstance(signed["proof"], list) else [signed["proof"]]
    key_pairs = read_json(PROOF_SETS / "multiKeyPairs.json")
    signers = [pair["publicKeyMultibase"] for pair in key_pairs.values()]
    for proof in proofs:
        method = verify_proof(signed, proof, resolve=DidResolver(), loader=loader)
        assert method.public_key.multibase in signers
    assert "proof.ok" in credstack.verify(signed, now=NOW).codes()


@pytest.mark.parametrize("name", ["signedProofChain1.json", "signedProofChain2.json"])
def test_the_proof_chain_vectors_verify(name: str) -> None:
    result = credstack.verify(read_json(PROOF_SETS / name), now=NOW)
    assert "proof.ok" in result.codes(), result.to_json()


def test_the_ed25519_signature_2020_vector_is_refused_as_an_unsupported_proof_type(
    loader: OfflineLoader,
) -> None:
    signed = read_json(EDDSA_VECTORS / "Ed25519Signature2020" / "signedEdSig.json")
    with pytest.raises(ProofError, match="Ed25519Signature2020"):
        verify_proof(signed, signed["proof"], resolve=DidResolver(), loader=loader)


def _leaves(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path


def _tamper_cases() -> list[Any]:
    cases: list[Any] = []
    if not SPECS.is_dir():
        return cases
    for vector in (RDFC, JCS):
        for path in _leaves(vector.signed):
            case_id = f"{vector.folder}:{'.'.join(map(str, path))}"
            cases.append(pytest.param(vector, path, id=case_id))
    return cases


def _tampered(document: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    value = node[path[-1]]
    if isinstance(value, str):
        node[path[-1]] = value + "x"
    elif isinstance(value, bool):
        node[path[-1]] = not value
    elif isinstance(value, int | float):
        node[path[-1]] = value + 1
    else:
        node[path[-1]] = "tampered"
    return changed


@pytest.mark.parametrize(("vector", "path"), _tamper_cases())
def test_tampering_any_field_of_a_signed_vector_makes_verify_proof_raise_proof_error(
    vector: Vector, path: tuple[str | int, ...], loader: OfflineLoader
) -> None:
    tampered = _tampered(vector.signed, path)
    with pytest.raises(ProofError):
        verify_proof(tampered, tampered["proof"], resolve=DidResolver(), loader=loader)


def test_credstack_serves_every_shared_context_document_unchanged(loader: OfflineLoader) -> None:
    folder = SPECS / "contexts"
    index = read_json(folder / "index.json")
    assert index
    for url, name in index.items():
        assert loader.document(url) == read_json(folder / name), url
