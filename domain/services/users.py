"""Looking users up and checking their credentials."""

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.models import RevokedToken, User
from domain.passwords import verify_password
from domain.services import revoked_tokens


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.username == username.strip().lower())).first()
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        return None
    return user


def actor_for(user: User, ip_address: str | None = None) -> Actor:
    return Actor(
        user.id, user.username, user.full_name, user.organization_id, tuple(user.roles), ip_address
    )


def bearer(
    *, session: Session, user_id: int, token_id: str | None, ip_address: str | None = None
) -> tuple[bool, Actor | None]:
    """Whether the token is revoked, and the active user it names as an actor (None when
    the user is gone or disabled): one statement, as every API request asks it."""
    revoked = (
        select(RevokedToken.token_id).where(RevokedToken.token_id == token_id).exists()
        if token_id is not None
        else false()
    )
    row = session.execute(
        select(
            User.username,
            User.full_name,
            User.organization_id,
            User.roles,
            User.is_active,
            revoked.label("revoked"),
        ).where(User.id == user_id)
    ).first()
    if row is None:  # no user: still say revoked first, as a revoked token is told
        return revoked_tokens.is_revoked(session=session, token_id=token_id), None
    if not row.is_active:
        return row.revoked, None
    roles = tuple(row.roles)
    return row.revoked, Actor(
        user_id, row.username, row.full_name, row.organization_id, roles, ip_address
    )
