"""credstack: stackable micro-credentials on Open Badges 3.0 and W3C VC 2.0.

The library facade. Everything here takes the world as arguments; the clock is read
only when a caller leaves ``created``/``now`` out.

>>> import credstack
>>> key = credstack.generate_key(seed=bytes(32))
>>> key.controller
'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from credstack.crypto.did import DidResolver, did_key, did_web
from credstack.crypto.keys import (
    Key,
    ed25519_from_seed,
    generate_ed25519,
    generate_rsa,
    read_key_file,
    write_key_file,
)
from credstack.crypto.loader import default_loader
from credstack.crypto.proofs import DEFAULT_SUITES
from credstack.domain import baking
from credstack.domain.achievements import Achievement, Alignment, Criteria, Price, Profile
from credstack.domain.credentials import (
    Evidence,
    RecipientDid,
    RecipientEmail,
    Result,
    build_credential,
)
from credstack.domain.errors import CredstackError, Invalid
from credstack.services import issuing
from credstack.services import verifying as _verifying
from credstack.services.checks import Check, VerificationResult
from credstack.services.status import StatusResolver

__all__ = [
    "Achievement",
    "Alignment",
    "Check",
    "CredstackError",
    "Criteria",
    "DidResolver",
    "Evidence",
    "Invalid",
    "Key",
    "Price",
    "Profile",
    "RecipientDid",
    "RecipientEmail",
    "Result",
    "VerificationResult",
    "bake",
    "build_credential",
    "did_key",
    "did_web",
    "generate_key",
    "load_key",
    "save_key",
    "sign",
    "unbake",
    "verify",
]


def generate_key(*, seed: bytes | None = None, rsa: bool = False) -> Key:
    """A new signing key controlled by its own did:key (Ed25519, or RSA for RS256 JWTs)."""
    if rsa:
        return generate_rsa()
    return ed25519_from_seed(seed) if seed is not None else generate_ed25519()


def load_key(path: str | Path) -> Key:
    return read_key_file(Path(path))


def save_key(path: str | Path, key: Key) -> None:
    """Write a key file with mode 0600."""
    write_key_file(Path(path), key)


def sign(
    credential: Mapping[str, Any],
    key: Key,
    *,
    suite: str = "eddsa-rdfc-2022",
    created: datetime | None = None,
) -> dict[str, Any] | str:
    """Sign with ``eddsa-rdfc-2022`` (default), ``eddsa-jcs-2022`` or ``vc-jwt``.

    Returns the signed credential, or a compact JWS for ``vc-jwt``. Raises
    :class:`CredstackError` (for example when the issuer is not the key's controller,
    or a term is not defined by the credential's contexts).
    """
    moment = created or datetime.now(UTC).replace(microsecond=0)
    return issuing.sign(credential, key, suite=suite, created=moment)


def verify(
    credential: Mapping[str, Any] | str | bytes,
    *,
    now: datetime | None = None,
    resolver: DidResolver | None = None,
    status: StatusResolver | None = None,
    suites: frozenset[str] = DEFAULT_SUITES,
    allow_jwt: bool = True,
) -> VerificationResult:
    """Verify a credential given as a dict, JSON text, a VC-JWT, or baked PNG/SVG bytes.

    Never raises on bad input: the result lists every check with a stable code.
    """
    options = _verifying.VerifyOptions(
        now=now or datetime.now(UTC),
        loader=default_loader(),
        resolve=resolver or DidResolver(),
        suites=suites,
        allow_jwt=allow_jwt,
        status=status,
    )
    return _verifying.verify(credential, options)


def bake(image: bytes, credential: Mapping[str, Any] | str) -> bytes:
    """Embed a signed credential (dict or compact JWS) in PNG or SVG bytes."""
    payload = credential if isinstance(credential, str) else json.dumps(credential)
    return baking.bake(image, payload)


def unbake(image: bytes) -> Mapping[str, Any] | str | None:
    """The credential baked into an image: a dict, a compact JWS, or None."""
    payload = baking.unbake(image)
    if payload is None:
        return None
    text = payload.strip()
    return json.loads(text) if text.startswith("{") else text
