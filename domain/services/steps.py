"""Numbering and step-keyed writes shared by every lifecycle's records."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.models import ReferenceCounter
from domain.services.audit import record_change


def next_number(session: Session, prefix: str, year: int, width: int) -> str:
    """PREFIX-YYYY-NNN…, gapless per prefix and year: the counter row stays locked until
    the transaction commits, and a rollback hands the number back (a sequence would not)."""
    number = session.execute(
        insert(ReferenceCounter)
        .values(prefix=prefix, year=year, last=1)
        .on_conflict_do_update(
            index_elements=["prefix", "year"], set_={"last": ReferenceCounter.last + 1}
        )
        .returning(ReferenceCounter.last)
    ).scalar_one()
    return f"{prefix}-{year}-{number:0{width}d}"


def next_numbers(session: Session, prefix: str, year: int, width: int, count: int) -> list[str]:
    """`count` numbers in a row in one statement, as `count` calls of next_number would give."""
    last = session.execute(
        insert(ReferenceCounter)
        .values(prefix=prefix, year=year, last=count)
        .on_conflict_do_update(
            index_elements=["prefix", "year"], set_={"last": ReferenceCounter.last + count}
        )
        .returning(ReferenceCounter.last)
    ).scalar_one()
    return [f"{prefix}-{year}-{n:0{width}d}" for n in range(last - count + 1, last + 1)]


def reserve_id(session: Session, table: str) -> int:
    """A row's id before the row exists, so the lifecycle that writes it can be named
    after it."""
    return session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id'))"), {"table": table}
    ).scalar_one()


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def parse_datetimes(changes: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """Workflow payloads carry datetimes as ISO strings; the columns want datetimes."""
    return {
        k: datetime.fromisoformat(v) if k in fields and isinstance(v, str) else v
        for k, v in changes.items()
    }


def write_step(
    *,
    session: Session,
    row: Any,
    entity_type: str,
    entity_id: str,
    writable: set[str],
    step: int,
    action: str,
    changes: dict[str, Any],
    actor: Actor,
    reason: str | None,
) -> bool:
    """Apply one workflow decision to its (locked) row with its audit row. False when the
    row has seen this step already: an activity retried after its commit changes nothing."""
    unknown = set(changes) - writable
    if unknown:
        raise ValueError(f"not writable by the workflow: {sorted(unknown)}")
    if row.last_step >= step:
        return False
    before = {k: plain(getattr(row, k)) for k in changes}
    for key, value in changes.items():
        setattr(row, key, value)
    row.last_step = step
    record_change(
        session=session,
        actor=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        before=before,
        after={k: plain(v) for k, v in changes.items()},
        reason=reason,
    )
    return True
