"""Bearer tokens revoked by their holder before they expire."""

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.models import RevokedToken


def revoke(
    *, session: Session, token_id: str, user_id: int, expires_at: datetime, now: datetime
) -> None:
    # A row past its token's expiry guards nothing: the signature check already refuses it.
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    session.execute(
        insert(RevokedToken)
        .values(token_id=token_id, user_id=user_id, expires_at=expires_at, revoked_at=now)
        .on_conflict_do_nothing(index_elements=[RevokedToken.token_id])
    )


def is_revoked(*, session: Session, token_id: str | None) -> bool:
    if token_id is None:
        return False
    return session.get(RevokedToken, token_id) is not None
