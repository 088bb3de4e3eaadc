"""Signing in under the limits of `domain.rules.sign_in`, locks in the audit log, unlocking.

Tries of one (username, address) pair are serialised with a transaction-scoped advisory
lock, so parallel requests cannot all slip past the check before their failures are
counted. The caller commits: failures must be stored even when the answer is a refusal.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.models import AuditLog, SignInFailure, SignInLock, User
from domain.rules.sign_in import SignInLimits, wait_after
from domain.services.audit import record_change
from domain.services.users import authenticate

SYSTEM_ROLE = "SYSTEM"


@dataclass(frozen=True)
class Refusal:
    """Come back after `wait`. `locked`: the pair is locked, not merely slowed down."""

    wait: timedelta
    locked: bool


@dataclass(frozen=True)
class Outcome:
    user: User | None = None
    refusal: Refusal | None = None


def username_key(username: str) -> str:
    return username.strip().lower()[:80]


def attempt(
    *,
    session: Session,
    username: str,
    password: str,
    address: str,
    limits: SignInLimits,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """The user on success; a refusal while locked or slowed down (the password is then not
    checked); neither for wrong credentials, which are counted."""
    name = username_key(username)
    address = address[:64]
    if not _storable(name):
        return Outcome()  # no user has such a name; PostgreSQL text cannot hold it anyway
    session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"{name}\n{address}", 0)))
    )
    # The time only once the lock is held: a try that waited for it must not predate the
    # failure recorded by the try before it.
    now = clock()
    refusal = _refusal(session, name, address, limits, now)
    if refusal is not None:
        return Outcome(refusal=refusal)
    user = authenticate(session=session, username=name, password=password) if password else None
    if user is not None:
        session.execute(_pair_failures(delete(SignInFailure), name, address))
        return Outcome(user=user)
    _forget_stale_failures(session, now - limits.window)
    session.add(SignInFailure(username=name, address=address, failed_at=now))
    session.flush()
    failures, _ = _recent_failures(session, name, address, limits, now)
    if failures >= limits.lock_after:
        return Outcome(refusal=_lock(session, name, address, failures, limits, now))
    return Outcome()


def _forget_stale_failures(session: Session, before: datetime) -> None:
    """Failures past the window count for nobody: keep the table small. Rows another try
    is deleting are skipped rather than waited for (no deadlock between pairs)."""
    stale = (
        select(SignInFailure.id)
        .where(SignInFailure.failed_at <= before)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(SignInFailure).where(SignInFailure.id.in_(stale.scalar_subquery())))


def _storable(text: str) -> bool:
    """PostgreSQL text holds neither NUL nor lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _pair_failures(statement, name: str, address: str):
    return statement.where(SignInFailure.username == name, SignInFailure.address == address)


def _recent_failures(
    session: Session, name: str, address: str, limits: SignInLimits, now: datetime
) -> tuple[int, datetime | None]:
    count, last = session.execute(
        _pair_failures(
            select(func.count(), func.max(SignInFailure.failed_at)), name, address
        ).where(SignInFailure.failed_at > now - limits.window)
    ).one()
    return count, last


def _active_lock(session: Session, name: str, address: str, now: datetime) -> SignInLock | None:
    return session.scalars(
        select(SignInLock)
        .where(
            SignInLock.username == name,
            SignInLock.address == address,
            SignInLock.locked_until > now,
            SignInLock.unlocked_at.is_(None),
        )
        .order_by(SignInLock.locked_until.desc())
    ).first()


def _refusal(
    session: Session, name: str, address: str, limits: SignInLimits, now: datetime
) -> Refusal | None:
    lock = _active_lock(session, name, address, now)
    if lock is not None:
        return Refusal(lock.locked_until - now, locked=True)
    failures, last = _recent_failures(session, name, address, limits, now)
    wait = wait_after(failures, limits)
    if last is None or not wait or last + wait <= now:
        return None
    return Refusal(last + wait - now, locked=False)


def _lock(
    session: Session, name: str, address: str, failures: int, limits: SignInLimits, now: datetime
) -> Refusal:
    """Lock the pair. Its failures are consumed, so after the lock it starts afresh."""
    user = session.scalars(select(User).where(User.username == name)).first()
    lock = SignInLock(
        username=name,
        address=address,
        user_id=user.id if user else None,
        failures=failures,
        locked_at=now,
        locked_until=now + limits.lock_for,
    )
    session.add(lock)
    session.execute(_pair_failures(delete(SignInFailure), name, address))
    if user is not None:  # an unknown name has no organisation to audit under
        minutes = int(limits.window.total_seconds() // 60)
        _audit(
            session,
            Actor(None, "sign-in", "plantops sign-in", user.organization_id, (), address),
            name,
            "SIGN_IN_LOCKED",
            {"locked": False, "address": address},
            {"locked": True, "address": address, "locked_until": lock.locked_until.isoformat()},
            f"{failures} failed sign-ins within {minutes} minutes from {address}",
        )
    return Refusal(limits.lock_for, locked=True)


def _audit(
    session: Session,
    actor: Actor,
    username: str,
    action: str,
    before: dict,
    after: dict,
    reason: str,
) -> AuditLog:
    row = record_change(
        session=session,
        actor=actor,
        entity_type="user",
        entity_id=username,
        action=action,
        before=before,
        after=after,
        reason=reason,
    )
    row.user_role = SYSTEM_ROLE  # the platform or its command line, not a person's role
    return row


@dataclass(frozen=True)
class Unlocked:
    addresses: list[str]
    failures: int


def unlock(*, session: Session, username: str, by: str, reason: str, now: datetime) -> Unlocked:
    """Clear every lock and counted failure of a known user, from every address, and audit
    it when there was anything to clear. Raises LookupError for an unknown user."""
    name = username_key(username)
    user = session.scalars(select(User).where(User.username == name)).first()
    if user is None:
        raise LookupError(f"no user named {name!r}")
    addresses = sorted(
        set(
            session.scalars(
                update(SignInLock)
                .where(
                    SignInLock.username == name,
                    SignInLock.locked_until > now,
                    SignInLock.unlocked_at.is_(None),
                )
                .values(unlocked_at=now)
                .returning(SignInLock.address)
            ).all()
        )
    )
    failures = session.execute(delete(SignInFailure).where(SignInFailure.username == name))
    result = Unlocked(addresses, failures.rowcount or 0)
    if addresses or result.failures:
        _audit(
            session,
            Actor(None, by, f"{by} (plantops unlock)", user.organization_id, ()),
            name,
            "SIGN_IN_UNLOCKED",
            {"locked_addresses": addresses, "failures": result.failures},
            {"locked_addresses": [], "failures": 0},
            reason,
        )
    return result
