"""The requirement registry: kind name -> requirement class, and reading any requirement.

Requirement kinds are a typed registry (``REQUIREMENTS: dict[str, type[Requirement]]``),
not dotted strings; each kind is a frozen dataclass with ``evaluate``, ``to_json`` and
``from_json`` (see :mod:`credstack.domain.requirement_base`). The kinds compose:

=================  ===============================================================
``component``      the component is earned (not locked by a prerequisite)
``all_of``         every child is met
``any_of``         at least one child is met
``at_least``       ``n`` of the children are met
``credits``        at least X credits from the earned components of a pool
``competencies``   alignment targetUrls covered by earned components
``result``         a component earned with grade >= B (A+..F) or score >= 70 %
``recency``        a component earned within N years of now
``max_external``   a child counting at most N components earned from other issuers
=================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from credstack.domain.errors import Invalid
from credstack.domain.requirement_base import Problem, Requirement, RequirementResult
from credstack.domain.requirement_external import MaxExternal
from credstack.domain.requirement_grades import Recency, Result
from credstack.domain.requirement_logic import AllOf, AnyOf, AtLeast, Earn
from credstack.domain.requirement_rules import Competencies, Credits

REQUIREMENTS: Final[dict[str, type[Requirement]]] = {
    kind.kind: kind
    for kind in (Earn, AllOf, AnyOf, AtLeast, Credits, Competencies, Result, Recency, MaxExternal)
}

__all__ = [
    "REQUIREMENTS",
    "AllOf",
    "AnyOf",
    "AtLeast",
    "Competencies",
    "Credits",
    "Earn",
    "MaxExternal",
    "Problem",
    "Recency",
    "Requirement",
    "RequirementResult",
    "Result",
    "requirement_from_json",
]


def requirement_from_json(data: Any, path: str = "requirement") -> Requirement:
    """Read a requirement of any registered kind; a bare string names a component."""
    if isinstance(data, str):
        return Earn(data) if data.strip() else _fail(path, "must not be blank")
    if not isinstance(data, Mapping):
        return _fail(path, "must be a requirement object or a component id")
    kind = data.get("kind")
    cls = REQUIREMENTS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(REQUIREMENTS)
        return _fail(f"{path}.kind", f"{kind!r} is not a requirement kind ({known})")
    return cls.from_json(data, path, requirement_from_json)


def _fail(path: str, message: str) -> Requirement:
    raise Invalid(f"{path}: {message}")
