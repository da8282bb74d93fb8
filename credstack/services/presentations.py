"""Verify a W3C Verifiable Presentation: its own proof (if any) and every credential."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credstack.crypto.proofs import proofs_of, verify_proof
from credstack.domain.errors import CredstackError
from credstack.services.checks import Check, VerificationResult
from credstack.services.verifying import VerifyOptions, verify


@dataclass(frozen=True, slots=True)
class PresentationResult:
    verified: bool
    presentation: tuple[Check, ...]
    credentials: tuple[VerificationResult, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "presentationResult": [c.to_json() for c in self.presentation],
            "credentialResults": [
                {"id": r.credential.get("id") if r.credential else None, **r.to_json()}
                for r in self.credentials
            ],
        }


def verify_presentation(
    presentation: Any,
    options: VerifyOptions,
    *,
    challenge: str | None = None,
    domain: str | None = None,
) -> PresentationResult:
    """Never raises: each problem is a check with a stable code."""
    if not isinstance(presentation, Mapping):
        check = Check("input.unusable", False, "a presentation must be a JSON object")
        return PresentationResult(False, (check,), ())
    checks: list[Check] = []
    types = presentation.get("type")
    listed = types if isinstance(types, list) else [types]
    if "VerifiablePresentation" not in listed:
        checks.append(Check("structure.invalid", False, "type must include VerifiablePresentation"))
    proofs = proofs_of(presentation)
    if not proofs:
        checks.append(Check("proof.none", True, "the presentation carries no proof of its own"))
    for proof in proofs:
        if challenge is not None and proof.get("challenge") != challenge:
            checks.append(Check("proof.challenge", False, "the proof's challenge does not match"))
            continue
        if domain is not None and proof.get("domain") != domain:
            checks.append(Check("proof.domain", False, "the proof's domain does not match"))
            continue
        try:
            verify_proof(
                presentation,
                proof,
                resolve=options.resolve,
                loader=options.loader,
                allowed=options.suites,
                purpose="authentication",
            )
            checks.append(Check("proof.ok", True, "the presentation proof is valid"))
        except CredstackError as exc:
            checks.append(Check("proof.invalid", False, exc.message))
    raw = presentation.get("verifiableCredential", [])
    credentials = raw if isinstance(raw, list) else [raw]
    results = tuple(
        verify(c, options)
        if isinstance(c, Mapping | str)
        else VerificationResult.of(
            [Check("input.unusable", False, "a credential must be a JSON object or a JWT")],
            None,
            "",
        )
        for c in credentials
    )
    if not credentials:
        checks.append(Check("credentials.none", False, "the presentation holds no credential"))
    verified = all(c.ok for c in checks) and all(r.verified for r in results)
    return PresentationResult(verified, tuple(checks), results)
