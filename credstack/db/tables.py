"""Tables (``*Row``). ORM rows are not domain objects: repositories map them.

Signed credentials are stored as the exact text that was signed (``AwardRow.document``);
the other columns exist to query. Relationships load with ``lazy="raise"``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class OrganizationRow(Base):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class StaffRow(Base):
    __tablename__ = "staff"
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))


class SigningKeyRow(Base):
    __tablename__ = "signing_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    fragment: Mapped[str] = mapped_column(String(100))
    public_multibase: Mapped[str] = mapped_column(String(200))
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AchievementRow(Base):
    __tablename__ = "achievements"
    __table_args__ = (UniqueConstraint("org_id", "key", "version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    definition: Mapped[dict[str, object]] = mapped_column(JSON)
    validity_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class StatusListRow(Base):
    __tablename__ = "status_lists"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    entries_used: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class AwardRow(Base):
    __tablename__ = "awards"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key"),
        UniqueConstraint("revocation_list_id", "status_index"),
        Index("ix_awards_org_issued", "org_id", "issued_at"),
        Index("ix_awards_valid_until", "valid_until"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    achievement_id: Mapped[str | None] = mapped_column(ForeignKey("achievements.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(500), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(8))
    learner_name: Mapped[str | None] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    status_index: Mapped[int] = mapped_column(Integer)
    revocation_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"))
    suspension_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    claim_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class PathwayRow(Base):
    """One version of a pathway; ``definition`` is credstack's own JSON format."""

    __tablename__ = "pathways"
    __table_args__ = (UniqueConstraint("iri", "version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    iri: Mapped[str] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class EnrollmentRow(Base):
    """The pathway version whose rules a learner follows."""

    __tablename__ = "enrollments"
    learner: Mapped[str] = mapped_column(String(500), primary_key=True)
    pathway_iri: Mapped[str] = mapped_column(String(500), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    enrolled_at: Mapped[datetime]


class StackAwardRow(Base):
    """A milestone a learner met: its stacked credential, its CLR and their state."""

    __tablename__ = "stack_awards"
    __table_args__ = (UniqueConstraint("learner", "pathway_iri", "milestone"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    learner: Mapped[str] = mapped_column(String(500), index=True)
    pathway_iri: Mapped[str] = mapped_column(String(500), index=True)
    version: Mapped[int] = mapped_column(Integer)
    milestone: Mapped[str] = mapped_column(String(200))
    award_id: Mapped[str] = mapped_column(ForeignKey("awards.id"))
    clr_award_id: Mapped[str | None] = mapped_column(ForeignKey("awards.id"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    components: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ImportedCredentialRow(Base):
    """A credential from another issuer that a learner brought in, as received."""

    __tablename__ = "imported_credentials"
    __table_args__ = (UniqueConstraint("learner", "credential_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    learner: Mapped[str] = mapped_column(String(500), index=True)
    credential_id: Mapped[str] = mapped_column(String(500))
    issuer: Mapped[str] = mapped_column(String(500))
    achievement_id: Mapped[str | None] = mapped_column(String(500))
    document: Mapped[str] = mapped_column(Text)
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    verified: Mapped[bool] = mapped_column(Boolean)
    valid_until: Mapped[datetime | None]
    imported_at: Mapped[datetime]


class TrustedIssuerRow(Base):
    """An issuer whose credentials an organization accepts toward its pathways."""

    __tablename__ = "trusted_issuers"
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    added_at: Mapped[datetime]


class ArticulationRow(Base):
    """An articulation agreement: another issuer's credential counts as credits here."""

    __tablename__ = "articulations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    program: Mapped[str] = mapped_column(String(500))
    issuer: Mapped[str] = mapped_column(String(500))
    achievement_id: Mapped[str | None] = mapped_column(String(500))
    alignment: Mapped[str | None] = mapped_column(String(500))
    credits: Mapped[float]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OutboxRow(Base):
    """Emails waiting to be sent; ``dedupe_key`` makes each notice go out once."""

    __tablename__ = "outbox"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class BulkJobRow(Base):
    __tablename__ = "bulk_jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"))
    filename: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    report: Mapped[dict[str, object] | None] = mapped_column(JSON)
    existing: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_bulk_jobs_state", "state"),)


class BulkRowRow(Base):
    """A validated row of a bulk job; pending while it has neither an award nor an error."""

    __tablename__ = "bulk_rows"
    __table_args__ = (
        Index(
            "ix_bulk_rows_pending",
            "job_id",
            "number",
            sqlite_where=text("award_id IS NULL AND error IS NULL"),
            postgresql_where=text("award_id IS NULL AND error IS NULL"),
        ),
    )
    job_id: Mapped[str] = mapped_column(ForeignKey("bulk_jobs.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    award_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)


class OAuthClientRow(Base):
    __tablename__ = "oauth_clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    metadata_json: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class OAuthGrantRow(Base):
    """Sign-in codes, authorization codes and access/refresh tokens (hashed) of the OB 3.0 API.

    ``used_at`` marks a code or refresh token as spent; ``revoked_at`` a revoked token;
    ``family_id`` ties every token of one authorization together (the code's id).
    """

    __tablename__ = "oauth_grants"
    __table_args__ = (Index("ix_oauth_grants_subject_kind", "subject", "kind"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id"))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    subject: Mapped[str | None] = mapped_column(String(320))
    scope: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, object] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    family_id: Mapped[str | None] = mapped_column(String(36), index=True)


class HeldCredentialRow(Base):
    """Credentials the OB 3.0 Host keeps for a user, as verified (``document``).

    ``key`` is the credential equality key (issuer id and credential id, normalized).
    """

    __tablename__ = "held_credentials"
    __table_args__ = (
        UniqueConstraint("subject", "key"),
        Index("ix_held_credentials_subject_added", "subject", "added_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(320))
    key: Mapped[str] = mapped_column(String(64))
    credential_id: Mapped[str] = mapped_column(Text)
    issuer_id: Mapped[str] = mapped_column(Text)
    form: Mapped[str] = mapped_column(String(8))
    document: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime | None]
    added_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HostProfileRow(Base):
    """The OB 3.0 Profile a Host user asserts about themselves (JSON as given)."""

    __tablename__ = "host_profiles"
    subject: Mapped[str] = mapped_column(String(320), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


# --- accounts (web application)


class UserRow(Base):
    """A person who signs in to the web application (email and Argon2id password hash)."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    email_verified_at: Mapped[datetime | None]
    did: Mapped[str | None] = mapped_column(String(500))


class WebSessionRow(Base):
    """A signed-in browser session; ``id_hash`` is the SHA-256 of the cookie's key."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class AccountTokenRow(Base):
    """Emailed single-use tokens (confirm the address, reset the password), hashed."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_purpose", "user_id", "purpose", "created_at"),)
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginFailureRow(Base):
    """One failed sign-in, counted per address and per client (``key`` is a SHA-256)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class CredentialClaimRow(Base):
    """An award a learner claimed into their wallet (one account per award)."""

    __tablename__ = "credential_claims"
    award_id: Mapped[str] = mapped_column(ForeignKey("awards.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime]


# --- sharing (web application)


class PublicProfileRow(Base):
    """A learner's public profile at ``/p/{handle}``: hidden until ``published``; listed in
    employer search only when ``findable`` too. ``handle`` is stored in lower case."""

    __tablename__ = "public_profiles"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    handle: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    headline: Mapped[str | None] = mapped_column(String(200))
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    findable: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class ProfileItemRow(Base):
    """A credential (``kind`` award or import) a learner shows on the public profile.

    ``search_text``: what employer search matches, in lower case (achievement and
    credential names, alignment names and URLs), so the search filters in the database
    before verifying the candidates live.
    """

    __tablename__ = "profile_items"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    search_text: Mapped[str] = mapped_column(Text)


class ShareLinkRow(Base):
    """A share link of chosen credentials; ``token_hash`` is the SHA-256 of the token in
    its URL (the token itself is derived from the id under the platform secret)."""

    __tablename__ = "share_links"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    views: Mapped[int] = mapped_column(Integer, default=0)


class ShareLinkItemRow(Base):
    """One credential (``kind`` award or import) of a share link."""

    __tablename__ = "share_link_items"
    link_id: Mapped[str] = mapped_column(ForeignKey("share_links.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class OrganizationSettingRow(Base):
    """Optional settings of an organization kept beside ``organizations`` (its LinkedIn
    organization id, for the "Add to profile" links of its credentials)."""

    __tablename__ = "organization_settings"
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    linkedin_organization_id: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime]


class EmployerSearchRow(Base):
    """One employer search, counted per account to rate-limit searching."""

    __tablename__ = "employer_searches"
    __table_args__ = (Index("ix_employer_searches_user_at", "user_id", "at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]


class ImportOriginalRow(Base):
    """An imported credential as the learner brought it, when that differs from the JSON
    recognition keeps (a VC-JWT: its signature is the JWS itself)."""

    __tablename__ = "import_originals"
    import_id: Mapped[str] = mapped_column(ForeignKey("imported_credentials.id"), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    kept_at: Mapped[datetime]
