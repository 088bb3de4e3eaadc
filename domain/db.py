"""Engine and session factories; the activity or request owns each transaction."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and route them through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs) -> Engine:
    # Pre-ping replaces connections a database restart has broken, so callers recover by
    # themselves; the connect timeout makes an unreachable server fail fast, not hang.
    kwargs.setdefault("pool_pre_ping", True)
    kwargs["connect_args"] = {"connect_timeout": 5, **kwargs.get("connect_args", {})}
    return create_engine(normalise_url(url), **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
