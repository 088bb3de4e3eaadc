"""Alembic environment: the URL comes from the caller or from the one settings class."""

from alembic import context

from domain.db import make_engine
from domain.models import Base
from domain.settings import get_settings

config = context.config
url = config.attributes.get("database_url") or get_settings().database_url
if not url:
    raise SystemExit("PLANTOPS_DATABASE_URL is not set; `plantops migrate` resolves it for you")


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
