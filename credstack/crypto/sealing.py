"""Encryption at rest for signing keys: AES-256-GCM under a key derived with HKDF-SHA256.

The platform secret (``CREDSTACK_SECRET_KEY``) never encrypts anything itself: each
sealed value gets a random 16-byte salt, HKDF derives a one-off AES key from the secret,
the salt and a context label (for example the organization id), and the label is also
bound as associated data, so a sealed key cannot be moved to another organization.
Layout: ``v1`` | salt(16) | nonce(12) | ciphertext+tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from credstack.domain.errors import Invalid

VERSION = b"v1"


class SealError(Invalid):
    code = "key.unsealable"


def _key(secret: bytes, salt: bytes, label: bytes) -> bytes:
    if len(secret) < 16:
        raise SealError("the platform secret must be at least 16 bytes long")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"credstack:" + label).derive(
        secret
    )


def seal(secret: bytes, plaintext: bytes, label: bytes) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_key(secret, salt, label)).encrypt(nonce, plaintext, label)
    return VERSION + salt + nonce + sealed


def unseal(secret: bytes, blob: bytes, label: bytes) -> bytes:
    if blob[:2] != VERSION or len(blob) < 2 + 16 + 12 + 16:
        raise SealError("sealed value has an unknown format")
    salt, nonce, sealed = blob[2:18], blob[18:30], blob[30:]
    try:
        return AESGCM(_key(secret, salt, label)).decrypt(nonce, sealed, label)
    except InvalidTag as exc:
        raise SealError(
            "cannot decrypt a signing key: CREDSTACK_SECRET_KEY differs from the one "
            "it was sealed with, or the data was altered"
        ) from exc
