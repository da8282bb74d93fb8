"""Storage of sharing: public profiles and the credentials they show, share links,
organization settings and employer searches.

Implements :class:`credstack.services.sharing.SharingRepository` over one SQLAlchemy
session; it flushes, never commits (the request owns the transaction).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from credstack.db.repositories import _flush, utc
from credstack.db.tables import (
    AchievementRow,
    EmployerSearchRow,
    ImportOriginalRow,
    OrganizationRow,
    OrganizationSettingRow,
    ProfileItemRow,
    PublicProfileRow,
    ShareLinkItemRow,
    ShareLinkRow,
)
from credstack.domain.accounts import UserId
from credstack.domain.errors import Conflict
from credstack.domain.platform import OrgId
from credstack.services.sharing import ItemKind, ItemRef, PublicProfile, ShareLink


def _at(value: datetime) -> datetime:
    found = utc(value)
    assert found is not None
    return found


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SharingStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- profiles

    def _profile(self, row: PublicProfileRow) -> PublicProfile:
        items = self.session.execute(
            select(ProfileItemRow.kind, ProfileItemRow.item_id)
            .where(ProfileItemRow.user_id == row.user_id)
            .order_by(ProfileItemRow.kind, ProfileItemRow.item_id)
        )
        return PublicProfile(
            user_id=UserId(row.user_id),
            handle=row.handle,
            display_name=row.display_name,
            updated_at=_at(row.updated_at),
            headline=row.headline,
            published=row.published,
            findable=row.findable,
            items=tuple(ItemRef(ItemKind(kind), item) for kind, item in items),
        )

    def profile(self, user_id: UserId) -> PublicProfile | None:
        row = self.session.get(PublicProfileRow, user_id, populate_existing=True)
        return self._profile(row) if row else None

    def profile_by_handle(self, handle: str) -> PublicProfile | None:
        row = self.session.scalar(select(PublicProfileRow).where(PublicProfileRow.handle == handle))
        return self._profile(row) if row else None

    def save_profile(self, profile: PublicProfile, texts: Mapping[ItemRef, str]) -> None:
        taken = self.session.scalar(
            select(PublicProfileRow.user_id).where(
                PublicProfileRow.handle == profile.handle,
                PublicProfileRow.user_id != profile.user_id,
            )
        )
        if taken is not None:
            raise Conflict("this profile address is taken; choose another", code="handle.taken")
        values = {
            "handle": profile.handle,
            "display_name": profile.display_name,
            "headline": profile.headline,
            "published": profile.published,
            "findable": profile.findable,
            "updated_at": profile.updated_at,
        }
        row = self.session.get(PublicProfileRow, profile.user_id)
        if row is None:
            self.session.add(PublicProfileRow(user_id=profile.user_id, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
        _flush(self.session, "a profile at this address")
        self.session.execute(
            delete(ProfileItemRow).where(ProfileItemRow.user_id == profile.user_id)
        )
        for ref in profile.items:
            self.session.add(
                ProfileItemRow(
                    user_id=profile.user_id,
                    kind=ref.kind.value,
                    item_id=ref.id,
                    search_text=texts.get(ref, ""),
                )
            )
        self.session.flush()

    # --- share links

    def _link(self, row: ShareLinkRow) -> ShareLink:
        items = self.session.execute(
            select(ShareLinkItemRow.kind, ShareLinkItemRow.item_id)
            .where(ShareLinkItemRow.link_id == row.id)
            .order_by(ShareLinkItemRow.kind, ShareLinkItemRow.item_id)
        )
        return ShareLink(
            id=row.id,
            user_id=UserId(row.user_id),
            label=row.label,
            created_at=_at(row.created_at),
            items=tuple(ItemRef(ItemKind(kind), item) for kind, item in items),
            display_name=row.display_name,
            expires_at=utc(row.expires_at),
            revoked_at=utc(row.revoked_at),
            views=row.views,
        )

    def add_link(self, link: ShareLink, token_hash: str) -> None:
        self.session.add(
            ShareLinkRow(
                id=link.id,
                user_id=link.user_id,
                token_hash=token_hash,
                label=link.label,
                display_name=link.display_name,
                created_at=link.created_at,
                expires_at=link.expires_at,
                revoked_at=link.revoked_at,
                views=link.views,
            )
        )
        _flush(self.session, "this share link")
        for ref in link.items:
            self.session.add(ShareLinkItemRow(link_id=link.id, kind=ref.kind.value, item_id=ref.id))
        self.session.flush()

    def links_of(self, user_id: UserId) -> list[ShareLink]:
        rows = self.session.scalars(
            select(ShareLinkRow)
            .where(ShareLinkRow.user_id == user_id)
            .order_by(ShareLinkRow.created_at.desc(), ShareLinkRow.id)
        )
        return [self._link(row) for row in rows]

    def link(self, link_id: str) -> ShareLink | None:
        row = self.session.get(ShareLinkRow, link_id, populate_existing=True)
        return self._link(row) if row else None

    def link_by_token(self, token_hash: str) -> ShareLink | None:
        row = self.session.scalar(select(ShareLinkRow).where(ShareLinkRow.token_hash == token_hash))
        return self._link(row) if row else None

    def revoke_link(self, link_id: str, at: datetime) -> None:
        self.session.execute(
            update(ShareLinkRow)
            .where(ShareLinkRow.id == link_id, ShareLinkRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    def count_view(self, link_id: str) -> None:
        self.session.execute(
            update(ShareLinkRow)
            .where(ShareLinkRow.id == link_id)
            .values(views=ShareLinkRow.views + 1)
        )

    # --- employer search

    def search(self, terms: Sequence[str], limit: int) -> list[tuple[PublicProfile, list[ItemRef]]]:
        query = (
            select(PublicProfileRow, ProfileItemRow.kind, ProfileItemRow.item_id)
            .join(ProfileItemRow, ProfileItemRow.user_id == PublicProfileRow.user_id)
            .where(PublicProfileRow.published.is_(True), PublicProfileRow.findable.is_(True))
            .order_by(PublicProfileRow.display_name, PublicProfileRow.user_id)
        )
        for term in terms:
            query = query.where(ProfileItemRow.search_text.like(_like(term), escape="\\"))
        found: dict[str, tuple[PublicProfile, list[ItemRef]]] = {}
        for row, kind, item in self.session.execute(query.limit(limit * 20)):
            if row.user_id not in found:
                if len(found) >= limit:
                    continue
                found[row.user_id] = (self._profile(row), [])
            found[row.user_id][1].append(ItemRef(ItemKind(kind), item))
        return list(found.values())

    def searches_since(self, user_id: UserId, since: datetime) -> int:
        counted = self.session.scalar(
            select(func.count())
            .select_from(EmployerSearchRow)
            .where(EmployerSearchRow.user_id == user_id, EmployerSearchRow.at >= since)
        )
        return int(counted or 0)

    def add_search(self, user_id: UserId, at: datetime, prune_before: datetime) -> None:
        self.session.execute(
            delete(EmployerSearchRow).where(
                EmployerSearchRow.user_id == user_id, EmployerSearchRow.at < prune_before
            )
        )
        self.session.add(EmployerSearchRow(id=str(uuid.uuid4()), user_id=user_id, at=at))
        self.session.flush()

    # --- imports as received

    def keep_original(self, import_id: str, document: str, at: datetime) -> None:
        row = self.session.get(ImportOriginalRow, import_id)
        if row is None:
            self.session.add(ImportOriginalRow(import_id=import_id, document=document, kept_at=at))
        else:
            row.document, row.kept_at = document, at
        self.session.flush()

    def originals(self, import_ids: Sequence[str]) -> dict[str, str]:
        rows = self.session.execute(
            select(ImportOriginalRow.import_id, ImportOriginalRow.document).where(
                ImportOriginalRow.import_id.in_(list(import_ids))
            )
        )
        return {str(row[0]): str(row[1]) for row in rows}

    # --- reading a whole wallet

    def prime(self, achievement_ids: Sequence[str]) -> list[object]:
        """Load these achievements and their organizations in two queries; while the
        caller holds the returned rows, the per-award lookups of the stacking engine on
        the same page find them in the session's (weak) identity map instead of asking
        the database each time (a 200-credential wallet: 400 queries fewer)."""
        wanted = sorted(set(achievement_ids))
        if not wanted:
            return []
        found: list[object] = list(
            self.session.scalars(select(AchievementRow).where(AchievementRow.id.in_(wanted)))
        )
        orgs = sorted({row.org_id for row in found if isinstance(row, AchievementRow)})
        found += self.session.scalars(select(OrganizationRow).where(OrganizationRow.id.in_(orgs)))
        return found

    # --- organization settings

    def linkedin_organization_id(self, org_id: OrgId) -> str | None:
        row = self.session.get(OrganizationSettingRow, org_id)
        return row.linkedin_organization_id if row else None

    def set_linkedin_organization_id(self, org_id: OrgId, value: str | None, at: datetime) -> None:
        row = self.session.get(OrganizationSettingRow, org_id)
        if row is None:
            self.session.add(
                OrganizationSettingRow(org_id=org_id, linkedin_organization_id=value, updated_at=at)
            )
        else:
            row.linkedin_organization_id = value
            row.updated_at = at
        self.session.flush()
