"""RDF Dataset Canonicalization (RDFC-1.0) over quads in N-Quads form (decision 0011).

https://www.w3.org/TR/rdf-canon/ , written to give the bytes pyld's URDNA2015 gives:
the same first-degree and N-degree hashing (SHA-256), the same escaping, and every
quad kept (pyld keeps duplicates). The usual document has no two blank nodes with the
same first-degree hash, so the N-degree step rarely runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from hashlib import sha256

from credstack.crypto.ldquads import Quad

_CANONICAL = "_:c14n"


def _line(s: str, p: str, o: str, g: str | None) -> str:
    return f"{s} {p} {o} {g} .\n" if g is not None else f"{s} {p} {o} .\n"


class _Issuer:
    """An identifier issuer: old label to ``prefix + n``, remembering the order."""

    __slots__ = ("counter", "existing", "order", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.counter = 0
        self.existing: dict[str, str] = {}
        self.order: list[str] = []

    def issue(self, old: str) -> str:
        found = self.existing.get(old)
        if found is None:
            found = self.existing[old] = f"{self.prefix}{self.counter}"
            self.counter += 1
            self.order.append(old)
        return found

    def copy(self) -> _Issuer:
        twin = _Issuer(self.prefix)
        twin.counter = self.counter
        twin.existing = dict(self.existing)
        twin.order = list(self.order)
        return twin


class _State:
    __slots__ = ("canonical", "hashes", "quads_of")

    def __init__(self, quads_of: dict[str, list[Quad]]) -> None:
        self.quads_of = quads_of
        self.hashes: dict[str, str] = {}
        self.canonical = _Issuer(_CANONICAL)

    def first_degree(self, node: str) -> str:
        """Hash First Degree Quads (RDFC-1.0 section 4.6)."""
        found = self.hashes.get(node)
        if found is None:
            lines = []
            for s, p, o, g in self.quads_of[node]:
                lines.append(
                    _line(
                        s if s[0] != "_" else "_:a" if s == node else "_:z",
                        p,
                        o if o[0] != "_" else "_:a" if o == node else "_:z",
                        g if g is None or g[0] != "_" else "_:a" if g == node else "_:z",
                    )
                )
            lines.sort()
            found = self.hashes[node] = sha256("".join(lines).encode("utf-8")).hexdigest()
        return found

    def related_hash(self, related: str, p: str, issuer: _Issuer, position: str) -> str:
        """Hash Related Blank Node (section 4.7)."""
        if related in self.canonical.existing:
            label = self.canonical.existing[related]
        elif related in issuer.existing:
            label = issuer.existing[related]
        else:
            label = self.first_degree(related)
        text = position + (p if position != "g" else "") + label
        return sha256(text.encode("utf-8")).hexdigest()

    def n_degree(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """Hash N-Degree Quads (section 4.8), as pyld's URDNA2015 runs it."""
        related: dict[str, list[str]] = {}
        for quad in self.quads_of[node]:
            s, p, o, g = quad
            for component, position in ((s, "s"), (o, "o"), (g, "g")):
                if component is not None and component[0] == "_" and component != node:
                    key = self.related_hash(component, p, issuer, position)
                    related.setdefault(key, []).append(component)
        digest = sha256()
        for key, nodes in sorted(related.items()):
            digest.update(key.encode("utf-8"))
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in _permutations(nodes):
                candidate = issuer.copy()
                path = ""
                recursion: list[str] = []
                skip = False
                for other in permutation:
                    if other in self.canonical.existing:
                        path += self.canonical.existing[other]
                    else:
                        if other not in candidate.existing:
                            recursion.append(other)
                        path += candidate.issue(other)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for other in recursion:
                    result, deeper = self.n_degree(other, candidate)
                    path += candidate.issue(other) + "<" + result + ">"
                    candidate = deeper
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path = path
                    chosen_issuer = candidate
            digest.update(chosen_path.encode("utf-8"))
            if chosen_issuer is not None:
                issuer = chosen_issuer
        return digest.hexdigest(), issuer


def _permutations(elements: list[str]) -> Iterator[list[str]]:
    """pyld's Steinhaus-Johnson-Trotter permutations, from the sorted elements."""
    elements.sort()
    left = dict.fromkeys(elements, True)
    last = len(elements) - 1
    while True:
        yield elements
        k: str | None = None
        pos = 0
        for i, e in enumerate(elements):
            if (k is None or e > k) and (
                (left[e] and i > 0 and e > elements[i - 1])
                or (not left[e] and i < last and e > elements[i + 1])
            ):
                k, pos = e, i
        if k is None:
            return
        swap = pos - 1 if left[k] else pos + 1
        elements[pos], elements[swap] = elements[swap], k
        for e in elements:
            if e > k:
                left[e] = not left[e]


def canonical_nquads(quads: Sequence[Quad]) -> str:
    """The canonical N-Quads of ``quads`` (RDFC-1.0 with SHA-256)."""
    quads_of: dict[str, list[Quad]] = {}
    for quad in quads:
        s, _, o, g = quad
        if s[0] == "_":
            quads_of.setdefault(s, []).append(quad)
        if o[0] == "_":
            quads_of.setdefault(o, []).append(quad)
        if g is not None and g[0] == "_":
            quads_of.setdefault(g, []).append(quad)
    state = _State(quads_of)
    canonical = state.canonical
    by_hash: dict[str, list[str]] = {}
    for node in quads_of:
        by_hash.setdefault(state.first_degree(node), []).append(node)
    shared: list[tuple[str, list[str]]] = []
    for key, nodes in sorted(by_hash.items()):
        if len(nodes) == 1:
            canonical.issue(nodes[0])
        else:
            shared.append((key, nodes))
    for _, nodes in shared:
        results = []
        for node in nodes:
            if node in canonical.existing:
                continue
            issuer = _Issuer("_:b")
            issuer.issue(node)
            results.append(state.n_degree(node, issuer))
        for _, issuer in sorted(results, key=lambda result: result[0]):
            for existing in issuer.order:
                canonical.issue(existing)
    label = canonical.existing.get
    lines = [
        f"{label(s, s)} {p} {label(o, o)} .\n"
        if g is None
        else f"{label(s, s)} {p} {label(o, o)} {label(g, g)} .\n"
        for s, p, o, g in quads
    ]
    lines.sort()
    return "".join(lines)
