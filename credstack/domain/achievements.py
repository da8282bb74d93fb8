"""Open Badges 3.0 achievement data model: Achievement, Profile and their parts.

Pure: no I/O, no clock, no randomness. Every class is a frozen dataclass with snake_case
fields; ``to_json`` emits OB 3.0 camelCase JSON with arrays for every 0..*/1..* property
and without None/empty values (OB serialization rules); ``from_json`` reads the same JSON
leniently (a single value is accepted where an array is expected).

Micro-credential fields (learning hours, price, level, ECTS) have no OB 3.0 term, so they
are emitted as ``learningHours``/``price``/``level``/``ects`` defined by credstack's own
JSON-LD context (:data:`CREDSTACK_CONTEXT`, served at :data:`CREDSTACK_CONTEXT_URL`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Final, Self, TypeVar, cast

from credstack.domain.errors import Invalid

CREDSTACK_CONTEXT_URL: Final = "https://credstack.org/contexts/microcredential-v1.json"
CREDSTACK_CONTEXT_FILENAME: Final = "credstack-microcredential-v1.json"
CREDSTACK_VOCAB: Final = "https://credstack.org/vocab#"
_XSD: Final = "http://www.w3.org/2001/XMLSchema#"
_T = TypeVar("_T")

#: The whole context document (``{"@context": {...}}``); the shipped file
#: ``credstack/crypto/contexts/credstack-microcredential-v1.json`` holds the same JSON.
#: ``learningHours`` and ``ects`` are JSON numbers typed xsd:double: JSON-LD turns a
#: non-integral number into the xsd:double lexical form ("2.5E0") whatever the declared type,
#: so xsd:decimal would yield ill-typed literals; ``price.amount`` is a string, so it keeps
#: xsd:decimal exactly.
#: ``level`` is explicitly unprotected: OB 3.0 defines its own ``level`` inside the
#: type-scoped ``RubricCriterionLevel`` context, and a protected ``level`` here would make
#: every credential with a rubric criterion level fail expansion (protected term redefinition).
CREDSTACK_CONTEXT: Final[dict[str, Any]] = {
    "@context": {
        "@version": 1.1,
        "@protected": True,
        "learningHours": {"@id": CREDSTACK_VOCAB + "learningHours", "@type": _XSD + "double"},
        "price": {
            "@id": CREDSTACK_VOCAB + "price",
            "@context": {
                "@protected": True,
                "amount": {"@id": CREDSTACK_VOCAB + "amount", "@type": _XSD + "decimal"},
                "currency": {"@id": CREDSTACK_VOCAB + "currency", "@type": _XSD + "string"},
            },
        },
        "level": {
            "@id": CREDSTACK_VOCAB + "level",
            "@type": _XSD + "string",
            "@protected": False,
        },
        "ects": {"@id": CREDSTACK_VOCAB + "ects", "@type": _XSD + "double"},
    }
}

# fmt: off
ACHIEVEMENT_TYPES: Final = frozenset((
    "Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree",
    "Award", "Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion",
    "Certification", "CommunityService", "Competency", "Course", "CoCurricular", "Degree",
    "Diploma", "DoctoralDegree", "Fieldwork", "GeneralEducationDevelopment",
    "JourneymanCertificate", "LearningProgram", "License", "Membership",
    "ProfessionalDoctorate", "QualityAssuranceCredential", "MasterCertificate", "MasterDegree",
    "MicroCredential", "ResearchDoctorate", "SecondarySchoolDiploma",
))
ALIGNMENT_TARGET_TYPES: Final = frozenset((
    "ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion",
    "CFRubricCriterionLevel", "CTDL",
))
RESULT_TYPES: Final = frozenset((
    "GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "PredictedScore",
    "RawScore", "Result", "RubricCriterion", "RubricCriterionLevel", "RubricScore",
    "ScaledScore", "Status",
))
# fmt: on
EMAIL_RE: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_EXT_RE = re.compile(r"^ext:[A-Za-z0-9._-]+$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_DECIMAL_RE = re.compile(r"^\d+(\.\d+)?$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


# -- validation helpers -------------------------------------------------------------------


def slug(text: str, limit: int = 60) -> str:
    """``text`` as lowercase letters, digits and single hyphens, at most ``limit`` long,
    with no hyphen at either end (an achievement key, a component id); may be empty."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-")[:limit].strip("-")


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{field}: must be a non-empty string")
    return value


def _opt_texts(owner: str, **values: object) -> None:
    for name, value in values.items():
        if value is not None:
            _text(value, f"{owner}.{name}")


def _opt_instance(value: object, kind: type, field: str) -> None:
    if value is not None and not isinstance(value, kind):
        raise Invalid(f"{field}: must be {kind.__name__}, got {type(value).__name__}")


def _opt_match(value: object, pattern: re.Pattern[str], field: str, what: str) -> None:
    if value is not None and (not isinstance(value, str) or not pattern.match(value)):
        raise Invalid(f"{field}: {value!r} is not {what}")


def _opt_uri(value: object, field: str) -> None:
    _opt_match(value, _URI_RE, field, "an absolute URI")


def _opt_enum(value: object, allowed: frozenset[str], field: str) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not (value in allowed or _EXT_RE.match(value)):
        raise Invalid(f"{field}: {value!r} is not a known value (or an 'ext:' extension)")


def _opt_amount(value: float | None, field: str) -> float | None:
    """A non-negative finite number (as float), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{field}: must be a finite number, got {value!r}")
    if value < 0:
        raise Invalid(f"{field}: must not be negative, got {value!r}")
    return float(value)


def _str_tuple(values: object, field: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise Invalid(f"{field}: must be a sequence of strings")
    for value in values:
        _text(value, field)
    return tuple(values)


def _typed_tuple(values: object, kind: type, field: str) -> tuple[Any, ...]:
    if not isinstance(values, tuple | list) or not all(isinstance(v, kind) for v in values):
        raise Invalid(f"{field}: must be a sequence of {kind.__name__}")
    return tuple(values)


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop None values and empty strings/lists (OB: they MUST be omitted)."""
    return {k: v for k, v in obj.items() if v is not None and v not in ("", [], {})}


#: snake_case field -> OB property where plain camelCasing is not enough (0..* are singular).
_RENAMES: Final = {
    "alignments": "alignment",
    "result_descriptions": "resultDescription",
    "tags": "tag",
    "allowed_values": "allowedValue",
}


def _json_key(name: str) -> str:
    return _RENAMES.get(name) or re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def _to_json_value(value: Any) -> Any:
    if isinstance(value, JsonNode):
        return value.to_json()
    if isinstance(value, tuple):
        return [_to_json_value(v) for v in value]
    return value


class JsonNode:
    """Mixin for the frozen dataclasses: ``to_json`` emits OB camelCase JSON.

    ``id`` and ``type`` (``JSON_TYPE``: a list, a plain string, or None for no type) come
    first; tuples become arrays; None and empty values are omitted.
    """

    __slots__ = ()
    JSON_TYPE: ClassVar[tuple[str, ...] | str | None] = None

    def to_json(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(cast(Any, self))}
        out: dict[str, Any] = {"id": values.pop("id", None)}
        if self.JSON_TYPE is not None:
            out["type"] = (
                list(self.JSON_TYPE) if isinstance(self.JSON_TYPE, tuple) else self.JSON_TYPE
            )
        for name, value in values.items():
            out[_json_key(name)] = _to_json_value(value)
        return _clean(out)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | Any, path: str | None = None) -> Self:
        """Parse OB JSON leniently; Invalid names the JSON path of a missing/wrong field.

        A single value is accepted where an array is expected, ``type`` may be absent (but
        must include the class's type when present), and unknown properties are ignored.
        """
        if isinstance(data, str) and cls.JSON_TYPE == "Image":  # lenient: a bare image URI
            data = {"id": data}
        r = _Reader(data, path or cls.__name__[0].lower() + cls.__name__[1:])
        if cls.JSON_TYPE is not None:
            r.check_type(cls.JSON_TYPE if isinstance(cls.JSON_TYPE, str) else cls.JSON_TYPE[0])
        return cls(**r.fields_of(cls, **cls._nested(r)))

    @classmethod
    def _nested(cls, r: _Reader) -> dict[str, Any]:
        """Constructor kwargs for the fields that are not plain strings/numbers."""
        return {}


# -- lenient JSON reader ------------------------------------------------------------------


class _Reader:
    """Reads one JSON object, naming the JSON path of any missing or wrong field."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise Invalid(f"{path}: expected a JSON object, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def req_str(self, key: str) -> str:
        if key not in self.data or self.data[key] is None:
            raise Invalid(f"{self.at(key)}: is required")
        return _text(self.data[key], self.at(key))

    def opt_str(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise Invalid(f"{self.at(key)}: must be a string, got {type(value).__name__}")
        return value

    def opt_number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):  # lenient: "6.0"
            try:
                value = float(value)
            except ValueError:
                raise Invalid(f"{self.at(key)}: {value!r} is not a number") from None
        return _opt_amount(value, self.at(key))

    def items(self, key: str) -> list[tuple[Any, str]]:
        """The values of an array property (a single value counts as a one-item array)."""
        value = self.data.get(key)
        if value is None:
            return []
        values = value if isinstance(value, list) else [value]
        return [(item, f"{self.at(key)}[{i}]") for i, item in enumerate(values)]

    def str_list(self, key: str) -> tuple[str, ...]:
        out = []
        for item, path in self.items(key):
            if not isinstance(item, str):
                raise Invalid(f"{path}: must be a string, got {type(item).__name__}")
            out.append(item)
        return tuple(out)

    def node(self, key: str, parse: Callable[[Any, str], _T]) -> _T | None:
        value = self.data.get(key)
        return None if value is None else parse(value, self.at(key))

    def nodes(self, key: str, parse: Callable[[Any, str], _T]) -> tuple[_T, ...]:
        return tuple(parse(value, path) for value, path in self.items(key))

    def fields_of(self, cls: type, **given: Any) -> dict[str, Any]:
        """Constructor kwargs: ``given`` plus every plain field of ``cls`` read by JSON name.

        Plain fields are those annotated ``str``, ``str | None``, ``float | None`` or
        ``tuple[str, ...]``; any other field must be in ``given``.
        """
        readers: dict[str, Callable[[str], Any]] = {
            "str": self.req_str,
            "str | None": self.opt_str,
            "float | None": self.opt_number,
            "tuple[str, ...]": self.str_list,
        }
        out = dict(given)
        for f in fields(cls):
            if f.name not in given:
                out[f.name] = readers[str(f.type)](_json_key(f.name))
        return out

    def check_type(self, expected: str) -> None:
        """``type`` may be absent (lenient), but if present it must include ``expected``."""
        if "type" in self.data and expected not in self.str_list("type"):
            raise Invalid(f"{self.at('type')}: must include {expected!r}")


# -- classes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Image(JsonNode):
    """An image with optional caption. https://www.imsglobal.org/spec/ob/v3p0/#image"""

    JSON_TYPE: ClassVar[tuple[str, ...] | str | None] = "Image"

    id: str
    caption: str | None = None

    def __post_init__(self) -> None:
        _opt_uri(_text(self.id, "image.id"), "image.id")
        _opt_texts("image", caption=self.caption)


@dataclass(frozen=True, slots=True)
class Criteria(JsonNode):
    """What a learner must do to earn the achievement (at least a narrative or a page URL).

    https://www.imsglobal.org/spec/ob/v3p0/#criteria
    """

    narrative: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        _opt_texts("criteria", narrative=self.narrative)
        _opt_uri(self.id, "criteria.id")
        if self.narrative is None and self.id is None:
            raise Invalid("criteria: a narrative or an id (criteria page URL) is required")


@dataclass(frozen=True, slots=True)
class Alignment(JsonNode):
    """A link to a node in an educational framework. https://www.imsglobal.org/spec/ob/v3p0/#alignment"""

    JSON_TYPE: ClassVar[tuple[str, ...] | str | None] = ("Alignment",)

    target_name: str
    target_url: str
    target_code: str | None = None
    target_description: str | None = None
    target_framework: str | None = None
    target_type: str | None = None

    def __post_init__(self) -> None:
        _text(self.target_name, "alignment.targetName")
        _opt_uri(_text(self.target_url, "alignment.targetUrl"), "alignment.targetUrl")
        _opt_texts(
            "alignment",
            targetCode=self.target_code,
            targetDescription=self.target_description,
            targetFramework=self.target_framework,
        )
        _opt_enum(self.target_type, ALIGNMENT_TARGET_TYPES, "alignment.targetType")


@dataclass(frozen=True, slots=True)
class ResultDescription(JsonNode):
    """A possible result (grade, score, status). https://www.imsglobal.org/spec/ob/v3p0/#resultdescription"""

    JSON_TYPE: ClassVar[tuple[str, ...] | str | None] = ("ResultDescription",)

    id: str
    name: str
    result_type: str
    allowed_values: tuple[str, ...] = ()
    required_value: str | None = None
    value_min: str | None = None
    value_max: str | None = None

    def __post_init__(self) -> None:
        f = "resultDescription."
        _opt_uri(_text(self.id, f + "id"), f + "id")
        _text(self.name, f + "name")
        _opt_enum(_text(self.result_type, f + "resultType"), RESULT_TYPES, f + "resultType")
        values = _str_tuple(self.allowed_values, f + "allowedValue")
        object.__setattr__(self, "allowed_values", values)
        _opt_texts(f[:-1], requiredValue=self.required_value, valueMin=self.value_min)
        _opt_texts(f[:-1], valueMax=self.value_max)
        if values and self.required_value is not None and self.required_value not in values:
            raise Invalid(f"{f}requiredValue: {self.required_value!r} is not an allowedValue")


@dataclass(frozen=True, slots=True)
class Profile(JsonNode):
    """An issuer, creator or other party. https://www.imsglobal.org/spec/ob/v3p0/#profile"""

    JSON_TYPE: ClassVar[tuple[str, ...] | str | None] = ("Profile",)

    id: str
    name: str | None
    url: str | None = None
    email: str | None = None
    description: str | None = None
    image: Image | None = None

    def __post_init__(self) -> None:
        _opt_uri(_text(self.id, "profile.id"), "profile.id")
        _opt_texts("profile", name=self.name, description=self.description)
        _opt_uri(self.url, "profile.url")
        _opt_match(self.email, EMAIL_RE, "profile.email", "an email address")
        _opt_instance(self.image, Image, "profile.image")

    @classmethod
    def _nested(cls, r: _Reader) -> dict[str, Any]:
        return {"image": r.node("image", Image.from_json)}


@dataclass(frozen=True, slots=True)
class Price(JsonNode):
    """The price of a micro-credential: a decimal string amount and an ISO 4217 currency.

    Not an OB 3.0 property: emitted as credstack's ``price`` term (see CREDSTACK_CONTEXT).
    """

    amount: str
    currency: str

    def __post_init__(self) -> None:
        what = "a non-negative decimal string such as '49.00'"
        _opt_match(_text(self.amount, "price.amount"), _DECIMAL_RE, "price.amount", what)
        what = "an ISO 4217 code (three uppercase letters)"
        _opt_match(_text(self.currency, "price.currency"), _CURRENCY_RE, "price.currency", what)


@dataclass(frozen=True, slots=True)
class Achievement(JsonNode):
    """What is recognised; the template every AchievementCredential embeds.

    https://www.imsglobal.org/spec/ob/v3p0/#achievement. The micro-credential fields
    ``learning_hours``, ``price``, ``level`` (EQF/NQF level text) and ``ects`` are credstack
    extensions emitted through :data:`CREDSTACK_CONTEXT`; see :attr:`needs_credstack_context`.
    """

    JSON_TYPE: ClassVar[tuple[str, ...] | str | None] = ("Achievement",)

    id: str
    name: str
    description: str
    criteria: Criteria
    achievement_type: str | None = None
    alignments: tuple[Alignment, ...] = ()
    credits_available: float | None = None
    result_descriptions: tuple[ResultDescription, ...] = ()
    tags: tuple[str, ...] = ()
    image: Image | None = None
    version: str | None = None
    human_code: str | None = None
    field_of_study: str | None = None
    in_language: str | None = None
    creator: Profile | None = None
    learning_hours: float | None = None
    price: Price | None = None
    level: str | None = None
    ects: float | None = None

    def __post_init__(self) -> None:
        _opt_uri(_text(self.id, "achievement.id"), "achievement.id")
        _text(self.name, "achievement.name")
        _text(self.description, "achievement.description")
        if not isinstance(self.criteria, Criteria):
            raise Invalid("achievement.criteria: is required (a Criteria)")
        _opt_enum(self.achievement_type, ACHIEVEMENT_TYPES, "achievement.achievementType")
        f = "achievement."
        rds = _typed_tuple(self.result_descriptions, ResultDescription, f + "resultDescription")
        if len({rd.id for rd in rds}) != len(rds):
            raise Invalid("achievement.resultDescription: ids must be unique")
        for name, value in (
            ("alignments", _typed_tuple(self.alignments, Alignment, f + "alignment")),
            ("result_descriptions", rds),
            ("tags", _str_tuple(self.tags, f + "tag")),
            ("credits_available", _opt_amount(self.credits_available, f + "creditsAvailable")),
            ("learning_hours", _opt_amount(self.learning_hours, f + "learningHours")),
            ("ects", _opt_amount(self.ects, f + "ects")),
        ):
            object.__setattr__(self, name, value)
        _opt_instance(self.image, Image, "achievement.image")
        _opt_instance(self.creator, Profile, "achievement.creator")
        _opt_instance(self.price, Price, "achievement.price")
        _opt_texts(
            "achievement",
            version=self.version,
            humanCode=self.human_code,
            fieldOfStudy=self.field_of_study,
            level=self.level,
        )
        _opt_match(self.in_language, _LANGUAGE_RE, f + "inLanguage", "a BCP 47 language code")

    @property
    def needs_credstack_context(self) -> bool:
        """True when a micro-credential field is set (CREDSTACK_CONTEXT_URL is then needed)."""
        return any(v is not None for v in (self.learning_hours, self.price, self.level, self.ects))

    @classmethod
    def _nested(cls, r: _Reader) -> dict[str, Any]:
        return {
            "criteria": r.node("criteria", Criteria.from_json),
            "alignments": r.nodes("alignment", Alignment.from_json),
            "result_descriptions": r.nodes("resultDescription", ResultDescription.from_json),
            "image": r.node("image", Image.from_json),
            "creator": r.node("creator", Profile.from_json),
            "price": r.node("price", Price.from_json),
        }
