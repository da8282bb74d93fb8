"""Requirement kinds on how a component was earned: its result (grade/score) and recency.

JSON forms (credstack's own format)::

    {"kind": "result", "component": "stats", "minGrade": "B", "minPercent": 70}
    {"kind": "recency", "component": "safety", "years": 3}

``minGrade``/``minPercent`` default to ``"B"``/``70`` when omitted; an explicit ``null``
switches one off. A result qualifies when its letter grade is at least ``minGrade`` on the
A+..F scale or its percentage (see
:meth:`~credstack.domain.pathway_facts.CredentialResult.percent`) is at least ``minPercent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import (
    LETTER_GRADES,
    CredentialResult,
    Facts,
    grade_rank,
    years_before,
)
from credstack.domain.requirement_base import (
    JsonObject,
    Parse,
    Requirement,
    RequirementResult,
    fmt,
    non_empty,
    positive,
)

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Result(Requirement):
    """The component is earned with a grade of at least ``min_grade`` or ``min_percent`` %.

    ``result_description`` restricts the check to results of that ResultDescription id.
    """

    kind: ClassVar[str] = "result"
    component: str
    min_grade: str | None = "B"
    min_percent: float | None = 70.0
    result_description: str | None = None

    def __post_init__(self) -> None:
        non_empty(self.component, "result.component")
        if self.min_grade is None and self.min_percent is None:
            raise Invalid("result: give minGrade, minPercent or both")
        if self.min_grade is not None:
            if not isinstance(self.min_grade, str) or grade_rank(self.min_grade) is None:
                grades = ", ".join(LETTER_GRADES)
                raise Invalid(f"result.minGrade: {self.min_grade!r} is not one of {grades}")
            object.__setattr__(self, "min_grade", self.min_grade.strip().upper())
        if self.min_percent is not None:
            value = positive(self.min_percent, "result.minPercent")
            if value > 100:
                raise Invalid("result.minPercent: must be at most 100")
            object.__setattr__(self, "min_percent", value)
        if self.result_description is not None:
            non_empty(self.result_description, "result.resultDescription")

    def qualifies(self, result: CredentialResult) -> bool:
        wanted = self.result_description
        if wanted is not None and result.result_description != wanted:
            return False
        if self.min_grade is not None:
            rank = result.letter_rank()
            if rank is not None and rank <= LETTER_GRADES.index(self.min_grade):
                return True
        if self.min_percent is not None:
            percent = result.percent()
            if percent is not None and percent + _EPSILON >= self.min_percent:
                return True
        return False

    def threshold(self) -> str:
        parts = []
        if self.min_grade is not None:
            parts.append(f"grade {self.min_grade} or better")
        if self.min_percent is not None:
            parts.append(f"at least {fmt(self.min_percent)}%")
        return " or ".join(parts)

    def evaluate(self, facts: Facts) -> RequirementResult:
        evidence = facts.evidence(self.component)
        for option in evidence:
            if any(self.qualifies(r) for r in option.results):
                return RequirementResult(
                    True, 1.0, frozenset(option.credential_ids), option.valid_until
                )
        if evidence:
            line = f"{self.component}: a result of {self.threshold()} is needed"
        else:
            line = f"earn {self.component} with {self.threshold()}"
        return RequirementResult(
            False, 0.0, missing=(line,), advancing=frozenset((self.component,))
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "component": self.component,
            "minGrade": self.min_grade,
            "minPercent": self.min_percent,
        }
        if self.result_description is not None:
            out["resultDescription"] = self.result_description
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        keys = ("kind", "component", "minGrade", "minPercent", "resultDescription")
        reader = JsonObject(data, path, keys)
        grade = reader.opt_text("minGrade") if "minGrade" in data else "B"
        percent = reader.opt_number("minPercent") if "minPercent" in data else 70.0
        return cls(reader.text("component"), grade, percent, reader.opt_text("resultDescription"))

    def describe(self) -> str:
        return f"{self.component} with {self.threshold()}"

    def components(self) -> tuple[str, ...]:
        return (self.component,)


@dataclass(frozen=True, slots=True)
class Recency(Requirement):
    """The component is earned by a credential issued within ``years`` years of now."""

    kind: ClassVar[str] = "recency"
    component: str
    years: int

    def __post_init__(self) -> None:
        non_empty(self.component, "recency.component")
        positive(self.years, "recency.years", integer=True)

    def evaluate(self, facts: Facts) -> RequirementResult:
        cutoff = years_before(facts.now, self.years)
        evidence = facts.evidence(self.component)
        for option in evidence:
            if option.valid_from >= cutoff:
                return RequirementResult(
                    True, 1.0, frozenset(option.credential_ids), option.valid_until
                )
        if evidence:
            line = f"earn {self.component} again: the one held is older than {self.years} years"
        else:
            line = f"earn {self.component} (within {self.years} years)"
        return RequirementResult(
            False, 0.0, missing=(line,), advancing=frozenset((self.component,))
        )

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "component": self.component, "years": self.years}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        reader = JsonObject(data, path, ("kind", "component", "years"))
        return cls(reader.text("component"), reader.integer("years"))

    def describe(self) -> str:
        return f"{self.component} earned within {self.years} years"

    def components(self) -> tuple[str, ...]:
        return (self.component,)
