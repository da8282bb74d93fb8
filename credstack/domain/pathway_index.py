"""Many pathways at once: which pathways an award touches, and one learner's progress in all.

:class:`PathwayIndex` compiles every pathway once and keeps a reverse index from each key
(an achievement id, or an alignment targetUrl an equivalency rule matches) to the pathways
it can move, including through nesting (a pathway nesting P is moved by everything that
moves P, and by P's final award). Re-evaluating after one award therefore touches only
:func:`affected_pathways`; :func:`progress_all` skips the pathways none of the learner's
credentials touch and returns their (shared, cached) no-credential progress.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from credstack.domain.compiled_pathway import CompiledPathway
from credstack.domain.pathway_facts import EarnedCredential
from credstack.domain.pathways import Pathway
from credstack.domain.progress import Run
from credstack.domain.progress_model import Progress

_NOTHING: frozenset[str] = frozenset()


class PathwayIndex:
    """Compiled pathways by id and the key -> pathway ids reverse index (see the module)."""

    __slots__ = ("_by_key", "_empty", "compiled")

    def __init__(self, pathways: Iterable[Pathway | CompiledPathway]) -> None:
        self.compiled: dict[str, CompiledPathway] = {}
        for pathway in pathways:
            compiled = pathway if isinstance(pathway, CompiledPathway) else CompiledPathway(pathway)
            self.compiled[compiled.pathway.id] = compiled
        self._empty: dict[str, Progress] = {}
        by_key: dict[str, set[str]] = {}
        keys: dict[str, frozenset[str]] = {}
        for pathway_id in self.compiled:
            for key in self._keys(pathway_id, keys, ()):
                by_key.setdefault(key, set()).add(pathway_id)
        self._by_key = {key: frozenset(ids) for key, ids in by_key.items()}

    def _keys(
        self, pathway_id: str, done: dict[str, frozenset[str]], stack: tuple[str, ...]
    ) -> frozenset[str]:
        """Every key that can move ``pathway_id``, nested pathways included."""
        if pathway_id in done:
            return done[pathway_id]
        compiled = self.compiled.get(pathway_id)
        if compiled is None or pathway_id in stack:
            return frozenset()
        keys = set(compiled.keys)
        for _, inner in compiled.nested:
            keys |= self._keys(inner, done, (*stack, pathway_id))
            nested = self.compiled.get(inner)
            final = None if nested is None else nested.pathway.final
            if final is not None:
                keys.add(final.achievement_id)
        done[pathway_id] = frozenset(keys)
        return done[pathway_id]

    def lookup(self, pathway_id: str) -> CompiledPathway | None:
        return self.compiled.get(pathway_id)

    def empty_progress(self, pathway_id: str, now: datetime) -> Progress:
        """Progress with no credentials (independent of ``now``; cached)."""
        if pathway_id not in self._empty:
            run = Run((), now, self.lookup)
            self._empty[pathway_id] = run.evaluate(self.compiled[pathway_id])
        return self._empty[pathway_id]

    def keyed(self, key: str) -> frozenset[str]:
        return self._by_key.get(key, _NOTHING)


def build_index(pathways: Iterable[Pathway | CompiledPathway]) -> PathwayIndex:
    """Compile ``pathways`` (the published versions) and index them."""
    return PathwayIndex(pathways)


def affected_pathways(index: PathwayIndex, achievement_id: str) -> set[str]:
    """Ids of the pathways an award of ``achievement_id`` can move (nesting included).

    Also accepts an alignment targetUrl (what an equivalency rule may match on).
    """
    return set(index.keyed(achievement_id))


def affected_by_credential(index: PathwayIndex, credential: EarnedCredential) -> set[str]:
    """Ids of the pathways ``credential`` can move: by its achievement or its alignments."""
    found = set(index.keyed(credential.achievement_id))
    for url in credential.alignments:
        found.update(index.keyed(url))
    return found


def progress_all(
    index: PathwayIndex,
    credentials: Iterable[EarnedCredential],
    now: datetime,
    pathway_ids: Iterable[str] | None = None,
) -> dict[str, Progress]:
    """One learner's progress in every indexed pathway (or in ``pathway_ids``).

    Pathways none of the credentials can move get their cached no-credential progress;
    each nested pathway is evaluated once for the learner.
    """
    held = tuple(credentials)
    touched: set[str] = set()
    for credential in held:
        touched.update(index.keyed(credential.achievement_id))
        for url in credential.alignments:
            touched.update(index.keyed(url))
    run = Run(held, now, index.lookup)
    out: dict[str, Progress] = {}
    for pathway_id in index.compiled if pathway_ids is None else pathway_ids:
        if pathway_id not in index.compiled:
            continue
        if pathway_id in touched:
            if run.memo.get(pathway_id) is None:
                run.memo[pathway_id] = run.evaluate(index.compiled[pathway_id])
            found = run.memo[pathway_id]
            out[pathway_id] = found if found is not None else index.empty_progress(pathway_id, now)
        else:
            out[pathway_id] = index.empty_progress(pathway_id, now)
    return out
