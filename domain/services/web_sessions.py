"""Server-side web sessions: the cookie holds a random token, the table says whether it
still opens pages. Signing out revokes the row, so a copied cookie dies with it."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from domain.models import User, WebSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    *, session: Session, user: User, address: str | None, ttl: timedelta, now: datetime
) -> str:
    """A new session for the user; returns the token for the cookie (stored only hashed)."""
    session.execute(
        delete(WebSession).where(
            WebSession.user_id == user.id,
            or_(WebSession.expires_at <= now, WebSession.revoked_at.is_not(None)),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_hash(token),
            user_id=user.id,
            address=address[:64] if address else None,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def user_for(*, session: Session, token: str | None, now: datetime) -> User | None:
    """The active user a live, unrevoked session token belongs to."""
    if not token or not isinstance(token, str):
        return None
    user = session.scalars(
        select(User)
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.token_hash == _hash(token),
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
        )
    ).first()
    return user if user is not None and user.is_active else None


def revoke(*, session: Session, token: str | None, now: datetime) -> None:
    if token and isinstance(token, str):
        session.execute(
            update(WebSession)
            .where(WebSession.token_hash == _hash(token), WebSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
