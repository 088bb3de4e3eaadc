"""Seed 002's retention: rows past their kind's age deleted in batches, so a first run over
years of data holds no long lock; a run again deletes nothing more."""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.rules.retention import Keep, cutoff_value, round_of

BATCH = 5_000


def present(*, session: Session, keep: Keep) -> bool:
    """The table and its column exist (a table added by another part may not yet)."""
    return bool(
        session.execute(
            text(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = :t AND column_name = :c"
            ),
            {"t": keep.table, "c": keep.column},
        ).first()
    )


def purge_batch(*, session: Session, keep: Keep, now: datetime, limit: int = BATCH) -> int:
    """Up to `limit` rows of the table older than its cutoff deleted; how many."""
    if not present(session=session, keep=keep):
        return 0
    # Names come from the fixed RETENTION table, never from input.
    table, column = keep.table, keep.column
    result = session.execute(
        text(
            f'DELETE FROM "{table}" WHERE ctid = ANY(ARRAY('
            f'SELECT ctid FROM "{table}" WHERE "{column}" < :cut LIMIT :n))'
        ),
        {"cut": cutoff_value(keep, now), "n": limit},
    )
    return result.rowcount or 0


def kinds(*, sensor_raw_days: int) -> tuple[Keep, ...]:
    return round_of(sensor_raw_days)
