"""Storage of the stacking engine (``domain.ports.StackingRepository``)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from credstack.db.repositories import Awards, _flush, _utc, utc
from credstack.db.tables import (
    ArticulationRow,
    AwardRow,
    EnrollmentRow,
    ImportedCredentialRow,
    PathwayRow,
    StackAwardRow,
    TrustedIssuerRow,
)
from credstack.domain.platform import Award
from credstack.domain.stack_records import (
    Articulation,
    Enrollment,
    ImportedCredential,
    PathwayVersion,
    StackAward,
    StackState,
    TrustedIssuer,
)


def _pathway(row: PathwayRow) -> PathwayVersion:
    return PathwayVersion(
        id=row.id,
        org_id=row.org_id,
        iri=row.iri,
        version=row.version,
        name=row.name,
        published=row.published,
        definition=dict(row.definition),
        created_at=_utc(row.created_at),
    )


def _stack(row: StackAwardRow) -> StackAward:
    return StackAward(
        id=row.id,
        org_id=row.org_id,
        learner=row.learner,
        pathway_iri=row.pathway_iri,
        version=row.version,
        milestone=row.milestone,
        award_id=row.award_id,
        clr_award_id=row.clr_award_id,
        state=StackState(row.state),
        components=tuple(row.components),
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        reason=row.reason,
    )


def _stack_values(stack: StackAward) -> dict[str, object]:
    values = asdict(stack)
    values["state"] = stack.state.value
    values["components"] = list(stack.components)
    return values


class Stacking:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- pathways ----------------------------------------------------------------------

    def add_pathway(self, pathway: PathwayVersion) -> None:
        self.session.add(PathwayRow(**asdict(pathway)))
        _flush(self.session, f"pathway {pathway.iri} version {pathway.version}")

    def pathway(self, iri: str, version: int | None = None) -> PathwayVersion | None:
        query = select(PathwayRow).where(PathwayRow.iri == iri)
        if version is None:
            query = query.where(PathwayRow.published.is_(True))
        else:
            query = query.where(PathwayRow.version == version)
        row = self.session.scalar(query.order_by(PathwayRow.version.desc()).limit(1))
        return _pathway(row) if row else None

    def pathway_versions(self, iri: str) -> list[PathwayVersion]:
        rows = self.session.scalars(
            select(PathwayRow).where(PathwayRow.iri == iri).order_by(PathwayRow.version)
        )
        return [_pathway(r) for r in rows]

    def publish_pathway(self, iri: str, version: int) -> None:
        self.session.execute(
            update(PathwayRow)
            .where(PathwayRow.iri == iri, PathwayRow.version == version)
            .values(published=True)
        )

    def catalogue_stamp(self) -> tuple[int, str]:
        published = PathwayRow.published.is_(True)
        row = self.session.execute(
            select(
                func.count(),
                func.max(PathwayRow.created_at),
                func.min(PathwayRow.id),
                func.max(PathwayRow.id),
            ).where(published)
        ).one()
        return int(row[0]), f"{row[1]}|{row[2]}|{row[3]}"

    def published_versions(self) -> list[PathwayVersion]:
        rows = self.session.scalars(
            select(PathwayRow).where(PathwayRow.published.is_(True)).order_by(PathwayRow.id)
        )
        return [_pathway(r) for r in rows]

    def published_pathways(self, org_id: str | None = None) -> list[PathwayVersion]:
        latest = (
            select(PathwayRow.iri, func.max(PathwayRow.version).label("version"))
            .where(PathwayRow.published.is_(True))
            .group_by(PathwayRow.iri)
            .subquery()
        )
        query = select(PathwayRow).join(
            latest, (PathwayRow.iri == latest.c.iri) & (PathwayRow.version == latest.c.version)
        )
        if org_id is not None:
            query = query.where(PathwayRow.org_id == org_id)
        return [_pathway(r) for r in self.session.scalars(query.order_by(PathwayRow.name))]

    # -- enrollments -------------------------------------------------------------------

    def enrollment(self, learner: str, iri: str) -> Enrollment | None:
        row = self.session.get(EnrollmentRow, (learner, iri))
        if row is None:
            return None
        return Enrollment(row.learner, row.pathway_iri, row.version, _utc(row.enrolled_at))

    def enrollments(self, iri: str) -> list[Enrollment]:
        rows = self.session.scalars(select(EnrollmentRow).where(EnrollmentRow.pathway_iri == iri))
        return [Enrollment(r.learner, r.pathway_iri, r.version, _utc(r.enrolled_at)) for r in rows]

    def learner_enrollments(self, learner: str) -> list[Enrollment]:
        rows = self.session.scalars(select(EnrollmentRow).where(EnrollmentRow.learner == learner))
        return [Enrollment(r.learner, r.pathway_iri, r.version, _utc(r.enrolled_at)) for r in rows]

    def enroll(self, enrollment: Enrollment) -> None:
        row = self.session.get(EnrollmentRow, (enrollment.learner, enrollment.pathway_iri))
        if row is None:
            self.session.add(EnrollmentRow(**asdict(enrollment)))
        else:
            row.version = enrollment.version
        self.session.flush()

    # -- stacked awards ----------------------------------------------------------------

    def stack_awards(
        self, *, learner: str | None = None, iri: str | None = None
    ) -> list[StackAward]:
        query = select(StackAwardRow)
        if learner is not None:
            query = query.where(StackAwardRow.learner == learner)
        if iri is not None:
            query = query.where(StackAwardRow.pathway_iri == iri)
        rows = self.session.scalars(query.order_by(StackAwardRow.created_at, StackAwardRow.id))
        return [_stack(r) for r in rows]

    def stacks_using(self, learner: str, credential_id: str) -> list[StackAward]:
        # A learner has few stacks, and JSON containment queries differ per backend.
        query = select(StackAwardRow).where(StackAwardRow.learner == learner)
        found = [_stack(r) for r in self.session.scalars(query)]
        return [s for s in found if credential_id in s.components]

    def add_stack_award(self, stack: StackAward) -> None:
        self.session.add(StackAwardRow(**_stack_values(stack)))
        _flush(self.session, f"the stacked award of {stack.learner} for {stack.milestone}")

    def update_stack_award(self, stack: StackAward) -> None:
        values = _stack_values(stack)
        values.pop("id")
        self.session.execute(
            update(StackAwardRow).where(StackAwardRow.id == stack.id).values(**values)
        )

    # -- learners ----------------------------------------------------------------------

    def learner_awards(self, learner: str) -> list[Award]:
        rows = self.session.scalars(
            select(AwardRow).where(AwardRow.recipient == learner).order_by(AwardRow.issued_at)
        )
        return [Awards._record(r) for r in rows]

    def learners(self) -> list[str]:
        awarded = select(AwardRow.recipient).where(AwardRow.achievement_id.is_not(None))
        imported = select(ImportedCredentialRow.learner)
        return sorted(set(self.session.scalars(awarded)) | set(self.session.scalars(imported)))

    # -- imports -----------------------------------------------------------------------

    def add_import(self, imported: ImportedCredential) -> None:
        existing = self.session.scalar(
            select(ImportedCredentialRow).where(
                ImportedCredentialRow.learner == imported.learner,
                ImportedCredentialRow.credential_id == imported.credential_id,
            )
        )
        values = asdict(imported)
        if existing is None:
            self.session.add(ImportedCredentialRow(**values))
        else:
            values.pop("id")
            for name, value in values.items():
                setattr(existing, name, value)
        self.session.flush()

    def imports(self, learner: str) -> list[ImportedCredential]:
        rows = self.session.scalars(
            select(ImportedCredentialRow)
            .where(ImportedCredentialRow.learner == learner)
            .order_by(ImportedCredentialRow.imported_at)
        )
        return [
            ImportedCredential(
                id=r.id,
                learner=r.learner,
                credential_id=r.credential_id,
                issuer=r.issuer,
                achievement_id=r.achievement_id,
                document=r.document,
                checks=list(r.checks),
                verified=r.verified,
                imported_at=_utc(r.imported_at),
                valid_until=utc(r.valid_until),
            )
            for r in rows
        ]

    # -- trust lists and articulation agreements ---------------------------------------

    def trust(self, issuer: TrustedIssuer) -> None:
        row = self.session.get(TrustedIssuerRow, (issuer.org_id, issuer.issuer))
        if row is None:
            self.session.add(TrustedIssuerRow(**asdict(issuer)))
        else:
            row.name = issuer.name
        self.session.flush()

    def distrust(self, org_id: str, issuer: str) -> None:
        self.session.execute(
            delete(TrustedIssuerRow).where(
                TrustedIssuerRow.org_id == org_id, TrustedIssuerRow.issuer == issuer
            )
        )

    def trusted(self, org_id: str) -> list[TrustedIssuer]:
        rows = self.session.scalars(
            select(TrustedIssuerRow)
            .where(TrustedIssuerRow.org_id == org_id)
            .order_by(TrustedIssuerRow.issuer)
        )
        return [TrustedIssuer(r.org_id, r.issuer, r.name, _utc(r.added_at)) for r in rows]

    def add_articulation(self, agreement: Articulation) -> None:
        self.session.add(ArticulationRow(**asdict(agreement)))
        self.session.flush()

    def articulations(self, org_id: str | None = None) -> list[Articulation]:
        query = select(ArticulationRow)
        if org_id is not None:
            query = query.where(ArticulationRow.org_id == org_id)
        rows = self.session.scalars(query.order_by(ArticulationRow.created_at))
        return [
            Articulation(
                id=r.id,
                org_id=r.org_id,
                program=r.program,
                issuer=r.issuer,
                credits=r.credits,
                created_at=_utc(r.created_at),
                achievement_id=r.achievement_id,
                alignment=r.alignment,
                note=r.note,
            )
            for r in rows
        ]
