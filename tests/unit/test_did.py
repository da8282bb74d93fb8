"""DID documents and verification-method lookup: did:key locally, did:web from documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import credstack
from credstack.crypto.did import (
    DID_V1,
    RELATIONSHIPS,
    DidResolver,
    VerificationMethod,
    did_document,
    did_key,
    did_key_document,
    did_web,
    did_web_url,
    methods_from_document,
    resolve_did_key,
)
from credstack.crypto.keys import KeyType, ed25519_from_seed, rebind
from credstack.domain.achievements import Achievement, Criteria, Profile
from credstack.domain.credentials import RecipientDid, build_credential
from credstack.domain.errors import Invalid, InvalidKey

SEED = bytes.fromhex("c96ef9ea10c5e414c471723aff9de72c35fa5b70fae97e8832ecac7d2e2b8ed6")
W3C_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
ORG = "did:web:example.com:orgs:acme"
OLD_KEY = ed25519_from_seed(bytes(range(32)))
NEW_KEY = ed25519_from_seed(bytes(range(1, 33)))


def rotated_document() -> dict[str, Any]:
    """An org's did:web document after a key rotation: the old key stays for verification."""
    return {
        "@context": [DID_V1, "https://w3id.org/security/multikey/v1"],
        "id": ORG,
        "verificationMethod": [
            {
                "id": "#key-1",
                "type": "Multikey",
                "controller": ORG,
                "publicKeyMultibase": OLD_KEY.public.multibase,
            },
            {
                "id": f"{ORG}#key-2",
                "type": "Multikey",
                "controller": ORG,
                "publicKeyMultibase": NEW_KEY.public.multibase,
            },
            {
                "id": "#auth",
                "type": "JsonWebKey2020",
                "controller": ORG,
                "publicKeyJwk": NEW_KEY.public.jwk(),
            },
        ],
        "assertionMethod": ["#key-1", f"{ORG}#key-2"],
        "authentication": [{"id": "#auth"}],
    }


# -- did:key ----------------------------------------------------------------------------


def test_did_key_of_a_public_key_is_its_multibase_under_did_key() -> None:
    assert did_key(ed25519_from_seed(SEED).public) == W3C_DID


def test_a_did_key_document_lists_its_one_key_under_every_relationship() -> None:
    document = did_key_document(W3C_DID)
    vm_id = f"{W3C_DID}#{W3C_DID.removeprefix('did:key:')}"
    assert document["id"] == W3C_DID
    assert document["@context"][0] == DID_V1
    assert document["verificationMethod"] == [
        {
            "id": vm_id,
            "type": "Multikey",
            "controller": W3C_DID,
            "publicKeyMultibase": W3C_DID.removeprefix("did:key:"),
        }
    ]
    for relationship in RELATIONSHIPS:
        assert document[relationship] == [vm_id]


def test_a_did_key_document_parses_back_to_the_same_method() -> None:
    (method,) = methods_from_document(did_key_document(W3C_DID))
    assert method == resolve_did_key(W3C_DID)
    assert method.purposes == frozenset(RELATIONSHIPS)


def test_a_did_key_url_with_a_foreign_fragment_is_refused() -> None:
    other = ed25519_from_seed(bytes(32)).public.multibase
    with pytest.raises(InvalidKey, match="does not match"):
        resolve_did_key(f"{W3C_DID}#{other}")


def test_resolving_something_that_is_not_a_did_key_is_refused() -> None:
    with pytest.raises(Invalid, match="not a did:key"):
        resolve_did_key("did:web:example.com")


def test_an_rsa_verification_method_is_published_as_a_json_web_key() -> None:
    rsa = credstack.generate_key(rsa=True)
    method = resolve_did_key(rsa.controller)
    as_json = method.to_json()
    assert as_json["type"] == "JsonWebKey2020"
    assert as_json["publicKeyJwk"]["kty"] == "RSA"
    assert method.public_key.kind is KeyType.RSA


# -- did:web ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://example.com", "did:web:example.com"),
        ("https://example.com/", "did:web:example.com"),
        ("https://example.com:8443/orgs/acme", "did:web:example.com%3A8443:orgs:acme"),
        ("https://example.com/user/alice", "did:web:example.com:user:alice"),
    ],
)
def test_did_web_is_derived_from_an_https_url(url: str, did: str) -> None:
    assert did_web(url) == did


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:example.com%3A8443", "https://example.com:8443/.well-known/did.json"),
        (
            "did:web:example.com%3A8443:orgs:acme",
            "https://example.com:8443/orgs/acme/did.json",
        ),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
    ],
)
def test_did_web_url_says_where_the_document_lives(did: str, url: str) -> None:
    assert did_web_url(did) == url


def test_did_web_and_did_web_url_are_inverse_for_a_path_with_a_port() -> None:
    did = did_web("https://example.com:8443/orgs/acme")
    assert did_web_url(did) == "https://example.com:8443/orgs/acme/did.json"


@pytest.mark.parametrize("url", ["http://example.com", "ftp://example.com/x"])
def test_did_web_needs_https(url: str) -> None:
    with pytest.raises(Invalid, match="https"):
        did_web(url)


def test_did_web_url_refuses_another_method() -> None:
    with pytest.raises(Invalid, match="not a did:web"):
        did_web_url(W3C_DID)


# -- documents and the resolver ----------------------------------------------------------


def test_relative_method_ids_are_made_absolute_under_the_document_id() -> None:
    methods = {m.id: m for m in methods_from_document(rotated_document())}
    assert set(methods) == {f"{ORG}#key-1", f"{ORG}#key-2", f"{ORG}#auth"}
    assert methods[f"{ORG}#key-1"].public_key == OLD_KEY.public
    assert methods[f"{ORG}#key-1"].purposes == frozenset({"assertionMethod"})
    assert methods[f"{ORG}#key-2"].purposes == frozenset({"assertionMethod"})
    assert methods[f"{ORG}#auth"].purposes == frozenset({"authentication"})
    assert methods[f"{ORG}#auth"].public_key == NEW_KEY.public


def test_a_method_without_a_controller_is_controlled_by_the_document_subject() -> None:
    document = {
        "id": ORG,
        "verificationMethod": {"id": "#k", "publicKeyMultibase": OLD_KEY.public.multibase},
    }
    (method,) = methods_from_document(document)
    assert method.controller == ORG
    assert method.purposes == frozenset()


def test_a_method_without_key_material_is_skipped() -> None:
    document = {"id": ORG, "verificationMethod": [{"id": "#k", "type": "Multikey"}, "junk"]}
    assert methods_from_document(document) == []


def test_did_document_keeps_each_keys_purposes() -> None:
    old = VerificationMethod(f"{ORG}#key-1", ORG, OLD_KEY.public, frozenset({"assertionMethod"}))
    new = VerificationMethod(f"{ORG}#key-2", ORG, NEW_KEY.public)
    document = did_document(ORG, [old, new])
    assert document["assertionMethod"] == [old.id, new.id]
    assert document["authentication"] == [new.id]
    assert {m.id for m in methods_from_document(document)} == {old.id, new.id}


def test_the_resolver_finds_both_the_old_and_the_new_key_after_rotation() -> None:
    resolver = DidResolver([rotated_document()])
    old = resolver(f"{ORG}#key-1")
    new = resolver(f"{ORG}#key-2")
    assert old is not None
    assert new is not None
    assert old.public_key == OLD_KEY.public
    assert new.public_key == NEW_KEY.public
    assert resolver(f"{ORG}#key-3") is None


def test_the_resolver_resolves_did_key_without_documents() -> None:
    method = DidResolver()(f"{W3C_DID}#{W3C_DID.removeprefix('did:key:')}")
    assert method is not None
    assert method.controller == W3C_DID


def test_the_resolver_answers_none_for_a_malformed_did_key() -> None:
    assert DidResolver()("did:key:z6MkNotAKey") is None
    assert DidResolver()("did:web:unknown.example#key-1") is None


def test_a_credential_signed_with_the_rotated_out_key_still_verifies() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    old_signer = rebind(OLD_KEY, ORG, f"{ORG}#key-1")
    credential = build_credential(
        credential_id="urn:uuid:5b7c1d2e-0000-4000-8000-000000000001",
        issuer=Profile(id=ORG, name="Acme"),
        achievement=Achievement(
            id="https://example.com/achievements/1",
            name="Rotation",
            description="Survives a key rotation.",
            criteria=Criteria(narrative="Sign before the rotation."),
        ),
        recipient=RecipientDid("did:example:learner"),
        valid_from=now,
    )
    signed = credstack.sign(credential, old_signer, created=now)
    result = credstack.verify(signed, now=now, resolver=DidResolver([rotated_document()]))
    assert result.verified, result.failed()
    unresolved = credstack.verify(signed, now=now)
    assert not unresolved.verified
    assert "proof.invalid" in unresolved.codes()
