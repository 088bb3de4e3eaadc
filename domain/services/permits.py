"""Permits to work: issuing and removing locks, and who may."""

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import Conflict, NotAllowed, RuleViolation
from domain.models import (
    Certification,
    Permit,
    WorkOrder,
)
from domain.rules import work_orders as rules
from domain.services.steps import next_number


def issue_permit(
    session: Session,
    wo: WorkOrder,
    actor: Actor,
    kind: rules.PermitKind,
    energy_sources: list[str],
    isolation_verified: bool,
    lock_numbers: list[str],
    authorized: bool,
) -> Permit:
    """F.3: issued by an authorised person, the isolation verified, linked to the WO."""
    if not authorized:
        raise RuleViolation(
            f"{kind.value} permits are issued by an authorised person "
            "(EHS, or a holder of a valid LOTO authorisation)",
            field="issued_by",
        )
    if kind is rules.PermitKind.LOTO and not isolation_verified:
        raise RuleViolation(
            "energy isolation must be verified before a LOTO permit is issued",
            field="isolation_verified",
        )
    if kind is rules.PermitKind.LOTO and not energy_sources:
        raise RuleViolation("name the energy sources isolated", field="energy_sources")
    active = next((p for p in wo.permits if p.kind == kind.value and p.status == "ACTIVE"), None)
    if active is not None:
        raise Conflict(f"{active.number} is still active: one {kind.value} permit at a time")
    permit = Permit(
        organization_id=wo.organization_id,
        number=next_number(session, kind.value[:4], datetime.now(UTC).year, 5),
        kind=kind.value,
        work_order_id=wo.id,
        asset_id=wo.asset_id,
        issued_by_id=actor.user_id,
        issued_by=actor.full_name,
        energy_sources=energy_sources,
        isolation_verified=isolation_verified,
        lock_numbers=lock_numbers,
    )
    session.add(permit)
    session.flush()
    return permit


def authorised_for_permits(session: Session, actor: Actor) -> bool:
    """EHS, the maintenance admin, or a holder of a valid LOTO authorisation (F.3)."""
    if "EHS" in actor.roles or "MAINT_ADMIN" in actor.roles:
        return True
    return bool(
        session.scalars(
            select(Certification.id).where(
                Certification.user_id == actor.user_id,
                Certification.code == "LOTO-AUTH",
                Certification.expires_on.is_(None) | (Certification.expires_on >= date.today()),
            )
        ).first()
    )


def remove_permit(wo: WorkOrder, actor: Actor, kind: str, authorized: bool) -> Permit:
    """LOTO (or any permit) comes off only by an authorised person's hand (F.3, K.2)."""
    if not authorized:
        raise NotAllowed(f"{kind} is removed by an authorised person", field="removed_by")
    permit = next((p for p in wo.permits if p.kind == kind and p.status == "ACTIVE"), None)
    if permit is None:
        raise Conflict(f"no active {kind} permit on {wo.number}", field="kind")
    permit.status, permit.removed_by = "REMOVED", actor.full_name
    permit.removed_at = datetime.now(UTC)
    return permit
