"""Compiled JSON-LD active contexts for the fast RDFC path (decision 0011).

pyld processes each context, and each move into a scoped context, once per loader; the
fast path then only reads the term definitions it produced. A context, term or IRI
outside what the fast path covers raises :class:`Unsupported`, and the caller takes the
general path (pyld from the start), which gives the exact result or the exact error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver

from credstack.crypto.loader import OfflineLoader

ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"
UNDEFINED = "https://undefined.credstack.invalid/term#"
KEYWORDS = frozenset(jsonld.KEYWORDS)
# The keywords a JSON-LD 1.1 document may use; any other "@" key is refused in safe mode.
ALL_KEYWORDS = frozenset(
    {
        "@base", "@container", "@context", "@direction", "@graph", "@id", "@import",
        "@included", "@index", "@json", "@language", "@list", "@nest", "@none", "@prefix",
        "@propagate", "@protected", "@reverse", "@set", "@type", "@value", "@version",
        "@vocab",
    }
)  # fmt: skip
_KEYWORD_LIKE = re.compile(r"^@[a-zA-Z]+$")
# pyld's absolute-IRI test, exactly (note the range "+-." in the scheme).
_PYLD_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")
# What both pyld and safe mode accept as an IRI or a blank node label.
_GOOD_IRI = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*|_):[^\s<>\"{}|^`\\\x00-\x20]*\Z")
# Containers the fast path handles; anything else takes the general path.
PLAIN, LIST, GRAPH, LANGUAGE, JSON = range(5)
_CONTAINERS = {
    (): PLAIN,
    ("@set",): PLAIN,
    ("@list",): LIST,
    ("@graph",): GRAPH,
    ("@graph", "@set"): GRAPH,
    ("@language",): LANGUAGE,
    ("@language", "@set"): LANGUAGE,
}
# Bounds on what one loader's compiler keeps; past them it starts afresh.
_MEMO_LIMIT = 100_000
_CONTEXT_LIMIT = 512
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_COMPILER = "compiler"


class Unsupported(Exception):
    """The fast path does not cover this input; the general path must run."""


def pyld_absolute(value: str) -> bool:
    """pyld's own test for an absolute IRI (or a blank node label)."""
    return _PYLD_ABSOLUTE.match(value) is not None


def unknown_keyword(node: Any) -> str | None:
    """An ``@`` key that is no JSON-LD keyword (expansion would drop it silently)."""
    if isinstance(node, list):
        return next(filter(None, map(unknown_keyword, node)), None)
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("@") and key not in ALL_KEYWORDS:
                return str(key)
            found = None if key == "@context" else unknown_keyword(value)
            if found:
                return found
    return None


def checked_iri(value: str) -> str:
    """``value`` if safe mode and pyld both accept it as an IRI; else Unsupported."""
    if (
        _GOOD_IRI.match(value) is None
        or value.startswith(UNDEFINED)
        or value.startswith(ISSUER_DEPENDENT)
    ):
        raise Unsupported(value)
    return value


@dataclass(frozen=True, slots=True)
class Prop:
    """How the values of one property key are turned into RDF, in one active context."""

    key: str
    iri: str  # the predicate, already in N-Quads form: <...>
    term: Ctx  # the context the values are expanded in (property-scoped, if any)
    container: int  # PLAIN, LIST, GRAPH, LANGUAGE or JSON
    coerce: str | None  # @id, @vocab, @none or a datatype IRI
    language: str | None  # language of plain strings
    datatype: str | None  # the coerced datatype of any scalar, if any
    text_suffix: str | None  # what follows a string literal, when that is simple


@dataclass(frozen=True, slots=True)
class Layout:
    """How the keys of one JSON object map, in one context, with its types applied."""

    active: Ctx  # the context its keys (and @id) expand in
    scope: Ctx  # the context its types expand in (before type-scoped contexts)
    value: bool  # a value object (else a node object)
    id_key: str | None
    types: tuple[tuple[str, tuple[str]], ...]  # node types in N-Quads form, identity
    props: tuple[tuple[str, Prop], ...]
    entries: tuple[tuple[str, str], ...]  # (key, keyword) of a value object


class Ctx:
    """One active context: pyld's term definitions plus memoized lookups and moves."""

    __slots__ = (
        "_expanded",
        "_keeps",
        "_layouts",
        "_locals",
        "_nodes",
        "_previous",
        "_props",
        "_type_keys",
        "_typed",
        "compiler",
        "has_previous",
        "mappings",
        "raw",
        "vocab",
    )

    def __init__(self, compiler: Compiler, raw: Any) -> None:
        self.compiler = compiler
        self.raw = raw
        self.mappings: dict[str, Any] = raw["mappings"]
        self.vocab: str | None = raw.get("@vocab")
        self.has_previous = bool(raw.get("previousContext"))
        self._previous: Ctx | None = None
        self._expanded: dict[str, str | None] = {}
        self._props: dict[str, Prop | None] = {}
        self._nodes: dict[tuple[str | None, bool], Ctx] = {}
        self._locals: dict[Any, Ctx] = {}
        self._typed: dict[tuple[str, ...], Ctx] = {}
        self._keeps: dict[tuple[str, ...], bool] = {}
        self._type_keys: dict[tuple[str, ...], str | None] = {}
        self._layouts: dict[tuple[tuple[str, ...], tuple[str, ...]], Layout | None] = {}

    # -- IRI expansion (pyld's _expand_iri, with no base IRI) ---------------------------

    def expand_vocab(self, value: str) -> str | None:
        """A key, type or @vocab value expanded against the vocabulary (None: dropped)."""
        found = self._expanded.get(value, self)
        if found is not self:
            return found  # type: ignore[return-value]
        result = self._expand(value, vocab=True)
        self.compiler.remember(self._expanded, value, result)
        return result

    def expand_id(self, value: str) -> str | None:
        """An @id value (compact IRIs expand; relative ones stay relative)."""
        return self._expand(value, vocab=False)

    def _expand(self, value: str, *, vocab: bool) -> str | None:
        if value.startswith("@"):
            if value in KEYWORDS:
                return value
            if _KEYWORD_LIKE.match(value):
                return None
        if vocab and value in self.mappings:
            mapping = self.mappings[value]
            return None if mapping is None else mapping["@id"]
        with_vocab = vocab and self.vocab is not None
        colon = value.find(":")
        if colon > 0:
            prefix, suffix = value[:colon], value[colon + 1 :]
            if prefix == "_" or suffix.startswith("//"):
                return value
            mapping = self.mappings.get(prefix)
            if mapping and mapping.get("_prefix"):
                return mapping["@id"] + suffix  # type: ignore[no-any-return]
            if not with_vocab or pyld_absolute(value):
                return value  # absolute, or relative and left so (no base IRI)
        if with_vocab:
            return f"{self.vocab}{value}"
        return value

    # -- property plans -----------------------------------------------------------------

    def prop(self, key: str) -> Prop:
        """The plan for values of ``key``; Unsupported when the fast path does not cover it."""
        found = self._props.get(key, self)
        if found is self:
            try:
                found = self._plan(key)
            except Unsupported:
                found = None
            self.compiler.remember(self._props, key, found)
        if found is None:
            raise Unsupported(key)
        return found  # type: ignore[return-value]

    def _plan(self, key: str) -> Prop:
        iri = self.expand_vocab(key)
        if iri is None or iri in KEYWORDS or iri.startswith("_:"):
            raise Unsupported(key)
        checked_iri(iri)
        mapping = self.mappings.get(key)
        if mapping and (mapping.get("reverse") or "@index" in mapping or "@nest" in mapping):
            raise Unsupported(key)
        container = _CONTAINERS.get(tuple(sorted((mapping or {}).get("@container") or ())))
        if container is None:
            raise Unsupported(key)
        term = self
        scoped = mapping.get("@context") if mapping else None
        if scoped is not None:
            term = self.compiler.process(self, scoped, propagate=True, override_protected=True)
        inner = term.mappings.get(key)
        inner_container = _CONTAINERS.get(tuple(sorted((inner or {}).get("@container") or ())))
        if (inner_container == LIST) != (container == LIST) or term.expand_vocab(key) in KEYWORDS:
            raise Unsupported(key)
        if inner and (inner.get("reverse") or "@index" in inner):
            raise Unsupported(key)
        if mapping and mapping.get("@type") == "@json":
            if container != PLAIN:
                raise Unsupported(key)
            container = JSON
        coerce = inner.get("@type") if inner else None
        if coerce == "@json" and container != JSON:
            raise Unsupported(key)
        if coerce is not None and not coerce.startswith("@"):
            checked_iri(coerce)
        language = term.raw.get("@language")
        if inner and "@language" in inner:
            language = inner["@language"]
        datatype = None if coerce is None or coerce.startswith("@") else coerce
        if datatype is not None:
            language = None  # a coerced datatype leaves no room for a language
        suffix: str | None = None
        if coerce in (None, "@none"):
            suffix = "" if language is None else f"@{language}" if language else ""
        elif datatype is not None and datatype != XSD_DOUBLE:
            suffix = "" if datatype == XSD_STRING else f"^^<{datatype}>"
        return Prop(key, f"<{iri}>", term, container, coerce, language, datatype, suffix)

    # -- object layouts -----------------------------------------------------------------

    def keeps(self, keys: tuple[str, ...]) -> bool:
        """pyld's "do not revert": a value object or a lone subject reference."""
        found = self._keeps.get(keys)
        if found is None:
            found = False
            for name in sorted(keys):
                expanded = self.expand_vocab(name)
                if expanded == "@value" or (expanded == "@id" and len(keys) == 1):
                    found = True
                    break
            self.compiler.remember(self._keeps, keys, found)
        return found

    def type_key(self, keys: tuple[str, ...]) -> str | None:
        """The one key that expands to @type (Unsupported when there are two)."""
        found = self._type_keys.get(keys, "")
        if found == "":
            found = None
            for name in keys:
                if self.expand_vocab(name) == "@type":
                    if found is not None:
                        raise Unsupported("two @type keys")
                    found = name
            self.compiler.remember(self._type_keys, keys, found)
        return found

    def layout(self, keys: tuple[str, ...], types: tuple[str, ...]) -> Layout:
        """The layout of an object with these keys and types, in this context."""
        found = self._layouts.get((keys, types), self)
        if found is self:
            try:
                found = self._layout(keys, types)
            except Unsupported:
                found = None
            self.compiler.remember(self._layouts, (keys, types), found)
        if found is None:
            raise Unsupported("object layout")
        return found  # type: ignore[return-value]

    def _layout(self, keys: tuple[str, ...], types: tuple[str, ...]) -> Layout:
        type_key = self.type_key(keys)
        active = self.typed(tuple(sorted(types))) if types else self
        entries: list[tuple[str, str]] = []
        props: list[tuple[str, Prop]] = []
        id_key = None
        value = False
        for name in keys:
            if name == "@context":
                continue
            expanded = active.expand_vocab(name)
            if expanded is None:
                raise Unsupported(name)
            if (expanded == "@type") != (name == type_key):
                raise Unsupported("@type")
            if expanded in KEYWORDS:
                if any(expanded == seen for _, seen in entries):
                    raise Unsupported("colliding keywords")
                entries.append((name, expanded))
                value = value or expanded == "@value"
                if expanded == "@id":
                    id_key = name
            else:
                props.append((name, active.prop(name)))
        node_types: list[tuple[str, tuple[str]]] = []
        if value:
            if props or any(k not in ("@value", "@type", "@language") for _, k in entries):
                raise Unsupported("value object")
        else:
            if any(k not in ("@id", "@type") for _, k in entries):
                raise Unsupported("keyword in a node object")
            for name in types:
                iri = self.expand_vocab(name)
                if iri is None or iri in KEYWORDS or iri.startswith("_:"):
                    raise Unsupported("@type")
                node_types.append((f"<{checked_iri(iri)}>", (iri,)))
        return Layout(active, self, value, id_key, tuple(node_types), tuple(props), tuple(entries))

    # -- moves between contexts ---------------------------------------------------------

    @property
    def previous(self) -> Ctx:
        """The context before a type-scoped one (itself when there is none)."""
        if not self.has_previous:
            return self
        if self._previous is None:
            self._previous = self.compiler.wrap(self.raw["previousContext"])
        return self._previous

    def node(self, key: str | None, keep: bool) -> Ctx:
        """The context of a node object that is a value of ``key`` (pyld's _expand).

        ``keep`` is pyld's "do not revert the type-scoped context" case: a value object or
        a lone subject reference. Then any property-scoped context of ``key`` applies.
        """
        found = self._nodes.get((key, keep))
        if found is None:
            found = self if keep else self.previous
            mapping = self.mappings.get(key) if key is not None else None
            scoped = mapping.get("@context") if mapping else None
            if scoped is not None:
                found = self.compiler.process(found, scoped, override_protected=True)
            self.compiler.remember(self._nodes, (key, keep), found)
        return found

    def local(self, context: Any) -> Ctx:
        """This context with an embedded ``@context`` applied."""
        key = context_key(context)
        found = self._locals.get(key)
        if found is None:
            found = self.compiler.process(self, context)
            self.compiler.remember(self._locals, key, found)
        return found

    def typed(self, types: tuple[str, ...]) -> Ctx:
        """This context with the type-scoped contexts of ``types`` (sorted) applied."""
        found = self._typed.get(types)
        if found is None:
            found = self
            for name in types:
                mapping = self.mappings.get(name)
                scoped = mapping.get("@context") if mapping else None
                if scoped is not None and scoped is not False:
                    found = self.compiler.process(found, scoped, propagate=False)
            self.compiler.remember(self._typed, types, found)
        return found


class Compiler:
    """Runs pyld's context processing once per transition and wraps the results."""

    def __init__(self, loader: OfflineLoader) -> None:
        self.processor = jsonld.JsonLdProcessor()
        self.options: dict[str, Any] = {
            "documentLoader": loader,
            "contextResolver": ContextResolver(loader.context_cache, loader),
            "base": None,
            "isFrame": False,
            "keepFreeFloatingNodes": False,
            "extractAllScripts": False,
            "processingMode": "json-ld-1.1",
        }
        self._wrapped: dict[int, Ctx] = {}
        self._remembered = 0
        self.initial = self.wrap(self.processor._get_initial_context(self.options))

    @property
    def exhausted(self) -> bool:
        """Whether this compiler holds as much as it may (then the loader gets a new one)."""
        return len(self._wrapped) >= _CONTEXT_LIMIT or self._remembered >= _MEMO_LIMIT

    def remember(self, memo: dict[Any, Any], key: Any, value: Any) -> None:
        """Memoize ``value``, within this compiler's overall bound."""
        if self._remembered < _MEMO_LIMIT:
            memo[key] = value
            self._remembered += 1

    def wrap(self, raw: Any) -> Ctx:
        found = self._wrapped.get(id(raw))
        if found is None:
            found = Ctx(self, raw)
            self._wrapped[id(raw)] = found  # the Ctx keeps raw alive, so its id stays unique
        return found

    def process(
        self,
        ctx: Ctx,
        local: Any,
        *,
        propagate: bool = True,
        override_protected: bool = False,
    ) -> Ctx:
        """pyld's _process_context; any failure means the general path must run."""
        if self.exhausted:
            raise Unsupported("too many distinct contexts")
        try:
            raw = self.processor._process_context(
                ctx.raw,
                local,
                self.options,
                override_protected=override_protected,
                propagate=propagate,
            )
        except Exception as exc:  # any refusal is pyld's to report, on the general path
            raise Unsupported(str(exc)) from exc
        return self.wrap(raw)


def context_key(context: Any) -> Any:
    """A hashable key for an ``@context`` value."""
    if type(context) is str:
        return ("url", context)
    if type(context) is list and all(type(c) is str for c in context):
        return ("urls", *context)
    try:
        return ("json", json.dumps(context, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise Unsupported("an @context that is not plain JSON") from exc


def compiler_for(loader: OfflineLoader) -> Compiler:
    """The loader's context compiler (created on first use)."""
    found = loader.compiled_contexts.get(_COMPILER)
    if not isinstance(found, Compiler) or found.exhausted:
        found = Compiler(loader)
        loader.compiled_contexts[_COMPILER] = found
    return found
