"""Spare parts (seed 003 F.5, F.6): catalogue, reservations, issue, receive, low stock."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import Conflict, NotFound, RuleViolation
from domain.models import InventoryTransaction, PartReservation, SparePart, WorkOrder, WorkOrderPart
from domain.services.audit import record_change
from domain.services.events import emit


def get(session: Session, organization_id: int, part_number: str, lock: bool = False) -> SparePart:
    query = select(SparePart).where(
        SparePart.organization_id == organization_id,
        SparePart.part_number == part_number.upper(),
    )
    if lock:
        query = query.with_for_update()
    part = session.scalars(query).one_or_none()
    if part is None:
        raise NotFound(f"part {part_number} not found", field="part_number")
    return part


def create(session: Session, actor: Actor, **fields) -> SparePart:
    number = fields["part_number"].upper()
    exists = session.scalars(
        select(SparePart.id).where(
            SparePart.organization_id == actor.organization_id, SparePart.part_number == number
        )
    ).first()
    if exists:
        raise Conflict(f"part {number} already exists", field="part_number")
    part = SparePart(organization_id=actor.organization_id, **{**fields, "part_number": number})
    session.add(part)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type="SPARE_PART",
        entity_id=number,
        action="CREATED",
        before=None,
        after={"quantity_on_hand": part.quantity_on_hand},
        reason=part.name,
    )
    return part


def summary(part: SparePart) -> dict[str, Any]:
    """A part as the API shows it."""
    return {
        "part_number": part.part_number, "name": part.name, "category": part.category,
        "criticality": part.criticality, "unit_cost": part.unit_cost,
        "quantity_on_hand": part.quantity_on_hand, "quantity_reserved": part.quantity_reserved,
        "quantity_available": part.quantity_available, "reorder_point": part.reorder_point,
        "reorder_quantity": part.reorder_quantity, "low_stock": part.reorder_point is not None
        and part.quantity_on_hand <= part.reorder_point,
    }  # fmt: skip


def _transaction(session, part, type_, quantity, actor, ref_type, ref_id, notes=None) -> None:
    session.add(
        InventoryTransaction(
            part_id=part.id,
            type=type_,
            quantity=quantity,
            balance_after=part.quantity_on_hand,
            reference_type=ref_type,
            reference_id=ref_id,
            performed_by=actor.full_name,
            notes=notes,
        )
    )


def _stock_alerts(session: Session, part: SparePart) -> list[str]:
    """parts.low_stock at the reorder point, parts.out_of_stock at zero."""
    raised = []
    stamp = datetime.now(UTC).isoformat()
    if part.quantity_on_hand <= 0:
        raised.append("parts.out_of_stock")
    if part.reorder_point is not None and part.quantity_on_hand <= part.reorder_point:
        raised.append("parts.low_stock")
    if raised:
        _tell_planners(session, part, raised)
    for event in raised:
        emit(
            session,
            part.organization_id,
            event,
            "SPARE_PART",
            part.part_number,
            {
                "quantity_on_hand": part.quantity_on_hand,
                "reorder_point": part.reorder_point,
                "reorder_quantity": part.reorder_quantity,
            },
            f"{part.part_number}/{event}/{stamp}",
        )
    return raised


def _tell_planners(session: Session, part: SparePart, raised: list[str]) -> None:
    """In-app notices to planners (and managers) when stock reaches its reorder point."""
    from domain.models import User
    from domain.rules.alerts import Channel
    from domain.services import outbox

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    users = session.scalars(
        select(User).where(User.organization_id == part.organization_id, User.is_active)
    ).all()
    what = "out of stock" if "parts.out_of_stock" in raised else "at its reorder point"
    outbox.enqueue(
        session,
        [
            outbox.Message(
                f"{part.part_number}/stock/{stamp}/{u.id}",
                part.organization_id,
                None,
                "LOW_STOCK",
                Channel.IN_APP,
                u,
                f"{part.part_number} {part.name} is {what}: {part.quantity_on_hand:g} on hand",
                f"Reorder {part.reorder_quantity or 'the usual quantity'} of {part.part_number}.",
            )
            for u in users
            if {"MAINT_PLANNER", "MAINT_MANAGER"} & set(u.roles)
        ],
        {Channel.IN_APP},
    )


def request(
    session: Session, actor: Actor, wo: WorkOrder, part: SparePart, quantity: float, reserve: bool
) -> WorkOrderPart:
    line = WorkOrderPart(
        work_order_id=wo.id,
        part_id=part.id,
        quantity_required=quantity,
        unit_cost=part.unit_cost,
        requested_by=actor.full_name,
    )
    session.add(line)
    if reserve:
        if part.quantity_available < quantity:
            raise RuleViolation(
                f"insufficient stock to reserve {quantity:g} of {part.part_number}: "
                f"{part.quantity_available:g} available",
                field="quantity",
            )
        part.quantity_reserved += quantity
        session.add(
            PartReservation(
                part_id=part.id, work_order_id=wo.id, quantity=quantity, reserved_by=actor.full_name
            )
        )
        _transaction(session, part, "RESERVE", quantity, actor, "WORK_ORDER", wo.number)
    session.flush()
    return line


def issue(
    session: Session,
    actor: Actor,
    wo: WorkOrder,
    part: SparePart,
    quantity: float,
    serial_numbers: list[str],
) -> tuple[WorkOrderPart, list[str]]:
    """F.6: refused when stock is short; (the line, the stock alerts raised)."""
    reserved = session.scalars(
        select(PartReservation).where(
            PartReservation.part_id == part.id,
            PartReservation.work_order_id == wo.id,
            PartReservation.status == "ACTIVE",
        )
    ).all()
    held = sum(r.quantity for r in reserved)
    if part.quantity_available + held < quantity:
        raise RuleViolation(
            f"insufficient stock: {part.part_number} has {part.quantity_available + held:g} "
            f"available for {wo.number}, {quantity:g} asked",
            field="quantity",
        )
    for r in reserved:
        r.status = "ISSUED"
    part.quantity_reserved -= held
    part.quantity_on_hand -= quantity
    part.last_used_at = datetime.now(UTC)
    line = session.scalars(
        select(WorkOrderPart).where(
            WorkOrderPart.work_order_id == wo.id, WorkOrderPart.part_id == part.id
        )
    ).first()
    if line is None:
        line = WorkOrderPart(
            work_order_id=wo.id,
            part_id=part.id,
            quantity_required=quantity,
            unit_cost=part.unit_cost,
            requested_by=actor.full_name,
        )
        session.add(line)
    line.quantity_used = (line.quantity_used or 0) + quantity
    line.issued_by = actor.full_name
    line.issued_at = datetime.now(UTC)
    line.serial_numbers = [*(line.serial_numbers or []), *serial_numbers]
    _transaction(session, part, "ISSUE", -quantity, actor, "WORK_ORDER", wo.number)
    record_change(
        session=session,
        actor=actor,
        entity_type="SPARE_PART",
        entity_id=part.part_number,
        action="ISSUED",
        before={"quantity_on_hand": part.quantity_on_hand + quantity},
        after={"quantity_on_hand": part.quantity_on_hand},
        reason=f"issued to {wo.number}",
    )
    session.flush()
    return line, _stock_alerts(session, part)


def receive(
    session: Session, actor: Actor, part: SparePart, quantity: float, notes: str | None
) -> SparePart:
    before = part.quantity_on_hand
    part.quantity_on_hand += quantity
    _transaction(session, part, "RECEIVE", quantity, actor, None, None, notes)
    record_change(
        session=session,
        actor=actor,
        entity_type="SPARE_PART",
        entity_id=part.part_number,
        action="RECEIVED",
        before={"quantity_on_hand": before},
        after={"quantity_on_hand": part.quantity_on_hand},
        reason=notes,
    )
    session.flush()
    return part


def low_stock(session: Session, organization_id: int) -> list[SparePart]:
    return list(
        session.scalars(
            select(SparePart)
            .where(
                SparePart.organization_id == organization_id,
                SparePart.reorder_point.is_not(None),
                SparePart.quantity_on_hand <= SparePart.reorder_point,
            )
            .order_by(SparePart.part_number)
        ).all()
    )
