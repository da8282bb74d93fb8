"""Offline JSON-LD document loader.

Contexts are vendored in ``credstack/crypto/contexts`` (index.json maps each URL to its
file). The loader serves only those, plus any documents the caller adds, and refuses
every other URL: credstack never fetches a context named inside a credential it is
asked to sign or verify. See docs/decisions/0003-offline-contexts.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from credstack.domain.errors import DocumentNotAllowed

RemoteDocument = dict[str, Any]


class OfflineLoader:
    """A pyld-compatible document loader over a fixed set of documents.

    Instances are immutable after construction so that compiled contexts can be cached
    per loader (see :func:`credstack.crypto.canonical.rdfc`).
    """

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self._documents: dict[str, Any] = dict(documents)
        # Caches that are only valid for these documents live with them.
        self.context_cache: dict[str, Any] = {}
        self.checked_shapes: set[Any] = set()
        self.proof_configs: dict[str, str] = {}
        # Active contexts compiled once for the fast RDFC path (crypto/ldcontext.py).
        self.compiled_contexts: dict[str, Any] = {}

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> RemoteDocument:
        document = self._documents.get(url)
        if document is None:
            raise DocumentNotAllowed(url)
        # "tag" lets pyld keep the resolved context in its cache between operations.
        return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}

    def __contains__(self, url: object) -> bool:
        return url in self._documents

    @property
    def urls(self) -> frozenset[str]:
        return frozenset(self._documents)

    def document(self, url: str) -> Any:
        """The parsed document for ``url`` (raises DocumentNotAllowed)."""
        return self(url)["document"]

    def with_documents(self, extra: Mapping[str, Any]) -> OfflineLoader:
        """A new loader that also serves ``extra`` (for example a test context)."""
        return OfflineLoader({**self._documents, **extra})


def vendored_documents() -> dict[str, Any]:
    """Every vendored context, keyed by URL."""
    folder = resources.files("credstack.crypto") / "contexts"
    index: dict[str, str] = json.loads((folder / "index.json").read_text("utf-8"))
    return {url: json.loads((folder / name).read_text("utf-8")) for url, name in index.items()}


@cache
def default_loader() -> OfflineLoader:
    """The loader holding every vendored context (built once per process)."""
    return OfflineLoader(vendored_documents())
