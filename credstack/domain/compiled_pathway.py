"""Per-pathway indexes built once (achievement id -> components, prerequisites, milestone
order) and the learner facts requirements are evaluated against."""

from __future__ import annotations

from datetime import datetime

from credstack.domain.pathway_facts import ComponentEvidence
from credstack.domain.pathways import (
    AchievementComponent,
    ExternalComponent,
    Milestone,
    Pathway,
    PathwayComponent,
)
from credstack.domain.progress_model import ComponentProgress, ComponentState, Progress
from credstack.domain.requirement_base import RequirementResult


class CompiledPathway:
    """The indexes :func:`progress` needs, built once per pathway version."""

    __slots__ = (
        "awards",
        "by_achievement",
        "credits",
        "declared",
        "defined",
        "empty",
        "external_by_achievement",
        "external_by_alignment",
        "keys",
        "match",
        "milestones",
        "named",
        "nested",
        "order",
        "pathway",
        "plain",
        "position",
        "prerequisites",
        "reach",
        "unheld",
    )

    def __init__(self, pathway: Pathway) -> None:
        self.pathway = pathway
        seen: dict[str, AchievementComponent | PathwayComponent | ExternalComponent] = {}
        for component in pathway.components:
            seen.setdefault(component.id, component)
        self.order: tuple[str, ...] = tuple(seen)
        self.position = {cid: i for i, cid in enumerate(self.order)}
        self.by_achievement: dict[str, list[str]] = {}
        self.external_by_achievement: dict[str, list[tuple[str, str]]] = {}
        self.external_by_alignment: dict[str, list[tuple[str, str]]] = {}
        nested: list[tuple[str, str]] = []
        for cid, component in seen.items():
            if isinstance(component, AchievementComponent):
                self.by_achievement.setdefault(component.achievement_id, []).append(cid)
            elif isinstance(component, ExternalComponent):
                if component.achievement_id is not None:
                    index, key = self.external_by_achievement, component.achievement_id
                else:
                    index, key = self.external_by_alignment, str(component.alignment_url)
                index.setdefault(key, []).append((component.issuer, cid))
            else:
                nested.append((cid, component.pathway_id))
        self.nested: tuple[tuple[str, str], ...] = tuple(nested)
        #: achievement id -> (component id, issuer) to match; issuer None: this platform's own.
        self.match: dict[str, list[tuple[str, str | None]]] = {}
        for achievement_id, cids in self.by_achievement.items():
            self.match.setdefault(achievement_id, []).extend((cid, None) for cid in cids)
        for achievement_id, pairs in self.external_by_achievement.items():
            self.match.setdefault(achievement_id, []).extend((cid, i) for i, cid in pairs)
        self.credits = {cid: c.credits for cid, c in seen.items()}
        self.declared = {cid: frozenset(c.alignment_urls) for cid, c in seen.items()}
        self.prerequisites = {cid: c.prerequisites for cid, c in seen.items() if c.prerequisites}
        self.keys: frozenset[str] = frozenset(
            (*self.by_achievement, *self.external_by_achievement, *self.external_by_alignment)
        )
        milestones: dict[str, Milestone] = {}
        for milestone in pathway.milestones:
            milestones.setdefault(milestone.id, milestone)
        self.defined: tuple[Milestone, ...] = tuple(milestones.values())
        self.named = {mid: bool(m.requirement.all_components()) for mid, m in milestones.items()}
        self.awards = {
            m.achievement_id: tuple(self.by_achievement[m.achievement_id])
            for m in milestones.values()
            if m.achievement_id in self.by_achievement
        }
        self.milestones: tuple[Milestone, ...] = self._milestone_order(milestones)
        #: milestone id -> the components its result can depend on (prerequisites included).
        self.reach = {
            mid: frozenset(self.order)
            if any(node.uses_every_component() for node in m.requirement.walk())
            else self._closure(m.requirement.all_components())
            for mid, m in milestones.items()
        }
        #: milestone id -> its result for a learner holding none of ``reach`` (filled lazily).
        self.unheld: dict[str, RequirementResult] = {}
        #: The progress of a learner holding nothing this pathway uses (filled on first use).
        self.empty: Progress | None = None
        #: Component states without credentials, shared by every learner.
        self.plain: dict[tuple[str, tuple[str, ...]], ComponentProgress] = {}

    def state(self, component_id: str, locked_by: tuple[str, ...]) -> ComponentProgress:
        """The (shared) state of a component the learner holds nothing for."""
        key = (component_id, locked_by)
        found = self.plain.get(key)
        if found is None:
            state = ComponentState.LOCKED if locked_by else ComponentState.AVAILABLE
            found = self.plain[key] = ComponentProgress(component_id, state, locked_by=locked_by)
        return found

    def _closure(self, component_ids: tuple[str, ...]) -> frozenset[str]:
        todo, seen = list(component_ids), set()
        while todo:
            cid = todo.pop()
            if cid not in seen:
                seen.add(cid)
                todo.extend(self.prerequisites.get(cid, ()))
        return frozenset(seen)

    def _milestone_order(self, milestones: dict[str, Milestone]) -> tuple[Milestone, ...]:
        """Milestones whose awards other milestones use come first (stacks within a pathway)."""
        if not self.awards:
            return tuple(milestones.values())
        awarded_by = {m.achievement_id: mid for mid, m in milestones.items()}
        needs: dict[str, set[str]] = {}
        for mid, milestone in milestones.items():
            closure = self._closure(milestone.requirement.all_components())
            needs[mid] = set()
            for achievement, components in self.awards.items():
                if closure.intersection(components) and awarded_by[achievement] != mid:
                    needs[mid].add(awarded_by[achievement])
        ordered: list[str] = []
        while len(ordered) < len(milestones):
            ready = [m for m in milestones if m not in ordered and needs[m] <= set(ordered)]
            ordered.append(ready[0] if ready else next(m for m in milestones if m not in ordered))
        return tuple(milestones[m] for m in ordered)


class LearnerFacts:
    """:class:`~credstack.domain.pathway_facts.Facts` for one learner and one pathway."""

    __slots__ = ("_compiled", "_held", "_locks", "_prerequisites", "now", "via")

    def __init__(
        self,
        now: datetime,
        held: dict[str, tuple[ComponentEvidence, ...]],
        compiled: CompiledPathway,
    ) -> None:
        self.now = now
        self._held = held
        self._compiled = compiled
        self._prerequisites = compiled.prerequisites
        self._locks: dict[str, tuple[str, ...]] = {}
        self.via: dict[str, str] = {}

    def holds_any(self, component_ids: frozenset[str]) -> bool:
        """Whether anything is held for one of ``component_ids`` (locked or not)."""
        return not component_ids.isdisjoint(self._held)

    def held(self, component_id: str) -> tuple[ComponentEvidence, ...]:
        return self._held.get(component_id, ())

    def evidence(self, component_id: str) -> tuple[ComponentEvidence, ...]:
        evidence = self._held.get(component_id)
        if not evidence:
            return ()
        if component_id in self._prerequisites and self.locked_by(component_id):
            return ()
        return evidence

    def locked_by(self, component_id: str) -> tuple[str, ...]:
        required = self._prerequisites.get(component_id)
        if required is None:
            return ()
        known = self._locks.get(component_id)
        if known is not None:
            return known
        self._locks[component_id] = (component_id,)  # while computing: a cycle never unlocks
        missing = tuple(p for p in required if not self.evidence(p))
        self._locks[component_id] = missing
        return missing

    def component_ids(self) -> tuple[str, ...]:
        return self._compiled.order

    def declared_alignments(self, component_id: str) -> frozenset[str]:
        return self._compiled.declared.get(component_id, frozenset())

    def add(self, component_id: str, evidence: ComponentEvidence, milestone_id: str) -> None:
        """A milestone of this pathway awarding the component's achievement is met."""
        before = self._held.get(component_id, ())
        if not before:
            self.via[component_id] = milestone_id
        self._held[component_id] = (*before, evidence)
        self._locks.clear()
