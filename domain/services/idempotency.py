"""Idempotency keys: claim a key for one request, store its answer, find it again."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.models import IdempotencyKey, User


@dataclass(frozen=True)
class Answer:
    status_code: int
    content_type: str | None
    location: str | None
    body: bytes


@dataclass(frozen=True)
class Claim:
    """What a key holds for another request: its fingerprint and, once done, its answer."""

    fingerprint: str
    answer: Answer | None


def claim(
    session: Session,
    *,
    user_id: int,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
    lease: timedelta,
) -> bool:
    """True when this request now holds the key: it is new, expired, or was left unanswered
    by a request that died. The unique (user, key) makes two claims exclusive."""
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.expires_at < now
        )
    )
    fresh = {
        "method": method,
        "path": path,
        "fingerprint": fingerprint,
        "status_code": None,
        "content_type": None,
        "location": None,
        "body": None,
        "created_at": now,
        "locked_until": now + lease,
        "expires_at": now + ttl,
    }
    organization = select(User.organization_id).where(User.id == user_id).scalar_subquery()
    stmt = insert(IdempotencyKey).values(
        organization_id=organization, user_id=user_id, key=key, **fresh
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "key"],
        set_=fresh,
        where=or_(
            IdempotencyKey.expires_at < now,
            and_(IdempotencyKey.status_code.is_(None), IdempotencyKey.locked_until < now),
        ),
    ).returning(IdempotencyKey.id)
    return session.execute(stmt).scalar_one_or_none() is not None


def find(session: Session, *, user_id: int, key: str) -> Claim | None:
    row = session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).one_or_none()
    if row is None:
        return None
    answer = (
        Answer(row.status_code, row.content_type, row.location, row.body or b"")
        if row.status_code is not None
        else None
    )
    return Claim(row.fingerprint, answer)


def finish(session: Session, *, user_id: int, key: str, answer: Answer) -> None:
    row = session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).one()
    row.status_code = answer.status_code
    row.content_type = answer.content_type
    row.location = answer.location
    row.body = answer.body


def release(session: Session, *, user_id: int, key: str) -> None:
    """Frees a key whose request produced no answer worth repeating (a server fault)."""
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.key == key,
            IdempotencyKey.status_code.is_(None),
        )
    )
