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

    @classmethod
    def of(
        cls, checks: Iterable[Check], credential: Mapping[str, Any] | None, form: str
    ) -> VerificationResult:
        listed = tuple(checks)
        verified = bool(listed) and all(c.ok for c in listed) and credential is not None
        return cls(verified, listed, credential, form)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def codes(self) -> list[str]:
        return [c.code for c in self.checks]

    def to_json(self) -> dict[str, Any]:
        return {"verified": self.verified, "checks": [c.to_json() for c in self.checks]}
