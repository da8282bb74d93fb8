"""A layered drawing of a pathway: where each component and milestone goes on a canvas.

Pure: no I/O. :func:`layout` places components in columns by prerequisite depth (a
component without prerequisites is in column 0, any other one column right of its deepest
prerequisite), orders each column to keep edges short (the mean row of what points at a
node, one sweep from left to right), and puts the milestones in one column on the right,
the final milestone last. Edges are the prerequisites (``prerequisite``: from the
prerequisite to the component it unlocks), the recommended order (``precedes``) and what
each milestone's requirement names (``counts``: from the component to the milestone; left
out when a component it unlocks, directly or through others, counts toward the same
milestone: the path through that component already leads there).

A prerequisite cycle (which validation reports) does not break the layout: the edge that
closes a cycle is still drawn but does not push a column further right.

Node ids are the component ids and, for milestones, :func:`milestone_node` of the
milestone id (a component and a milestone may share an id). Renderers
(``credstack.web.pages.graph_svg``) draw the boxes ``node_width`` by ``node_height`` with
``(x, y)`` their top-left corner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from credstack.domain.pathways import Pathway

NODE_WIDTH: Final = 200.0
NODE_HEIGHT: Final = 56.0
COLUMN_GAP: Final = 70.0
ROW_GAP: Final = 28.0
MARGIN: Final = 16.0
MILESTONE: Final = "milestone"


def milestone_node(milestone_id: str) -> str:
    """The node id of a milestone (``milestone:`` and its id)."""
    return f"{MILESTONE}:{milestone_id}"


@dataclass(frozen=True, slots=True)
class Node:
    """A box on the canvas. ``kind``: ``achievement``, ``pathway`` or ``external`` (the
    component kinds) or ``milestone``; ``detail`` a short second line (credits, type);
    ``final`` marks the final milestone."""

    id: str
    label: str
    x: float
    y: float
    kind: str
    column: int
    detail: str = ""
    final: bool = False


@dataclass(frozen=True, slots=True)
class Edge:
    """An arrow from ``source`` to ``target``; ``kind``: prerequisite, precedes, counts."""

    source: str
    target: str
    kind: str


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: float
    height: float
    node_width: float = NODE_WIDTH
    node_height: float = NODE_HEIGHT

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)


def _amount(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g} credit" + ("" if value == 1 else "s")


def depths(prerequisites: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """The column of each node: 0 without prerequisites, else one more than the deepest
    prerequisite (unknown ids ignored; an edge closing a cycle counts as nothing)."""
    found: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(node: str) -> int:
        if node in found:
            return found[node]
        visiting.add(node)
        best = 0
        for before in prerequisites.get(node, ()):
            if before in prerequisites and before not in visiting:
                best = max(best, depth(before) + 1)
        visiting.discard(node)
        found[node] = best
        return best

    for node in prerequisites:
        depth(node)
    return found


def _unlocks(prerequisites: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """Every component each one unlocks, directly or through others (itself excluded)."""
    after: dict[str, list[str]] = {node: [] for node in prerequisites}
    for node, befores in prerequisites.items():
        for before in befores:
            after.setdefault(before, []).append(node)
    out: dict[str, set[str]] = {}
    for start, direct in after.items():
        seen: set[str] = set()
        todo = list(direct)
        while todo:
            node = todo.pop()
            if node not in seen and node != start:
                seen.add(node)
                todo.extend(after.get(node, ()))
        out[start] = seen
    return out


def _order(columns: dict[int, list[str]], incoming: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Row of every node: column by column, sorted by the mean row of their sources."""
    rows: dict[str, int] = {}
    for column in sorted(columns):
        members = columns[column]
        original = {node: i for i, node in enumerate(members)}

        def weight(node: str, original: dict[str, int] = original) -> tuple[float, int]:
            placed = [rows[s] for s in incoming.get(node, ()) if s in rows]
            mean = sum(placed) / len(placed) if placed else float(original[node])
            return (mean, original[node])

        for row, node in enumerate(sorted(members, key=weight)):
            rows[node] = row
    return rows


def layout(pathway: Pathway) -> Graph:
    """Where each component and milestone of ``pathway`` goes (see the module)."""
    components: dict[str, object] = {}
    for component in pathway.components:
        components.setdefault(component.id, component)
    prerequisites = {
        c.id: tuple(p for p in c.prerequisites if p in components) for c in pathway.components
    }
    column_of = depths(prerequisites)
    edges: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()

    def add(source: str, target: str, kind: str) -> None:
        if (source, target, kind) not in seen and source != target:
            seen.add((source, target, kind))
            edges.append(Edge(source, target, kind))

    for component in pathway.components:
        for before in component.prerequisites:
            if before in components:
                add(before, component.id, "prerequisite")
        for after in component.precedes:  # a prerequisite says more: drawn once
            if after in components and component.id not in prerequisites.get(after, ()):
                add(component.id, after, "precedes")
    milestones = list(dict.fromkeys(m.id for m in pathway.milestones))
    final = pathway.final_milestone
    if final in milestones:  # the final milestone last
        milestones = [m for m in milestones if m != final] + [final]
    last = max(column_of.values(), default=-1) + 1
    columns: dict[int, list[str]] = {}
    for component_id in components:
        columns.setdefault(column_of[component_id], []).append(component_id)
    unlocks = _unlocks(prerequisites)
    for milestone_id in milestones:
        milestone = pathway.milestone(milestone_id)
        assert milestone is not None
        node = milestone_node(milestone_id)
        columns.setdefault(last, []).append(node)
        named = [c for c in milestone.requirement.all_components() if c in components]
        for component_id in named:
            if not unlocks[component_id].intersection(named):
                add(component_id, node, "counts")
    incoming: dict[str, list[str]] = {}
    for edge in edges:
        incoming.setdefault(edge.target, []).append(edge.source)
    rows = _order({k: v for k, v in columns.items() if k != last}, incoming)
    if last in columns:  # milestones keep their order (the final one last)
        rows.update({node: i for i, node in enumerate(columns[last])})
    nodes: list[Node] = []
    for column in sorted(columns):
        for node_id in sorted(columns[column], key=lambda n: rows[n]):
            x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
            y = MARGIN + rows[node_id] * (NODE_HEIGHT + ROW_GAP)
            nodes.append(_node(pathway, node_id, x, y, column))
    tallest = max((len(v) for v in columns.values()), default=0)
    width = MARGIN * 2 + (max(columns, default=-1) + 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    height = MARGIN * 2 + tallest * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    return Graph(tuple(nodes), tuple(edges), max(width, MARGIN * 2), max(height, MARGIN * 2))


def _node(pathway: Pathway, node_id: str, x: float, y: float, column: int) -> Node:
    prefix = f"{MILESTONE}:"
    if node_id.startswith(prefix) and pathway.component(node_id) is None:
        milestone = pathway.milestone(node_id.removeprefix(prefix))
        assert milestone is not None
        final = milestone.id == pathway.final_milestone
        detail = milestone.achievement_type + (" · final" if final else "")
        return Node(node_id, milestone.name, x, y, MILESTONE, column, detail, final)
    component = pathway.component(node_id)
    assert component is not None
    label = component.name or component.id
    return Node(node_id, label, x, y, component.KIND, column, _amount(component.credits))
