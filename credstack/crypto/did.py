"""DID documents and verification-method lookup for did:key and did:web.

did:key: https://w3c-ccg.github.io/did-key-spec/ (Ed25519 ``z6Mk…`` and RSA ``z4MX…``).
did:web: https://w3c-ccg.github.io/did-method-web/ . Resolving did:web needs the network,
which only ``credstack.remote`` may touch; here a :class:`DidResolver` holds documents
it was given and resolves did:key locally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from credstack.crypto.keys import KeyType, PublicKey
from credstack.domain.errors import Invalid, InvalidKey

DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
JWS_2020_V1 = "https://w3id.org/security/suites/jws-2020/v1"
RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    id: str
    controller: str
    public_key: PublicKey
    purposes: frozenset[str] = field(default=frozenset(RELATIONSHIPS))

    def to_json(self) -> dict[str, Any]:
        if self.public_key.kind is KeyType.ED25519:
            return {
                "id": self.id,
                "type": "Multikey",
                "controller": self.controller,
                "publicKeyMultibase": self.public_key.multibase,
            }
        return {
            "id": self.id,
            "type": "JsonWebKey2020",
            "controller": self.controller,
            "publicKeyJwk": self.public_key.jwk(),
        }


def did_key(public: PublicKey) -> str:
    return f"did:key:{public.multibase}"


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of a did:key (one key, every relationship)."""
    method = resolve_did_key(did)
    return did_document(did, [method])


def resolve_did_key(did_or_url: str) -> VerificationMethod:
    did, _, fragment = did_or_url.partition("#")
    if not did.startswith("did:key:"):
        raise Invalid(f"{did!r} is not a did:key")
    encoded = did.removeprefix("did:key:")
    if fragment and fragment != encoded:
        raise InvalidKey(f"did:key fragment {fragment!r} does not match the key")
    public = PublicKey.from_multibase(encoded)
    return VerificationMethod(f"{did}#{encoded}", did, public)


def did_web(url: str) -> str:
    """did:web for an HTTPS URL.

    ``https://host:8443/orgs/acme`` gives ``did:web:host%3A8443:orgs:acme``.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in ("localhost", "127.0.0.1"):
        raise Invalid(f"did:web needs an https URL, not {url!r}")
    if not parts.netloc:
        raise Invalid(f"{url!r} has no host")
    host = quote(parts.netloc, safe="")
    path = [quote(p, safe="") for p in parts.path.strip("/").split("/") if p]
    return ":".join(["did:web", host, *path])


def did_web_url(did: str) -> str:
    """Where a did:web document lives (``/.well-known/did.json`` for a bare host)."""
    if not did.startswith("did:web:"):
        raise Invalid(f"{did!r} is not a did:web")
    host, *path = did.removeprefix("did:web:").split(":")
    base = "https://" + unquote(host)
    return (
        f"{base}/{'/'.join(unquote(p) for p in path)}/did.json"
        if path
        else (f"{base}/.well-known/did.json")
    )


def did_document(did: str, methods: Iterable[VerificationMethod]) -> dict[str, Any]:
    """A DID document listing ``methods``; keys keep their purposes (rotation keeps old keys)."""
    listed = list(methods)
    document: dict[str, Any] = {
        "@context": [DID_V1, MULTIKEY_V1, JWS_2020_V1],
        "id": did,
        "verificationMethod": [m.to_json() for m in listed],
    }
    for relationship in RELATIONSHIPS:
        ids = [m.id for m in listed if relationship in m.purposes]
        if ids:
            document[relationship] = ids
    return document


def methods_from_document(document: Mapping[str, Any]) -> list[VerificationMethod]:
    """Parse the verification methods of a DID (or controller) document."""
    did = str(document.get("id", ""))
    out: list[VerificationMethod] = []
    raw = document.get("verificationMethod", [])
    for entry in raw if isinstance(raw, list) else [raw]:
        if not isinstance(entry, dict):
            continue
        method_id = str(entry.get("id", ""))
        if method_id.startswith("#"):
            method_id = did + method_id
        if "publicKeyMultibase" in entry:
            public = PublicKey.from_multibase(str(entry["publicKeyMultibase"]))
        elif "publicKeyJwk" in entry:
            public = PublicKey.from_jwk(entry["publicKeyJwk"])
        else:
            continue
        purposes = frozenset(r for r in RELATIONSHIPS if _lists(document.get(r), method_id, did))
        out.append(
            VerificationMethod(method_id, str(entry.get("controller", did)), public, purposes)
        )
    return out


def _lists(value: Any, method_id: str, did: str) -> bool:
    for item in value if isinstance(value, list) else [value] if value else []:
        ref = item.get("id") if isinstance(item, dict) else item
        if isinstance(ref, str) and (ref == method_id or did + ref == method_id):
            return True
    return False


class DidResolver:
    """Resolves verification methods: did:key locally, others from documents it was given."""

    def __init__(self, documents: Iterable[Mapping[str, Any]] = ()) -> None:
        self._methods: dict[str, VerificationMethod] = {}
        for document in documents:
            self.add(document)

    def add(self, document: Mapping[str, Any]) -> None:
        for method in methods_from_document(document):
            self._methods[method.id] = method

    def __call__(self, method_id: str) -> VerificationMethod | None:
        if method_id.startswith("did:key:"):
            try:
                return resolve_did_key(method_id)
            except (Invalid, InvalidKey):
                return None
        return self._methods.get(method_id)
