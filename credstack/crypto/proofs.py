"""Data Integrity proofs: the ``eddsa-rdfc-2022`` and ``eddsa-jcs-2022`` cryptosuites.

https://www.w3.org/TR/vc-di-eddsa/ (sections 3.2 and 3.3). Suites form a typed registry,
:data:`SUITES`; callers choose which are allowed. Issuing raises; verification raises
:class:`ProofError` with a reason, which the verifying service turns into a check.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from credstack.crypto.canonical import ensure_defined, jcs, rdfc
from credstack.crypto.did import VerificationMethod
from credstack.crypto.keys import KeyType, PublicKey, SigningKey, multibase_decode, multibase_encode
from credstack.crypto.loader import OfflineLoader
from credstack.domain.errors import CredstackError, Invalid, InvalidKey, UndefinedTerm

PROOF_TYPE = "DataIntegrityProof"
Resolver = Callable[[str], VerificationMethod | None]


class ProofError(Invalid):
    code = "proof.invalid"


class ProofSuite(Protocol):
    @property
    def name(self) -> str: ...

    def create(
        self,
        document: Mapping[str, Any],
        options: dict[str, Any],
        key: SigningKey,
        loader: OfflineLoader,
    ) -> dict[str, Any]: ...

    def verify(
        self,
        document: Mapping[str, Any],
        proof: Mapping[str, Any],
        public: PublicKey,
        loader: OfflineLoader,
    ) -> None: ...


def _hash(proof_config: bytes, transformed: bytes) -> bytes:
    return hashlib.sha256(proof_config).digest() + hashlib.sha256(transformed).digest()


def _signature(proof: Mapping[str, Any]) -> bytes:
    value = proof.get("proofValue")
    if not isinstance(value, str):
        raise ProofError("the proof has no proofValue")
    try:
        return multibase_decode(value)
    except InvalidKey as exc:
        raise ProofError(f"proofValue is not base58btc multibase: {exc}") from exc


_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_PLACEHOLDER = "0000-00-00T00:00:00Z"


def canonical_proof_config(config: Mapping[str, Any], loader: OfflineLoader) -> str:
    """RDFC-1.0 of a proof configuration, cached with ``created`` left out.

    A proof configuration is one blank node (checked) whose predicates are distinct, so its
    canonical lines sort by predicate before they reach the ``created`` literal: putting
    the real timestamp in place of a placeholder gives exactly the canonical form.
    Anything unusual (no or odd ``created``) takes the general path.
    """
    created = config.get("created")
    if not isinstance(created, str) or not _CREATED.match(created):
        return rdfc(config, loader)
    template_key = json.dumps({**config, "created": None}, sort_keys=True)
    template = loader.proof_configs.get(template_key)
    if template is None:
        template = rdfc({**config, "created": _PLACEHOLDER}, loader)
        if template.count(f'"{_PLACEHOLDER}"') != 1 or "_:c14n1" in template:
            return rdfc(config, loader)
        if len(loader.proof_configs) > 1024:
            loader.proof_configs.clear()
        loader.proof_configs[template_key] = template
    return template.replace(f'"{_PLACEHOLDER}"', f'"{created}"')


@dataclass(frozen=True, slots=True)
class EddsaRdfc2022:
    """https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022"""

    name: str = "eddsa-rdfc-2022"

    def _digest(
        self, document: Mapping[str, Any], options: Mapping[str, Any], loader: OfflineLoader
    ) -> bytes:
        config = {**options, "@context": document.get("@context")}
        return _hash(
            canonical_proof_config(config, loader).encode("utf-8"),
            rdfc(document, loader).encode("utf-8"),
        )

    def create(
        self,
        document: Mapping[str, Any],
        options: dict[str, Any],
        key: SigningKey,
        loader: OfflineLoader,
    ) -> dict[str, Any]:
        signature = key.sign(self._digest(document, options, loader))
        return {**options, "proofValue": multibase_encode(signature)}

    def verify(
        self,
        document: Mapping[str, Any],
        proof: Mapping[str, Any],
        public: PublicKey,
        loader: OfflineLoader,
    ) -> None:
        signature = _signature(proof)
        options = {k: v for k, v in proof.items() if k not in ("proofValue", "@context")}
        if not public.verify(signature, self._digest(document, options, loader)):
            raise ProofError("the signature does not match the document")


@dataclass(frozen=True, slots=True)
class EddsaJcs2022:
    """https://www.w3.org/TR/vc-di-eddsa/#eddsa-jcs-2022"""

    name: str = "eddsa-jcs-2022"

    def create(
        self,
        document: Mapping[str, Any],
        options: dict[str, Any],
        key: SigningKey,
        loader: OfflineLoader,
    ) -> dict[str, Any]:
        ensure_defined(document, loader)
        config = dict(options)
        if "@context" in document:
            config["@context"] = document["@context"]
        signature = key.sign(_hash(jcs(config), jcs(document)))
        return {**config, "proofValue": multibase_encode(signature)}

    def verify(
        self,
        document: Mapping[str, Any],
        proof: Mapping[str, Any],
        public: PublicKey,
        loader: OfflineLoader,
    ) -> None:
        signature = _signature(proof)
        options = {k: v for k, v in proof.items() if k != "proofValue"}
        unsecured = dict(document)
        if "@context" in options:
            expected = _as_list(options["@context"])
            actual = _as_list(document.get("@context"))
            if actual[: len(expected)] != expected:
                raise ProofError("the proof's @context does not start the document's @context")
            unsecured["@context"] = options["@context"]
        ensure_defined(document, loader)
        if not public.verify(signature, _hash(jcs(options), jcs(unsecured))):
            raise ProofError("the signature does not match the document")


SUITES: dict[str, ProofSuite] = {s.name: s for s in (EddsaRdfc2022(), EddsaJcs2022())}
DEFAULT_SUITES = frozenset(SUITES)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def proofs_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p for p in _as_list(document.get("proof")) if isinstance(p, Mapping)]


def unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}


def add_proof(
    document: Mapping[str, Any],
    key: SigningKey,
    *,
    suite: str = "eddsa-rdfc-2022",
    created: str,
    loader: OfflineLoader,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A copy of ``document`` with one more Data Integrity proof (a proof set, as an array)."""
    chosen = SUITES.get(suite)
    if chosen is None:
        raise Invalid(f"unknown proof suite {suite!r}; choose one of {', '.join(SUITES)}")
    if key.public.kind is not KeyType.ED25519:
        raise InvalidKey(f"{suite} signs with Ed25519 keys; this key is {key.public.kind}")
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": chosen.name,
        "created": created,
        "verificationMethod": key.verification_method,
        "proofPurpose": proof_purpose,
    }
    proof = chosen.create(unsecured(document), options, key, loader)
    return {**unsecured(document), "proof": [*proofs_of(document), proof]}


def verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    *,
    resolve: Resolver,
    loader: OfflineLoader,
    allowed: frozenset[str] = DEFAULT_SUITES,
    purpose: str = "assertionMethod",
) -> VerificationMethod:
    """Check one proof of ``document``; returns the verification method that signed it."""
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"proof type {proof.get('type')!r} is not supported")
    name = proof.get("cryptosuite")
    if name not in allowed or not isinstance(name, str):
        raise ProofError(f"cryptosuite {name!r} is not among the allowed {sorted(allowed)}")
    suite = SUITES.get(name)
    if suite is None:
        raise ProofError(f"cryptosuite {name!r} is not supported")
    if proof.get("proofPurpose") != purpose:
        raise ProofError(f"proofPurpose is {proof.get('proofPurpose')!r}, expected {purpose!r}")
    method_id = proof.get("verificationMethod")
    if not isinstance(method_id, str):
        raise ProofError("the proof names no verificationMethod")
    method = resolve(method_id)
    if method is None:
        raise ProofError(f"verification method {method_id!r} cannot be resolved offline")
    if purpose not in method.purposes:
        raise ProofError(f"{method_id!r} is not authorised for {purpose}")
    try:
        suite.verify(chained_input(document, proof), proof, method.public_key, loader)
    except (ProofError, UndefinedTerm):
        raise
    except CredstackError as exc:
        raise ProofError(exc.message) from exc
    return method


def chained_input(document: Mapping[str, Any], proof: Mapping[str, Any]) -> dict[str, Any]:
    """What ``proof`` secured: the document, plus the proofs its ``previousProof`` names.

    https://www.w3.org/TR/vc-data-integrity/#proof-chains
    """
    previous = _as_list(proof.get("previousProof"))
    if not previous:
        return unsecured(document)
    by_id = {p.get("id"): p for p in proofs_of(document)}
    missing = [ref for ref in previous if ref not in by_id]
    if missing:
        raise ProofError(f"previousProof {missing[0]!r} is not in the document")
    return {**unsecured(document), "proof": [by_id[ref] for ref in previous]}
