"""The maintenance event stream: what happened to a work order, read back in order."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.models import (
    MaintenanceEvent,
)


def emit(
    session: Session,
    organization_id: int,
    type: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any],
    key: str,
) -> None:
    """Append a J.2 event; the same key twice (a retried activity) appends nothing."""
    session.execute(
        insert(MaintenanceEvent)
        .values(
            organization_id=organization_id,
            type=type,
            entity_type=entity_type,
            entity_id=entity_id,
            payload=payload,
            key=key,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )


def events_after(
    session: Session, organization_id: int, after: int, limit: int, types: list[str] | None
) -> list[MaintenanceEvent]:
    query = select(MaintenanceEvent).where(
        MaintenanceEvent.organization_id == organization_id, MaintenanceEvent.id > after
    )
    if types:
        query = query.where(MaintenanceEvent.type.in_(types))
    return list(session.scalars(query.order_by(MaintenanceEvent.id).limit(limit)).all())
