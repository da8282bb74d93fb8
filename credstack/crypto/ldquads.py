"""JSON-LD straight to RDF quads over compiled contexts (decision 0011).

:func:`to_quads` gives the quads pyld's ``expand`` + ``to_rdf`` give (blank node labels
aside), following pyld's algorithm step by step but without building the expanded form:
the same context moves (type-scoped, property-scoped, embedded, reverting), the same
value rules (numbers, booleans, ``@json``, language tags) and the same merging of values
a node map does. What it does not cover raises :class:`Unsupported`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pyld.jsonld import canonicalize

from credstack.crypto.ldcontext import (
    JSON,
    KEYWORDS,
    LANGUAGE,
    LIST,
    PLAIN,
    Ctx,
    Layout,
    Prop,
    Unsupported,
    checked_iri,
    compiler_for,
    unknown_keyword,
)
from credstack.crypto.loader import OfflineLoader

Quad = tuple[str, str, str, str | None]
"""Subject, predicate, object and graph (None: the default graph), in N-Quads form."""

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = f"<{RDF}type>"
RDF_FIRST = f"<{RDF}first>"
RDF_REST = f"<{RDF}rest>"
RDF_NIL = f"<{RDF}nil>"
RDF_LANGSTRING = f"{RDF}langString"
RDF_JSON = f"{RDF}JSON"
XSD_BOOLEAN = f"{XSD}boolean"
XSD_DOUBLE = f"{XSD}double"
XSD_INTEGER = f"{XSD}integer"
XSD_STRING = f"{XSD}string"
_SCALARS = (str, int, float, bool)
_DOUBLE = re.compile(r"(\d)0*E\+?(-)?0*(\d)")
_JSON_VALUE = ("@json",)


def to_quads(document: Mapping[str, Any], loader: OfflineLoader, *, safe: bool) -> list[Quad]:
    """The RDF quads of ``document``, or Unsupported."""
    if "@context" not in document:
        raise Unsupported("no @context")
    emitter = _Emitter(loader, safe)
    emitter.expand_dict(emitter.initial, None, dict(document), None)
    return emitter.quads


def escape(text: str) -> str:
    """pyld's N-Quads literal escaping."""
    if '"' in text or "\\" in text or "\n" in text or "\r" in text or "\t" in text:
        return (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace('"', '\\"')
        )
    return text


def canonical_double(value: float) -> str:
    """The canonical xsd:double form pyld writes (``2.5E0``, ``1.0E21``), by its own rule."""
    return _DOUBLE.sub(r"\1E\2\3", f"{value:1.15E}")


def literal(value: Any, datatype: str | None, language: str | None) -> str:
    """An RDF literal in N-Quads form, as pyld's _object_to_rdf and to_nquad write it."""
    kind = type(value)
    if datatype == "@json":
        text, datatype = canonicalize(value).decode("utf-8"), RDF_JSON
    elif kind is bool:
        text, datatype = ("true" if value else "false"), datatype or XSD_BOOLEAN
    elif kind is float and not value.is_integer():
        text, datatype = canonical_double(value), datatype or XSD_DOUBLE
    elif datatype == XSD_DOUBLE:
        try:
            text = canonical_double(float(value))
        except (ValueError, TypeError):
            text = value
    elif kind is int or kind is float:
        if abs(value) >= 1e21:
            text, datatype = canonical_double(value), datatype or XSD_DOUBLE
        else:
            text, datatype = str(int(value)), datatype or XSD_INTEGER
    elif language is not None:
        text, datatype = value, RDF_LANGSTRING
    else:
        text, datatype = value, datatype or XSD_STRING
    quoted = f'"{escape(text)}"'
    if datatype == RDF_LANGSTRING:
        return f"{quoted}@{language}" if language else quoted
    if datatype != XSD_STRING:
        return f"{quoted}^^<{datatype}>"
    return quoted


def _flat(value: Any) -> Iterator[Any]:
    """The items of a value, nested arrays flattened, nulls dropped (pyld's _expand)."""
    if type(value) is list:
        for item in value:
            yield from _flat(item)
    elif value is not None:
        yield value


class _Emitter:
    """One document's quads, with the node-map merging of repeated values."""

    __slots__ = ("_count", "_labels", "_seen", "initial", "quads", "safe")

    def __init__(self, loader: OfflineLoader, safe: bool) -> None:
        self.initial = compiler_for(loader).initial
        self.safe = safe
        self.quads: list[Quad] = []
        self._seen: set[tuple[Any, ...]] = set()
        self._labels: dict[str, str] = {}
        self._count = 0

    def fresh(self) -> str:
        self._count += 1
        return f"_:b{self._count}"

    def reference(self, iri: str | None) -> str:
        """A node reference in N-Quads form (document blank node labels are relabelled)."""
        if iri is None or iri in KEYWORDS:
            raise Unsupported("not an IRI")
        checked_iri(iri)
        if iri.startswith("_:"):
            found = self._labels.get(iri)
            if found is None:
                found = self._labels[iri] = self.fresh()
            return found
        return f"<{iri}>"

    def add(self, s: str, p: str, o: str, g: str | None, identity: Any) -> None:
        """Add a quad unless the node map would have merged it with an equal value."""
        key = (g, s, p, identity)
        if identity is _JSON_VALUE and key in self._seen:
            raise Unsupported("two @json values of one property")
        if key not in self._seen:
            self._seen.add(key)
            self.quads.append((s, p, o, g))

    # -- objects ----------------------------------------------------------------------

    def expand_dict(
        self, term: Ctx, key: str | None, element: dict[str, Any], graph: str | None
    ) -> tuple[str, Any] | None:
        """A node or value object; returns its RDF term and identity (None: dropped)."""
        if type(element) is not dict:
            raise Unsupported("not a JSON object")
        keys = tuple(element)
        keep = (
            term.has_previous and len(keys) <= 2 and "@context" not in element and term.keeps(keys)
        )
        active = term.node(key, keep)
        if "@context" in element:
            local = element["@context"]
            if type(local) is dict and len(local) == 1 and "@context" in local:
                raise Unsupported("@context inside @context")
            active = active.local(local)
        type_key = active.type_key(keys)
        types: tuple[str, ...] = ()
        if type_key is not None:
            raw = element[type_key]
            if type(raw) is str:
                types = (raw,)
            elif type(raw) is list and raw and all(type(t) is str for t in raw):
                types = tuple(raw)
            else:
                raise Unsupported("@type")
        layout = active.layout(keys, types)
        if layout.value:
            if key is None or "@context" in element:
                raise Unsupported("value object")
            return self.value_object(layout, element)
        id_key = layout.id_key
        if id_key is None:
            subject = self.fresh()
        else:
            identifier = element[id_key]
            if type(identifier) is not str:
                raise Unsupported("@id")
            subject = self.reference(layout.active.expand_id(identifier))
        add = self.add
        for node_type, identity in layout.types:
            add(subject, RDF_TYPE, node_type, graph, identity)
        for name, prop in layout.props:
            self.values(subject, prop, element[name], graph)
        return subject, subject

    def value_object(self, layout: Layout, element: dict[str, Any]) -> tuple[str, Any] | None:
        value: Any = None
        datatype: str | None = None
        language: str | None = None
        for name, keyword in layout.entries:
            item = element[name]
            if keyword == "@value":
                value = item
            elif keyword == "@type":
                if type(item) is not str:
                    raise Unsupported("@type of a value")
                datatype = layout.scope.expand_vocab(item)
                if (datatype == "@json") != (layout.active.expand_vocab(item) == "@json"):
                    raise Unsupported("@json")
                if datatype is None:
                    raise Unsupported("@type of a value")
                if datatype != "@json":
                    if datatype in KEYWORDS or datatype.startswith("_:"):
                        raise Unsupported("@type of a value")
                    checked_iri(datatype)
            elif item is not None:
                if type(item) is not str:
                    raise Unsupported("@language")
                language = item.lower()
        if datatype is not None and language is not None:
            raise Unsupported("@type with @language")
        if datatype == "@json":
            if self.safe and unknown_keyword(value):
                raise Unsupported("unknown keyword in @json")
            return literal(value, datatype, None), _JSON_VALUE
        if value is None:
            return None
        kind = type(value)
        if kind not in _SCALARS or (language is not None and kind is not str):
            raise Unsupported("@value")
        if kind is float and not math.isfinite(value):
            raise Unsupported("not a finite number")
        return literal(value, datatype, language), (datatype, language, value, kind is bool)

    # -- values of a property -----------------------------------------------------------

    def values(self, subject: str, prop: Prop, value: Any, graph: str | None) -> None:
        container = prop.container
        if container == PLAIN or (container == LANGUAGE and type(value) is not dict):
            self.plain(subject, prop, value, graph)
            return
        if container == JSON:
            if self.safe and unknown_keyword(value):
                raise Unsupported("unknown keyword in @json")
            self.add(subject, prop.iri, literal(value, "@json", None), graph, _JSON_VALUE)
            return
        if container == LANGUAGE and type(value) is dict:
            self.language_map(subject, prop, value, graph)
            return
        if container == LIST:
            if value is not None:
                self.quads.append((subject, prop.iri, self.list_head(prop, value, graph), graph))
            return
        for item in _flat(value):  # GRAPH: each value in a blank named graph of its own
            name = self.fresh()
            if self.item(prop, item, name) is not None:
                self.quads.append((subject, prop.iri, name, graph))

    def plain(self, subject: str, prop: Prop, value: Any, graph: str | None) -> None:
        """Values without a container: the common case, kept short."""
        seen = self._seen
        predicate = prop.iri
        suffix = prop.text_suffix
        for item in value if type(value) is list else (value,):
            kind = type(item)
            if kind is str and suffix is not None:
                found: tuple[str, Any] | None = (
                    f'"{escape(item)}"{suffix}',
                    (prop.datatype, prop.language, item, False),
                )
            elif kind is dict:
                found = self.expand_dict(prop.term, prop.key, item, graph)
            elif kind is list:
                self.plain(subject, prop, item, graph)
                continue
            elif item is None:
                continue
            else:
                found = self.scalar(prop, item)
            if found is not None:
                key = (graph, subject, predicate, found[1])
                if key not in seen:
                    seen.add(key)
                    self.quads.append((subject, predicate, found[0], graph))
                elif found[1] is _JSON_VALUE:
                    raise Unsupported("two @json values of one property")

    def item(self, prop: Prop, item: Any, graph: str | None) -> tuple[str, Any] | None:
        if type(item) is dict:
            return self.expand_dict(prop.term, prop.key, item, graph)
        return self.scalar(prop, item)

    def scalar(self, prop: Prop, value: Any) -> tuple[str, Any]:
        """pyld's _expand_value, then the RDF term of the result."""
        kind = type(value)
        coerce = prop.coerce
        if kind is str:
            suffix = prop.text_suffix
            if suffix is not None:
                return f'"{escape(value)}"{suffix}', (prop.datatype, prop.language, value, False)
            if coerce == "@id":
                node = self.reference(prop.term.expand_id(value))
                return node, node
            if coerce == "@vocab":
                node = self.reference(prop.term.expand_vocab(value))
                return node, node
        elif kind is float:
            if not math.isfinite(value):
                raise Unsupported("not a finite number")
        elif kind is not int and kind is not bool:
            raise Unsupported("not a JSON scalar")
        datatype = prop.datatype
        language = prop.language if kind is str and datatype is None else None
        return literal(value, datatype, language), (datatype, language, value, kind is bool)

    def language_map(
        self, subject: str, prop: Prop, value: dict[str, Any], graph: str | None
    ) -> None:
        for name in sorted(value):
            expanded = prop.term.expand_vocab(name)
            if name.startswith("@") and expanded != "@none":
                raise Unsupported(name)
            language = None if expanded == "@none" else name.lower()
            items = value[name]
            for item in items if type(items) is list else [items]:
                if item is None:
                    continue
                if type(item) is not str:
                    raise Unsupported("language map value")
                self.add(
                    subject,
                    prop.iri,
                    literal(item, None, language),
                    graph,
                    (None, language, item, False),
                )

    def list_head(self, prop: Prop, value: Any, graph: str | None) -> str:
        """An RDF collection of the values, as pyld's _list_to_rdf builds it."""
        terms: list[str] = []
        for item in value if type(value) is list else [value]:
            if item is None:
                continue
            if type(item) is list:
                raise Unsupported("list of lists")
            found = self.item(prop, item, graph)
            if found is not None:
                terms.append(found[0])
        if not terms:
            return RDF_NIL
        head = node = self.fresh()
        for index, term in enumerate(terms):
            following = self.fresh() if index + 1 < len(terms) else RDF_NIL
            self.quads.append((node, RDF_FIRST, term, graph))
            self.quads.append((node, RDF_REST, following, graph))
            node = following
        return head
