"""What :func:`credstack.domain.progress.progress` returns (see that module for the
definitions of earned, locked, percent and next steps)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ComponentState(StrEnum):
    EARNED = "earned"
    AVAILABLE = "available"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class ComponentProgress:
    """One component for one learner.

    ``credential_ids``: the credentials that earn it (also when locked: held, not counting
    yet); ``locked_by``: its prerequisites not earned; ``credits``: what it counts once
    earned; ``via_milestone``: earned because that milestone of this pathway is met.
    """

    component_id: str
    state: ComponentState
    credential_ids: tuple[str, ...] = ()
    locked_by: tuple[str, ...] = ()
    credits: float = 0.0
    via_milestone: str | None = None


@dataclass(frozen=True, slots=True)
class MilestoneProgress:
    """One milestone for one learner; ``credential_ids`` are those it uses (when met: the
    contributing credentials to nest in the CLR and to re-check on revocation)."""

    milestone_id: str
    achievement_id: str
    met: bool
    percent: float
    credits_counted: float
    credits_required: float
    credential_ids: tuple[str, ...]
    valid_until: datetime | None
    missing: tuple[str, ...]
    next_steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Progress:
    """A learner's progress through one pathway version.

    ``credits_counted`` sums the credits of every earned component; ``credits_required`` is
    what the final milestone's credits requirements ask; ``next_steps`` joins those of the
    unmet milestones (definition order).
    """

    pathway_id: str
    version: int
    final_milestone: str
    components: tuple[ComponentProgress, ...]
    milestones: tuple[MilestoneProgress, ...]
    credits_counted: float
    credits_required: float
    next_steps: tuple[str, ...]

    def component(self, component_id: str) -> ComponentProgress:
        for item in self.components:
            if item.component_id == component_id:
                return item
        raise KeyError(component_id)

    def milestone(self, milestone_id: str) -> MilestoneProgress:
        for item in self.milestones:
            if item.milestone_id == milestone_id:
                return item
        raise KeyError(milestone_id)

    @property
    def final(self) -> MilestoneProgress | None:
        return next((m for m in self.milestones if m.milestone_id == self.final_milestone), None)

    @property
    def complete(self) -> bool:
        final = self.final
        return final is not None and final.met

    @property
    def percent(self) -> float:
        final = self.final
        return final.percent if final is not None else 0.0

    @property
    def missing(self) -> tuple[str, ...]:
        final = self.final
        return final.missing if final is not None else ()

    @property
    def valid_until(self) -> datetime | None:
        """The stack's expiry: the earliest validUntil among the credentials it needs."""
        final = self.final
        return final.valid_until if final is not None else None

    @property
    def met_milestones(self) -> tuple[str, ...]:
        return tuple(m.milestone_id for m in self.milestones if m.met)

    def earned(self) -> frozenset[str]:
        """Ids of the earned components."""
        return frozenset(
            c.component_id for c in self.components if c.state is ComponentState.EARNED
        )
