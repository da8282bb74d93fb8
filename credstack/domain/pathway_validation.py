"""Checks before publishing a pathway, and what a new version would change for learners.

:func:`validate` returns every :class:`~credstack.domain.requirement_base.Problem` (a stable
code and one line naming the component or milestone ids involved); an empty list means the
pathway can be published. Codes:

=============================  ==========================================================
``component.duplicate_id``     two components share an id
``milestone.duplicate_id``     two milestones share an id
``pathway.no_milestones``      nothing to earn
``milestone.final_unknown``    the final milestone names no milestone
``milestone.empty``            a milestone's requirement names no component
``requirement.unknown_component``  a requirement names an undefined component
``requirement.unsatisfiable``  N of fewer children, credits beyond the pool, competencies
                               no component aligns to, an empty choice
``prerequisite.unknown_component`` / ``precedes.unknown_component``
``prerequisite.cycle`` / ``precedes.cycle``   the cycle, named
``component.unused``           in no requirement (nor a prerequisite of a used component)
``achievement.unknown``        an achievement id not in ``known_achievements``
``pathway.unknown_nested``     a nested pathway not in ``known_pathways``
``pathway.nesting_cycle``      pathways nesting each other, named
``milestone.cycle``            milestones needing each other's awards, named
=============================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import replace

from credstack.domain.pathways import (
    AchievementComponent,
    Component,
    Milestone,
    Pathway,
    PathwayComponent,
)
from credstack.domain.requirement_base import Problem, names
from credstack.domain.what_if import MilestoneChange, WhatIfReport, what_if

__all__ = ["MilestoneChange", "Problem", "WhatIfReport", "validate", "what_if"]


def validate(
    pathway: Pathway,
    known_achievements: Set[str] | None = None,
    known_pathways: Mapping[str, Pathway] | None = None,
) -> list[Problem]:
    """Every reason ``pathway`` cannot be published (empty: it can). See the module."""
    problems: list[Problem] = []
    components: dict[str, Component] = {}
    for component in pathway.components:
        components.setdefault(component.id, component)
    milestones: dict[str, Milestone] = {}
    for milestone in pathway.milestones:
        milestones.setdefault(milestone.id, milestone)
    for kind, ids in (
        ("component", [c.id for c in pathway.components]),
        ("milestone", [m.id for m in pathway.milestones]),
    ):
        for repeated in dict.fromkeys(i for i in ids if ids.count(i) > 1):
            message = f"{kind} id {repeated!r} is defined {ids.count(repeated)} times"
            problems.append(Problem(f"{kind}.duplicate_id", message, (repeated,)))
    if not milestones:
        problems.append(Problem("pathway.no_milestones", "the pathway has no milestone"))
    elif pathway.final_milestone not in milestones:
        message = (
            f"final milestone {pathway.final_milestone!r} is not defined "
            f"(milestones: {names(list(milestones))})"
        )
        problems.append(Problem("milestone.final_unknown", message, (pathway.final_milestone,)))
    problems += _requirements(milestones, components)
    problems += _orderings(components)
    problems += _unused(milestones, components)
    if known_achievements is not None:
        problems += _unknown_achievements(milestones, components, known_achievements)
    problems += _nesting(pathway, components, known_pathways)
    problems += _milestone_cycles(milestones, components)
    return problems


def _requirements(
    milestones: Mapping[str, Milestone], components: Mapping[str, Component]
) -> list[Problem]:
    problems = []
    for milestone in milestones.values():
        named = milestone.requirement.all_components()
        where = f"milestone {milestone.id}"
        if not named:
            message = f"{where} names no component: it could never be met"
            problems.append(Problem("milestone.empty", message, (milestone.id,)))
        unknown = tuple(c for c in named if c not in components)
        if unknown:
            message = f"{where} names undefined component(s): {names(unknown)}"
            problems.append(Problem("requirement.unknown_component", message, unknown))
        for node in milestone.requirement.walk():
            for problem in node.problems(components):
                problems.append(replace(problem, message=f"{where}: {problem.message}"))
    return problems


def _orderings(components: Mapping[str, Component]) -> list[Problem]:
    problems = []
    for relation in ("prerequisites", "precedes"):
        code = "prerequisite" if relation == "prerequisites" else "precedes"
        graph: dict[str, tuple[str, ...]] = {}
        for component in components.values():
            targets: tuple[str, ...] = getattr(component, relation)
            unknown = tuple(t for t in targets if t not in components)
            if unknown:
                verb = "requires" if code == "prerequisite" else "precedes"
                message = (
                    f"component {component.id} {verb} undefined component(s): {names(unknown)}"
                )
                problems.append(
                    Problem(f"{code}.unknown_component", message, (component.id, *unknown))
                )
            graph[component.id] = tuple(t for t in targets if t in components)
        for cycle in find_cycles(graph):
            how = "requires" if code == "prerequisite" else "precedes"
            message = f"{code} cycle: {' -> '.join((*cycle, cycle[0]))} (each {how} the next)"
            problems.append(Problem(f"{code}.cycle", message, tuple(cycle)))
    return problems


def _prerequisite_closure(start: Iterable[str], components: Mapping[str, Component]) -> set[str]:
    todo, seen = list(start), set()
    while todo:
        cid = todo.pop()
        if cid not in seen:
            seen.add(cid)
            component = components.get(cid)
            todo.extend(component.prerequisites if component is not None else ())
    return seen


def _unused(
    milestones: Mapping[str, Milestone], components: Mapping[str, Component]
) -> list[Problem]:
    named = [c for m in milestones.values() for c in m.requirement.all_components()]
    used = _prerequisite_closure(named, components)
    return [
        Problem(
            "component.unused", f"component {cid} is in no requirement of any milestone", (cid,)
        )
        for cid in components
        if cid not in used
    ]


def _unknown_achievements(
    milestones: Mapping[str, Milestone],
    components: Mapping[str, Component],
    known: Set[str],
) -> list[Problem]:
    problems = []
    for component in components.values():
        if isinstance(component, AchievementComponent) and component.achievement_id not in known:
            message = (
                f"component {component.id}: achievement {component.achievement_id} is not known"
            )
            problems.append(Problem("achievement.unknown", message, (component.id,)))
    for milestone in milestones.values():
        if milestone.achievement_id not in known:
            message = (
                f"milestone {milestone.id}: achievement {milestone.achievement_id} is not known"
            )
            problems.append(Problem("achievement.unknown", message, (milestone.id,)))
    return problems


def _nesting(
    pathway: Pathway,
    components: Mapping[str, Component],
    known: Mapping[str, Pathway] | None,
) -> list[Problem]:
    problems = []
    pathways = {**(known or {}), pathway.id: pathway}
    graph = {
        pid: tuple(c.pathway_id for c in p.components if isinstance(c, PathwayComponent))
        for pid, p in pathways.items()
    }
    for component in components.values():
        if not isinstance(component, PathwayComponent):
            continue
        if known is not None and component.pathway_id not in pathways:
            message = (
                f"component {component.id}: nested pathway {component.pathway_id} is not known"
            )
            problems.append(Problem("pathway.unknown_nested", message, (component.id,)))
    for found in find_cycles({k: tuple(v for v in vs if v in graph) for k, vs in graph.items()}):
        if pathway.id not in found:
            continue
        start = found.index(pathway.id)
        cycle = found[start:] + found[:start]
        via = tuple(
            c.id
            for c in components.values()
            if isinstance(c, PathwayComponent) and c.pathway_id == cycle[1 % len(cycle)]
        )
        message = f"component {names(via)}: nested pathway cycle {' -> '.join((*cycle, cycle[0]))}"
        problems.append(Problem("pathway.nesting_cycle", message, via))
    return problems


def _milestone_cycles(
    milestones: Mapping[str, Milestone], components: Mapping[str, Component]
) -> list[Problem]:
    awarded_by: dict[str, list[str]] = {}
    for milestone in milestones.values():
        awarded_by.setdefault(milestone.achievement_id, []).append(milestone.id)
    graph: dict[str, tuple[str, ...]] = {}
    for milestone in milestones.values():
        needed = _prerequisite_closure(milestone.requirement.all_components(), components)
        graph[milestone.id] = tuple(
            other
            for cid in needed
            if isinstance(components.get(cid), AchievementComponent)
            for other in awarded_by.get(getattr(components[cid], "achievement_id", ""), ())
        )
    return [
        Problem(
            "milestone.cycle",
            f"milestone cycle: {' -> '.join((*cycle, cycle[0]))} (each needs the other's award)",
            tuple(cycle),
        )
        for cycle in find_cycles(graph)
    ]


def find_cycles(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one, as a node path.

    Nodes are visited in the mapping's order, so the result is deterministic.
    """
    order = list(graph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in order:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            edges = graph.get(node, ())
            if i < len(edges):
                work.append((node, i + 1))
                target = edges[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                components.append(members)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    cycles = []
    for members in sorted(components, key=lambda ms: min(order.index(m) for m in ms)):
        inside = set(members)
        start = min(members, key=order.index)
        if len(members) == 1 and start not in graph.get(start, ()):
            continue
        cycles.append(_path_back(graph, start, inside))
    return cycles


def _path_back(graph: Mapping[str, Sequence[str]], start: str, inside: set[str]) -> list[str]:
    """A shortest path start -> ... -> start inside one strongly connected component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in graph.get(node, ()):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                if target in inside and target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    return [start]
