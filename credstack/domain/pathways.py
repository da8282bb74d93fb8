"""Stackable pathways: components, milestones, and credstack's own JSON format for them.

Pure: no I/O, no clock. A :class:`Pathway` is a set of components (achievements of this
platform, nested pathways, or credentials of other issuers matched by an equivalency rule)
and of milestones: exits, each with a requirement tree over the components
(:mod:`credstack.domain.requirements`) and the stack achievement it awards. One milestone is
the final one. Prerequisites (``prerequisites``: earned first, else the component is locked
and does not count) and recommended order (``precedes``: advisory) sit on the components.
A learner may enter at any component. Validation lives in
:mod:`credstack.domain.pathway_validation`, progress in :mod:`credstack.domain.progress`,
CTDL in :mod:`credstack.domain.ctdl`.
The JSON format is in :mod:`credstack.domain.pathway_json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Final

from credstack.domain.achievements import ACHIEVEMENT_TYPES
from credstack.domain.errors import Invalid
from credstack.domain.requirement_base import non_empty, str_tuple
from credstack.domain.requirements import Requirement


class CascadePolicy(StrEnum):
    """What happens to an awarded stack credential when a credential it needs is revoked."""

    SUSPEND = "suspend"
    REVOKE = "revoke"


def _opt_amount(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise Invalid(f"{what}: must be a number >= 0, got {value!r}")
    return float(value)


def _opt_text(value: object, what: str) -> str | None:
    return None if value is None else non_empty(value, what)


class _ComponentBase:
    """Checks and JSON shared by the component kinds (each is a frozen dataclass)."""

    __slots__ = ()
    KIND: ClassVar[str]
    _FIELDS: ClassVar[tuple[tuple[str, str], ...]]  # (attribute, JSON key) besides id

    def _check(self, component_id: object) -> str:
        what = f"component {component_id!r}"
        non_empty(component_id, "component id")
        _opt_text(getattr(self, "name", None), f"{what} name")
        for attribute in ("prerequisites", "precedes"):
            value = str_tuple(getattr(self, attribute), f"{what} {attribute}")
            object.__setattr__(self, attribute, value)
        credits = _opt_amount(getattr(self, "credits", None), f"{what} credits")
        object.__setattr__(self, "credits", credits)
        return what

    def to_json(self) -> dict[str, Any]:
        """credstack's JSON form of the component (None and empty values omitted)."""
        out: dict[str, Any] = {"kind": self.KIND, "id": getattr(self, "id", None)}
        for attribute, key in self._FIELDS:
            value = getattr(self, attribute)
            if value is not None and value != ():
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


_COMMON: Final = (
    ("name", "name"),
    ("credits", "credits"),
    ("prerequisites", "prerequisites"),
    ("precedes", "precedes"),
)


@dataclass(frozen=True, slots=True)
class AchievementComponent(_ComponentBase):
    """An achievement of this platform (IRI or URN), earned by a credential of it.

    ``credits`` is the achievement's creditsAvailable, ``hours`` its learning hours,
    ``level`` its level text, ``alignments`` the alignment targetUrls it declares.
    """

    KIND: ClassVar[str] = "achievement"
    _FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("achievement_id", "achievementId"),
        *_COMMON,
        ("hours", "hours"),
        ("level", "level"),
        ("alignments", "alignments"),
    )
    id: str
    achievement_id: str
    name: str | None = None
    credits: float | None = None
    hours: float | None = None
    level: str | None = None
    alignments: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    precedes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        what = self._check(self.id)
        non_empty(self.achievement_id, f"{what} achievementId")
        object.__setattr__(self, "hours", _opt_amount(self.hours, f"{what} hours"))
        _opt_text(self.level, f"{what} level")
        object.__setattr__(self, "alignments", str_tuple(self.alignments, f"{what} alignments"))

    @property
    def alignment_urls(self) -> tuple[str, ...]:
        return self.alignments


@dataclass(frozen=True, slots=True)
class PathwayComponent(_ComponentBase):
    """A nested pathway (stacks of stacks): earned when its final milestone is met, or when
    the learner holds the credential that milestone awards."""

    KIND: ClassVar[str] = "pathway"
    _FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (("pathway_id", "pathwayId"), *_COMMON)
    id: str
    pathway_id: str
    name: str | None = None
    credits: float | None = None
    prerequisites: tuple[str, ...] = ()
    precedes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check(self.id)
        non_empty(self.pathway_id, f"component {self.id!r} pathwayId")

    @property
    def alignment_urls(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class ExternalComponent(_ComponentBase):
    """A credential of another issuer, matched by an equivalency rule.

    It matches a credential whose issuer is ``issuer`` (a DID or URL) and whose achievement
    id is ``achievement_id``, or whose achievement aligns to ``alignment_url``; ``credits``
    are the credits the equivalency grants (else the credential's creditsEarned).
    """

    KIND: ClassVar[str] = "external"
    _FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("issuer", "issuer"),
        ("achievement_id", "achievementId"),
        ("alignment_url", "alignmentUrl"),
        *_COMMON,
    )
    id: str
    issuer: str
    achievement_id: str | None = None
    alignment_url: str | None = None
    name: str | None = None
    credits: float | None = None
    prerequisites: tuple[str, ...] = ()
    precedes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        what = self._check(self.id)
        non_empty(self.issuer, f"{what} issuer")
        _opt_text(self.achievement_id, f"{what} achievementId")
        _opt_text(self.alignment_url, f"{what} alignmentUrl")
        if (self.achievement_id is None) == (self.alignment_url is None):
            raise Invalid(f"{what}: give exactly one of achievementId and alignmentUrl")

    @property
    def alignment_urls(self) -> tuple[str, ...]:
        return () if self.alignment_url is None else (self.alignment_url,)


Component = AchievementComponent | PathwayComponent | ExternalComponent
COMPONENT_KINDS: Final[dict[str, type[Component]]] = {
    cls.KIND: cls for cls in (AchievementComponent, PathwayComponent, ExternalComponent)
}


@dataclass(frozen=True, slots=True)
class Milestone:
    """An exit of the pathway: its requirement tree and the stack achievement it awards."""

    id: str
    name: str
    achievement_id: str
    requirement: Requirement
    achievement_type: str = "Certificate"
    description: str | None = None

    def __post_init__(self) -> None:
        non_empty(self.id, "milestone id")
        what = f"milestone {self.id!r}"
        non_empty(self.name, f"{what} name")
        non_empty(self.achievement_id, f"{what} achievementId")
        if not isinstance(self.requirement, Requirement):
            raise Invalid(f"{what} requirement: must be a requirement")
        if self.achievement_type not in ACHIEVEMENT_TYPES and not (
            isinstance(self.achievement_type, str) and self.achievement_type.startswith("ext:")
        ):
            raise Invalid(f"{what} achievementType: {self.achievement_type!r} is not known")
        _opt_text(self.description, f"{what} description")


@dataclass(frozen=True, slots=True)
class Pathway:
    """A stackable pathway (see the module docstring). Ids may repeat here: :func:`validate
    <credstack.domain.pathway_validation.validate>` reports that; lookups take the first."""

    id: str
    name: str
    description: str
    version: int
    org_id: str
    components: tuple[Component, ...]
    milestones: tuple[Milestone, ...]
    final_milestone: str
    cascade_policy: CascadePolicy = CascadePolicy.SUSPEND

    def __post_init__(self) -> None:
        non_empty(self.id, "pathway id")
        non_empty(self.name, "pathway name")
        if not isinstance(self.description, str):
            raise Invalid("pathway description: must be a string")
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise Invalid("pathway version: must be an integer")
        if not isinstance(self.org_id, str):
            raise Invalid("pathway orgId: must be a string")
        components = tuple(self.components)
        if not all(isinstance(c, _ComponentBase) for c in components):
            raise Invalid("pathway components: must be components")
        milestones = tuple(self.milestones)
        if not all(isinstance(m, Milestone) for m in milestones):
            raise Invalid("pathway milestones: must be milestones")
        if not isinstance(self.final_milestone, str):
            raise Invalid("pathway finalMilestone: must be a milestone id")
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "milestones", milestones)
        object.__setattr__(self, "cascade_policy", cascade_policy(self.cascade_policy))

    def component(self, component_id: str) -> Component | None:
        return next((c for c in self.components if c.id == component_id), None)

    def milestone(self, milestone_id: str) -> Milestone | None:
        return next((m for m in self.milestones if m.id == milestone_id), None)

    @property
    def final(self) -> Milestone | None:
        """The final milestone (None only in a pathway that does not validate)."""
        return self.milestone(self.final_milestone)


def cascade_policy(value: object) -> CascadePolicy:
    """``value`` as a CascadePolicy, else Invalid."""
    try:
        return CascadePolicy(str(value))
    except ValueError:
        raise Invalid(f"pathway cascadePolicy: {value!r} is not 'suspend' or 'revoke'") from None
