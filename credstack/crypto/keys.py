"""Signing keys: Ed25519 (Multikey) and RSA (for RS256 VC-JWT), and their key files.

Ed25519 goes through libsodium (PyNaCl); RSA through ``cryptography``. Multikey encoding
follows https://www.w3.org/TR/cid-1.0/#Multikey and
https://www.w3.org/TR/vc-di-eddsa/#multikey : ``z`` + base58btc(multicodec || key).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

import nacl.bindings
import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from credstack.domain.errors import InvalidKey

ED25519_PUB = b"\xed\x01"
ED25519_PRIV = b"\x80\x26"
RSA_PUB = b"\x85\x24"


class KeyType(StrEnum):
    ED25519 = "Ed25519"
    RSA = "RSA"


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_DIGITS = bytes.maketrans(
    _B58.encode("ascii") + bytes(c for c in range(256) if chr(c) not in _B58),
    bytes(range(58)) + b"\xff" * (256 - 58),
)


def multibase_encode(data: bytes) -> str:
    return "z" + _b58encode(data)


def multibase_decode(text: str) -> bytes:
    if not text.startswith("z"):
        raise InvalidKey(f"multibase value {text[:12]!r}… must use base58btc (prefix 'z')")
    try:
        return _b58decode(text[1:])
    except ValueError as exc:
        raise InvalidKey(f"multibase value {text[:12]!r}… is not valid base58btc") from exc


def _b58encode(data: bytes) -> str:
    """Bitcoin base58, as ``base58.b58encode`` (property-tested against it), only faster."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(_B58[digit])
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + "".join(reversed(digits))


def _b58decode(text: str) -> bytes:
    """Bitcoin base58, as ``base58.b58decode`` (trailing whitespace ignored); ValueError."""
    encoded = text.rstrip().encode("ascii")
    digits = encoded.translate(_B58_DIGITS)
    if b"\xff" in digits:
        raise ValueError("not a base58 character")
    number = 0
    for digit in digits:
        number = number * 58 + digit
    zeros = len(encoded) - len(encoded.lstrip(b"1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key that can check a signature; ``material`` is raw (Ed25519) or DER."""

    kind: KeyType
    material: bytes

    @property
    def multibase(self) -> str:
        if self.kind is KeyType.ED25519:
            return multibase_encode(ED25519_PUB + self.material)
        return multibase_encode(RSA_PUB + rsa_pkcs1(self))

    @property
    def algorithm(self) -> str:
        return "EdDSA" if self.kind is KeyType.ED25519 else "RS256"

    def verify(self, signature: bytes, data: bytes) -> bool:
        if self.kind is KeyType.ED25519:
            try:
                nacl.signing.VerifyKey(self.material).verify(data, signature)
            except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
                return False
            return True
        public = serialization.load_der_public_key(self.material)
        if not isinstance(public, rsa.RSAPublicKey):
            return False
        try:
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    def jwk(self) -> dict[str, str]:
        if self.kind is KeyType.ED25519:
            return {"kty": "OKP", "crv": "Ed25519", "x": b64url(self.material)}
        numbers = _rsa_public(self.material).public_numbers()
        return {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}

    @classmethod
    def from_multibase(cls, text: str) -> PublicKey:
        raw = multibase_decode(text)
        if raw[:2] == ED25519_PUB and len(raw) == 34:
            return cls(KeyType.ED25519, raw[2:])
        if raw[:2] == RSA_PUB:
            der = _rsa_public(raw[2:], pkcs1=True).public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return cls(KeyType.RSA, der)
        raise InvalidKey(f"unsupported multikey {text[:12]!r}… (expected Ed25519 z6Mk… or RSA)")

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublicKey:
        if "d" in jwk:
            raise InvalidKey("a public JWK must not contain the private member 'd'")
        try:
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
                return cls(KeyType.ED25519, b64url_decode(str(jwk["x"])))
            if jwk.get("kty") == "RSA":
                n = int.from_bytes(b64url_decode(str(jwk["n"])), "big")
                e = int.from_bytes(b64url_decode(str(jwk["e"])), "big")
                der = (
                    rsa.RSAPublicNumbers(e, n)
                    .public_key()
                    .public_bytes(
                        serialization.Encoding.DER,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    )
                )
                return cls(KeyType.RSA, der)
        except (KeyError, ValueError) as exc:
            raise InvalidKey(f"malformed JWK: {exc}") from exc
        raise InvalidKey("unsupported JWK (expected OKP/Ed25519 or RSA)")


class SigningKey(Protocol):
    """What a proof suite needs from a private key."""

    @property
    def public(self) -> PublicKey: ...

    @property
    def controller(self) -> str: ...

    @property
    def verification_method(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Ed25519Key:
    """An Ed25519 key pair bound to a controller (a DID or an HTTPS issuer id)."""

    seed: bytes = field(repr=False)
    controller: str
    verification_method: str
    public: PublicKey
    # libsodium's expanded secret key, derived from the seed on first use.
    _secret: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def sign(self, data: bytes) -> bytes:
        secret = self._secret
        if secret is None:
            secret = nacl.bindings.crypto_sign_seed_keypair(self.seed)[1]
            object.__setattr__(self, "_secret", secret)
        signed = nacl.bindings.crypto_sign(data, secret)
        return bytes(signed[: nacl.bindings.crypto_sign_BYTES])

    @property
    def secret_multibase(self) -> str:
        return multibase_encode(ED25519_PRIV + self.seed)


@dataclass(frozen=True, slots=True)
class RsaKey:
    """An RSA key pair (RS256), for issuers that need the VC-JWT minimum algorithm."""

    der: bytes = field(repr=False)
    controller: str
    verification_method: str
    public: PublicKey

    def sign(self, data: bytes) -> bytes:
        private = serialization.load_der_private_key(self.der, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise InvalidKey("not an RSA private key")
        return private.sign(data, padding.PKCS1v15(), hashes.SHA256())


Key = Ed25519Key | RsaKey


def ed25519_from_seed(seed: bytes, controller: str | None = None, key_id: str = "") -> Ed25519Key:
    """An Ed25519 key from its 32-byte seed; by default controlled by its own did:key."""
    if len(seed) != 32:
        raise InvalidKey(f"an Ed25519 seed has 32 bytes, not {len(seed)}")
    public = PublicKey(KeyType.ED25519, bytes(nacl.signing.SigningKey(seed).verify_key))
    return _bind(Ed25519Key, seed, public, controller, key_id)


def generate_ed25519(controller: str | None = None) -> Ed25519Key:
    return ed25519_from_seed(os.urandom(32), controller)


def generate_rsa(controller: str | None = None, bits: int = 2048) -> RsaKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _rsa_key(private, controller, "")


def _rsa_key(private: rsa.RSAPrivateKey, controller: str | None, key_id: str) -> RsaKey:
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _bind(RsaKey, der, PublicKey(KeyType.RSA, public_der), controller, key_id)


K = TypeVar("K", Ed25519Key, RsaKey)


def _bind(cls: type[K], secret: bytes, public: PublicKey, controller: str | None, key_id: str) -> K:
    fragment = public.multibase
    owner = controller or f"did:key:{fragment}"
    vm = key_id or f"{owner}#{fragment}"
    return cls(secret, owner, vm, public)


def rebind(key: Key, controller: str, key_id: str = "") -> Key:
    """The same key material under another controller (for example an org's did:web)."""
    vm = key_id or f"{controller}#{key.public.multibase}"
    if isinstance(key, Ed25519Key):
        return Ed25519Key(key.seed, controller, vm, key.public)
    return RsaKey(key.der, controller, vm, key.public)


def key_to_json(key: Key) -> dict[str, Any]:
    """The key file form: a verification method plus its secret."""
    base = {"id": key.verification_method, "controller": key.controller}
    if isinstance(key, Ed25519Key):
        return {
            **base,
            "type": "Multikey",
            "publicKeyMultibase": key.public.multibase,
            "secretKeyMultibase": key.secret_multibase,
        }
    private = serialization.load_der_private_key(key.der, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        **base,
        "type": "JsonWebKey",
        "publicKeyJwk": key.public.jwk(),
        "privateKeyPem": pem.decode("ascii"),
    }


def key_from_json(data: Mapping[str, Any]) -> Key:
    """Parse a key file; raises InvalidKey naming what is wrong."""
    try:
        controller = data["controller"]
        key_id = data.get("id") or ""
        if not isinstance(controller, str) or not isinstance(key_id, str):
            raise InvalidKey("key file: 'controller' and 'id' must be strings")
        if data.get("type") == "Multikey":
            secret = multibase_decode(str(data["secretKeyMultibase"]))
            if secret[:2] != ED25519_PRIV or len(secret) != 34:
                raise InvalidKey("secretKeyMultibase is not an Ed25519 secret key (z3u2…)")
            key = ed25519_from_seed(secret[2:], controller, key_id)
            stated = data.get("publicKeyMultibase")
            if stated and stated != key.public.multibase:
                raise InvalidKey("publicKeyMultibase does not match secretKeyMultibase")
            return key
        if data.get("type") == "JsonWebKey":
            private = serialization.load_pem_private_key(
                str(data["privateKeyPem"]).encode(), password=None
            )
            if not isinstance(private, rsa.RSAPrivateKey):
                raise InvalidKey("privateKeyPem is not an RSA key")
            rsa_key = _rsa_key(private, controller, key_id)
            stated_jwk = data.get("publicKeyJwk")
            if stated_jwk is not None and PublicKey.from_jwk(stated_jwk) != rsa_key.public:
                raise InvalidKey("publicKeyJwk does not match privateKeyPem")
            return rsa_key
    except KeyError as exc:
        raise InvalidKey(f"key file lacks {exc.args[0]!r}") from exc
    except (ValueError, TypeError) as exc:
        raise InvalidKey(f"key file is malformed: {exc}") from exc
    raise InvalidKey(f"unknown key type {data.get('type')!r} (expected Multikey or JsonWebKey)")


def write_key_file(path: Path, key: Key) -> None:
    """Write the key as JSON with mode 0600 (created that way, never world-readable)."""
    text = json.dumps(key_to_json(key), indent=2) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def read_key_file(path: Path) -> Key:
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise InvalidKey(f"cannot read key file {str(path)!r}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidKey(f"key file {str(path)!r} is not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise InvalidKey(f"key file {str(path)!r} must hold a JSON object")
    return key_from_json(data)


def _rsa_public(material: bytes, *, pkcs1: bool = False) -> rsa.RSAPublicKey:
    try:
        if pkcs1:
            loaded = serialization.load_der_public_key(_pkcs1_to_spki(material))
        else:
            loaded = serialization.load_der_public_key(material)
    except ValueError as exc:
        raise InvalidKey("malformed RSA public key") from exc
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise InvalidKey("not an RSA public key")
    return loaded


def rsa_pkcs1(public: PublicKey) -> bytes:
    """PKCS#1 DER of an RSA public key (the did:key form)."""
    return _rsa_public(public.material).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )


def _pkcs1_to_spki(pkcs1: bytes) -> bytes:
    # AlgorithmIdentifier rsaEncryption with NULL parameters, then the key as a BIT STRING.
    algorithm = bytes.fromhex("300d06092a864886f70d0101010500")
    bit_string = b"\x03" + _der_length(len(pkcs1) + 1) + b"\x00" + pkcs1
    body = algorithm + bit_string
    return b"\x30" + _der_length(len(body)) + body


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))
