"""Stop-work orders (seed 003 F.3): opened and cleared once each, with their audit rows."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import NotFound
from domain.models import Asset, StopWork
from domain.services import dispatch as dispatch_service
from domain.services import steps
from domain.services.audit import record_change

ENTITY = "STOP_WORK"


def reference(swa_id: int) -> str:
    """The stop-work's reference: its lifecycle's id."""
    return f"SWA-{swa_id}"


def reserve_id(session: Session) -> int:
    return steps.reserve_id(session, "stop_work_orders")


def get(session: Session, organization_id: int, swa_id: int) -> StopWork:
    swa = session.get(StopWork, swa_id)
    if swa is None or swa.organization_id != organization_id:
        raise NotFound(f"stop-work {swa_id} not found", field="swa_id")
    return swa


# What the stop-work's lifecycle writes through the kit's step writer.
WRITABLE = frozenset({"status", "held_work_orders", "cleared_by", "cleared_at"})
DATETIMES = frozenset({"cleared_at"})


def load_locked(session: Session, organization_id: int, key: str) -> StopWork:
    """The stop-work of this reference (SWA-<id>), locked for its step's write."""
    swa_id = int(key.removeprefix("SWA-"))
    swa = session.get(StopWork, swa_id, with_for_update=True)
    if swa is None or swa.organization_id != organization_id:
        raise NotFound(f"stop-work {swa_id} not found", field="swa_id")
    return swa


RAISING = "RAISING"


def create(*, session: Session, actor: Actor, swa_id: int, asset_id: int, reason: str) -> list[str]:
    """The stop-work's row under its reserved id, once, unaudited: its first step
    (STOP_WORK_RAISED, through the step writer) audits it with the work orders active on
    the asset now, which this answers. A row raised before its steps were written this way
    is audited already: it counts as that first step done, and keeps the work it holds."""
    found = session.get(StopWork, swa_id, with_for_update=True)
    if found is None:
        session.add(
            StopWork(
                id=swa_id,
                organization_id=actor.organization_id,
                asset_id=asset_id,
                reason=reason,
                raised_by=actor.full_name,
                held_work_orders=[],
                status=RAISING,
            )
        )
        session.flush()
    elif found.status is None:
        found.status, found.last_step = "STOP_WORK_RAISED", max(found.last_step, 1)
        session.flush()
        return list(found.held_work_orders)
    elif found.status != RAISING:
        return list(found.held_work_orders)
    return dispatch_service.active_on_asset(session, asset_id)


def open_stop_work(
    *, session: Session, actor: Actor, swa_id: int, asset_id: int, reason: str
) -> StopWork:
    """The stop-work's row under its reserved id, naming the work it holds, with its audit
    row; once (runs recorded before the step writer)."""
    found = session.get(StopWork, swa_id)
    if found is not None:
        return found
    swa = StopWork(
        id=swa_id,
        organization_id=actor.organization_id,
        asset_id=asset_id,
        reason=reason,
        raised_by=actor.full_name,
        held_work_orders=dispatch_service.active_on_asset(session, asset_id),
    )
    session.add(swa)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=reference(swa_id),
        action="STOP_WORK_RAISED",
        before=None,
        after={"asset": session.get(Asset, asset_id).asset_number,
               "held_work_orders": swa.held_work_orders},
        reason=reason,
    )  # fmt: skip
    return swa


def open_on(session: Session, asset_id: int) -> list[int]:
    """The stop-works open on the asset: it stays held while there is one."""
    return list(
        session.scalars(
            select(StopWork.id)
            .where(StopWork.asset_id == asset_id, StopWork.cleared_at.is_(None))
            .order_by(StopWork.id)
        ).all()
    )


def mark_cleared(
    *, session: Session, actor: Actor, swa_id: int, reason: str, now: datetime
) -> StopWork:
    """Cleared once, with its audit row."""
    swa = get(session, actor.organization_id, swa_id)
    if swa.cleared_at is None:
        _close(session, actor, swa, "STOP_WORK_CLEARED", reason, now)
        session.flush()
    return swa


def void_refused(*, session: Session, actor: Actor, swa_id: int, why: str, now: datetime) -> None:
    """A stop-work whose asset refused the hold is closed at once, audited, so no open
    stop-work is left that no lifecycle will ever clear."""
    swa = session.get(StopWork, swa_id)
    if swa is None or swa.cleared_at is not None:
        return
    _close(session, actor, swa, "STOP_WORK_VOIDED", f"the asset refused the hold: {why}", now)
    session.flush()


def _close(
    session: Session, actor: Actor, swa: StopWork, action: str, reason: str, now: datetime
) -> None:
    swa.cleared_by, swa.cleared_at = actor.full_name, now
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=reference(swa.id),
        action=action,
        before={"cleared": False},
        after={"cleared": True},
        reason=reason,
    )
