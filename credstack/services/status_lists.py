"""Status lists held locally: list credentials given as documents, verified before use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from credstack.crypto import status_list
from credstack.crypto.jwt import issuer_id
from credstack.domain.credentials import credential_types
from credstack.domain.errors import CredstackError
from credstack.services.status import StatusList
from credstack.services.verifying import (
    VerifyOptions,
    data_integrity,
    issuer_check,
    validity_check,
)


class LocalStatusLists:
    """Serves BitstringStatusListCredentials it was given, each checked once per use."""

    def __init__(
        self,
        credentials: Iterable[Mapping[str, Any]],
        options: VerifyOptions,
        *,
        at: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Lists are found under their own ``id``, or under the URLs given in ``at``

        (a credential may name its list by a URL other than the list's id).
        """
        self._docs = {str(c.get("id")): c for c in credentials}
        self._docs.update(at or {})
        self._options = options

    def __call__(self, url: str, now: datetime) -> StatusList | None:
        doc = self._docs.get(url)
        if doc is None or "BitstringStatusListCredential" not in credential_types(doc):
            return None
        proof, method = data_integrity(doc, self._options)
        if not proof.ok or method is None or not issuer_check(doc, method).ok:
            return None
        if not validity_check(doc, now, self._options.skew).ok:
            return None
        return to_status_list(doc)


def to_status_list(doc: Mapping[str, Any]) -> StatusList | None:
    subject = doc.get("credentialSubject")
    if not isinstance(subject, Mapping):
        return None
    purposes = subject.get("statusPurpose")
    listed = purposes if isinstance(purposes, list) else [purposes]
    try:
        bits = status_list.decode(str(subject.get("encodedList", "")))
    except CredstackError:
        return None
    return StatusList(
        str(doc.get("id")), frozenset(str(p) for p in listed), bits, issuer_id(doc) or ""
    )
