"""Whether work may start on an asset, what is open on it, and the daily round of checks."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.models import (
    Asset,
    PmSchedule,
    WorkOrder,
)
from domain.rules import pm as pm_rules
from domain.services.events import emit

# Work orders that hold an asset while they run.
ACTIVE = ("SCHEDULED", "IN_PROGRESS", "WAITING_PARTS", "ON_HOLD", "ESCALATED")


@dataclass(frozen=True)
class Block:
    type: str
    message: str
    detail: dict[str, Any]


def dispatch_check(session: Session, asset: Asset, today: date) -> list[Block]:
    """F.2: every reason the asset cannot take work now; empty means it can."""
    blocks = []
    if asset.status.value != "IN_SERVICE":
        blocks.append(
            Block(
                "ASSET_STATUS",
                f"Asset is {asset.status.value}",
                {"reason": asset.status_reason},
            )
        )
    active = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.asset_id == asset.id, WorkOrder.status.in_(["SCHEDULED", "IN_PROGRESS"]))
        .order_by(WorkOrder.id)
    ).all()
    for wo in active:
        blocks.append(
            Block(
                "ACTIVE_WORK_ORDER",
                f"Active WO: {wo.number}",
                {
                    "status": wo.status,
                    "estimated_completion": wo.scheduled_date.isoformat()
                    if wo.scheduled_date
                    else None,
                },
            )
        )
    for pm in session.scalars(
        select(PmSchedule).where(
            PmSchedule.asset_id == asset.id,
            PmSchedule.is_active.is_(True),
            PmSchedule.is_paused.is_(False),
            PmSchedule.overdue_action == "BLOCK",
        )
    ):
        # Overdue from the due date or the due meter, whichever came first, as the
        # schedule's own workflow counts it.
        since = pm_rules.overdue_since(due=pm.next_due_date, meter_due_at=pm.meter_due_at)
        if since is None:
            continue
        overdue = (today - since.date()).days
        # L.1 scenario 2: the block starts once the PM is past its threshold.
        if overdue > pm.overdue_threshold_days:
            blocks.append(
                Block(
                    "PM_OVERDUE",
                    "PM overdue - asset blocked",
                    {"schedule": pm.template_code, "days_overdue": overdue},
                )
            )
    if (
        asset.requires_certification
        and asset.certification_expiry
        and asset.certification_expiry < today
    ):
        blocks.append(
            Block(
                "CERTIFICATION_EXPIRED",
                "Certification expired",
                {"expired_at": asset.certification_expiry.isoformat()},
            )
        )
    return blocks


def active_on_asset(session: Session, asset_id: int) -> list[str]:
    return list(
        session.scalars(
            select(WorkOrder.number).where(
                WorkOrder.asset_id == asset_id, WorkOrder.status.in_(ACTIVE)
            )
        ).all()
    )


STARTED = ("IN_PROGRESS", "WAITING_PARTS", "ON_HOLD", "ESCALATED", "COMPLETED", "VERIFIED")


def started_on_asset(session: Session, asset_id: int) -> list[str]:
    """Work orders whose work has begun on the asset and which have not closed."""
    return list(
        session.scalars(
            select(WorkOrder.number)
            .where(WorkOrder.asset_id == asset_id, WorkOrder.status.in_(STARTED))
            .order_by(WorkOrder.id)
        ).all()
    )


def pm_blocks_on_asset(session: Session, asset: Asset, today: date) -> list[str]:
    """The PM schedules whose overdue BLOCK holds the asset out of service: past their
    threshold by the dispatch rule, or blocked by their workflow already."""
    overdue = {b.detail["schedule"] for b in dispatch_check(session, asset, today)
               if b.type == "PM_OVERDUE"}  # fmt: skip
    blocked = session.scalars(
        select(PmSchedule.template_code).where(
            PmSchedule.asset_id == asset.id, PmSchedule.blocked_at.is_not(None)
        )
    )
    return sorted(overdue | set(blocked))


def stop_work_open(session: Session, asset_id: int) -> bool:
    from domain.models import StopWork

    return (
        session.scalar(
            select(StopWork.id).where(StopWork.asset_id == asset_id, StopWork.cleared_at.is_(None))
        )
        is not None
    )


def open_on_asset(session: Session, asset_id: int) -> list[str]:
    """Every work order on the asset that is not final: each must learn of a stop-work."""
    return list(
        session.scalars(
            select(WorkOrder.number)
            .where(
                WorkOrder.asset_id == asset_id,
                WorkOrder.status.not_in(["CLOSED", "CANCELLED", "REJECTED"]),
            )
            .order_by(WorkOrder.id)
        ).all()
    )


def open_count(session: Session, organization_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                WorkOrder.organization_id == organization_id,
                WorkOrder.status.not_in(["CLOSED", "CANCELLED", "REJECTED"]),
            )
        )
        or 0
    )


def watch_assets(session: Session, today: date, certification_days: int = 30) -> list[str]:
    """The daily J.2 asset events: PM coming due, PM overdue, certification expiring.
    Keyed by day, so a second run the same day records nothing new."""
    emitted = []
    for pm, asset in session.execute(
        select(PmSchedule, Asset)
        .join(Asset, Asset.id == PmSchedule.asset_id)
        .where(
            PmSchedule.is_active.is_(True),
            PmSchedule.is_paused.is_(False),
            PmSchedule.next_due_date.is_not(None),
        )
    ):
        due = pm.next_due_date.date()
        days = (due - today).days
        if days < 0:
            kind = "asset.pm_overdue"
        elif days <= pm.alert_days_before:
            kind = "asset.pm_due"
        else:
            continue
        emit(
            session, asset.organization_id, kind, "ASSET", asset.asset_number,
            {"schedule": pm.template_code, "due": due.isoformat(), "days": days,
             "overdue_action": pm.overdue_action},
            f"{asset.asset_number}/{pm.template_code}/{kind}/{today.isoformat()}",
        )  # fmt: skip
        emitted.append(kind)
    for asset in session.scalars(
        select(Asset).where(
            Asset.requires_certification.is_(True), Asset.certification_expiry.is_not(None)
        )
    ):
        days = (asset.certification_expiry - today).days
        if days <= certification_days:
            emit(
                session, asset.organization_id, "asset.certification_expiring", "ASSET",
                asset.asset_number,
                {"expires": asset.certification_expiry.isoformat(), "days": days},
                f"{asset.asset_number}/certification/{today.isoformat()}",
            )  # fmt: skip
            emitted.append("asset.certification_expiring")
    return emitted
