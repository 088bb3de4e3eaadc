"""`plantops unlock USER`: clear the user's sign-in locks and counted failures."""

import getpass
from datetime import UTC, datetime

from domain.db import make_engine, make_sessionmaker
from domain.services.sign_in import unlock as clear
from domain.services.sign_in import username_key
from workers.embedded import StartupError


def _operator() -> str:
    """Who ran the command, for the audit row: the operating-system account."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return "unknown"


def unlock(url: str, username: str, reason: str) -> str:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            try:
                result = clear(
                    session=session,
                    username=username,
                    by=_operator(),
                    reason=reason,
                    now=datetime.now(UTC),
                )
            except LookupError as err:
                raise StartupError(str(err)) from None
            session.commit()
    finally:
        engine.dispose()
    username = username_key(username)
    if not result.addresses and not result.failures:
        return f"{username}: no sign-in locks or failures to clear"
    where = ", ".join(result.addresses) or "no address"
    return (
        f"{username}: unlocked (was locked from {where}; "
        f"{result.failures} counted failures cleared)"
    )
