"""Canonical forms: RDFC-1.0 in safe mode, the shape cache of ensure_defined, and JCS."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

import pytest
from pyld import jsonld

from credstack.crypto.canonical import ensure_defined, expand, jcs, rdfc
from credstack.crypto.loader import OfflineLoader, RemoteDocument, default_loader
from credstack.domain.errors import (
    DocumentNotAllowed,
    Invalid,
    RelativeIri,
    UndefinedTerm,
)

VC_V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
UNKNOWN_CONTEXT = "https://contexts.invalid/never-fetch-me.jsonld"


class RecordingLoader(OfflineLoader):
    """The offline loader, recording every URL it is asked for."""

    def __init__(self, documents: Mapping[str, Any]) -> None:
        super().__init__(documents)
        self.requested: list[str] = []

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> RemoteDocument:
        self.requested.append(url)
        return super().__call__(url, options)


def fresh_loader() -> RecordingLoader:
    return RecordingLoader({url: default_loader().document(url) for url in default_loader().urls})


def credential(**extra: Any) -> dict[str, Any]:
    return {
        "@context": [VC_V2],
        "id": "urn:uuid:2f4a7c1e-0000-4000-8000-000000000000",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "Ada"},
        **extra,
    }


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and refuse) every attempt to open a network connection."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access attempted in a test")

    def refuse_connection(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse_connection)
    return attempts


# -- safe mode --------------------------------------------------------------------------


def test_a_well_formed_credential_canonicalizes_to_sorted_n_quads() -> None:
    nquads = rdfc(credential(), default_loader())
    lines = nquads.splitlines()
    assert lines == sorted(lines)
    assert (
        "<urn:uuid:2f4a7c1e-0000-4000-8000-000000000000> "
        "<https://www.w3.org/2018/credentials#issuer> <did:example:issuer> ."
    ) in lines
    assert '<did:example:subject> <https://schema.org/name> "Ada" .' in lines


def test_the_canonical_form_does_not_depend_on_key_order() -> None:
    document = credential()
    reordered = dict(reversed(list(document.items())))
    assert rdfc(reordered, default_loader()) == rdfc(document, default_loader())


def test_safe_mode_refuses_an_undefined_property_naming_the_term_and_its_path() -> None:
    document = credential(credentialSubject={"id": "did:example:subject", "favouriteColour": 1})
    with pytest.raises(UndefinedTerm) as caught:
        rdfc(document, default_loader())
    assert caught.value.term == "favouriteColour"
    assert caught.value.path == "credentialSubject.favouriteColour"
    assert "'favouriteColour'" in caught.value.message
    assert "credentialSubject.favouriteColour" in caught.value.message
    assert caught.value.code == "jsonld.undefined_term"


def test_the_path_of_an_undefined_property_inside_an_array_names_the_index() -> None:
    document = credential(
        credentialSubject=[{"id": "did:example:a"}, {"id": "did:example:b", "shoeSize": 44}]
    )
    with pytest.raises(UndefinedTerm) as caught:
        rdfc(document, default_loader())
    assert caught.value.path == "credentialSubject[1].shoeSize"


def test_without_safe_mode_the_undefined_property_is_silently_dropped() -> None:
    loader = default_loader()
    with_extra = credential(credentialSubject={"id": "did:example:subject", "name": "Ada", "x": 1})
    assert rdfc(with_extra, loader, safe=False) == rdfc(credential(), loader)


def test_safe_mode_refuses_an_undefined_type() -> None:
    document = credential(type=["VerifiableCredential", "MadeUpCredential"])
    with pytest.raises(UndefinedTerm) as caught:
        rdfc(document, default_loader())
    assert caught.value.term == "MadeUpCredential"
    assert caught.value.path == "type"


def test_safe_mode_refuses_a_relative_id() -> None:
    with pytest.raises(RelativeIri) as caught:
        rdfc(credential(id="credentials/1"), default_loader())
    assert caught.value.value == "credentials/1"
    assert caught.value.code == "jsonld.relative_iri"


@pytest.mark.parametrize("where", ["top", "nested"])
def test_safe_mode_refuses_an_unknown_at_keyword(where: str) -> None:
    if where == "top":
        document = credential(**{"@comment": "dropped by JSON-LD"})
        path = "@comment"
    else:
        document = credential(credentialSubject={"id": "did:example:s", "@comment": "x"})
        path = "credentialSubject.@comment"
    with pytest.raises(UndefinedTerm) as caught:
        rdfc(document, default_loader())
    assert caught.value.term == "@comment"
    assert caught.value.path == path


def test_safe_mode_refuses_a_document_without_context() -> None:
    document = credential()
    del document["@context"]
    with pytest.raises(Invalid, match="no @context"):
        rdfc(document, default_loader())
    with pytest.raises(Invalid, match="no @context"):
        ensure_defined(document, default_loader())


def test_an_unknown_context_url_is_refused_and_never_fetched(no_network: list[object]) -> None:
    loader = fresh_loader()
    document = credential(**{"@context": [VC_V2, UNKNOWN_CONTEXT]})
    with pytest.raises(DocumentNotAllowed) as caught:
        rdfc(document, loader)
    assert caught.value.url == UNKNOWN_CONTEXT
    assert caught.value.code == "jsonld.document_not_allowed"
    assert UNKNOWN_CONTEXT in loader.requested
    assert no_network == []


def test_an_unknown_context_url_is_refused_by_ensure_defined_and_expand_too(
    no_network: list[object],
) -> None:
    document = credential(**{"@context": [VC_V2, UNKNOWN_CONTEXT]})
    with pytest.raises(DocumentNotAllowed):
        ensure_defined(document, fresh_loader())
    with pytest.raises(DocumentNotAllowed):
        expand(document, fresh_loader())
    assert no_network == []


def test_the_offline_loader_refuses_any_url_it_does_not_hold() -> None:
    loader = default_loader()
    assert VC_V2 in loader
    assert UNKNOWN_CONTEXT not in loader
    with pytest.raises(DocumentNotAllowed):
        loader(UNKNOWN_CONTEXT)


def test_a_context_that_declares_vocab_defines_every_term() -> None:
    document = credential(
        **{"@context": [VC_V2, EXAMPLES_V2]},
        type=["VerifiableCredential", "ExampleDegreeCredential"],
        credentialSubject={"id": "did:example:s", "degree": {"type": "BachelorDegree"}},
    )
    nquads = rdfc(document, default_loader())
    assert "<https://www.w3.org/ns/credentials/examples#degree>" in nquads
    assert "<https://www.w3.org/ns/credentials/examples#ExampleDegreeCredential>" in nquads
    ensure_defined(document, default_loader())


def test_a_test_context_added_to_the_loader_defines_its_terms() -> None:
    url = "https://contexts.test/shoes.jsonld"
    loader = default_loader().with_documents(
        {url: {"@context": {"shoeSize": "https://contexts.test/vocab#shoeSize"}}}
    )
    document = credential(
        **{"@context": [VC_V2, url]},
        credentialSubject={"id": "did:example:s", "shoeSize": 44},
    )
    assert "<https://contexts.test/vocab#shoeSize>" in rdfc(document, loader)
    with pytest.raises(DocumentNotAllowed):
        rdfc(document, default_loader())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "urn:uuid:1 2"),
        ("id", "urn:example:<x>"),
        ("subject", "did:example:bob smith"),
        ("subject", 'did:example:"quoted"'),
    ],
)
def test_safe_mode_refuses_an_id_with_characters_no_iri_may_hold(field: str, value: str) -> None:
    with pytest.raises(RelativeIri) as caught:
        rdfc(_with_id(field, value), default_loader())
    assert caught.value.value == value


def _with_id(field: str, value: str) -> dict[str, Any]:
    document = credential()
    if field == "id":
        document["id"] = value
    else:
        document["credentialSubject"] = {"id": value, "name": "Ada"}
    return document


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "credentials/1:2"), ("id", ":x"), ("subject", "1:2"), ("subject", "9ada:x")],
)
def test_safe_mode_refuses_a_colon_bearing_id_without_a_scheme(field: str, value: str) -> None:
    with pytest.raises(RelativeIri):
        rdfc(_with_id(field, value), default_loader())


def test_a_new_loader_never_sees_the_contexts_of_a_collected_one() -> None:
    url = "https://contexts.test/reused.jsonld"
    defines = {"@context": {"shoeSize": "https://contexts.test/vocab#shoeSize"}}
    defines_nothing: dict[str, Any] = {"@context": {}}
    document = credential(
        **{"@context": [VC_V2, url]},
        credentialSubject={"id": "did:example:s", "shoeSize": 44},
    )
    for _ in range(200):
        first = default_loader().with_documents({url: defines})
        rdfc(document, first)
        collected = id(first)
        del first
        second = default_loader().with_documents({url: defines_nothing})
        if id(second) == collected:
            break
    else:
        pytest.skip("the interpreter did not reuse a loader id")
    with pytest.raises(UndefinedTerm):
        rdfc(document, second)


# -- ensure_defined and its shape cache ---------------------------------------------------


def test_ensure_defined_refuses_what_rdfc_refuses() -> None:
    document = credential(credentialSubject={"id": "did:example:s", "favouriteColour": 1})
    with pytest.raises(UndefinedTerm) as caught:
        ensure_defined(document, fresh_loader())
    assert caught.value.path == "credentialSubject.favouriteColour"
    with pytest.raises(RelativeIri):
        ensure_defined(credential(id="relative/id"), fresh_loader())


def test_ensure_defined_caches_by_shape_so_a_same_shaped_document_is_not_expanded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[object] = []
    real_expand = jsonld.expand

    def counting_expand(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real_expand(*args, **kwargs)

    monkeypatch.setattr(jsonld, "expand", counting_expand)
    loader = fresh_loader()
    ensure_defined(credential(), loader)
    first = len(calls)
    assert first >= 1
    other_values = credential(
        id="urn:uuid:00000000-0000-4000-8000-00000000ffff",
        issuer="did:example:someone-else",
        credentialSubject={"id": "did:example:other", "name": "Grace"},
    )
    ensure_defined(other_values, loader)
    assert len(calls) == first
    other_shape = credential(credentialSubject={"id": "did:example:other"})
    ensure_defined(other_shape, loader)
    assert len(calls) > first


def test_ensure_defined_adds_one_cache_entry_per_shape() -> None:
    loader = fresh_loader()
    before = len(loader.checked_shapes)
    ensure_defined(credential(), loader)
    assert len(loader.checked_shapes) == before + 1
    ensure_defined(credential(credentialSubject={"id": "did:example:x", "name": "Bo"}), loader)
    assert len(loader.checked_shapes) == before + 1
    ensure_defined(credential(description="a new key makes a new shape"), loader)
    assert len(loader.checked_shapes) == before + 2


def test_the_shape_cache_does_not_hide_an_undefined_term_in_a_new_shape() -> None:
    loader = fresh_loader()
    ensure_defined(credential(), loader)
    with pytest.raises(UndefinedTerm):
        ensure_defined(credential(credentialSubject={"id": "did:x:y", "bogus": "v"}), loader)


def test_the_shape_cache_does_not_hide_a_relative_id_in_a_cached_shape() -> None:
    loader = fresh_loader()
    ensure_defined(credential(), loader)
    with pytest.raises(RelativeIri):
        ensure_defined(credential(id="not-absolute"), loader)


# -- JCS (RFC 8785) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (6.0, b"6"),
        (2.5, b"2.5"),
        (-0.0, b"0"),
        (1e21, b"1e+21"),
        (1e30, b"1e+30"),
        (0.002, b"0.002"),
        (1e-7, b"1e-7"),
        (333333333.33333329, b"333333333.3333333"),
        (4.5, b"4.5"),
        (9007199254740991, b"9007199254740991"),
    ],
)
def test_jcs_serializes_numbers_as_rfc_8785_requires(value: float, expected: bytes) -> None:
    assert jcs(value) == expected


def test_jcs_writes_unicode_as_utf_8_and_escapes_only_what_json_requires() -> None:
    assert jcs("€ 😀 \u00f6") == '"€ 😀 ö"'.encode()
    assert jcs('"\\\n\u001f') == b'"\\"\\\\\\n\\u001f"'


def test_jcs_sorts_keys_by_utf_16_code_units_as_in_rfc_8785() -> None:
    # RFC 8785 section 3.2.3: the sort order of these keys.
    value = {"€": 1, "\r": 2, "\ufb33": 3, "1": 4, "😀": 5, "\u0080": 6, "ö": 7}
    expected = '{"\\r":2,"1":4,"\u0080":6,"ö":7,"€":1,"😀":5,"\ufb33":3}'.encode()
    assert jcs(value) == expected


def test_jcs_has_no_whitespace_and_sorts_nested_objects() -> None:
    assert jcs({"b": [1, {"d": True, "c": None}], "a": "x"}) == (
        b'{"a":"x","b":[1,{"c":null,"d":true}]}'
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**60, {1: "non-string key"}])
def test_jcs_refuses_what_json_cannot_represent(value: object) -> None:
    with pytest.raises(Invalid, match="cannot canonicalize"):
        jcs(value)
