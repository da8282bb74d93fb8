"""The result of verification: a list of checks, each with a stable code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Check:
    """One verification check. ``code`` is stable (``proof.invalid``, ``status.revoked``…)."""

    code: str
    ok: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "ok": self.ok, "message": self.message}


@dataclass(frozen=True, slots=True)
class VerificationResult:
    verified: bool
    checks: tuple[Check, ...]
    credential: Mapping[str, Any] | None
    form: str
    #: The results for the credentials a CLR or a stack nests, in their order.
    components: tuple[VerificationResult, ...] = ()

    @classmethod
    def of(
        cls,
        checks: Iterable[Check],
        credential: Mapping[str, Any] | None,
        form: str,
        components: Iterable[VerificationResult] = (),
    ) -> VerificationResult:
        listed = tuple(checks)
        nested = tuple(components)
        verified = (
            bool(listed)
            and all(c.ok for c in listed)
            and credential is not None
            and all(c.verified for c in nested)
        )
        return cls(verified, listed, credential, form, nested)

    def with_checks(self, extra: Iterable[Check]) -> VerificationResult:
        """The same result with more checks (for example a stack's requirements)."""
        return VerificationResult.of(
            (*self.checks, *extra), self.credential, self.form, self.components
        )

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def codes(self) -> list[str]:
        return [c.code for c in self.checks]

    def summary(self) -> dict[str, Any]:
        """Who issued what to whom, read from the credential (for listing components)."""
        doc = self.credential if isinstance(self.credential, Mapping) else {}
        issuer = doc.get("issuer")
        subject = doc.get("credentialSubject")
        achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
        return {
            "id": doc.get("id"),
            "name": doc.get("name"),
            "issuer": issuer.get("id") if isinstance(issuer, Mapping) else issuer,
            "achievement": achievement.get("id") if isinstance(achievement, Mapping) else None,
        }

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verified": self.verified,
            "checks": [c.to_json() for c in self.checks],
        }
        if self.components:
            out["components"] = [{**c.summary(), **c.to_json()} for c in self.components]
        return out
