"""Hypothesis strategies for credstack's domain objects (used by the test suite only).

Hypothesis is imported inside the functions so that ``credstack.testing`` stays importable
in an installation without the ``dev`` extra.
"""

# ruff: noqa: PLC0415  (the lazy imports above are deliberate)

from __future__ import annotations

from typing import TYPE_CHECKING

from credstack.domain.achievements import (
    ACHIEVEMENT_TYPES,
    Achievement,
    Alignment,
    Criteria,
    Image,
    Price,
    Profile,
    ResultDescription,
)

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy


def texts(max_size: int = 40) -> SearchStrategy[str]:
    """Non-blank unicode text (any UTF-8-encodable character: no lone surrogates)."""
    from hypothesis import strategies as st

    alphabet = st.characters(codec="utf-8")
    return st.text(alphabet, min_size=1, max_size=max_size).filter(lambda s: bool(s.strip()))


def credential_ids() -> SearchStrategy[str]:
    """Credential ids: ``urn:uuid:`` URNs or https URLs."""
    from hypothesis import strategies as st

    urns = st.uuids().map(lambda u: f"urn:uuid:{u}")
    urls = st.uuids().map(lambda u: f"https://issuer.example/credentials/{u.hex}")
    return st.one_of(urns, urls)


def _urls(kind: str) -> SearchStrategy[str]:
    from hypothesis import strategies as st

    return st.integers(min_value=0, max_value=10**6).map(
        lambda n: f"https://issuer.example/{kind}/{n}"
    )


def alignments() -> SearchStrategy[Alignment]:
    from hypothesis import strategies as st

    return st.builds(
        Alignment,
        target_name=texts(),
        target_url=_urls("framework"),
        target_code=st.none() | texts(10),
        target_description=st.none() | texts(),
        target_framework=st.none() | texts(),
        target_type=st.none() | st.sampled_from(["CFItem", "CTDL", "ceasn:Competency"]),
    )


def result_descriptions() -> SearchStrategy[ResultDescription]:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: DrawFn) -> ResultDescription:
        allowed = draw(st.lists(texts(5), max_size=4, unique=True))
        required: str | None = None
        with_required: bool = draw(st.booleans())
        if allowed and with_required:
            required = draw(st.sampled_from(allowed))
        return ResultDescription(
            id=f"urn:uuid:{draw(st.uuids())}",
            name=draw(texts()),
            result_type="LetterGrade" if allowed else draw(st.sampled_from(["Percent", "Status"])),
            allowed_values=tuple(allowed),
            required_value=required,
        )

    return build()


def achievements() -> SearchStrategy[Achievement]:
    """Random valid Achievements: unicode text, optional alignments, results and
    micro-credential fields (learning hours, price, level, ECTS)."""
    from hypothesis import strategies as st

    credits = st.none() | st.sampled_from([1.0, 2.5, 3.0, 6.0, 7.5, 30.0])
    prices = st.builds(
        Price,
        amount=st.integers(min_value=0, max_value=10**6).map(lambda c: f"{c // 100}.{c % 100:02d}"),
        currency=st.sampled_from(["EUR", "USD", "GBP", "CHF"]),
    )

    @st.composite
    def build(draw: DrawFn) -> Achievement:
        rds = draw(st.lists(result_descriptions(), max_size=3, unique_by=lambda r: r.id))
        return Achievement(
            id=draw(_urls("achievements")),
            name=draw(texts()),
            description=draw(texts(200)),
            criteria=draw(
                st.one_of(
                    st.builds(Criteria, narrative=texts(200)),
                    st.builds(Criteria, id=_urls("criteria")),
                )
            ),
            achievement_type=draw(st.none() | st.sampled_from(sorted(ACHIEVEMENT_TYPES))),
            alignments=tuple(draw(st.lists(alignments(), max_size=3))),
            credits_available=draw(credits),
            result_descriptions=tuple(rds),
            tags=tuple(draw(st.lists(texts(15), max_size=4))),
            image=draw(st.none() | st.builds(Image, id=_urls("images"))),
            version=draw(st.none() | st.sampled_from(["1.0", "2024-09"])),
            in_language=draw(st.none() | st.sampled_from(["en", "de-AT", "fr"])),
            creator=draw(st.none() | st.builds(Profile, id=_urls("profiles"), name=texts())),
            learning_hours=draw(st.none() | st.sampled_from([0.5, 8.0, 25.0, 150.0])),
            price=draw(st.none() | prices),
            level=draw(st.none() | st.sampled_from(["EQF 4", "EQF 5", "NQF 6"])),
            ects=draw(st.none() | st.sampled_from([1.0, 2.5, 5.0, 6.0])),
        )

    return build()
