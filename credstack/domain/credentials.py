"""Open Badges 3.0 AchievementCredential builder and structural validation.

Pure: time, ids and salts are arguments. The strict 2024 OB 3.0 JSON Schema is loaded once
from the package (importlib.resources) and its compiled validator is cached.
https://www.imsglobal.org/spec/ob/v3p0/#achievementcredential
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any, ClassVar, Final, TypeAlias

import jsonschema_rs
from jsonschema import Draft201909Validator
from jsonschema.exceptions import ValidationError, best_match

from credstack.domain.achievements import (
    CREDSTACK_CONTEXT,
    EMAIL_RE,
    Achievement,
    Image,
    JsonNode,
    Profile,
)
from credstack.domain.errors import Invalid

VC_V2: Final = "https://www.w3.org/ns/credentials/v2"
OB_V3: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: Defines 1EdTechJsonSchemaValidator2019 / 1EdTechRevocationList / 1EdTechCredentialRefresh,
#: which the OB 3.0.3 context does not; without it those types are undefined terms.
OB_EXTENSIONS: Final = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
OB_SCHEMA_URL: Final = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
OB_SCHEMA_TYPE: Final = "1EdTechJsonSchemaValidator2019"
BITSTRING_TYPE: Final = "BitstringStatusListEntry"
REVOCATION_LIST_TYPE: Final = "1EdTechRevocationList"
CREDENTIAL_TYPE: Final = ("VerifiableCredential", "OpenBadgeCredential")
RESULT_STATUSES: Final = frozenset(
    ["Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"]
)
SCHEMA_FILE: Final = "ob_v3p0_achievementcredential_schema.json"
# The 1EdTech JSON-LD adaptation of the same schema: it also accepts compacted single
# values (a lone proof object, `type` as a string), which the spec allows when reading.
LENIENT_SCHEMA_FILE: Final = "ob_v3p0_achievementcredential_schema_lenient.json"

_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_DID_RE = re.compile(r"^did:[a-z0-9]+:\S+$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$"
)


# -- date-times -----------------------------------------------------------------------


def format_datetime(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC; fractional seconds only when non-zero."""
    if not isinstance(dt, datetime):
        raise Invalid(f"expected a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise Invalid(f"datetime {dt.isoformat()} has no timezone; pass a timezone-aware one")
    u = dt.astimezone(UTC)
    text = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        text += "." + f"{u.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_datetime(text: str) -> datetime:
    """Parse an XSD/RFC 3339 date-time with ``Z`` or ``±hh:mm``; returns an aware UTC datetime.

    Fractional seconds beyond microseconds are truncated.
    """
    match = _DATETIME_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise Invalid(f"{text!r} is not a date-time like 2024-01-31T12:00:00Z (timezone required)")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if zone == "Z":
            tz: timezone = UTC
        else:
            sign = 1 if zone[0] == "+" else -1
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            if int(zone[4:6]) >= 60:
                raise ValueError("offset minutes out of range")
            tz = timezone(sign * offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        dt = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError as exc:
        raise Invalid(f"{text!r} is not a valid date-time: {exc}") from None
    return dt.astimezone(UTC)


def _stamp(dt: datetime | None, field: str) -> str | None:
    if dt is None:
        return None
    try:
        return format_datetime(dt)
    except Invalid as exc:
        raise Invalid(f"{field}: {exc.message}") from None


# -- recipients -------------------------------------------------------------------------


def hash_identity(identity: str, salt: str) -> str:
    """OB IdentityHash: ``"sha256$" + hex(sha256(identity + salt))`` over UTF-8."""
    return "sha256$" + hashlib.sha256((identity + salt).encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    """The form an email is hashed in: surrounding whitespace stripped, lowercased."""
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class RecipientDid:
    """A recipient identified by a DID (emitted as ``credentialSubject.id``)."""

    did: str

    def __post_init__(self) -> None:
        if not isinstance(self.did, str) or not _DID_RE.match(self.did):
            raise Invalid(f"recipient.did: {self.did!r} is not a DID (did:<method>:<id>)")

    def subject_fields(self) -> dict[str, Any]:
        return {"id": self.did}


@dataclass(frozen=True, slots=True)
class RecipientEmail:
    """A recipient identified by a salted, hashed email (``credentialSubject.identifier``).

    https://www.imsglobal.org/spec/ob/v3p0/#identityobject. The email is normalised
    (stripped, lowercased) on construction; the salt must be non-empty.
    """

    email: str
    salt: str

    def __post_init__(self) -> None:
        if not isinstance(self.email, str) or not EMAIL_RE.match(normalize_email(self.email)):
            raise Invalid(f"recipient.email: {self.email!r} is not an email address")
        object.__setattr__(self, "email", normalize_email(self.email))
        if not isinstance(self.salt, str) or not self.salt:
            raise Invalid("recipient.salt: a non-empty salt is required to hash an email")

    @property
    def identity_hash(self) -> str:
        return hash_identity(self.email, self.salt)

    def identity_object(self) -> dict[str, Any]:
        return {
            "type": "IdentityObject",
            "hashed": True,
            "identityHash": self.identity_hash,
            "identityType": "emailAddress",
            "salt": self.salt,
        }

    def subject_fields(self) -> dict[str, Any]:
        return {"identifier": [self.identity_object()]}


Recipient: TypeAlias = RecipientDid | RecipientEmail


# -- evidence and results ---------------------------------------------------------------


def _opt_strings(owner: str, **fields: object) -> None:
    for name, value in fields.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise Invalid(f"{owner}.{name}: must be a non-empty string")


@dataclass(frozen=True, slots=True)
class Evidence(JsonNode):
    """Evidence of the achievement. https://www.imsglobal.org/spec/ob/v3p0/#evidence"""

    JSON_TYPE: ClassVar[tuple[str, ...] | str | None] = ("Evidence",)

    id: str | None = None
    name: str | None = None
    narrative: str | None = None
    description: str | None = None
    genre: str | None = None
    audience: str | None = None

    def __post_init__(self) -> None:
        _opt_strings(
            "evidence",
            id=self.id,
            name=self.name,
            narrative=self.narrative,
            description=self.description,
            genre=self.genre,
            audience=self.audience,
        )
        if all(v is None for v in (self.id, self.name, self.narrative, self.description)):
            raise Invalid("evidence: at least one of id, name, narrative, description is required")


@dataclass(frozen=True, slots=True)
class Result(JsonNode):
    """A result achieved by the recipient. https://www.imsglobal.org/spec/ob/v3p0/#result"""

    JSON_TYPE: ClassVar[tuple[str, ...] | str | None] = ("Result",)

    value: str | None = None
    result_description: str | None = None
    status: str | None = None
    achieved_level: str | None = None

    def __post_init__(self) -> None:
        _opt_strings(
            "result",
            value=self.value,
            resultDescription=self.result_description,
            achievedLevel=self.achieved_level,
        )
        if self.status is not None and self.status not in RESULT_STATUSES:
            raise Invalid(
                f"result.status: {self.status!r} is not one of {', '.join(sorted(RESULT_STATUSES))}"
            )


def _check_results(results: Sequence[Result], achievement: Achievement) -> None:
    by_id = {rd.id: rd for rd in achievement.result_descriptions}
    for i, result in enumerate(results):
        if not isinstance(result, Result):
            raise Invalid(f"credentialSubject.result[{i}]: must be a Result")
        if result.result_description is None:
            continue
        linked = by_id.get(result.result_description)
        if linked is None:
            raise Invalid(
                f"credentialSubject.result[{i}].resultDescription: "
                f"{result.result_description!r} is not a resultDescription of the achievement"
            )
        if linked.result_type == "Status" and result.status is None:
            raise Invalid(
                f"credentialSubject.result[{i}].status: required because the linked "
                "resultDescription has resultType 'Status'"
            )


def _status_entries(status: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Any:
    entries = [status] if isinstance(status, Mapping) else list(status)
    for i, entry in enumerate(entries):
        where = "credentialStatus" if isinstance(status, Mapping) else f"credentialStatus[{i}]"
        if not isinstance(entry, Mapping):
            raise Invalid(f"{where}: must be an object")
        for key in ("id", "type"):
            if not entry.get(key):
                raise Invalid(f"{where}.{key}: is required")
    if not entries:
        raise Invalid("credentialStatus: an empty list was given; pass None for no status")
    copied = [copy.deepcopy(dict(e)) for e in entries]
    return copied[0] if len(copied) == 1 else copied


def _check_parties(
    credential_id: str, issuer: Profile, achievement: Achievement, recipient: Recipient
) -> None:
    if not isinstance(credential_id, str) or not _URI_RE.match(credential_id):
        raise Invalid(f"id: {credential_id!r} is not an absolute URI")
    if not isinstance(issuer, Profile):
        raise Invalid("issuer: must be a Profile")
    if not isinstance(achievement, Achievement):
        raise Invalid("credentialSubject.achievement: must be an Achievement")
    if not isinstance(recipient, RecipientDid | RecipientEmail):
        raise Invalid("credentialSubject: recipient must be a RecipientDid or RecipientEmail")


def _subject(
    recipient: Recipient,
    achievement: Achievement,
    *,
    results: Sequence[Result],
    credits_earned: float | None,
    activity_start: datetime | None,
    activity_end: datetime | None,
) -> dict[str, Any]:
    _check_results(results, achievement)
    start_s = _stamp(activity_start, "credentialSubject.activityStartDate")
    end_s = _stamp(activity_end, "credentialSubject.activityEndDate")
    if activity_start is not None and activity_end is not None and activity_end < activity_start:
        raise Invalid("credentialSubject.activityEndDate: must not be before activityStartDate")
    if credits_earned is not None and (
        isinstance(credits_earned, bool)
        or not isinstance(credits_earned, int | float)
        or not 0 <= credits_earned < float("inf")
    ):
        raise Invalid(f"credentialSubject.creditsEarned: {credits_earned!r} is not a number >= 0")
    subject: dict[str, Any] = {"type": ["AchievementSubject"], **recipient.subject_fields()}
    subject["achievement"] = achievement.to_json()
    optional = {
        "creditsEarned": None if credits_earned is None else float(credits_earned),
        "result": [r.to_json() for r in results] or None,
        "activityStartDate": start_s,
        "activityEndDate": end_s,
    }
    subject.update((k, v) for k, v in optional.items() if v is not None)
    return subject


# -- builder ----------------------------------------------------------------------------


def build_credential(
    *,
    credential_id: str,
    issuer: Profile,
    achievement: Achievement,
    recipient: Recipient,
    valid_from: datetime,
    valid_until: datetime | None = None,
    awarded_date: datetime | None = None,
    name: str | None = None,
    description: str | None = None,
    evidence: Sequence[Evidence] = (),
    results: Sequence[Result] = (),
    credits_earned: float | None = None,
    activity_start: datetime | None = None,
    activity_end: datetime | None = None,
    credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    image: Image | None = None,
) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential (OB 3.0 AchievementCredential) as a JSON dict.

    ``@context`` is [VC_V2, OB_V3, OB_EXTENSIONS] plus the inline CREDSTACK_CONTEXT when the
    achievement carries micro-credential fields. A single credential status (or a one-item
    sequence) is emitted as an object, as OB 3.0 (0..1) and its schema require; several are
    emitted as a list (VCDM 2.0 allows it, but the strict OB schema will then reject it).
    """
    _check_parties(credential_id, issuer, achievement, recipient)
    _opt_strings("credential", name=name, description=description)
    if image is not None and not isinstance(image, Image):
        raise Invalid("image: must be an Image")
    if not all(isinstance(e, Evidence) for e in evidence):
        raise Invalid("evidence: every item must be an Evidence")
    valid_from_s = _stamp(valid_from, "validFrom")
    if valid_from_s is None:
        raise Invalid("validFrom: is required")
    valid_until_s = _stamp(valid_until, "validUntil")
    if valid_until is not None and valid_until <= valid_from:
        raise Invalid("validUntil: must be later than validFrom")
    awarded_s = _stamp(awarded_date, "awardedDate")
    subject = _subject(
        recipient,
        achievement,
        results=results,
        credits_earned=credits_earned,
        activity_start=activity_start,
        activity_end=activity_end,
    )

    contexts: list[Any] = [VC_V2, OB_V3, OB_EXTENSIONS]
    if achievement.needs_credstack_context:
        contexts.append(copy.deepcopy(CREDSTACK_CONTEXT["@context"]))
    credential: dict[str, Any] = {
        "@context": contexts,
        "id": credential_id,
        "type": list(CREDENTIAL_TYPE),
        "name": name if name is not None else achievement.name,
        "description": description,
        "image": image.to_json() if image is not None else None,
        "issuer": issuer.to_json(),
        "validFrom": valid_from_s,
        "validUntil": valid_until_s,
        "awardedDate": awarded_s,
        "credentialSubject": subject,
        "evidence": [e.to_json() for e in evidence] or None,
        "credentialSchema": [{"id": OB_SCHEMA_URL, "type": OB_SCHEMA_TYPE}],
        "credentialStatus": None
        if credential_status is None
        else _status_entries(credential_status),
    }
    return {k: v for k, v in credential.items() if v is not None}


# -- structural validation --------------------------------------------------------------


def credential_types(doc: Mapping[str, Any]) -> set[str]:
    """The ``type`` values of a JSON-LD node, read leniently (a string or a list)."""
    value = doc.get("type") if isinstance(doc, Mapping) else None
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


@functools.cache
def _schema(name: str) -> Any:
    text = resources.files("credstack.domain").joinpath("schemas", name).read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validator(name: str = SCHEMA_FILE) -> Any:
    return Draft201909Validator(_schema(name))


@functools.cache
def _fast_validator(name: str) -> Any:
    """jsonschema-rs answers "valid?" in microseconds; messages come from jsonschema."""
    return jsonschema_rs.Draft201909Validator(_schema(name))


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "credential"


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message(error: ValidationError) -> str:
    if error.validator in ("oneOf", "anyOf") and error.context:
        # A branch that fails only on "type" does not apply; explain the one that does.
        applicable = [e for e in error.context if e.validator != "type"]
        error = best_match(applicable or error.context)
    where = _path(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    contains = schema.get("contains") if error.validator == "contains" else None
    if isinstance(contains, Mapping) and isinstance(contains.get("enum"), list):
        wanted = " or ".join(repr(v) for v in contains["enum"])
        return f"{where}: must include {wanted}"
    return f"{where}: {_shorten(error.message)}"


def validate_schema(credential: Mapping[str, Any], *, lenient: bool = False) -> list[str]:
    """Problems found by the OB 3.0 AchievementCredential JSON Schema (empty if valid).

    Strict by default (what credstack emits must pass it); ``lenient`` uses 1EdTech's
    compaction-tolerant form, for reading credentials other implementations wrote.

    One readable message per problem, e.g.
    ``"credentialSubject.achievement: 'criteria' is a required property"``.
    """
    name = LENIENT_SCHEMA_FILE if lenient else SCHEMA_FILE
    if _fast_validator(name).is_valid(credential):
        return []
    errors = sorted(
        _validator(name).iter_errors(credential),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    messages: list[str] = []
    for error in errors:
        message = _message(error)
        if message not in messages:
            messages.append(message)
    return messages


def check_subject_identified(credential: Mapping[str, Any]) -> str | None:
    """The OB rule "either id or at least one identifier MUST be supplied"; None when met."""
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    for i, item in enumerate(subjects):
        where = f"credentialSubject[{i}]" if isinstance(subject, list) else "credentialSubject"
        if not isinstance(item, Mapping):
            return f"{where}: is missing or not an object"
        subject_id = item.get("id")
        identifier = item.get("identifier")
        has_id = isinstance(subject_id, str) and bool(subject_id.strip())
        has_identifier = isinstance(identifier, Mapping) or (
            isinstance(identifier, list) and any(isinstance(x, Mapping) for x in identifier)
        )
        if not (has_id or has_identifier):
            return f"{where}: either 'id' or at least one 'identifier' MUST be supplied"
    return None
