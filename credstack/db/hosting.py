"""Repositories of the OB 3.0 Host: held credentials and user profiles.

They implement ``HeldCredentialRepository`` and ``ProfileRepository`` of
``credstack.domain.ports``; the stored documents are returned as stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credstack.db.repositories import utc
from credstack.db.tables import HeldCredentialRow, HostProfileRow
from credstack.domain.errors import Conflict
from credstack.domain.hosting import HeldCredential, HeldForm


def _flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request stored the same thing first
        raise Conflict(f"{what} was stored by a concurrent request; retry") from exc


def _record(row: HeldCredentialRow) -> HeldCredential:
    added, updated = utc(row.added_at), utc(row.updated_at)
    assert added is not None
    assert updated is not None
    return HeldCredential(
        id=row.id,
        subject=row.subject,
        key=row.key,
        credential_id=row.credential_id,
        issuer_id=row.issuer_id,
        form=HeldForm(row.form),
        document=row.document,
        issued_at=utc(row.issued_at),
        added_at=added,
        updated_at=updated,
    )


class HeldCredentials:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, subject: str, key: str) -> HeldCredential | None:
        row = self.session.scalar(
            select(HeldCredentialRow).where(
                HeldCredentialRow.subject == subject, HeldCredentialRow.key == key
            )
        )
        return _record(row) if row is not None else None

    def add(self, held: HeldCredential) -> None:
        self.session.add(
            HeldCredentialRow(
                id=held.id,
                subject=held.subject,
                key=held.key,
                credential_id=held.credential_id,
                issuer_id=held.issuer_id,
                form=str(held.form),
                document=held.document,
                issued_at=held.issued_at,
                added_at=held.added_at,
                updated_at=held.updated_at,
            )
        )
        _flush(self.session, "this credential")

    def replace(self, held: HeldCredential) -> None:
        self.session.execute(
            update(HeldCredentialRow)
            .where(HeldCredentialRow.id == held.id)
            .values(
                credential_id=held.credential_id,
                issuer_id=held.issuer_id,
                form=str(held.form),
                document=held.document,
                issued_at=held.issued_at,
                updated_at=held.updated_at,
            )
        )

    def _query(self, subject: str, since: datetime | None) -> Select[HeldCredentialRow]:
        query = select(HeldCredentialRow).where(HeldCredentialRow.subject == subject)
        return query.where(HeldCredentialRow.issued_at > since) if since else query

    def page(
        self, subject: str, *, limit: int, offset: int, since: datetime | None = None
    ) -> list[HeldCredential]:
        query = self._query(subject, since).order_by(
            HeldCredentialRow.added_at, HeldCredentialRow.id
        )
        rows = self.session.scalars(query.limit(limit).offset(offset))
        return [_record(r) for r in rows]

    def count(self, subject: str, *, since: datetime | None = None) -> int:
        query = self._query(subject, since).with_only_columns(func.count())
        return int(self.session.scalar(query) or 0)


class HostProfiles:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, subject: str) -> dict[str, Any] | None:
        row = self.session.get(HostProfileRow, subject)
        if row is None:
            return None
        value = json.loads(row.document)
        return value if isinstance(value, dict) else None

    def put(self, subject: str, profile: Mapping[str, Any], now: datetime) -> None:
        document = json.dumps(dict(profile), ensure_ascii=False, separators=(",", ":"))
        row = self.session.get(HostProfileRow, subject)
        if row is None:
            self.session.add(HostProfileRow(subject=subject, document=document, updated_at=now))
        else:
            row.document, row.updated_at = document, now
        _flush(self.session, "this profile")
