"""The notification outbox: rows keyed for idempotency, then delivered one by one."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.models import Notification, User
from domain.rules.alerts import Channel


@dataclass(frozen=True)
class Message:
    key: str
    organization_id: int
    reference: str | None
    event: str
    channel: Channel
    recipient: User
    subject: str
    body: str
    digest: str | None = None


def address(user: User, channel: Channel) -> str | None:
    if channel is Channel.EMAIL:
        return user.email
    if channel in (Channel.SMS, Channel.VOICE, Channel.WHATSAPP):
        return user.phone
    return None


def enqueue(session: Session, messages: list[Message], deliverable: set[Channel]) -> list[str]:
    """Insert what is not there yet, in one statement; a key seen before (a retry) inserts
    nothing. The keys still waiting for a provider (PENDING), whether new or from before."""
    if not messages:
        return []
    now = datetime.now(UTC)
    rows = []
    for m in messages:
        addr = address(m.recipient, m.channel)
        if m.channel is Channel.IN_APP:
            status = "SENT"  # the row is the in-app notice
        elif m.digest:
            status = "DIGEST"
        elif addr is None:
            status = "FAILED"
        elif m.channel not in deliverable:
            status = "HELD"  # no provider configured: kept, shown on the outbox page
        else:
            status = "PENDING"
        rows.append(
            {
                "key": m.key,
                "organization_id": m.organization_id,
                "reference": m.reference,
                "event": m.event,
                "channel": m.channel.value,
                "recipient_id": m.recipient.id,
                "recipient_name": m.recipient.full_name,
                "address": addr,
                "subject": m.subject[:300],
                "body": m.body,
                "status": status,
                "digest": m.digest,
                "last_error": f"{m.recipient.username} has no {m.channel.value} address"
                if status == "FAILED"
                else None,
                "sent_at": now if status == "SENT" else None,
            }
        )
    inserted = dict(
        session.execute(
            insert(Notification)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(Notification.key, Notification.status)
        ).all()
    )
    pending = {k for k, status in inserted.items() if status == "PENDING"}
    earlier = [m.key for m in messages if m.key not in inserted]
    if earlier:
        pending.update(
            session.scalars(
                select(Notification.key).where(
                    Notification.key.in_(earlier), Notification.status == "PENDING"
                )
            ).all()
        )
    return [m.key for m in messages if m.key in pending]


def pending_ids(session: Session, keys: list[str]) -> list[int]:
    return list(
        session.scalars(
            select(Notification.id)
            .where(Notification.key.in_(keys), Notification.status == "PENDING")
            .order_by(Notification.id)
        ).all()
    )


def claim(session: Session, notification_id: int) -> Notification | None:
    """Lock one pending row for sending; None if another attempt holds or sent it."""
    return session.scalars(
        select(Notification)
        .where(Notification.id == notification_id, Notification.status == "PENDING")
        .with_for_update(skip_locked=True)
    ).one_or_none()


def unread(session: Session, user_id: int, limit: int = 20) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(
                Notification.recipient_id == user_id,
                Notification.channel == Channel.IN_APP.value,
                Notification.read_at.is_(None),
            )
            .order_by(Notification.id.desc())
            .limit(limit)
        ).all()
    )
