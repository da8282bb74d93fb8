"""The learner's pathway maps: for each pathway the learner touches, its components as a
graph coloured earned / available / locked (``credstack.domain.pathway_graph.layout`` drawn
by ``graph_svg.render_svg``), the same states as a text list, the credits counter, the
percent, the next eligible steps and the stacked credentials with their state.

A pathway is *touched* when the learner is enrolled in it, holds a credential one of its
components counts, or has a stack of it. Progress comes from the stacking engine
(``services.stacking.learner_progress``) for the account's address; the drawings are
cached per pathway version (published versions never change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from credstack.domain.pathway_graph import Graph, layout, milestone_node
from credstack.domain.pathways import Pathway
from credstack.domain.progress_model import ComponentState
from credstack.domain.stack_records import StackAward
from credstack.services import awards
from credstack.services.platform import Platform
from credstack.services.stacking import LearnerPathway, learner_progress
from credstack.web.pages.graph_svg import render_svg

_GRAPHS: dict[tuple[str, int], Graph] = {}
_MAX_GRAPHS: Final = 512
STATE_WORDS: Final = {
    "earned": "Earned",
    "available": "Available now",
    "locked": "Locked",
}


@dataclass(frozen=True, slots=True)
class ComponentRow:
    id: str
    name: str
    state: str
    credits: float
    locked_by: tuple[str, ...] = ()

    @property
    def state_words(self) -> str:
        return STATE_WORDS.get(self.state, self.state)


@dataclass(frozen=True, slots=True)
class StackRow:
    milestone: str
    state: str
    reason: str | None
    credential_url: str
    award_id: str
    clr_url: str | None


@dataclass(frozen=True, slots=True)
class PathwayMap:
    """One pathway as the wallet shows it."""

    iri: str
    name: str
    version: int
    enrolled_version: int | None
    percent: float
    complete: bool
    credits_counted: float
    credits_required: float
    svg: Markup
    components: tuple[ComponentRow, ...]
    next_steps: tuple[str, ...]
    stacks: tuple[StackRow, ...]

    def count(self, state: str) -> int:
        return sum(1 for c in self.components if c.state == state)

    @property
    def dom_id(self) -> str:
        return "map-" + "".join(ch if ch.isalnum() else "-" for ch in self.iri)[-60:]


def graph_of(pathway: Pathway) -> Graph:
    key = (pathway.id, pathway.version)
    found = _GRAPHS.get(key)
    if found is None:
        if len(_GRAPHS) >= _MAX_GRAPHS:
            _GRAPHS.clear()
        found = _GRAPHS[key] = layout(pathway)
    return found


def _touched(item: LearnerPathway, stacks: Sequence[StackAward]) -> bool:
    if item.enrolled_version is not None or stacks:
        return True
    return any(c.credential_ids for c in item.progress.components)


def _names(pathway: Pathway) -> dict[str, str]:
    return {c.id: c.name or c.id for c in pathway.components}


def map_of(platform: Platform, item: LearnerPathway, stacks: Sequence[StackAward]) -> PathwayMap:
    """The map of one pathway from the learner's progress and stacks on it."""
    pathway, run = item.pathway, item.progress
    names = _names(pathway)
    credits = {c.id: c.credits or 0.0 for c in pathway.components}
    states: dict[str, str] = {c.component_id: c.state.value for c in run.components}
    for milestone in run.milestones:
        if milestone.met:
            states[milestone_node(milestone.milestone_id)] = ComponentState.EARNED.value
    svg = render_svg(graph_of(pathway), states, title=f"Map of {pathway.name}")
    rows = tuple(
        ComponentRow(
            id=c.component_id,
            name=names.get(c.component_id, c.component_id),
            state=c.state.value,
            credits=c.credits or credits.get(c.component_id, 0.0),
            locked_by=tuple(names.get(i, i) for i in c.locked_by),
        )
        for c in run.components
    )
    milestone_names = {m.id: m.name for m in pathway.milestones}
    base = platform.base_url
    stack_rows = tuple(
        StackRow(
            milestone=milestone_names.get(s.milestone, s.milestone),
            state=s.state.value,
            reason=s.reason,
            credential_url=awards.credential_url(base, s.award_id),
            award_id=s.award_id,
            clr_url=awards.credential_url(base, s.clr_award_id) if s.clr_award_id else None,
        )
        for s in stacks
    )
    return PathwayMap(
        iri=pathway.id,
        name=pathway.name,
        version=pathway.version,
        enrolled_version=item.enrolled_version,
        percent=round(run.percent, 1),
        complete=run.complete,
        credits_counted=run.credits_counted,
        credits_required=run.credits_required,
        svg=Markup(svg),  # noqa: S704 - render_svg escapes every text it draws
        components=rows,
        next_steps=tuple(names.get(i, i) for i in run.next_steps),
        stacks=stack_rows,
    )


def maps_for(platform: Platform, learner: str) -> list[PathwayMap]:
    """The maps of every pathway ``learner`` touches, by name."""
    if platform.stacking is None:
        return []
    stacks: dict[str, list[StackAward]] = {}
    for stack in platform.stacking.stack_awards(learner=learner):
        stacks.setdefault(stack.pathway_iri, []).append(stack)
    found = [
        map_of(platform, item, stacks.get(item.pathway.id, []))
        for item in learner_progress(platform, learner)
        if _touched(item, stacks.get(item.pathway.id, []))
    ]
    return sorted(found, key=lambda m: (m.name.lower(), m.iri))
