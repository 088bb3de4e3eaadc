"""The production demo: days of output, stops and energy at JKS, loaded once, whose
summaries tell the same figures as the raw records they were computed from."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from domain.actor import system_actor
from domain.models import Site
from domain.models.production import OeeDailySummary, ProductionCount, ProductionDowntime
from domain.rules.oee import figures, percent
from domain.services import oee
from domain.services.oee_snapshots import retake_late, summary_tally
from domain.services.production_demo import load_production_demo

NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)


def test_loaded_once_and_the_summaries_agree_with_the_records(sessions):
    first = load_production_demo(sessions, days=14, now=NOW)
    assert first.startswith("production demo loaded: 4 machines")
    assert load_production_demo(sessions, days=14, now=NOW).startswith("production demo already")
    with sessions() as s:
        assert s.scalar(select(func.count(ProductionCount.id))) > 100
        assert s.scalar(select(func.count(ProductionDowntime.id))) > 10
        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        actor = system_actor(site.organization_id, "test")
        scope = oee.resolve(session=s, actor=actor, site="JKS")
        start = NOW - timedelta(days=10)
        days = s.scalars(
            select(OeeDailySummary).where(
                OeeDailySummary.day > start.date(), OeeDailySummary.day < NOW.date()
            )
        ).all()
        # The same whole site-local days from the raw records.
        first_day = min(d.day for d in days)
        last_day = max(d.day for d in days)
        from domain.rules.shifts import site_day

        period = oee.period_of(
            site_day(first_day, site.timezone).start, site_day(last_day, site.timezone).end, now=NOW
        )
        raw = oee.calculate(session=s, scope=scope, period=period)
    summed = figures(summary_tally(days))
    assert percent(summed.oee) == raw["oee_pct"]
    assert percent(summed.availability) == raw["availability_pct"]
    assert 40 < raw["oee_pct"] < 90


def test_figures_from_the_summaries_equal_those_from_the_records(sessions):
    load_production_demo(sessions, days=14, now=NOW)
    with sessions() as s:
        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        actor = system_actor(site.organization_id, "test")
        # Ragged ends: part of an hour, whole hours, whole days, whole hours, part of one.
        period = oee.period_of(NOW - timedelta(days=9, hours=7, minutes=13),
                               NOW - timedelta(days=2, hours=3, minutes=41), now=NOW)  # fmt: skip
        for scope in (oee.resolve(session=s, actor=actor, site="JKS"),
                      oee.resolve(session=s, actor=actor, machine="SAW-JKS-002")):  # fmt: skip
            raw = oee.calculate(session=s, scope=scope, period=period)
            fast = oee.summed(session=s, scope=scope, period=period)
            for key in ("oee_pct", "availability_pct", "performance_pct", "quality_pct",
                        "planned_minutes", "down_minutes", "good_count"):  # fmt: skip
                assert fast[key] == raw[key], key
        trend = oee.trend(session=s, scope=scope, period=period, grain="day")
    assert len(trend["points"]) == 6  # weekdays only: no shifts at the weekend
    assert all(p["oee_pct"] is None or 0 <= p["oee_pct"] <= 100 for p in trend["points"])


def test_the_snapshot_round_after_the_load_has_no_late_records_to_retake(sessions):
    # The demo's records are stamped when they happened: the round that follows the load
    # (at most five minutes later) finds nothing recorded late, so it does not take the
    # whole demo period again (minutes of work, past its time limit).
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    load_production_demo(sessions, days=3, now=now - timedelta(hours=1))
    with sessions() as s:
        stamped = s.scalar(select(func.max(ProductionDowntime.updated_at)))
        assert stamped <= now - timedelta(hours=1)
        assert retake_late(session=s, taken_at=now + timedelta(minutes=1)) == 0
