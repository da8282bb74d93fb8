"""The structural requirement kinds: a component earned, all of, any of, at least N of.

JSON forms (credstack's own format)::

    {"kind": "component", "component": "sql"}         (or just "sql" when reading)
    {"kind": "all_of", "of": [...]}
    {"kind": "any_of", "of": [...]}
    {"kind": "at_least", "n": 2, "of": [...]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self

from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import Facts
from credstack.domain.requirement_base import (
    ComponentInfo,
    JsonObject,
    Parse,
    Problem,
    Requirement,
    RequirementResult,
    best,
    names,
    non_empty,
    positive,
)

#: The (immutable) result of an unearned, unlocked component, by component id.
_UNMET: dict[str, RequirementResult] = {}
#: max_external tries every choice of kept external components up to this many choices.
EXHAUSTIVE_LIMIT = 64


def _requirements(values: object, what: str) -> tuple[Requirement, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise Invalid(f"{what}: must be a sequence of requirements")
    for value in values:
        if not isinstance(value, Requirement):
            raise Invalid(f"{what}: {value!r} is not a requirement")
    return tuple(values)


_VACUOUS = RequirementResult(True, 1.0)


def _expiry(result: RequirementResult) -> float:
    return math.inf if result.valid_until is None else result.valid_until.timestamp()


def _fraction(result: RequirementResult) -> float:
    return result.fraction


def _merged(
    satisfied: bool,
    fraction: float,
    chosen: list[RequirementResult],
    missing: tuple[str, ...] = (),
    advancing: frozenset[str] = frozenset(),
) -> RequirementResult:
    """A result using the credentials, expiry and credits of ``chosen``."""
    ids: set[str] = set()
    until: datetime | None = None
    counted = required = 0.0
    for r in chosen:
        counted += r.credits_counted
        required += r.credits_required
        if r.credential_ids:
            ids.update(r.credential_ids)
            if r.valid_until is not None and (until is None or r.valid_until < until):
                until = r.valid_until
    return RequirementResult(
        satisfied, fraction, frozenset(ids), until, counted, required, missing, advancing
    )


def _advancing(results: list[RequirementResult]) -> frozenset[str]:
    return frozenset().union(*(r.advancing for r in results if not r.satisfied))


@dataclass(frozen=True, slots=True)
class Earn(Requirement):
    """The component is earned (and not locked by a prerequisite)."""

    kind: ClassVar[str] = "component"
    component: str

    def __post_init__(self) -> None:
        non_empty(self.component, "component requirement")

    def evaluate(self, facts: Facts) -> RequirementResult:
        evidence = facts.evidence(self.component)
        if evidence:
            first = evidence[0]
            return RequirementResult(True, 1.0, frozenset(first.credential_ids), first.valid_until)
        locked = facts.locked_by(self.component)
        line = f"earn {self.component}"
        if locked:
            line += f" (locked until {names(locked)} earned)"
        return RequirementResult(
            False, 0.0, missing=(line,), advancing=frozenset((self.component,))
        )

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "component": self.component}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        return cls(JsonObject(data, path, ("kind", "component")).text("component"))

    def describe(self) -> str:
        return self.component

    def components(self) -> tuple[str, ...]:
        return (self.component,)


class _Group(Requirement):
    """A requirement over a list of child requirements, written ``{"kind", "of"}``."""

    __slots__ = ()
    of: tuple[Requirement, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "of": [child.to_json() for child in self.of]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        reader = JsonObject(data, path, ("kind", "of"))
        return cls(tuple(parse(item, where) for item, where in reader.items("of")))  # type: ignore[call-arg]

    def children(self) -> tuple[Requirement, ...]:
        return self.of


@dataclass(frozen=True, slots=True)
class AllOf(_Group):
    """Every child requirement is met."""

    kind: ClassVar[str] = "all_of"
    of: tuple[Requirement, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "of", _requirements(self.of, "all_of.of"))

    def evaluate(self, facts: Facts) -> RequirementResult:
        if not self.of:
            return _VACUOUS
        ids: set[str] = set()
        until: datetime | None = None
        fraction = counted = required = 0.0
        satisfied = True
        missing: list[str] = []
        advancing: set[str] = set()
        for child in self.of:
            r = child.evaluate(facts)
            fraction += r.fraction
            counted += r.credits_counted
            required += r.credits_required
            if r.credential_ids:
                ids.update(r.credential_ids)
                if r.valid_until is not None and (until is None or r.valid_until < until):
                    until = r.valid_until
            if not r.satisfied:
                satisfied = False
                missing += r.missing
                advancing.update(r.advancing)
        return RequirementResult(
            satisfied,
            fraction / len(self.of),
            frozenset(ids),
            until,
            counted,
            required,
            tuple(missing),
            frozenset(advancing),
        )

    def describe(self) -> str:
        return f"all of: {'; '.join(child.describe() for child in self.of)}"


@dataclass(frozen=True, slots=True)
class AnyOf(_Group):
    """At least one child requirement is met."""

    kind: ClassVar[str] = "any_of"
    of: tuple[Requirement, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "of", _requirements(self.of, "any_of.of"))

    def evaluate(self, facts: Facts) -> RequirementResult:
        results = [child.evaluate(facts) for child in self.of]
        if not results:
            return RequirementResult(False, 0.0, missing=("an empty choice can never be met",))
        chosen = best(results)
        if chosen.satisfied:
            return chosen
        missing = chosen.missing if len(results) == 1 else (self.describe(),)
        return RequirementResult(
            False,
            chosen.fraction,
            chosen.credential_ids,
            chosen.valid_until,
            chosen.credits_counted,
            chosen.credits_required,
            missing,
            _advancing(results),
        )

    def describe(self) -> str:
        return f"one of: {'; '.join(child.describe() for child in self.of)}"

    def problems(self, components: Mapping[str, ComponentInfo]) -> list[Problem]:
        if self.of:
            return []
        return [Problem("requirement.unsatisfiable", "an empty any_of can never be met")]


@dataclass(frozen=True, slots=True)
class AtLeast(Requirement):
    """At least ``n`` of the child requirements are met."""

    kind: ClassVar[str] = "at_least"
    n: int
    of: tuple[Requirement, ...]

    def __post_init__(self) -> None:
        positive(self.n, "at_least.n", integer=True)
        object.__setattr__(self, "of", _requirements(self.of, "at_least.of"))

    def evaluate(self, facts: Facts) -> RequirementResult:
        results = [child.evaluate(facts) for child in self.of]
        met = [r for r in results if r.satisfied]
        if len(met) >= self.n:
            chosen = met if len(met) == self.n else sorted(met, key=_expiry, reverse=True)
            return _merged(True, 1.0, chosen[: self.n])
        partial = sorted((r for r in results if not r.satisfied), key=_fraction, reverse=True)
        chosen = met + partial[: self.n - len(met)]
        open_ = [c.describe() for c, r in zip(self.of, results, strict=True) if not r.satisfied]
        return _merged(
            False,
            min(1.0, sum(r.fraction for r in chosen) / self.n),
            chosen,
            (f"{self.n - len(met)} more of: {'; '.join(open_)}",),
            _advancing(results),
        )

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": self.n, "of": [child.to_json() for child in self.of]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        reader = JsonObject(data, path, ("kind", "n", "of"))
        n = reader.integer("n")
        return cls(n, tuple(parse(item, where) for item, where in reader.items("of")))

    def describe(self) -> str:
        return f"at least {self.n} of: {'; '.join(child.describe() for child in self.of)}"

    def children(self) -> tuple[Requirement, ...]:
        return self.of

    def problems(self, components: Mapping[str, ComponentInfo]) -> list[Problem]:
        if self.n <= len(self.of):
            return []
        ids = self.all_components()
        return [
            Problem(
                "requirement.unsatisfiable",
                f"at least {self.n} of {len(self.of)} can never be met ({names(ids)})",
                ids,
            )
        ]
