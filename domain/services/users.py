"""Looking users up and checking their credentials."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.models import User
from domain.passwords import verify_password


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.username == username.strip().lower())).first()
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        return None
    return user


def actor_for(user: User, ip_address: str | None = None) -> Actor:
    return Actor(
        user.id, user.username, user.full_name, user.organization_id, tuple(user.roles), ip_address
    )
