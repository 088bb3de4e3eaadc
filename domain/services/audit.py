"""Writing the audit trail: who, role, when, before, after, reason."""

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.models import AuditLog


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def record_change(
    *,
    session: Session,
    actor: Actor,
    entity_type: str,
    entity_id: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None = None,
) -> AuditLog:
    before_d, after_d = before or {}, after or {}
    changed = sorted(
        k for k in before_d.keys() | after_d.keys() if before_d.get(k) != after_d.get(k)
    )
    row = AuditLog(
        organization_id=actor.organization_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        previous_state=before,
        new_state=after,
        changed_fields=changed,
        user_id=actor.user_id,
        user_name=actor.full_name,
        user_role=actor.role,
        ip_address=actor.ip_address,
        reason=reason,
    )
    session.add(row)
    return row
