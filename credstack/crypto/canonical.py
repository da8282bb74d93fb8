"""Canonical forms behind one function each: RDFC-1.0 and JCS (RFC 8785).

``rdfc`` turns a JSON-LD document into its canonical N-Quads (RDF Dataset
Canonicalization, https://www.w3.org/TR/rdf-canon/), in *safe mode*: a property or type
that the document's contexts leave undefined, or an identifier that is not an absolute
IRI, raises instead of being silently dropped or mapped to an issuer-dependent IRI.
A compiled fast path (decision 0011: ``ldcontext``, ``ldquads``, ``rdfc_fast``) gives the
same bytes for the documents it covers; everything else takes the general path (pyld).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import rfc8785
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from credstack.crypto.ldcontext import ISSUER_DEPENDENT, UNDEFINED, unknown_keyword
from credstack.crypto.ldquads import Quad, to_quads
from credstack.crypto.loader import OfflineLoader
from credstack.crypto.rdfc_fast import canonical_nquads
from credstack.domain.errors import (
    CredstackError,
    DocumentNotAllowed,
    Invalid,
    RelativeIri,
    UndefinedTerm,
)

_KEYWORDS = frozenset(
    {
        "@id",
        "@type",
        "@value",
        "@language",
        "@direction",
        "@list",
        "@set",
        "@graph",
        "@index",
        "@reverse",
        "@included",
        "@json",
        "@nest",
    }
)
# Characters RFC 3987 forbids in an IRI; JSON-LD drops a node or value whose IRI holds one.
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_NOT_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def jcs(value: Any) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme.

    The common case (keys below U+D800, integers, floats whose shortest form is the same in
    Python and ECMAScript) goes through the C JSON encoder; everything else through the
    reference implementation ``rfc8785``. Both give the same bytes (property-tested).
    """
    plain = _plain(value)
    if plain is not _NOT_PLAIN:
        try:
            text = json.dumps(plain, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise Invalid(f"cannot canonicalize JSON: {exc}") from exc


_NOT_PLAIN = object()


def _plain(value: Any) -> Any:
    """``value`` with integral floats as ints, or _NOT_PLAIN when the fast path may differ."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or any(ord(c) >= 0xD800 for c in key):
                return _NOT_PLAIN
            converted = _plain(item)
            if converted is _NOT_PLAIN:
                return _NOT_PLAIN
            out[key] = converted
        return out
    if isinstance(value, list):
        items = [_plain(item) for item in value]
        return _NOT_PLAIN if any(i is _NOT_PLAIN for i in items) else items
    if isinstance(value, float):
        if value.is_integer():
            return int(value) if abs(value) < 2**53 else _NOT_PLAIN
        if 1e-4 <= abs(value) < 1e16:
            return value
        return _NOT_PLAIN
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return _NOT_PLAIN
    return value


def expand(document: Mapping[str, Any], loader: OfflineLoader) -> list[Any]:
    """JSON-LD expansion with the offline loader; errors become credstack errors."""
    options = _options(loader)
    try:
        return list(jsonld.expand(dict(document), options))
    except jsonld.JsonLdError as exc:
        raise _translate(exc) from exc


def rdfc(
    document: Mapping[str, Any], loader: OfflineLoader, *, safe: bool = True, fast: bool = True
) -> str:
    """Canonical N-Quads of ``document`` (RDFC-1.0), refusing undefined terms when ``safe``.

    ``fast=False`` forces the general path (pyld); both give the same bytes and errors.
    """
    if fast:
        quads = fast_quads(document, loader, safe=safe)
        if quads is not None:
            return canonical_nquads(quads)
    return rdfc_general(document, loader, safe=safe)


def fast_quads(
    document: Mapping[str, Any], loader: OfflineLoader, *, safe: bool = True
) -> list[Quad] | None:
    """The document's RDF quads by the compiled fast path, or None: take the general path.

    Any failure here, even an unexpected one, only means the general path runs; that path
    gives the result or the error.
    """
    try:
        return to_quads(document, loader, safe=safe)
    except Exception:  # noqa: BLE001 - Unsupported, or anything else: the general path decides
        return None


def rdfc_general(document: Mapping[str, Any], loader: OfflineLoader, *, safe: bool = True) -> str:
    """RDFC-1.0 through pyld: expand (probed in safe mode), to_rdf, URDNA2015."""
    options = _options(loader)
    try:
        if safe:
            expanded = jsonld.expand(_probe(document, loader), options)
            check_defined(expanded, document)
        else:
            expanded = jsonld.expand(dict(document), options)
        dataset = jsonld.to_rdf(expanded, options)
        result = URDNA2015().main(dataset, {"format": "application/n-quads"})
    except jsonld.JsonLdError as exc:
        raise _translate(exc) from exc
    return str(result)


def _probe(document: Mapping[str, Any], loader: OfflineLoader) -> dict[str, Any]:
    """The document with a sentinel ``@vocab`` appended to its context.

    JSON-LD silently drops a term its contexts do not define. Under the sentinel
    vocabulary such a term expands to a recognisable IRI instead; when none does, the
    expansion is exactly that of the original document, so it is reused for signing.
    A context that declares its own ``@vocab`` defines every term, so it gets no sentinel.
    """
    if "@context" not in document:
        raise Invalid("the document has no @context, so none of its terms are defined")
    unknown = unknown_keyword(document)
    if unknown:
        raise UndefinedTerm(unknown, _locate(document, unknown))
    contexts = _as_list(document["@context"])
    for context in contexts:
        body = loader.document(context) if isinstance(context, str) else context
        inner = body.get("@context", body) if isinstance(body, dict) else None
        if isinstance(inner, dict) and inner.get("@vocab") is not None:
            return dict(document)
    return {**document, "@context": [*contexts, {"@vocab": UNDEFINED}]}


def check_defined(expanded: Any, original: Mapping[str, Any] | None = None) -> None:
    """Raise if the expanded form holds a term the contexts did not define.

    Undefined terms show up under the sentinel vocabulary of :func:`_probe` or under the
    issuer-dependent namespace of a ``@vocab`` some context declares; identifiers that are
    not absolute IRIs would be dropped when converting to RDF.
    """
    for kind, value in _walk(expanded):
        if kind == "key" and value.startswith("@") and value not in _KEYWORDS:
            raise UndefinedTerm(value, _locate(original, value))
        for namespace in (UNDEFINED, ISSUER_DEPENDENT):
            if value.startswith(namespace):
                term = value.removeprefix(namespace)
                raise UndefinedTerm(term, _locate(original, term))
        if not (value.startswith("_:") or _ABSOLUTE_IRI.match(value)) or _NOT_IRI.search(value):
            if kind == "id":
                raise RelativeIri(value)
            raise UndefinedTerm(value, _locate(original, value))


def _walk(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
        return
    if not isinstance(node, dict) or "@value" in node:
        return
    for key, value in node.items():
        if key == "@id":
            yield "id", value
        elif key == "@type":
            for item in value if isinstance(value, list) else [value]:
                yield "type", item
        elif key in _KEYWORDS:
            yield from _walk(value)
        else:
            yield "key", key
            yield from _walk(value)


def _locate(original: Any, term: str, path: str = "") -> str:
    """The JSON path of the first place ``term`` is used as a key or a type."""
    if isinstance(original, list):
        for index, item in enumerate(original):
            found = _locate(item, term, f"{path}[{index}]")
            if found:
                return found
    elif isinstance(original, dict):
        for key, value in original.items():
            here = f"{path}.{key}" if path else key
            if key == term or (key in ("type", "@type") and term in _as_list(value)):
                return here
            if key != "@context":
                found = _locate(value, term, here)
                if found:
                    return found
    return ""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _options(loader: OfflineLoader) -> dict[str, Any]:
    return {
        "documentLoader": loader,
        "contextResolver": ContextResolver(loader.context_cache, loader),
        "base": None,
    }


def _translate(exc: Exception) -> CredstackError:
    """Find our own error inside pyld's chain of causes, else a readable Invalid."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, CredstackError):
            return seen
        details = getattr(seen, "details", None)
        cause = details.get("cause") if isinstance(details, dict) else None
        seen = cause if isinstance(cause, BaseException) else seen.__cause__
    message = getattr(exc, "message", None) or str(exc).splitlines()[0]
    if "loading" in str(message) and "context" in str(message):
        return DocumentNotAllowed(str(message))
    return Invalid(f"JSON-LD processing failed: {message}")


def ensure_defined(document: Mapping[str, Any], loader: OfflineLoader) -> None:
    """Safe-mode check without canonicalizing, for suites that sign JSON (JCS, JWT).

    The outcome depends only on the document's shape (its contexts, keys, types and
    which strings are absolute IRIs), so it is cached per shape: signing thousands of
    credentials of one achievement expands one of them.
    """
    shape = _shape(document)
    if shape in loader.checked_shapes:
        return
    options = _options(loader)
    try:
        check_defined(jsonld.expand(_probe(document, loader), options), document)
    except jsonld.JsonLdError as exc:
        raise _translate(exc) from exc
    if len(loader.checked_shapes) > 4096:
        loader.checked_shapes.clear()
    loader.checked_shapes.add(shape)


def _shape(node: Any) -> Any:
    if isinstance(node, dict):
        return tuple(
            (key, repr(value) if key in ("@context", "type", "@type") else _shape(value))
            for key, value in node.items()
        )
    if isinstance(node, list):
        return tuple(_shape(item) for item in node)
    if isinstance(node, str):
        return ":" in node
    return type(node).__name__
