"""What the stacking engine stores: pathway versions, enrollments, stacked awards,
imported credentials, trust lists and articulation agreements.

Plain records; the rules live in ``domain.pathways`` and the use cases in
``services.stacking``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class StackState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class PathwayVersion:
    id: str
    org_id: str
    iri: str
    version: int
    name: str
    published: bool
    definition: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Enrollment:
    learner: str
    pathway_iri: str
    version: int
    enrolled_at: datetime


@dataclass(frozen=True, slots=True)
class StackAward:
    """A met milestone: the stacked credential, its CLR and the components they rest on."""

    id: str
    org_id: str
    learner: str
    pathway_iri: str
    version: int
    milestone: str
    award_id: str
    clr_award_id: str | None
    state: StackState
    components: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedCredential:
    id: str
    learner: str
    credential_id: str
    issuer: str
    achievement_id: str | None
    document: str
    checks: list[dict[str, Any]]
    verified: bool
    imported_at: datetime
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    org_id: str
    issuer: str
    name: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Articulation:
    """``issuer``'s credential (by achievement id or alignment) counts ``credits`` toward
    ``program`` (a pathway IRI)."""

    id: str
    org_id: str
    program: str
    issuer: str
    credits: float
    created_at: datetime
    achievement_id: str | None = None
    alignment: str | None = None
    note: str | None = None

    def matches(self, issuer: str, achievement_id: str | None, alignments: frozenset[str]) -> bool:
        if issuer != self.issuer:
            return False
        if self.achievement_id is not None:
            return achievement_id == self.achievement_id
        return self.alignment is not None and self.alignment in alignments


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One line of a learner's credit ledger for a program."""

    credential_id: str
    issuer: str
    achievement_id: str | None
    name: str
    credits: float
    source: str  # "native" (this program's own achievement) or "articulation"
    agreement: str | None = None


@dataclass(frozen=True, slots=True)
class Ledger:
    learner: str
    program: str
    entries: tuple[LedgerEntry, ...] = field(default_factory=tuple)

    @property
    def total(self) -> float:
        return sum(e.credits for e in self.entries)

    def to_json(self) -> dict[str, Any]:
        return {
            "learner": self.learner,
            "program": self.program,
            "total": self.total,
            "entries": [
                {
                    "credential": e.credential_id,
                    "issuer": e.issuer,
                    "achievement": e.achievement_id,
                    "name": e.name,
                    "credits": e.credits,
                    "source": e.source,
                    "agreement": e.agreement,
                }
                for e in self.entries
            ],
        }
