"""`plantops demo` loads the enterprise once; a second run adds nothing."""

from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from domain import demo_data
from domain.db import make_engine, make_sessionmaker
from domain.migrate import upgrade
from domain.models import Asset, Base, Site, User
from domain.rules.roles import Role
from domain.services.demo import load_demo
from workers.cli import main


def _counts(sessions) -> dict[str, int]:
    with sessions() as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
        }


def test_demo_twice_does_not_duplicate(cluster):
    name = cluster.create(template=None)
    try:
        upgrade(cluster.url(name))
        engine = make_engine(cluster.url(name), poolclass=NullPool)
        sessions = make_sessionmaker(engine)
        first = load_demo(sessions)
        assert first.startswith("demo loaded")
        after_first = _counts(sessions)
        assert load_demo(sessions) == "demo already loaded: nothing to add"
        assert _counts(sessions) == after_first
        with sessions() as s:
            assert s.scalar(select(func.count(Site.id))) == 3
            assert s.scalar(select(func.count(Asset.id))) == len(demo_data.ASSETS) + len(
                demo_data.SECOND_ASSETS
            )
            roles = {r for (rs,) in s.execute(select(User.roles)) for r in rs}
            assert roles == {r.value for r in Role}
            # The second organisation: one user per role, named b-<first org's name>.
            b_users = s.scalars(select(User).where(User.username.like("b-%"))).all()
            assert {r for u in b_users for r in u.roles} == {r.value for r in Role}
            first = {u["username"] for u in demo_data.USERS}
            assert {u.username.removeprefix("b-") for u in b_users} <= first
            assert len({u.organization_id for u in b_users}) == 1
            pilots = s.scalars(
                select(Asset.asset_number).where(
                    Asset.asset_number.in_(["SAW-JKS-001", "FORKLIFT-JKS-003", "ROUTER-JKS-001"])
                )
            ).all()
            assert len(pilots) == 3
        engine.dispose()
    finally:
        cluster.drop(name)


def test_demo_command_runs_against_a_configured_database(cluster, monkeypatch, capsys):
    name = cluster.create(template=None)
    try:
        monkeypatch.setenv("PLANTOPS_DATABASE_URL", cluster.url(name))
        from domain.settings import get_settings

        get_settings.cache_clear()
        main(["demo"])
        main(["demo"])
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("demo loaded") and out[1] == "demo already loaded: nothing to add"
    finally:
        get_settings.cache_clear()
        cluster.drop(name)
