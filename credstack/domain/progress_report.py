"""Turning evaluated milestones into a :class:`~credstack.domain.progress_model.Progress`."""

from __future__ import annotations

from collections.abc import Mapping

from credstack.domain.compiled_pathway import CompiledPathway, LearnerFacts
from credstack.domain.progress_model import (
    ComponentProgress,
    ComponentState,
    MilestoneProgress,
    Progress,
)
from credstack.domain.requirement_base import RequirementResult


def with_prerequisites(
    result: RequirementResult, facts: LearnerFacts, compiled: CompiledPathway
) -> RequirementResult:
    """``result`` also using the credentials of the prerequisites of the components it uses:
    those count only while their prerequisites are earned, so the stack needs them too."""
    ids, until = set(result.credential_ids), result.valid_until
    grown = True
    while grown:
        grown = False
        for cid, required in compiled.prerequisites.items():
            evidence = facts.evidence(cid)
            if not evidence or ids.isdisjoint(evidence[0].credential_ids):
                continue
            for prerequisite in required:
                found = facts.evidence(prerequisite)
                if found and not ids.issuperset(found[0].credential_ids):
                    ids.update(found[0].credential_ids)
                    grown = True
                    if found[0].valid_until is not None and (
                        until is None or found[0].valid_until < until
                    ):
                        until = found[0].valid_until
    if len(ids) == len(result.credential_ids):
        return result
    return result._replace(credential_ids=frozenset(ids), valid_until=until)


def report(
    compiled: CompiledPathway,
    facts: LearnerFacts,
    results: dict[str, tuple[RequirementResult, bool]],
) -> Progress:
    states: dict[str, ComponentProgress] = {}
    plain = compiled.plain
    total = 0.0
    for cid in compiled.order:
        held = facts.held(cid)
        locked = facts.locked_by(cid)
        if not held:
            found = plain.get((cid, locked))
            states[cid] = found if found is not None else compiled.state(cid, locked)
            continue
        earned = not locked
        if earned:
            total += held[0].credits
        states[cid] = ComponentProgress(
            cid,
            ComponentState.EARNED if earned else ComponentState.LOCKED,
            held[0].credential_ids,
            locked,
            held[0].credits if earned else 0.0,
            facts.via.get(cid),
        )
    milestones = []
    steps: set[str] = set()
    for milestone in compiled.defined:
        result, met = results[milestone.id]
        next_steps = () if met else _next_steps(result.advancing, states, compiled.position)
        steps.update(next_steps)
        percent = 100.0 if met else min(99.9, round(result.fraction * 100.0, 1))
        milestones.append(
            MilestoneProgress(
                milestone.id,
                milestone.achievement_id,
                met,
                percent if compiled.named[milestone.id] else 0.0,
                result.credits_counted,
                result.credits_required,
                tuple(sorted(result.credential_ids)),
                result.valid_until,
                () if met else result.missing or ("name at least one component",),
                next_steps,
            )
        )
    pathway = compiled.pathway
    final = results.get(pathway.final_milestone)
    return Progress(
        pathway.id,
        pathway.version,
        pathway.final_milestone,
        tuple(states.values()),
        tuple(milestones),
        total,
        final[0].credits_required if final is not None else 0.0,
        tuple(sorted(steps, key=compiled.position.__getitem__)),
    )


def _next_steps(
    advancing: frozenset[str], states: Mapping[str, ComponentProgress], position: Mapping[str, int]
) -> tuple[str, ...]:
    found: list[str] = []
    todo, seen = list(advancing), set()
    while todo:
        cid = todo.pop()
        if cid in seen or cid not in states:
            continue
        seen.add(cid)
        state = states[cid]
        if state.state is ComponentState.AVAILABLE:
            found.append(cid)
        elif state.state is ComponentState.LOCKED:
            todo.extend(state.locked_by)
    return tuple(sorted(found, key=position.__getitem__))
