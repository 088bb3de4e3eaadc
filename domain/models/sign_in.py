"""Sign-in state kept server-side: failed tries, locks per (username, address), web sessions,
revoked API tokens."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class SignInFailure(Base):
    """One failed try. Keyed by the typed username (known or not, so a refusal does not tell
    which names exist) and the client address."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_pair", "username", "address", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(index=True)


class SignInLock(Base):
    """A (username, address) pair refused until `locked_until`, unless unlocked earlier."""

    __tablename__ = "sign_in_locks"
    __table_args__ = (Index("ix_sign_in_locks_pair", "username", "address", "locked_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    failures: Mapped[int]
    locked_at: Mapped[datetime]
    locked_until: Mapped[datetime]
    unlocked_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser. The cookie carries a random token; only its hash is stored, and
    a session ends when revoked (sign-out) or past `expires_at`."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]


class RevokedToken(Base):
    """A bearer token its holder revoked before it expired; kept until it would expire."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime]
