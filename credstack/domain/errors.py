"""One error tree for the whole of credstack.

Errors carry a stable ``code`` and a human message; they carry no HTTP status.
The adapters map the four base kinds at the edge (web: NotFound 404, Conflict 409,
Invalid 422, Forbidden 403; cli: exit code 2 with one line on stderr).
"""

from __future__ import annotations


class CredstackError(Exception):
    """Base of every error credstack raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class Invalid(CredstackError):
    """The input cannot be used as given."""

    code = "invalid"


class NotFound(CredstackError):
    code = "not_found"


class Conflict(CredstackError):
    code = "conflict"


class Forbidden(CredstackError):
    code = "forbidden"


class UndefinedTerm(Invalid):
    """Safe mode: a property or type that the document's contexts do not define."""

    code = "jsonld.undefined_term"

    def __init__(self, term: str, path: str = "") -> None:
        where = f" at {path}" if path else ""
        super().__init__(
            f"term {term!r}{where} is not defined by the document's @context; "
            "JSON-LD would drop it or map it to an issuer-dependent IRI, so it would not be "
            "signed as intended"
        )
        self.term = term
        self.path = path


class DocumentNotAllowed(Invalid):
    """The offline document loader refused a URL it does not hold."""

    code = "jsonld.document_not_allowed"

    def __init__(self, url: str) -> None:
        super().__init__(f"context {url!r} is not available offline and will not be fetched")
        self.url = url


class InvalidKey(Invalid):
    code = "key.invalid"


class IssuerMismatch(Invalid):
    code = "issuer.mismatch"


class RelativeIri(Invalid):
    """Safe mode: an identifier that is not an absolute IRI would be dropped from the RDF."""

    code = "jsonld.relative_iri"

    def __init__(self, value: str) -> None:
        super().__init__(
            f"identifier {value!r} is not a valid absolute IRI; JSON-LD would drop it, "
            "so it would not be signed"
        )
        self.value = value
