"""Signing keys: seeds, did:key identifiers, key files (mode 0600) and JWK conversion."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from credstack.crypto.did import resolve_did_key
from credstack.crypto.keys import (
    Ed25519Key,
    KeyType,
    PublicKey,
    RsaKey,
    ed25519_from_seed,
    generate_ed25519,
    generate_rsa,
    key_from_json,
    key_to_json,
    multibase_decode,
    read_key_file,
    rebind,
    write_key_file,
)
from credstack.domain.errors import InvalidKey

# did:key test vector (W3C CCG did:key spec / vc-di-eddsa test vectors).
W3C_SEED = bytes.fromhex("c96ef9ea10c5e414c471723aff9de72c35fa5b70fae97e8832ecac7d2e2b8ed6")
W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"


@pytest.fixture(scope="module")
def rsa_key() -> RsaKey:
    return generate_rsa()


@pytest.fixture(scope="module")
def other_rsa_key() -> RsaKey:
    return generate_rsa()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- seeds and did:key ----------------------------------------------------------------


def test_the_w3c_seed_gives_the_w3c_did_key_and_secret() -> None:
    key = ed25519_from_seed(W3C_SEED)
    assert key.public.multibase == W3C_PUBLIC
    assert key.controller == f"did:key:{W3C_PUBLIC}"
    assert key.verification_method == f"did:key:{W3C_PUBLIC}#{W3C_PUBLIC}"
    assert key.secret_multibase == W3C_SECRET


def test_a_seed_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidKey, match="32 bytes, not 31"):
        ed25519_from_seed(bytes(31))


def test_the_same_seed_always_gives_the_same_signature() -> None:
    first = ed25519_from_seed(W3C_SEED).sign(b"message")
    second = ed25519_from_seed(W3C_SEED).sign(b"message")
    assert first == second
    assert len(first) == 64


def test_an_ed25519_signature_verifies_only_for_its_message() -> None:
    key = ed25519_from_seed(W3C_SEED)
    signature = key.sign(b"message")
    assert key.public.verify(signature, b"message")
    assert not key.public.verify(signature, b"messagE")
    assert not generate_ed25519().public.verify(signature, b"message")


def test_an_rsa_signature_verifies_only_for_its_message(rsa_key: RsaKey) -> None:
    signature = rsa_key.sign(b"message")
    assert rsa_key.public.algorithm == "RS256"
    assert rsa_key.public.verify(signature, b"message")
    assert not rsa_key.public.verify(signature, b"other message")


def test_an_rsa_did_key_round_trips_to_the_same_public_key(rsa_key: RsaKey) -> None:
    assert rsa_key.controller.startswith("did:key:z4MX")
    method = resolve_did_key(rsa_key.verification_method)
    assert method.public_key == rsa_key.public
    assert method.public_key.kind is KeyType.RSA
    assert method.controller == rsa_key.controller
    assert PublicKey.from_multibase(rsa_key.public.multibase) == rsa_key.public


def test_a_multikey_with_an_unknown_codec_is_refused() -> None:
    with pytest.raises(InvalidKey, match="unsupported multikey"):
        PublicKey.from_multibase(W3C_SECRET)


def test_rebinding_keeps_the_key_material_under_a_new_controller() -> None:
    key = ed25519_from_seed(W3C_SEED)
    bound = rebind(key, "did:web:example.com", "did:web:example.com#key-1")
    assert isinstance(bound, Ed25519Key)
    assert bound.controller == "did:web:example.com"
    assert bound.verification_method == "did:web:example.com#key-1"
    assert bound.sign(b"x") == key.sign(b"x")


# -- JWK --------------------------------------------------------------------------------


def test_an_ed25519_public_key_converts_to_an_okp_jwk_and_back() -> None:
    public = ed25519_from_seed(W3C_SEED).public
    jwk = public.jwk()
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    assert "d" not in jwk
    assert multibase_decode(W3C_PUBLIC)[2:] == public.material
    assert PublicKey.from_jwk(jwk) == public


def test_an_rsa_public_key_converts_to_an_rsa_jwk_and_back(rsa_key: RsaKey) -> None:
    jwk = rsa_key.public.jwk()
    assert jwk["kty"] == "RSA"
    assert jwk["e"] == "AQAB"
    assert PublicKey.from_jwk(jwk) == rsa_key.public


def test_a_jwk_with_a_private_member_is_refused_as_a_public_key() -> None:
    jwk = {**ed25519_from_seed(W3C_SEED).public.jwk(), "d": "secret"}
    with pytest.raises(InvalidKey, match="'d'"):
        PublicKey.from_jwk(jwk)


def test_a_jwk_of_an_unsupported_kind_is_refused() -> None:
    with pytest.raises(InvalidKey, match="unsupported JWK"):
        PublicKey.from_jwk({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})


def test_a_jwk_missing_a_member_is_refused_naming_it() -> None:
    with pytest.raises(InvalidKey, match="'n'"):
        PublicKey.from_jwk({"kty": "RSA", "e": "AQAB"})


# -- key files --------------------------------------------------------------------------


def test_an_ed25519_key_file_round_trips(tmp_path: Path) -> None:
    key = ed25519_from_seed(W3C_SEED)
    path = tmp_path / "key.json"
    write_key_file(path, key)
    assert read_key_file(path) == key
    data = json.loads(path.read_text("utf-8"))
    assert data["type"] == "Multikey"
    assert data["publicKeyMultibase"] == W3C_PUBLIC
    assert data["secretKeyMultibase"] == W3C_SECRET


def test_an_rsa_key_file_round_trips(tmp_path: Path, rsa_key: RsaKey) -> None:
    path = tmp_path / "rsa.json"
    write_key_file(path, rsa_key)
    loaded = read_key_file(path)
    assert loaded == rsa_key
    assert loaded.sign(b"data") == rsa_key.sign(b"data")
    assert json.loads(path.read_text("utf-8"))["type"] == "JsonWebKey"


def test_a_rebound_key_file_keeps_its_controller_and_key_id(tmp_path: Path) -> None:
    key = rebind(ed25519_from_seed(W3C_SEED), "did:web:example.com", "did:web:example.com#k1")
    path = tmp_path / "key.json"
    write_key_file(path, key)
    loaded = read_key_file(path)
    assert loaded.controller == "did:web:example.com"
    assert loaded.verification_method == "did:web:example.com#k1"


def test_a_key_file_is_written_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    write_key_file(path, generate_ed25519())
    assert mode_of(path) == 0o600


def test_a_key_file_that_existed_with_mode_0644_ends_up_0600(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text("old contents that are much longer than any key file would ever be " * 20)
    path.chmod(0o644)
    key = ed25519_from_seed(W3C_SEED)
    write_key_file(path, key)
    assert mode_of(path) == 0o600
    assert read_key_file(path) == key


def _ed25519_file_data() -> dict[str, Any]:
    return key_to_json(ed25519_from_seed(W3C_SEED))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("controller"), "lacks 'controller'"),
        (lambda d: d.pop("secretKeyMultibase"), "lacks 'secretKeyMultibase'"),
        (lambda d: d.update(type="Ed25519VerificationKey2020"), "unknown key type"),
        (lambda d: d.update(secretKeyMultibase=12345), "must use base58btc"),
        (lambda d: d.update(secretKeyMultibase="z0OIl"), "not valid base58btc"),
        (lambda d: d.update(secretKeyMultibase="uAAAA"), "must use base58btc"),
        (lambda d: d.update(secretKeyMultibase=W3C_PUBLIC), "not an Ed25519 secret key"),
        (
            lambda d: d.update(publicKeyMultibase=generate_ed25519().public.multibase),
            "does not match",
        ),
    ],
    ids=[
        "missing-controller",
        "missing-secret",
        "unknown-type",
        "secret-not-a-string",
        "bad-base58",
        "not-base58btc",
        "public-key-as-secret",
        "public-secret-mismatch",
    ],
)
def test_a_malformed_ed25519_key_file_raises_invalid_key_naming_the_problem(
    tmp_path: Path, change: Any, message: str
) -> None:
    data = _ed25519_file_data()
    change(data)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(InvalidKey, match=message):
        read_key_file(path)


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "malformed"),
        ("not a pem at all", "malformed"),
    ],
)
def test_a_malformed_rsa_key_file_raises_invalid_key(
    tmp_path: Path, rsa_key: RsaKey, pem: str, message: str
) -> None:
    data = {**key_to_json(rsa_key), "privateKeyPem": pem}
    path = tmp_path / "rsa.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(InvalidKey, match=message):
        read_key_file(path)


def test_an_rsa_key_file_without_its_private_key_names_the_missing_field(
    rsa_key: RsaKey,
) -> None:
    data = key_to_json(rsa_key)
    del data["privateKeyPem"]
    with pytest.raises(InvalidKey, match="lacks 'privateKeyPem'"):
        key_from_json(data)


def test_a_key_file_that_is_not_json_raises_invalid_key(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(InvalidKey, match="is not JSON"):
        read_key_file(path)


def test_a_key_file_holding_a_json_array_raises_invalid_key(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text("[]", "utf-8")
    with pytest.raises(InvalidKey, match="must hold a JSON object"):
        read_key_file(path)


def test_a_missing_key_file_raises_invalid_key_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(InvalidKey, match=r"absent\.json"):
        read_key_file(path)


def test_an_rsa_key_file_whose_public_jwk_does_not_match_its_private_key_is_refused(
    rsa_key: RsaKey, other_rsa_key: RsaKey
) -> None:
    data = {**key_to_json(rsa_key), "publicKeyJwk": other_rsa_key.public.jwk()}
    with pytest.raises(InvalidKey, match="does not match"):
        key_from_json(data)


def test_a_key_file_whose_controller_is_not_a_string_is_refused() -> None:
    data = {**_ed25519_file_data(), "controller": None}
    with pytest.raises(InvalidKey, match="controller"):
        key_from_json(data)
