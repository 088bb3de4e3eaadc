"""The schema exists only through migrations, which go up and down on an empty database."""

from sqlalchemy import inspect

from domain.db import make_engine
from domain.migrate import downgrade, upgrade
from domain.models import Base


def test_up_down_up_on_an_empty_database(cluster):
    name = cluster.create(template=None)
    url = cluster.url(name)
    try:
        upgrade(url)
        engine = make_engine(url)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        engine.dispose()
        downgrade(url, "base")
        engine = make_engine(url)
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        engine.dispose()
        upgrade(url)
    finally:
        cluster.drop(name)


def test_models_match_the_migrations(cluster):
    """Autogenerate finds nothing to do: the models and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    name = cluster.create(template=None)
    try:
        upgrade(cluster.url(name))
        engine = make_engine(cluster.url(name))
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        engine.dispose()
        assert diff == []
    finally:
        cluster.drop(name)
