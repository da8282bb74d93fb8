"""A pathway graph (``credstack.domain.pathway_graph.layout``) as inline SVG.

``render_svg(graph, states)`` returns one ``<svg role="img">`` element, with a ``<title>``
and a ``<desc>`` that lists every node and edge in words (screen readers read those, not
the drawing). Every text is escaped. ``states`` maps node ids to ``earned``, ``available``
or ``locked``; such nodes are coloured and say their state in words too (colour is never
the only sign). Colours are presentation attributes (the pages' Content-Security-Policy
allows no inline ``style``); classes (``node``, ``node-earned``, ``edge-prerequisite``, ...)
let a stylesheet restyle them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from html import escape
from typing import Final

from credstack.domain.pathway_graph import ROW_GAP, Edge, Graph, Node

STATES: Final = ("earned", "available", "locked")
#: fill, stroke, text colour (text on fill contrasts 4.5:1 or more).
_COLOURS: Final[dict[str, tuple[str, str, str]]] = {
    "achievement": ("#ffffff", "#1f4e8c", "#1b1b1b"),
    "pathway": ("#f3f5f8", "#163a69", "#1b1b1b"),
    "external": ("#ffffff", "#4a4a4a", "#1b1b1b"),
    "milestone": ("#163a69", "#163a69", "#ffffff"),
    "earned": ("#e7f3ea", "#1e6b34", "#1b1b1b"),
    "available": ("#fff3dc", "#7a4a00", "#1b1b1b"),
    "locked": ("#eeeeee", "#6b6b6b", "#333333"),
}
_EDGE: Final[dict[str, tuple[str, str]]] = {  # stroke, dash pattern
    "prerequisite": ("#1b1b1b", ""),
    "precedes": ("#4a4a4a", "6 4"),
    "counts": ("#6b7280", "2 3"),
}
_KIND_WORDS: Final = {
    "achievement": "achievement",
    "pathway": "nested pathway",
    "external": "another issuer's credential",
    "milestone": "milestone",
}
_EDGE_WORDS: Final = {
    "prerequisite": "is a prerequisite of",
    "precedes": "is recommended before",
    "counts": "counts toward",
}
_ids = itertools.count(1)


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _curve(*points: float) -> str:
    """An SVG cubic Bezier path through start, two control points and end (x, y pairs)."""
    x1, y1, c1x, c1y, c2x, c2y, x2, y2 = (_num(p) for p in points)
    return f"M{x1},{y1} C{c1x},{c1y} {c2x},{c2y} {x2},{y2}"


def _edge_path(graph: Graph, source: Node, target: Node, row_gap: float) -> str:
    w, h = graph.node_width, graph.node_height
    if target.column == source.column + 1:  # to the next column: right side to left side
        x1, y1 = source.x + w, source.y + h / 2
        x2, y2 = target.x, target.y + h / 2
        bend = (x2 - x1) / 2
        return _curve(x1, y1, x1 + bend, y1, x2 - bend, y2, x2, y2)
    if target.column > source.column:  # further right: along the gap between two rows
        x1, y1 = source.x + w, source.y + h / 2
        x2, y2 = target.x, target.y + h / 2
        lane = source.y + h + row_gap / 2 if target.y >= source.y else source.y - row_gap / 2
        turn = 22.0
        out = _curve(x1, y1, x1 + turn, y1, x1 + turn / 2, lane, x1 + turn, lane)
        out += f" L{_num(x2 - turn)},{_num(lane)}"
        rest = _curve(x2 - turn, lane, x2 - turn / 2, lane, x2 - turn, y2, x2, y2)
        return out + " " + rest.split(" ", 1)[1]
    if target.column == source.column:  # same column: bottom to top, curving aside
        down = target.y > source.y
        x1, y1 = source.x + w * 0.75, source.y + (h if down else 0)
        x2, y2 = target.x + w * 0.75, target.y + (0 if down else h)
        side = x1 + w * 0.35
        return _curve(x1, y1, side, y1, side, y2, x2, y2)
    # right to left (a cycle, or a precedes against the columns): a loop below the boxes
    x1, y1 = source.x + w / 2, source.y + h
    x2, y2 = target.x + w / 2, target.y + h
    low = max(y1, y2) + row_gap * 0.8
    return _curve(x1, y1, x1, low, x2, low, x2, y2)


def _describe(graph: Graph, states: Mapping[str, str]) -> str:
    names = {n.id: n.label for n in graph.nodes}
    parts = []
    for node in graph.nodes:
        words = f"{node.label} ({_KIND_WORDS.get(node.kind, node.kind)}"
        if node.detail:
            words += f", {node.detail}"
        if node.id in states:
            words += f", {states[node.id]}"
        parts.append(words + ")")
    sentences = ["Nodes: " + "; ".join(parts) + "." if parts else "No components."]
    for edge in graph.edges:
        verb = _EDGE_WORDS.get(edge.kind, edge.kind)
        source, target = names.get(edge.source, edge.source), names.get(edge.target, edge.target)
        sentences.append(f"{source} {verb} {target}.")
    return " ".join(sentences)


def _node_svg(graph: Graph, node: Node, state: str | None) -> list[str]:
    fill, stroke, ink = _COLOURS.get(state or node.kind, _COLOURS["achievement"])
    if node.kind == "milestone" and state is None:
        fill, stroke, ink = _COLOURS["milestone"]
    w, h = graph.node_width, graph.node_height
    classes = f"node node-{_attr(node.kind)}" + (f" node-{_attr(state)}" if state else "")
    dash = ' stroke-dasharray="5 3"' if state == "locked" or node.kind == "external" else ""
    radius = 14 if node.kind == "milestone" else 4
    width = 3 if node.final else 2
    second = node.detail
    if state:
        second = f"{state}" + (f" · {node.detail}" if node.detail else "")
    out = [
        f'<g class="{classes}" data-node="{_attr(node.id)}">',
        f"<title>{_attr(node.label)}</title>",
        f'<rect x="{_num(node.x)}" y="{_num(node.y)}" width="{_num(w)}" height="{_num(h)}" '
        f'rx="{radius}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>',
        f'<text x="{_num(node.x + 10)}" y="{_num(node.y + 23)}" fill="{ink}" font-size="14" '
        f'font-weight="600">{_attr(_fit(node.label, 21))}</text>',
    ]
    if second:
        out.append(
            f'<text x="{_num(node.x + 10)}" y="{_num(node.y + 43)}" fill="{ink}" '
            f'font-size="12">{_attr(_fit(second, 28))}</text>'
        )
    out.append("</g>")
    return out


def _edge_svg(graph: Graph, edge: Edge, marker: str) -> str:
    source, target = graph.node(edge.source), graph.node(edge.target)
    if source is None or target is None:
        return ""
    stroke, dash = _EDGE.get(edge.kind, _EDGE["counts"])
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    path = _edge_path(graph, source, target, ROW_GAP)
    return (
        f'<path class="edge edge-{_attr(edge.kind)}" d="{path}" '
        f'fill="none" stroke="{stroke}" stroke-width="1.5"{dashed} '
        f'marker-end="url(#{marker}-{_attr(edge.kind)})"/>'
    )


def render_svg(
    graph: Graph, states: Mapping[str, str] | None = None, *, title: str = "Pathway graph"
) -> str:
    """The graph as an ``<svg>`` element (escaped; see the module docstring)."""
    known = {k: v for k, v in (states or {}).items() if v in STATES}
    unique = f"pg{next(_ids)}"
    marker = f"{unique}-arrow"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pathway-graph" role="img" '
        f'viewBox="0 0 {_num(graph.width)} {_num(graph.height + 20)}" '
        f'width="{_num(graph.width)}" height="{_num(graph.height + 20)}" '
        f'aria-labelledby="{unique}-title" aria-describedby="{unique}-desc" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">',
        f'<title id="{unique}-title">{_attr(title)}</title>',
        f'<desc id="{unique}-desc">{_attr(_describe(graph, known))}</desc>',
        "<defs>",
    ]
    for kind, (stroke, _dash) in _EDGE.items():
        out.append(
            f'<marker id="{marker}-{kind}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{stroke}"/></marker>'
        )
    out.append("</defs>")
    out.extend(filter(None, (_edge_svg(graph, edge, marker) for edge in graph.edges)))
    for node in graph.nodes:
        out.extend(_node_svg(graph, node, known.get(node.id)))
    out.append("</svg>")
    return "\n".join(out)
