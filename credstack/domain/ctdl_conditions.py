"""Requirement trees as CTDL ``ceterms:ComponentCondition`` trees, and back.

Native mapping (what a CTDL consumer understands without credstack):

============  ==============================================================================
component     a condition whose only ``ceterms:targetComponent`` is that component
all_of        ``ceterms:logicalOperator`` ``logic:And``; the leading component children as
              ``ceterms:targetComponent`` (``ceterms:requiredNumber`` = their count), the others
              as nested ``ceterms:hasCondition`` (all of them nested when a component follows
              a nested condition, so that the order is kept)
any_of        ``logic:Or``, ``ceterms:requiredNumber`` 1
at_least      ``ceterms:requiredNumber`` N, no operator
credits       ``ceterms:creditValue`` (a ValueProfile) over the pool as targetComponent
============  ==============================================================================

Every condition also carries a ``ceterms:name`` describing it. Whatever does not read back
identically through that mapping (result, recency, competencies, max_external)
additionally carries credstack's JSON of the subtree as the
JSON literal ``https://credstack.org/vocab#requirement``; the reader prefers it. So
``read_condition(condition_json(r)) == r`` for every requirement, while the native part
stays a faithful approximation for other consumers.

The reader also accepts the 2018 proposal's dialect (``leftOperand: "reqNum"``,
``rightOperand``, ``logicalOperand: "OR"``, ``hasRuleSet.requiredNumber``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from credstack.domain.ctdl_graph import EXT, Graph, Node, credit_values, json_literal, lang
from credstack.domain.ctdl_graph import value_profile as _value_profile
from credstack.domain.errors import Invalid
from credstack.domain.requirements import (
    AllOf,
    AnyOf,
    AtLeast,
    Credits,
    Earn,
    MaxExternal,
    Recency,
    Requirement,
    Result,
    requirement_from_json,
)

#: IRI of a component's node -> credstack component id (the reader's resolver).
Resolve = Callable[[str], str]
#: credstack component id -> IRI of its node (the writer's).
NodeId = Callable[[str], str]
_EMPTY = Graph({"@graph": []})


def condition_json(requirement: Requirement, node_id: NodeId, resolve: Resolve) -> dict[str, Any]:
    """The ComponentCondition for ``requirement`` (``resolve`` inverts ``node_id``)."""
    out: dict[str, Any] = {
        "@type": "ceterms:ComponentCondition",
        "ceterms:name": lang(requirement.describe()),
    }
    if isinstance(requirement, AllOf | AnyOf | AtLeast):
        # Components first as targetComponent, the rest as nested conditions; when a
        # component follows a nested one, every child becomes a nested condition (order kept).
        first = 0
        while first < len(requirement.of) and isinstance(requirement.of[first], Earn):
            first += 1
        if any(isinstance(c, Earn) for c in requirement.of[first:]):
            first = 0
        leaves = [node_id(c.components()[0]) for c in requirement.of[:first]]
        nested = [condition_json(c, node_id, resolve) for c in requirement.of[first:]]
        if isinstance(requirement, AtLeast):
            out["ceterms:requiredNumber"] = requirement.n
        else:
            operator = "logic:And" if isinstance(requirement, AllOf) else "logic:Or"
            out["ceterms:logicalOperator"] = operator
            if leaves:
                out["ceterms:requiredNumber"] = len(leaves) if isinstance(requirement, AllOf) else 1
        if leaves:
            out["ceterms:targetComponent"] = leaves
        if nested:
            out["ceterms:hasCondition"] = nested
    elif isinstance(requirement, Credits):
        out["ceterms:creditValue"] = [_value_profile(requirement.credits, "DegreeCredit")]
        out["ceterms:targetComponent"] = [node_id(c) for c in requirement.pool]
    elif isinstance(requirement, MaxExternal):
        out["ceterms:hasCondition"] = [condition_json(requirement.requirement, node_id, resolve)]
    else:
        named = requirement.components()
        if isinstance(requirement, Earn | Result | Recency):
            out["ceterms:requiredNumber"] = 1
        if named:
            out["ceterms:targetComponent"] = [node_id(c) for c in named]
    if isinstance(requirement, Earn):
        out.pop("ceterms:requiredNumber")
    if read_condition(Node(out), resolve, _EMPTY) != requirement:
        out[EXT + "requirement"] = json_literal(requirement.to_json())
    return out


def read_condition(condition: Node, resolve: Resolve, graph: Graph) -> Requirement:
    """The requirement a ComponentCondition stands for (see the module docstring)."""
    own = condition.extension("requirement")
    if own is not None:
        return requirement_from_json(own, "credstack requirement")
    targets = [resolve(ref) for ref in condition.refs("targetComponent")]
    children: list[Requirement] = [Earn(t) for t in targets]
    children += [
        read_condition(c, resolve, graph) for c in graph.objects(condition, "hasCondition")
    ]
    credits, _ = credit_values(graph, condition)
    if credits is not None and credits > 0:
        return Credits(credits, tuple(targets))
    operator = str(condition.get("logicalOperator", "logicalOperand") or "").lower()
    operator = operator.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    if operator == "and":
        return AllOf(tuple(children))
    if operator == "or":
        return AnyOf(tuple(children))
    required = _required_number(condition, graph)
    if required is not None:
        return AtLeast(required, tuple(children))
    if len(children) == 1:
        return children[0]
    return AllOf(tuple(children))


def _required_number(condition: Node, graph: Graph) -> int | None:
    value: Any = condition.get("requiredNumber")
    if value is None and condition.get("leftOperand") == "reqNum":
        value = condition.get("rightOperand")
    if value is None:
        for rule_set in graph.objects(condition, "hasRuleSet"):
            value = value if value is not None else rule_set.get("requiredNumber")
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"CTDL: ceterms:requiredNumber {value!r} is not a whole number")
    return value if value > 0 else None  # 0 is the unset default of some serializers
