"""The compiled fast path of rdfc: same bytes and same errors as the general path (pyld).

Each case runs both paths (``rdfc(..., fast=False)`` is the general one) in safe and in
unsafe mode, and says whether the fast path must cover it or must fall back.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import base58
import nacl.signing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld.canon import URDNA2015

from credstack.crypto import ldcontext
from credstack.crypto.canonical import fast_quads, rdfc
from credstack.crypto.keys import ed25519_from_seed, multibase_decode, multibase_encode
from credstack.crypto.ldquads import (
    RDF_LANGSTRING,
    XSD_STRING,
    Quad,
    canonical_double,
    escape,
    to_quads,
)
from credstack.crypto.loader import OfflineLoader, default_loader
from credstack.crypto.proofs import canonical_proof_config
from credstack.crypto.rdfc_fast import canonical_nquads
from credstack.domain.errors import Invalid, InvalidKey, RelativeIri, UndefinedTerm

VC = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
XSD = "http://www.w3.org/2001/XMLSchema#"
EX = "https://ex.test/"
TERMS: dict[str, Any] = {
    "@version": 1.1,
    "xsd": XSD,
    "ex": EX,
    "plain": f"{EX}plain",
    "label": {"@id": f"{EX}label", "@container": "@language"},
    "data": {"@id": f"{EX}data", "@type": "@json"},
    "items": {"@id": f"{EX}items", "@container": "@list"},
    "score": {"@id": f"{EX}score", "@type": "xsd:double"},
    "count": {"@id": f"{EX}count", "@type": "xsd:integer"},
    "ref": {"@id": f"{EX}ref", "@type": "@id"},
    "kind": {"@id": f"{EX}kind", "@type": "@vocab"},
    "nested": {"@id": f"{EX}nested", "@container": "@graph"},
    "french": {"@id": f"{EX}french", "@language": "FR"},
    "Other": f"{EX}Other",
    "Thing": {
        "@id": f"{EX}Thing",
        "@context": {"inner": f"{EX}inner", "plain": f"{EX}plain-in-thing"},
    },
    "scoped": {"@id": f"{EX}scoped", "@context": {"deep": f"{EX}deep"}},
}


def credential(context: list[Any] | None = None, /, **subject: Any) -> dict[str, Any]:
    return {
        "@context": context or [VC, TERMS],
        "id": "urn:uuid:2f4a7c1e-0000-4000-8000-000000000001",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", **subject},
    }


Outcome = tuple[str, str, str]


def outcome(document: Mapping[str, Any], *, safe: bool, fast: bool) -> Outcome:
    """The canonical form, or the error class, message and (for UndefinedTerm) path."""
    try:
        return ("ok", rdfc(document, default_loader(), safe=safe, fast=fast), "")
    except UndefinedTerm as exc:
        return (type(exc).__name__, exc.message, exc.path)
    except Exception as exc:  # noqa: BLE001 - any error must be the same on both paths
        return (type(exc).__name__, str(exc), "")


def check(document: Mapping[str, Any], *, covered: bool, safe: bool = True) -> str:
    """Both paths agree; the fast path covers the document, or falls back, as stated."""
    fast, general = (
        outcome(document, safe=safe, fast=True),
        outcome(document, safe=safe, fast=False),
    )
    assert fast == general
    assert (fast_quads(document, default_loader(), safe=safe) is not None) is covered
    return fast[1]


def both_modes(document: Mapping[str, Any], covered: bool) -> str:
    check(document, covered=covered, safe=False)
    return check(document, covered=covered)


# -- values ---------------------------------------------------------------------------


def test_numbers_take_pyld_lexical_forms() -> None:
    values = [6.0, 2.5, 1e21, -0.0, 0.1, 1e-7, 10**20, 10**21, 12345678901234567890, 0, True]
    nquads = both_modes(credential(plain=values), covered=True)
    for text in ('"6"^^', '"2.5E0"^^', '"1.0E21"^^', '"0"^^', '"1.0E-7"^^', '"true"^^'):
        assert text in nquads
    assert f'"100000000000000000000"^^<{XSD}integer>' in nquads


def test_coerced_doubles_and_integers() -> None:
    document = credential(score=[6.0, 2.5, 1, "2.5", "abc", "NaN", True], count=[6.0, 2.5, "7"])
    nquads = both_modes(document, covered=True)
    assert f'"6.0E0"^^<{XSD}double>' in nquads
    assert f'"abc"^^<{XSD}double>' in nquads
    assert f'"2.5E0"^^<{XSD}integer>' in nquads


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.5, "2.5E0"), (1e21, "1.0E21"), (-1.5e-300, "-1.5E-300"), (123456.789, "1.23456789E5")],
)
def test_canonical_double(value: float, text: str) -> None:
    assert canonical_double(value) == text


def test_unicode_and_control_characters() -> None:
    strings = ["é", "😀 astral 𝄞", "tab\there", "nl\nx", "cr\rx", 'q"uote', "back\\slash"]
    strings += ["\x00\x01\x1f\x7f", "\u2028\u2029", "\ufeff", ""]
    nquads = both_modes(credential(plain=strings), covered=True)
    assert '"tab\\there"' in nquads
    assert '"q\\"uote"' in nquads


def test_escape_matches_the_n_quads_rules_pyld_applies() -> None:
    assert escape('a\\b\t\n\r"') == 'a\\\\b\\t\\n\\r\\"'
    assert escape("plain é") == "plain é"


def test_language_maps_default_languages_and_language_tags() -> None:
    both_modes(credential(label={"en": "Hello", "FR": ["Bonjour", "Salut"], "@none": "x"}), True)
    document = credential([VC, {"@language": "EN-gb"}, TERMS], plain="hi", french="salut")
    nquads = both_modes(document, covered=True)
    assert '"hi"@en-gb' in nquads
    assert '"salut"@fr' in nquads
    tagged = [{"@value": "x", "@language": "EN"}, {"@value": "y", "@language": ""}]
    both_modes(credential(plain=tagged), covered=True)


def test_json_literals_are_jcs() -> None:
    nquads = both_modes(credential(data={"b": [1, 2.5, None, True], "a": "é😀"}), covered=True)
    assert '"{\\"a\\":\\"é😀\\",\\"b\\":[1,2.5,null,true]}"^^<' in nquads
    both_modes(credential(data=None), covered=True)
    both_modes(credential(data=[1, {"@value": 2}]), covered=True)
    both_modes(credential(plain={"@value": {"z": 1}, "@type": "@json"}), covered=True)


def test_value_objects_with_datatypes() -> None:
    values = [
        {"@value": "2020-01-01", "@type": "xsd:date"},
        {"@value": None},
        {"@value": 5, "@type": "xsd:decimal"},
        {"@value": "x", "@type": f"{XSD}string"},
        {"@value": "x", "@type": RDF_LANGSTRING},
    ]
    both_modes(credential(plain=values), covered=True)


def test_values_the_node_map_merges_and_values_it_keeps_twice() -> None:
    same_json = ["a", "a", 1, 1.0, {"@value": 1}]
    same_rdf = [2.5, "2.5E0"]
    both_modes(credential(plain=same_json, score=same_rdf, ref=["urn:a", {"id": "urn:a"}]), True)
    typed_twice = credential(type="Other", **{f"{RDF_TYPE}": {"id": f"{EX}Other"}})
    both_modes(typed_twice, covered=True)


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


# -- structure --------------------------------------------------------------------------


def test_lists() -> None:
    both_modes(credential(items=[1, "a", {"plain": "x"}, {"id": "urn:y"}, None]), covered=True)
    both_modes(credential(items=[]), covered=True)
    both_modes(credential(items="one"), covered=True)
    both_modes(credential(items=[[1]]), covered=False)


def test_nested_graph_containers_make_blank_named_graphs() -> None:
    document = credential(nested=[{"plain": "a", "nested": {"plain": "b"}}, {"id": "urn:g2"}])
    nquads = both_modes(document, covered=True)
    assert any(line.endswith("_:c14n1 .") or " _:c14n" in line for line in nquads.splitlines())
    both_modes(credential(nested="urn:just-a-reference"), covered=True)


def test_a_proof_is_a_graph_and_a_presentation_holds_credentials_with_their_contexts() -> None:
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-01-01T00:00:00.123+02:00",
        "verificationMethod": "did:example:issuer#key-1",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3FXQ",
    }
    both_modes(
        {**credential(), "proof": [proof, {**proof, "created": "2025-01-02T00:00:00Z"}]}, True
    )
    presentation = {
        "@context": [VC],
        "type": "VerifiablePresentation",
        "verifiableCredential": [credential(), credential(plain="other")],
    }
    both_modes(presentation, covered=True)


def test_type_scoped_contexts_switch_and_revert() -> None:
    document = credential(
        type="Thing", inner="i", plain="in thing", scoped={"deep": "d", "plain": "q"}
    )
    nquads = both_modes(document, covered=True)
    assert f"<{EX}plain-in-thing>" in nquads
    assert f'<{EX}plain> "q"' in nquads
    reverted = credential(type="Thing", ref={"id": "urn:z", "plain": "p"}, scoped={"deep": "x"})
    both_modes(reverted, covered=True)
    embedded = credential(plain={"@context": {"x": f"{EX}x"}, "x": "1"})
    both_modes(embedded, covered=True)


def test_open_badges_type_scoped_and_protected_contexts() -> None:
    document = {
        "@context": [VC, OB],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "https://issuer.example", "type": "Profile", "name": "I"},
        "credentialSubject": {
            "type": "AchievementSubject",
            "achievement": {
                "id": "https://issuer.example/a/1",
                "type": "Achievement",
                "name": "A",
                "creditsAvailable": 6.0,
                "criteria": {"narrative": "n"},
                "resultDescription": [
                    {
                        "id": "urn:uuid:1",
                        "type": "ResultDescription",
                        "name": "Grade",
                        "resultType": "LetterGrade",
                        "allowedValue": ["A", "B", "A"],
                    }
                ],
            },
        },
    }
    both_modes(document, covered=True)


def test_redefining_a_protected_term_falls_back_to_the_same_error() -> None:
    document = {"@context": [VC, {"id": f"{EX}not-id"}], "id": "urn:x"}
    both_modes(document, covered=False)
    with pytest.raises(Invalid, match="protected term"):
        rdfc(document, default_loader())


def test_a_context_with_vocab_is_covered() -> None:
    document = credential([VC, EXAMPLES], anything="goes")
    document["type"] = ["VerifiableCredential", "ExampleThing"]
    assert "<https://www.w3.org/ns/credentials/examples#anything>" in both_modes(document, True)


def test_blank_node_labels_of_the_document_are_shared() -> None:
    document = credential(ref=["_:a", "_:b"], plain={"id": "_:a", "plain": "x", "ref": "_:a"})
    both_modes(document, covered=True)


# -- blank nodes whose first-degree hashes collide ---------------------------------------


def test_identical_anonymous_nodes_need_n_degree_hashing() -> None:
    document = credential(plain=[{"plain": "same"}, {"plain": "same"}, {"plain": "same"}])
    both_modes(document, covered=True)
    chained = credential(
        plain=[{"plain": "s", "ref": {"plain": "x"}}, {"plain": "s", "ref": {"plain": "y"}}]
    )
    both_modes(chained, covered=True)
    quads = to_quads(document, default_loader(), safe=True)
    assert _colliding_first_degree_hashes(quads)


def _colliding_first_degree_hashes(quads: list[Quad]) -> bool:
    nodes = {t for q in quads for t in (q[0], q[2]) if t.startswith("_:")}
    hashes = []
    for node in nodes:
        lines = sorted(
            " ".join(("_:a" if t == node else "_:z") if t.startswith("_:") else t for t in q[:3])
            + " .\n"
            for q in quads
            if node in (q[0], q[2])
        )
        hashes.append(hashlib.sha256("".join(lines).encode()).hexdigest())
    return len(set(hashes)) < len(hashes)


@dataclass(frozen=True)
class Term:
    kind: str  # IRI, blank node, literal
    value: str
    datatype: str = XSD_STRING
    language: str = ""

    def nquads(self) -> str:
        if self.kind == "IRI":
            return f"<{self.value}>"
        if self.kind == "blank node":
            return self.value
        text = f'"{escape(self.value)}"'
        if self.language:
            return f"{text}@{self.language}"
        return text if self.datatype == XSD_STRING else f"{text}^^<{self.datatype}>"

    def pyld(self) -> dict[str, str]:
        out = {"type": self.kind, "value": self.value}
        if self.kind == "literal":
            out["datatype"] = RDF_LANGSTRING if self.language else self.datatype
            if self.language:
                out["language"] = self.language
        return out


BLANKS = [Term("blank node", f"_:n{i}") for i in range(6)]
IRIS = [Term("IRI", f"{EX}{name}") for name in ("a", "b", "p", "q")]
LITERALS = [
    Term("literal", "x"),
    Term("literal", 'y "quoted"\n'),
    Term("literal", "1", f"{XSD}integer"),
    Term("literal", "z", language="en"),
]
nodes = st.sampled_from(BLANKS + IRIS[:2])
predicates = st.sampled_from(IRIS)
objects = st.sampled_from(BLANKS + IRIS + LITERALS)
graphs = st.sampled_from([None, None, BLANKS[0], BLANKS[5], IRIS[0]])
datasets = st.lists(st.tuples(nodes, predicates, objects, graphs), max_size=14)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(datasets, st.randoms(use_true_random=False))
def test_rdfc_matches_pyld_urdna2015_and_ignores_blank_node_labels(
    quads: list[tuple[Term, Term, Term, Term | None]], rng: random.Random
) -> None:
    dataset: dict[str, list[dict[str, Any]]] = {}
    for s, p, o, g in quads:
        triple = {"subject": s.pyld(), "predicate": p.pyld(), "object": o.pyld()}
        dataset.setdefault("@default" if g is None else g.value, []).append(triple)
    expected = URDNA2015().main(dataset, {"format": "application/n-quads"})
    labels = [b.value for b in BLANKS]
    shuffled = dict(zip(labels, rng.sample(labels, len(labels)), strict=True))

    def term(t: Term) -> str:
        return shuffled[t.value] if t.kind == "blank node" else t.nquads()

    ours = [(term(s), term(p), term(o), None if g is None else term(g)) for s, p, o, g in quads]
    assert canonical_nquads(ours) == expected


def test_a_symmetric_cycle_of_blank_nodes() -> None:
    p = f"<{EX}p>"
    cycle: list[Quad] = [(f"_:n{i}", p, f"_:n{(i + 1) % 4}", None) for i in range(4)]
    pair: list[Quad] = [("_:m0", p, "_:m1", None), ("_:m1", p, "_:m0", None)]
    for quads in (cycle, pair, cycle + pair):
        dataset = {
            "@default": [
                {
                    "subject": {"type": "blank node", "value": s},
                    "predicate": {"type": "IRI", "value": p[1:-1]},
                    "object": {"type": "blank node", "value": o},
                }
                for s, _, o, _ in quads
            ]
        }
        assert canonical_nquads(quads) == URDNA2015().main(
            dataset, {"format": "application/n-quads"}
        )


# -- what falls back, with the general path's error ----------------------------------------


def test_a_relative_id_falls_back_and_the_same_error_is_raised() -> None:
    for document in (credential(ref="relative"), {**credential(), "id": "credentials/1"}):
        both_modes(document, covered=False)
        with pytest.raises(RelativeIri):
            rdfc(document, default_loader())


@pytest.mark.parametrize(
    "value", ["http://a b", "http://a\u00a0b", "a,b:c", "urn:x<y>", "1:2", "_:a b"]
)
def test_iris_pyld_or_safe_mode_would_refuse_fall_back(value: str) -> None:
    both_modes(credential(ref=value), covered=False)


def test_an_undefined_term_falls_back_and_names_its_path() -> None:
    document = credential(favouriteColour=1)
    both_modes(document, covered=False)
    with pytest.raises(UndefinedTerm) as caught:
        rdfc(document, default_loader())
    assert caught.value.path == "credentialSubject.favouriteColour"
    both_modes(credential(type="MadeUpType"), covered=False)
    both_modes(credential(kind=["Thing", "ex:x", "urn:abs", "notATerm"]), covered=False)


def test_an_issuer_dependent_iri_falls_back() -> None:
    both_modes(credential(ref="https://www.w3.org/ns/credentials/issuer-dependent#x"), False)


def test_unknown_keywords_fall_back_even_inside_json_literals() -> None:
    check(credential(data={"@comment": 1}), covered=False)
    check(credential(data={"@comment": 1}), covered=True, safe=False)
    both_modes(credential(**{"@comment": 1}), covered=False)


@pytest.mark.parametrize(
    "subject",
    [
        {"type": None},
        {"type": []},
        {"plain": float("nan")},
        {"plain": 10**400},
        {"plain": {"@context": None, "x": 1}},
        {"data": {"a": 1}, f"{EX}data": {"@value": {"a": 1}, "@type": "@json"}},
        {"plain": {"@value": "x", "@type": "xsd:date", "@language": "en"}},
        {"plain": {"@value": [1]}},
        {"plain": {"@id": "urn:x", "@index": "i"}},
        {"plain": {"@reverse": {"plain": "x"}}},
    ],
)
def test_shapes_outside_the_fast_path_fall_back(subject: dict[str, Any]) -> None:
    both_modes(credential(**subject), covered=False)


def test_documents_without_context_or_with_top_level_graph_fall_back() -> None:
    both_modes({"id": "urn:x"}, covered=False)
    both_modes({"@context": [VC], "@graph": [credential([VC])]}, covered=False)


def test_a_context_the_loader_does_not_hold_falls_back_to_the_same_refusal() -> None:
    document = credential([VC, "https://contexts.invalid/unknown.jsonld"])
    both_modes(document, covered=False)


def test_the_compiled_contexts_live_on_the_loader() -> None:
    loader = OfflineLoader({url: default_loader().document(url) for url in default_loader().urls})
    assert loader.compiled_contexts == {}
    rdfc(credential(), loader)
    assert loader.compiled_contexts
    assert rdfc(credential(), loader) == rdfc(credential(), loader, fast=False)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**80), 2**80)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["plain", "score", "count", "items"]), inner, max_size=3
            )
        ),
        max_leaves=12,
    )
)
def test_any_json_value_under_the_test_terms(value: Any) -> None:
    for key in ("plain", "score", "count", "items", "data", "label", "nested", "ref"):
        document = credential(**{key: value})
        for safe in (True, False):
            assert outcome(document, safe=safe, fast=True) == outcome(
                document, safe=safe, fast=False
            )


def test_a_loader_whose_compiler_is_full_gets_a_fresh_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ldcontext, "_CONTEXT_LIMIT", 6)
    loader = OfflineLoader({url: default_loader().document(url) for url in default_loader().urls})
    compilers = []
    for index in range(8):
        document = credential([VC, {"extra": f"{EX}extra{index}"}], extra="x")
        assert rdfc(document, loader) == rdfc(document, loader, fast=False)
        compilers.append(ldcontext.compiler_for(loader))
    assert len({id(compiler) for compiler in compilers}) > 1


@settings(max_examples=300, derandomize=True)
@given(st.binary(max_size=80), st.integers(0, 3), st.sampled_from(["", " ", "\n"]))
def test_the_hot_path_base58_matches_the_base58_package(
    data: bytes, zeros: int, trailing: str
) -> None:
    data = b"\0" * zeros + data
    text = base58.b58encode(data).decode("ascii")
    assert multibase_encode(data) == "z" + text
    assert multibase_decode("z" + text + trailing) == base58.b58decode(text + trailing) == data


@pytest.mark.parametrize("text", ["z0", "zO", "zIl", "za b", "zé", "z 1", "z+"])
def test_the_hot_path_base58_refuses_what_the_base58_package_refuses(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - its messages vary
        base58.b58decode(text[1:])
    with pytest.raises(InvalidKey, match="not valid base58btc"):
        multibase_decode(text)


def test_ed25519_signatures_are_libsodium_s() -> None:
    key = ed25519_from_seed(bytes(range(32)))
    for message in (b"", b"abc", bytes(300)):
        expected = nacl.signing.SigningKey(bytes(range(32))).sign(message).signature
        assert key.sign(message) == expected
        assert key.public.verify(expected, message)


def test_proof_configurations_take_the_fast_path() -> None:
    config = {
        "@context": [VC, OB, "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-01-02T03:04:05Z",
        "verificationMethod": "did:example:issuer#key-1",
        "proofPurpose": "assertionMethod",
    }
    both_modes(config, covered=True)
    assert canonical_proof_config(config, default_loader()) == rdfc(
        config, default_loader(), fast=False
    )
