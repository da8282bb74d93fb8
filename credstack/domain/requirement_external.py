"""The ``max_external`` requirement kind: a child counting at most N components earned
from other issuers.

JSON form (credstack's own format)::

    {"kind": "max_external", "n": 1, "requirement": {...}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from math import comb
from typing import Any, ClassVar, Self

from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import ComponentEvidence, Facts
from credstack.domain.requirement_base import (
    JsonObject,
    Parse,
    Requirement,
    RequirementResult,
    best,
    names,
)

#: max_external tries every choice of kept external components up to this many choices.
EXHAUSTIVE_LIMIT = 64


class _Hidden:
    """Facts with some components not counting (max_external keeps only N externals)."""

    __slots__ = ("_facts", "_hidden")

    def __init__(self, facts: Facts, hidden: frozenset[str]) -> None:
        self._facts = facts
        self._hidden = hidden

    @property
    def now(self) -> datetime:
        return self._facts.now

    def evidence(self, component_id: str) -> tuple[ComponentEvidence, ...]:
        return () if component_id in self._hidden else self._facts.evidence(component_id)

    def locked_by(self, component_id: str) -> tuple[str, ...]:
        return self._facts.locked_by(component_id)

    def component_ids(self) -> tuple[str, ...]:
        return self._facts.component_ids()

    def declared_alignments(self, component_id: str) -> frozenset[str]:
        return self._facts.declared_alignments(component_id)


@dataclass(frozen=True, slots=True)
class MaxExternal(Requirement):
    """The child requirement, counting at most ``n`` components earned from other issuers.

    A component counts as external when every credential earning it is external. When more
    are earned, the kept ones are chosen to satisfy the child best (every choice is tried
    up to :data:`EXHAUSTIVE_LIMIT` choices, else the ``n`` with the most credits are kept).
    """

    kind: ClassVar[str] = "max_external"
    n: int
    requirement: Requirement
    _named: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise Invalid("max_external.n: must be an integer >= 0")
        if not isinstance(self.requirement, Requirement):
            raise Invalid("max_external.requirement: must be a requirement")
        object.__setattr__(self, "_named", self.requirement.all_components())

    def evaluate(self, facts: Facts) -> RequirementResult:
        external = []
        for component in self._named:
            evidence = facts.evidence(component)
            if evidence and all(e.external for e in evidence):
                external.append(component)
        if len(external) <= self.n:
            return self.requirement.evaluate(facts)
        if comb(len(external), self.n) <= EXHAUSTIVE_LIMIT:
            choices: list[tuple[str, ...]] = list(combinations(external, self.n))
        else:
            by_credits = sorted(external, key=lambda c: -facts.evidence(c)[0].credits)
            choices = [tuple(by_credits[: self.n])]
        everyone = frozenset(external)
        results = [
            self.requirement.evaluate(_Hidden(facts, everyone.difference(keep))) for keep in choices
        ]
        chosen = best(results)
        if chosen.satisfied:
            return chosen
        note = f"at most {self.n} of {names(external)} count (earned from other issuers)"
        return RequirementResult(
            False,
            chosen.fraction,
            chosen.credential_ids,
            chosen.valid_until,
            chosen.credits_counted,
            chosen.credits_required,
            (*chosen.missing, note),
            chosen.advancing,
        )

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": self.n, "requirement": self.requirement.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        reader = JsonObject(data, path, ("kind", "n", "requirement"))
        n = reader.integer("n")
        return cls(n, parse(data.get("requirement"), reader.at("requirement")))

    def describe(self) -> str:
        return f"at most {self.n} from other issuers in ({self.requirement.describe()})"

    def children(self) -> tuple[Requirement, ...]:
        return (self.requirement,)
