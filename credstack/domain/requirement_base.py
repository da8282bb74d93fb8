"""The contract every requirement kind fulfils, and the small JSON helpers they share.

A requirement is a frozen dataclass subclassing :class:`Requirement`: it evaluates against
:class:`~credstack.domain.pathway_facts.Facts`, writes and reads credstack's JSON (``kind``
names it in the registry, :data:`credstack.domain.requirements.REQUIREMENTS`), describes
itself in one line naming the component ids involved, and reports its own validation
problems. Composite kinds read their children through the ``parse`` callback they are given,
so this module does not depend on the registry.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Protocol, Self

from credstack.domain.errors import Invalid
from credstack.domain.pathway_facts import Facts

#: ``parse(json_value, json_path)`` -> Requirement: how composite kinds read their children.
Parse = Callable[[Any, str], "Requirement"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a pathway cannot be published: a stable code and a one-line message.

    ``components`` lists the component (or milestone) ids the message names.
    """

    code: str
    message: str
    components: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ComponentInfo(Protocol):
    """What validation needs to know of a component (every component class provides it)."""

    @property
    def id(self) -> str: ...

    @property
    def credits(self) -> float | None: ...

    @property
    def alignment_urls(self) -> tuple[str, ...]: ...


class RequirementResult(NamedTuple):
    """The outcome of evaluating one requirement for one learner (immutable).

    ``fraction`` (0..1) is how far along it is; ``credential_ids`` the credentials it uses
    (for a satisfied requirement: a set chosen to keep ``valid_until``, their earliest expiry,
    as late as possible); ``missing`` human-readable lines; ``advancing`` the component ids
    whose earning would move it forward. (A NamedTuple rather than a frozen dataclass: it is
    built once per requirement node per learner, on the hot path of progress.)
    """

    satisfied: bool
    fraction: float
    credential_ids: frozenset[str] = frozenset()
    valid_until: datetime | None = None
    credits_counted: float = 0.0
    credits_required: float = 0.0
    missing: tuple[str, ...] = ()
    advancing: frozenset[str] = frozenset()


def best(results: list[RequirementResult]) -> RequirementResult:
    """The preferred result: satisfied, then further along, then later expiry; first wins ties."""
    chosen = results[0]
    for result in results[1:]:
        if _better(result, chosen):
            chosen = result
    return chosen


def _better(a: RequirementResult, b: RequirementResult) -> bool:
    if a.satisfied != b.satisfied:
        return a.satisfied
    if a.fraction != b.fraction:
        return a.fraction > b.fraction
    if (a.valid_until is None) != (b.valid_until is None):
        return a.valid_until is None
    return a.valid_until is not None and b.valid_until is not None and a.valid_until > b.valid_until


class Requirement(ABC):
    """Base of every requirement kind (frozen dataclasses; see the module docstring)."""

    __slots__ = ()
    kind: ClassVar[str]

    @abstractmethod
    def evaluate(self, facts: Facts) -> RequirementResult:
        """How far the learner described by ``facts`` is with this requirement."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """credstack's JSON form: ``{"kind": ..., ...}`` (camelCase keys)."""

    @classmethod
    @abstractmethod
    def from_json(cls, data: Mapping[str, Any], path: str, parse: Parse) -> Self:
        """Read the JSON form; Invalid names the JSON path of what is wrong."""

    @abstractmethod
    def describe(self) -> str:
        """One line naming the component ids, e.g. ``at least 2 of: sql, python, stats``."""

    def children(self) -> tuple[Requirement, ...]:
        """Nested requirements (empty for the leaf kinds)."""
        return ()

    def components(self) -> tuple[str, ...]:
        """Component ids this node names itself (not those of its children)."""
        return ()

    def uses_every_component(self) -> bool:
        """True when the node looks at every component of the pathway (not only its own)."""
        return False

    def problems(self, components: Mapping[str, ComponentInfo]) -> list[Problem]:
        """What makes this node unsatisfiable, given the pathway's components by id."""
        return []

    def walk(self) -> Iterator[Requirement]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def all_components(self) -> tuple[str, ...]:
        """Every component id named in this subtree, first appearance order, no repeats."""
        return tuple(dict.fromkeys(c for node in self.walk() for c in node.components()))


# -- JSON reading helpers -----------------------------------------------------------------


class JsonObject:
    """Reads one JSON object strictly, naming the JSON path of anything wrong."""

    def __init__(self, data: object, path: str, allowed: tuple[str, ...]) -> None:
        if not isinstance(data, Mapping):
            raise Invalid(f"{path}: expected a JSON object, got {_type_name(data)}")
        unknown = [k for k in data if k not in allowed]
        if unknown:
            raise Invalid(
                f"{path}: unknown property {unknown[0]!r} (allowed: {', '.join(allowed)})"
            )
        self.data: Mapping[str, Any] = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"{self.at(key)}: must be a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.text(key)

    def integer(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"{self.at(key)}: must be an integer, got {value!r}")
        return value

    def number(self, key: str) -> float:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"{self.at(key)}: must be a number, got {value!r}")
        if not math.isfinite(value):
            raise Invalid(f"{self.at(key)}: must be finite")
        return float(value)

    def opt_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key)

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise Invalid(f"{self.at(key)}: must be an array of strings")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise Invalid(f"{self.at(key)}[{i}]: must be a non-empty string")
        return tuple(value)

    def items(self, key: str) -> list[tuple[Any, str]]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise Invalid(f"{self.at(key)}: must be an array")
        return [(item, f"{self.at(key)}[{i}]") for i, item in enumerate(value)]


def _type_name(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, int | float) else "value")


def non_empty(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{what}: must be a non-empty string")
    return value


def str_tuple(values: object, what: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise Invalid(f"{what}: must be a sequence of strings")
    return tuple(non_empty(v, what) for v in values)


def positive(value: object, what: str, *, integer: bool = False) -> Any:
    """A finite number > 0 (an int when ``integer``), else Invalid."""
    kind = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise Invalid(f"{what}: must be a positive {'integer' if integer else 'number'}")
    if not integer and not math.isfinite(value):
        raise Invalid(f"{what}: must be finite")
    return value if integer else float(value)


def fmt(number: float) -> str:
    """6.0 -> '6', 1.5 -> '1.5'."""
    return f"{number:g}"


def names(ids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ids) if ids else "(none)"
