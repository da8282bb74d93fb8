"""What a learner holds, as the stacking engine sees it: credentials, results and evidence.

Pure: no I/O, no clock. :class:`EarnedCredential` is the learner fact the progress function
receives (only currently *valid* credentials: verifying and status checks happen before);
:class:`ComponentEvidence` is one credential (or one met nested pathway) counted for one
component of a pathway; :class:`Facts` is what a requirement evaluates against.

Results follow OB 3.0 ``Result`` (https://www.imsglobal.org/spec/ob/v3p0/#result) joined
with the achievement's ``ResultDescription`` (``resultType``, ``valueMin``, ``valueMax``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, Protocol

from credstack.domain.credentials import parse_datetime
from credstack.domain.errors import Invalid

#: Letter grades, best first (A+ .. F). Comparison is by position in this tuple.
LETTER_GRADES: Final = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F")
_GRADE_RANK: Final = {grade: rank for rank, grade in enumerate(LETTER_GRADES)}
#: Orders before every real date: "no valid_until" sorts after it as "never expires".
NEVER: Final = datetime.min.replace(tzinfo=UTC)


def grade_rank(value: str) -> int | None:
    """Position of a letter grade in :data:`LETTER_GRADES` (0 = A+), None when not a grade."""
    return _GRADE_RANK.get(value.strip().upper())


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise Invalid(f"{field}: must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(f"{field}: {value.isoformat()} has no timezone")
    return value


@dataclass(frozen=True, slots=True)
class CredentialResult:
    """One OB ``Result`` of a credential, with the range of its ``ResultDescription``.

    ``value`` is the OB string value (``"B+"``, ``"84"``, ``"84%"``); ``value_min`` and
    ``value_max`` come from the achievement's ResultDescription (``valueMin``/``valueMax``).
    """

    value: str
    result_description: str | None = None
    result_type: str | None = None
    value_min: str | None = None
    value_max: str | None = None

    def letter_rank(self) -> int | None:
        """The grade's rank (0 = A+) when the value is a letter grade."""
        return grade_rank(self.value)

    def percent(self) -> float | None:
        """The value as a percentage, when that can be known.

        ``"84%"`` is 84; a number with ``value_min``/``value_max`` is scaled into 0..100; a
        number with ``result_type`` ``Percent`` is taken as is. A bare number without a range
        (a raw score) has no percentage and yields None.
        """
        value = _number(self.value)
        if value is None:
            return None
        if self.value.strip().endswith("%") or self.result_type == "Percent":
            return value
        low, high = _number(self.value_min), _number(self.value_max)
        if low is not None and high is not None and high > low:
            return (value - low) / (high - low) * 100.0
        return None


@dataclass(frozen=True, slots=True)
class EarnedCredential:
    """A valid credential the learner holds, reduced to what stacking needs.

    ``external`` marks a credential from another issuer (not issued by this platform); only
    :class:`~credstack.domain.pathways.ExternalComponent` equivalency rules match those.
    ``valid_from`` is the credential's validFrom (issuance), both datetimes timezone-aware.
    """

    id: str
    issuer: str
    achievement_id: str
    valid_from: datetime
    valid_until: datetime | None = None
    alignments: tuple[str, ...] = ()
    results: tuple[CredentialResult, ...] = ()
    credits_earned: float | None = None
    external: bool = False

    def __post_init__(self) -> None:
        for name in ("id", "issuer", "achievement_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise Invalid(f"earned credential {name}: must be a non-empty string")
        _aware(self.valid_from, "earned credential valid_from")
        if self.valid_until is not None:
            _aware(self.valid_until, "earned credential valid_until")
        object.__setattr__(self, "alignments", tuple(self.alignments))
        object.__setattr__(self, "results", tuple(self.results))
        if self.credits_earned is not None:
            object.__setattr__(self, "credits_earned", float(self.credits_earned))

    @classmethod
    def from_ob(cls, doc: Mapping[str, Any], *, external: bool = False) -> EarnedCredential:
        """Read an OB 3.0 AchievementCredential (JSON, already verified) into a learner fact.

        Takes ``issuer`` (string or object id), ``credentialSubject.achievement`` (id,
        ``alignment[].targetUrl``, ``resultDescription``), ``credentialSubject.result`` and
        ``creditsEarned``, ``validFrom`` (or ``issuanceDate``) and ``validUntil``.
        """
        try:
            subject = doc["credentialSubject"]
            subject = subject[0] if isinstance(subject, list) else subject
            achievement = subject["achievement"]
            issuer = doc["issuer"]
            issuer_id = issuer["id"] if isinstance(issuer, Mapping) else issuer
            descriptions = {
                rd.get("id"): rd for rd in _as_list(achievement.get("resultDescription"))
            }
            results = []
            for result in _as_list(subject.get("result")):
                rd = descriptions.get(result.get("resultDescription"), {})
                value = result.get("value", result.get("achievedLevel"))
                if isinstance(value, str):
                    results.append(
                        CredentialResult(
                            value,
                            result.get("resultDescription"),
                            rd.get("resultType"),
                            rd.get("valueMin"),
                            rd.get("valueMax"),
                        )
                    )
            until = doc.get("validUntil", doc.get("expirationDate"))
            return cls(
                id=doc["id"],
                issuer=issuer_id,
                achievement_id=achievement["id"],
                valid_from=parse_datetime(doc.get("validFrom", doc.get("issuanceDate"))),
                valid_until=None if until is None else parse_datetime(until),
                alignments=tuple(a["targetUrl"] for a in _as_list(achievement.get("alignment"))),
                results=tuple(results),
                credits_earned=subject.get("creditsEarned"),
                external=external,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise Invalid(f"not an OB 3.0 AchievementCredential: missing or wrong {exc}") from exc


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class ComponentEvidence(NamedTuple):
    """One way a component is earned: a credential, or the credentials of a met milestone.

    (Immutable; a NamedTuple because one is built per matching credential per pathway.)
    ``credits`` is what it counts in a credits pool (the credential's creditsEarned, else
    the component's declared credits); ``alignments`` joins the credential's alignment
    targetUrls with those the component declares.
    """

    credential_ids: tuple[str, ...]
    credits: float
    valid_from: datetime
    valid_until: datetime | None = None
    results: tuple[CredentialResult, ...] = ()
    alignments: frozenset[str] = frozenset()
    external: bool = False

    def sort_key(self) -> tuple[bool, datetime, datetime, tuple[str, ...]]:
        """Larger is preferred: never expiring, then latest expiry, then latest issued."""
        return (
            self.valid_until is None,
            self.valid_until or NEVER,
            self.valid_from,
            self.credential_ids,
        )


class Facts(Protocol):
    """What a requirement is evaluated against (one learner, one pathway, one moment)."""

    @property
    def now(self) -> datetime: ...

    def evidence(self, component_id: str) -> tuple[ComponentEvidence, ...]:
        """How the component counts, best first; empty when not earned or still locked."""
        ...

    def locked_by(self, component_id: str) -> tuple[str, ...]:
        """The component's prerequisites not yet earned (empty when it is not locked)."""
        ...

    def component_ids(self) -> tuple[str, ...]:
        """Every component of the pathway, in definition order."""
        ...

    def declared_alignments(self, component_id: str) -> frozenset[str]:
        """The alignment targetUrls the component declares."""
        ...


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def earliest(values: list[datetime | None]) -> datetime | None:
    """The earliest expiry among ``values`` (None entries never expire)."""
    real = [v for v in values if v is not None]
    return min(real) if real else None
