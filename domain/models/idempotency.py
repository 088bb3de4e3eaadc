"""Keys of retried writes: the first answer to a key, kept per user for a day, so a
retry gets that answer instead of doing the action again."""

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    # sha256 of the request (method, path, query, body): the same key with another
    # request is refused rather than answered with the first one's result.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Null while the first request is still running; then its answer.
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(2000))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # A running request holds the key until then; a crashed one lets a retry take over.
    locked_until: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
