"""The fast RDFC path gives the general path's bytes on a corpus (issue #6, target 2).

The corpus: every JSON document with an ``@context`` in the shared specs folders (OB 3.0,
CLR 2.0, vc-di-eddsa, DCC fixtures, Bitstring Status List; the 1EdTech guide pages' JSON
blocks too), and generated OB 3.0 and CLR 2.0 credentials: 500 in an ordinary run,
10,000 with ``CREDSTACK_FULL_CORPUS=1`` (``make bench`` runs that and reports it; with
``CREDSTACK_CORPUS_REPORT=<file>`` the counts are written there as JSON).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from credstack.crypto import proofs
from credstack.crypto.canonical import fast_quads, rdfc
from credstack.crypto.did import DidResolver
from credstack.crypto.keys import ed25519_from_seed
from credstack.crypto.loader import OfflineLoader, default_loader, vendored_documents
from credstack.crypto.proofs import add_proof, unsecured, verify_proof

from .support import GUIDE, SPECS, guide_page, requires_shared

pytestmark = requires_shared

FULL = os.environ.get("CREDSTACK_FULL_CORPUS") == "1"
GENERATED = 10_000 if FULL else 500
REPORT = os.environ.get("CREDSTACK_CORPUS_REPORT")
FOLDERS = (
    "ob_v3p0",
    "clr_v2p0",
    "vc-di-eddsa",
    "dcc-verifier-core-fixtures",
    "bitstring-status-list",
)
COUNTS: Counter[str] = Counter()

VC = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
KEY = ed25519_from_seed(bytes.fromhex("6d" * 32))
GENERAL_LOADER = OfflineLoader(vendored_documents())


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    """Write the counts for ``make bench`` when asked to."""
    COUNTS.clear()
    yield
    if REPORT:
        Path(REPORT).write_text(json.dumps(dict(COUNTS), indent=2) + "\n", "utf-8")


# -- the specs corpus -------------------------------------------------------------------


def spec_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every JSON object with an @context in the corpus folders and the guide pages."""
    if not SPECS.is_dir():
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    for folder in FOLDERS:
        for path in sorted((SPECS / folder).rglob("*.json*")):
            try:
                value = json.loads(path.read_bytes().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(value, dict) and "@context" in value:
                found.append((str(path.relative_to(SPECS)), value))
    for page in sorted(GUIDE.glob("*.html")):
        for title, text in guide_page(page.name).blocks.items():
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict) and "@context" in value:
                found.append((f"{page.relative_to(SPECS)}#{title}", value))
    return found


SPEC_DOCUMENTS = spec_documents()


def outcome(document: Mapping[str, Any], loader: OfflineLoader, *, safe: bool, fast: bool) -> Any:
    try:
        return ("ok", rdfc(document, loader, safe=safe, fast=fast))
    except Exception as exc:  # noqa: BLE001 - a refusal must be the same on both paths
        return (type(exc).__name__, str(exc), getattr(exc, "path", None))


@pytest.mark.parametrize(
    "document", [d for _, d in SPEC_DOCUMENTS], ids=[name for name, _ in SPEC_DOCUMENTS]
)
def test_every_spec_document_canonicalizes_identically(document: dict[str, Any]) -> None:
    loader = default_loader()
    variants = [document, unsecured(document)] if "proof" in document else [document]
    for variant in variants:
        for safe in (True, False):
            fast = outcome(variant, loader, safe=safe, fast=True)
            assert fast == outcome(variant, loader, safe=safe, fast=False)
            covered = fast_quads(variant, loader, safe=safe) is not None
            COUNTS["spec documents"] += 1
            COUNTS["spec documents on the fast path"] += covered
            COUNTS["spec documents refused alike"] += fast[0] != "ok"
            if fast[0] == "ok":
                assert fast[1].endswith("\n") or fast[1] == ""


def test_the_corpus_holds_the_spec_credentials() -> None:
    names = [name for name, _ in SPEC_DOCUMENTS]
    assert len(names) >= 40
    assert any(name.startswith("ob_v3p0/example_") for name in names)
    assert any(name.startswith("clr_v2p0/examples/") for name in names)
    assert any("linked-data-proof-ob.html#Signed credential" in name for name in names)


# -- generated OB 3.0 and CLR 2.0 credentials ---------------------------------------------
#
# Hypothesis draws the awkward values (unicode text, numbers, timestamps) and a seeded
# random generator; the generator lays out the credential around them. Drawing every
# field through Hypothesis would cost far more than canonicalizing the result.

TEXT = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(["Ada", "6.0", "é", "😀 𝄞", "line\nbreak", 'say "hi"', "tab\t", "\x00\x7f"]),
)
NUMBERS = st.one_of(
    st.sampled_from([6.0, 2.5, 1.0, 0.0, -0.0, 1e21, 1e-7, 100, 10**21, 12345678901234567890]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**64), 2**64),
)


@st.composite
def datetimes(draw: DrawFn) -> str:
    """xsd:dateTime text with an offset and, often, fractional seconds."""
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)))
    fraction = draw(st.sampled_from(["", ".5", ".123", ".123456789"]))
    offset = draw(st.sampled_from(["Z", "+00:00", "+05:30", "-08:00"]))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + offset


class Builder:
    """Lays out OB 3.0 and CLR 2.0 credentials from drawn values and a seeded generator."""

    def __init__(
        self, rng: random.Random, texts: list[str], numbers: list[Any], moments: list[str]
    ) -> None:
        self.rng = rng
        self.texts = texts
        self.numbers = numbers
        self.moments = moments

    def maybe(self, chance: float = 0.35) -> bool:
        return self.rng.random() < chance

    def text(self) -> str:
        return self.rng.choice(self.texts)

    def number(self) -> Any:
        return self.rng.choice(self.numbers)

    def moment(self) -> str:
        return self.rng.choice(self.moments)

    def date(self) -> str:
        return self.moment()[:10]

    def url(self, kind: str = "a") -> str:
        return f"https://example.edu/{kind}/{self.rng.randrange(6)}"  # small: ids repeat

    def did(self) -> str:
        return f"did:example:{self.rng.randrange(6)}"

    def ident(self) -> str:
        return self.rng.choice(
            [self.url(), self.did(), f"urn:uuid:{self.rng.getrandbits(128):032x}"]
        )

    def types(self, name: str) -> Any:
        return self.rng.choice([name, [name]])

    def some(self, make: Callable[[], Any], most: int = 2) -> list[Any]:
        return [make() for _ in range(self.rng.randint(1, most))]

    def optional(self, node: dict[str, Any], fields: dict[str, Callable[[], Any]]) -> None:
        for key, make in fields.items():
            if self.maybe():
                node[key] = make()

    def alignment(self) -> dict[str, Any]:
        node = {"type": self.types("Alignment"), "targetName": self.text(), "targetUrl": self.url()}
        self.optional(
            node,
            {
                "targetType": lambda: self.rng.choice(["CFItem", "ceasn:Competency", "ext:X"]),
                "targetCode": self.text,
                "targetDescription": self.text,
                "targetFramework": self.text,
            },
        )
        return node

    def image(self) -> Any:
        if self.maybe(0.5):
            return self.url("img")
        node = {"id": self.url("img"), "type": "Image"}
        self.optional(node, {"caption": self.text})
        return node

    def identifier_entry(self) -> dict[str, Any]:
        return {
            "type": "IdentifierEntry",
            "identifier": self.text(),
            "identifierType": self.rng.choice(["sourcedId", "ext:Other"]),
        }

    def profile(self) -> dict[str, Any]:
        node = {"id": self.ident(), "type": self.types("Profile")}
        self.optional(
            node,
            {
                "name": self.text,
                "url": self.url,
                "email": self.text,
                "phone": self.text,
                "description": self.text,
                "image": self.image,
                "address": lambda: {
                    "type": ["Address"],
                    "addressCountry": self.text(),
                    "geo": {
                        "type": "GeoCoordinates",
                        "latitude": self.number(),
                        "longitude": self.number(),
                    },
                },
                "otherIdentifier": lambda: self.some(self.identifier_entry),
                "dateOfBirth": self.date,
                "official": self.text,
                "parentOrg": self.url,
            },
        )
        return node

    def rubric_level(self) -> dict[str, Any]:
        node = {"id": self.ident(), "type": self.types("RubricCriterionLevel"), "name": self.text()}
        self.optional(
            node,
            {
                "description": self.text,
                "level": self.text,
                "points": self.text,
                "alignment": lambda: self.some(self.alignment),
            },
        )
        return node

    def result_description(self) -> dict[str, Any]:
        node = {
            "id": self.ident(),
            "type": self.types("ResultDescription"),
            "name": self.text(),
            "resultType": self.rng.choice(["LetterGrade", "Percent", "ext:Custom"]),
        }
        self.optional(
            node,
            {
                "allowedValue": lambda: [self.text() for _ in range(self.rng.randrange(4))],
                "requiredLevel": self.url,
                "requiredValue": self.text,
                "valueMin": self.text,
                "valueMax": self.text,
                "rubricCriterionLevel": lambda: self.some(self.rubric_level),
                "alignment": lambda: self.some(self.alignment),
            },
        )
        return node

    def achievement(self) -> dict[str, Any]:
        criteria = {"narrative": self.text()} if self.maybe(0.5) else {"id": self.url("c")}
        node = {
            "id": self.url("achievement"),
            "type": self.types("Achievement"),
            "name": self.text(),
            "criteria": criteria,
        }
        self.optional(
            node,
            {
                "description": self.text,
                "achievementType": lambda: self.rng.choice(["Badge", "MicroCredential", "ext:X"]),
                "alignment": lambda: self.some(self.alignment),
                "creditsAvailable": self.number,
                "resultDescription": lambda: self.some(self.result_description),
                "tag": lambda: [self.text() for _ in range(self.rng.randrange(4))],
                "image": self.image,
                "creator": self.profile,
                "fieldOfStudy": self.text,
                "humanCode": self.text,
                "specialization": self.text,
                "version": self.text,
                "inLanguage": lambda: self.rng.choice(["en", "fr-CA"]),
                "otherIdentifier": lambda: self.some(self.identifier_entry),
                "related": lambda: [
                    {
                        "id": self.url(),
                        "type": ["Related"],
                        "version": self.text(),
                        "inLanguage": "en",
                    }
                ],
            },
        )
        return node

    def result(self) -> dict[str, Any]:
        node = {"type": self.types("Result"), "resultDescription": self.url("rd")}
        self.optional(
            node,
            {
                "value": self.text,
                "status": lambda: self.rng.choice(["Completed", "Enrolled"]),
                "achievedLevel": self.url,
                "alignment": lambda: self.some(self.alignment),
            },
        )
        return node

    def subject(self) -> dict[str, Any]:
        node: dict[str, Any] = {
            "type": self.types("AchievementSubject"),
            "achievement": self.achievement(),
        }
        if self.maybe(0.6):
            node["id"] = self.did()
        else:
            node["identifier"] = self.some(
                lambda: {
                    "type": "IdentityObject",
                    "hashed": self.maybe(0.5),
                    "identityHash": self.text(),
                    "identityType": "emailAddress",
                    "salt": self.text(),
                }
            )
        self.optional(
            node,
            {
                "creditsEarned": self.number,
                "activityStartDate": self.date,
                "activityEndDate": self.date,
                "result": lambda: self.some(self.result),
                "role": self.text,
                "term": self.text,
                "licenseNumber": self.text,
                "image": self.image,
                "source": self.profile,
            },
        )
        return node

    def evidence(self) -> dict[str, Any]:
        node: dict[str, Any] = {"type": ["Evidence"]}
        self.optional(
            node,
            {
                "id": self.url,
                "narrative": self.text,
                "name": self.text,
                "description": self.text,
                "genre": self.text,
                "audience": self.text,
            },
        )
        return node

    def status(self) -> dict[str, Any]:
        if self.maybe(0.3):
            return {"id": self.url("status"), "type": "1EdTechRevocationList"}
        return {
            "id": f"{self.url('status')}#{self.rng.randrange(100)}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": self.rng.choice(["revocation", "suspension"]),
            "statusListIndex": str(self.rng.randrange(131072)),
            "statusListCredential": self.url("status"),
        }

    def proof(self) -> dict[str, Any]:
        return {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": self.moment(),
            "verificationMethod": f"{self.did()}#key-1",
            "proofPurpose": "assertionMethod",
            "proofValue": f"z{self.rng.getrandbits(256):x}".replace("0", "1"),
        }

    def envelope(self, credential: dict[str, Any]) -> dict[str, Any]:
        """Parts every credential kind may carry (a status list, a schema, proofs)."""
        self.optional(
            credential,
            {
                "validUntil": self.moment,
                "description": self.text,
                "credentialSchema": lambda: [
                    {"id": self.url("schema"), "type": "1EdTechJsonSchemaValidator2019"}
                ],
                "proof": lambda: self.some(self.proof),
            },
        )
        if self.maybe():
            entries = self.some(self.status)
            credential["credentialStatus"] = entries if self.maybe(0.7) else entries[0]
        return credential

    def open_badge(self, top: bool = True) -> dict[str, Any]:
        subjects = self.some(self.subject) if top and self.maybe(0.3) else self.subject()
        credential = {
            "@context": [VC, OB, EXTENSIONS],
            "id": self.ident(),
            "type": ["VerifiableCredential", self.rng.choice(OB_TYPES)],
            "issuer": self.profile() if self.maybe(0.7) else self.url("issuer"),
            "validFrom": self.moment(),
            "name": self.text(),
            "credentialSubject": subjects,
        }
        self.optional(
            credential,
            {
                "awardedDate": self.moment,
                "image": self.image,
                "evidence": lambda: self.some(self.evidence),
            },
        )
        return self.envelope(credential)

    def clr(self) -> dict[str, Any]:
        subject: dict[str, Any] = {
            "id": self.did(),
            "type": self.types("ClrSubject"),
            "verifiableCredential": self.some(lambda: self.open_badge(top=False)),
        }
        self.optional(
            subject,
            {
                "achievement": lambda: self.some(self.achievement),
                "association": lambda: self.some(
                    lambda: {
                        "type": "Association",
                        "associationType": self.rng.choice(["isChildOf", "isParentOf"]),
                        "sourceId": self.url(),
                        "targetId": self.url(),
                    }
                ),
            },
        )
        credential = {
            "@context": [VC, CLR, OB, EXTENSIONS],
            "id": self.ident(),
            "type": ["VerifiableCredential", "ClrCredential"],
            "issuer": self.profile() if self.maybe(0.7) else self.url("issuer"),
            "validFrom": self.moment(),
            "name": self.text(),
            "credentialSubject": subject,
        }
        self.optional(credential, {"partial": lambda: self.maybe(0.5)})
        return self.envelope(credential)


OB_TYPES = ["OpenBadgeCredential", "AchievementCredential"]


def build(
    kind: str, rng: random.Random, texts: list[str], numbers: list[Any], moments: list[str]
) -> dict[str, Any]:
    builder = Builder(rng, texts, numbers, moments)
    return builder.clr() if kind == "clr" else builder.open_badge()


CREDENTIALS = st.builds(
    build,
    st.sampled_from(["ob", "ob", "clr"]),
    st.integers(0, 2**64).map(random.Random),
    st.lists(TEXT, min_size=6, max_size=6),
    st.lists(NUMBERS, min_size=3, max_size=3),
    st.lists(datetimes(), min_size=3, max_size=3),
)
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]


def assert_identical(document: dict[str, Any]) -> None:
    """The fast path covers the credential and gives the general path's bytes."""
    loader = default_loader()
    fast = rdfc(document, loader)
    assert fast_quads(document, loader) is not None
    assert fast == rdfc(document, loader, fast=False)
    COUNTS["generated credentials"] += 1
    COUNTS[f"generated {document['type'][1]}"] += 1


@pytest.mark.skipif(not FULL, reason="set CREDSTACK_FULL_CORPUS=1 (make bench does)")
@settings(max_examples=10_000, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(CREDENTIALS)
def test_ten_thousand_generated_credentials_canonicalize_identically(
    document: dict[str, Any],
) -> None:
    assert_identical(document)


@pytest.mark.skipif(FULL, reason="the 10,000-credential version runs instead")
@settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(CREDENTIALS)
def test_generated_credentials_canonicalize_identically(document: dict[str, Any]) -> None:
    assert_identical(document)


# -- end to end: sign on one path, verify on the other --------------------------------------


def sign_and_verify(document: dict[str, Any], *, sign_fast: bool) -> dict[str, Any]:
    general = partial(rdfc, fast=False)
    signing = (default_loader(), None) if sign_fast else (GENERAL_LOADER, general)
    checking = (GENERAL_LOADER, general) if sign_fast else (default_loader(), None)
    with mock.patch.object(proofs, "rdfc", signing[1] or rdfc):
        signed = add_proof(document, KEY, created="2026-01-02T03:04:05.678Z", loader=signing[0])
    with mock.patch.object(proofs, "rdfc", checking[1] or rdfc):
        method = verify_proof(
            signed, signed["proof"][-1], resolve=DidResolver(), loader=checking[0]
        )
    assert method.controller == KEY.controller
    return signed


@settings(
    max_examples=400 if FULL else 40, deadline=None, derandomize=True, suppress_health_check=SLOW
)
@given(CREDENTIALS)
def test_signed_on_the_fast_path_verifies_on_the_general_path_and_back(
    document: dict[str, Any],
) -> None:
    unsigned = {**unsecured(document), "issuer": KEY.controller}
    by_fast = sign_and_verify(unsigned, sign_fast=True)
    by_general = sign_and_verify(unsigned, sign_fast=False)
    assert by_fast["proof"] == by_general["proof"]
    COUNTS["signed and verified across paths"] += 1
