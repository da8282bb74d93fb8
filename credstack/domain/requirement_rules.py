"""The quantitative requirement kinds: credits from a pool, competencies covered.

JSON forms (credstack's own format)::

    {"kind": "credits", "credits": 6, "pool": ["sql", "python", "stats"]}
    {"kind": "competencies", "targets": ["https://..."], "pool": [...], "required": 2}

``pool`` of competencies may be omitted (every component of the pathway) and ``required``
too (every target).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import (
    ComponentEvidence,
    Facts,
    earliest,
)
from credstack.domain.requirement_base import (
    ComponentInfo,
    JsonObject,
    Parse,
    Problem,
    Requirement,
    RequirementResult,
    fmt,
    names,
    positive,
    str_tuple,
)

_EPSILON = 1e-9


def _expiry_first(evidence: ComponentEvidence) -> tuple[bool, float, float]:
    until = evidence.valid_until
    return (until is None, until.timestamp() if until is not None else 0.0, evidence.credits)


@dataclass(frozen=True, slots=True)
class Credits(Requirement):
    """At least ``credits`` credits from the earned components of ``pool``.

    A component counts its credential's ``creditsEarned``, else its declared credits. When
    met, the credentials used are those with the latest expiry that reach the amount.
    """

    kind: ClassVar[str] = "credits"
    credits: float
    pool: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "credits", positive(self.credits, "credits.credits"))
        object.__setattr__(self, "pool", str_tuple(self.pool, "credits.pool"))

    def evaluate(self, facts: Facts) -> RequirementResult:
        earned: list[ComponentEvidence] = []
        unearned: list[str] = []
        for component in self.pool:
            evidence = facts.evidence(component)
            if evidence:
                earned.append(evidence[0])
            else:
                unearned.append(component)
        total = sum(e.credits for e in earned)
        satisfied = total + _EPSILON >= self.credits
        used = earned
        if satisfied:
            used, reached = [], 0.0
            for option in sorted(earned, key=_expiry_first, reverse=True):
                used.append(option)
                reached += option.credits
                if reached + _EPSILON >= self.credits:
                    break
        missing: tuple[str, ...] = ()
        if not satisfied:
            short = fmt(self.credits - total)
            missing = (f"{short} more credits from: {names(unearned)}",)
        return RequirementResult(
            satisfied,
            min(1.0, total / self.credits),
            frozenset(i for e in used for i in e.credential_ids),
            earliest([e.valid_until for e in used]),
            total,
            self.credits,
            missing,
            frozenset() if satisfied else frozenset(unearned),
        )

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "credits": self.credits, "pool": list(self.pool)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        reader = JsonObject(data, path, ("kind", "credits", "pool"))
        return cls(reader.number("credits"), reader.texts("pool"))

    def describe(self) -> str:
        return f"{fmt(self.credits)} credits from: {names(self.pool)}"

    def components(self) -> tuple[str, ...]:
        return self.pool

    def problems(self, components: Mapping[str, ComponentInfo]) -> list[Problem]:
        if not self.pool:
            return [Problem("requirement.unsatisfiable", "credits from an empty pool")]
        declared = [components[c].credits if c in components else None for c in self.pool]
        if None in declared:
            return []  # a credential's creditsEarned may supply them: unknown until earned
        offered = sum(d for d in declared if d is not None)
        if offered + _EPSILON >= self.credits:
            return []
        message = (
            f"{fmt(self.credits)} credits required but the pool ({names(self.pool)}) "
            f"offers only {fmt(offered)}"
        )
        return [Problem("requirement.unsatisfiable", message, self.pool)]


@dataclass(frozen=True, slots=True)
class Competencies(Requirement):
    """``required`` (default: all) of the alignment ``targets`` are covered.

    A target is covered when an earned component of ``pool`` (default: every component)
    aligns to it, through its credential's alignments or its own declared ones.
    """

    kind: ClassVar[str] = "competencies"
    targets: tuple[str, ...]
    pool: tuple[str, ...] = ()
    required: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", str_tuple(self.targets, "competencies.targets"))
        object.__setattr__(self, "pool", str_tuple(self.pool, "competencies.pool"))
        if not self.targets:
            raise Invalid("competencies.targets: must name at least one alignment targetUrl")
        if self.required is not None:
            positive(self.required, "competencies.required", integer=True)

    @property
    def needed(self) -> int:
        return self.required if self.required is not None else len(self.targets)

    def evaluate(self, facts: Facts) -> RequirementResult:
        covered: dict[str, ComponentEvidence] = {}
        for component in self.pool or facts.component_ids():
            for evidence in facts.evidence(component):
                for target in self.targets:
                    if target not in covered and target in evidence.alignments:
                        covered[target] = evidence
        need = self.needed
        satisfied = len(covered) >= need
        used = list(covered.values())
        missing: tuple[str, ...] = ()
        advancing: frozenset[str] = frozenset()
        if not satisfied:
            open_ = [t for t in self.targets if t not in covered]
            missing = (f"cover {need - len(covered)} more of the competencies: {names(open_)}",)
            advancing = frozenset(
                c
                for c in self.pool or facts.component_ids()
                if not facts.evidence(c) and facts.declared_alignments(c).intersection(open_)
            )
        return RequirementResult(
            satisfied,
            min(1.0, len(covered) / need),
            frozenset(i for e in used for i in e.credential_ids),
            earliest([e.valid_until for e in used]),
            missing=missing,
            advancing=advancing,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "targets": list(self.targets)}
        if self.pool:
            out["pool"] = list(self.pool)
        if self.required is not None:
            out["required"] = self.required
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        reader = JsonObject(data, path, ("kind", "targets", "pool", "required"))
        required = None if data.get("required") is None else reader.integer("required")
        return cls(reader.texts("targets"), reader.texts("pool"), required)

    def describe(self) -> str:
        scope = names(self.pool) if self.pool else "any component"
        count = "" if self.required is None else f"{self.required} of "
        return f"competencies {count}{names(self.targets)} covered by: {scope}"

    def components(self) -> tuple[str, ...]:
        return self.pool

    def uses_every_component(self) -> bool:
        return not self.pool

    def problems(self, components: Mapping[str, ComponentInfo]) -> list[Problem]:
        if self.pool:
            pool = [components[c] for c in self.pool if c in components]
        else:
            pool = list(components.values())
        aligned = {url for component in pool for url in component.alignment_urls}
        if self.needed > len(self.targets):
            message = f"{self.needed} competencies required but only {len(self.targets)} named"
            return [Problem("requirement.unsatisfiable", message, self.pool)]
        lost = [t for t in self.targets if t not in aligned]
        if len(self.targets) - len(lost) >= self.needed:
            return []
        message = f"no component of {names(self.pool or ('the pathway',))} aligns to {names(lost)}"
        return [Problem("requirement.unsatisfiable", message, self.pool)]
