"""`plantops bench analytics` loads its output and summaries set-wise in the database: what
it loads must be what the production code would have rolled up, so the reads it times
answer as they would from the records. Timings are never asserted."""

import argparse
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from domain.actor import system_actor
from domain.models import Site
from domain.models.production import (
    OeeDailySummary,
    OeeHourlySummary,
    OeeStoppage,
    ProductionCount,
    ProductionDowntime,
)
from domain.rules.oee import Interval
from domain.services import oee, production
from workers.bench_analytics import _load


def test_the_bench_load_answers_as_the_records(sessions):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    args = argparse.Namespace(machines=3, days=4, grain=1, runs=1)
    with sessions() as s:
        loaded = _load(s, args, now)
        s.commit()
    with sessions() as s:
        tables = {
            "counts": ProductionCount,
            "stops": ProductionDowntime,
            "hour summaries": OeeHourlySummary,
            "day summaries": OeeDailySummary,
            "merged stoppages": OeeStoppage,
        }
        assert loaded == {k: s.scalar(select(func.count()).select_from(t))
                          for k, t in tables.items()}  # fmt: skip
        assert loaded["counts"] > 1_000 and loaded["stops"] > 0
        # One count a minute, none inside a stop.
        inside = s.scalar(
            select(func.count())
            .select_from(ProductionCount)
            .join(
                ProductionDowntime,
                (ProductionDowntime.machine_id == ProductionCount.machine_id)
                & (ProductionDowntime.start_time <= ProductionCount.period_start)
                & (ProductionDowntime.end_time > ProductionCount.period_start),
            )
        )
        assert inside == 0
        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        actor = system_actor(site.organization_id, "test")
        line = oee.resolve(session=s, actor=actor, line="BENCH")
        period = Interval(now - timedelta(days=3, minutes=7), now)
        assert oee.summed(session=s, scope=line, period=period) == oee.calculate(
            session=s, scope=line, period=period
        )
        assert oee.reliability_stored(session=s, scope=line, period=period) == oee.reliability(
            session=s, scope=line, period=period
        )
        for by in ("reason", "category"):
            assert oee.pareto_stored(session=s, scope=line, period=period, by=by) == oee.pareto(
                session=s, scope=line, period=period, by=by
            )
        shifts = production.site_shift_windows(session=s, site=site, period=period)
        for w in [w for w in shifts if w.interval.end <= now][-2:]:
            tallies = oee.hour_tallies(session=s, scope=line, period=w.interval)
            assert oee.figures_of(
                scope=line, period=w.interval, per_machine=tallies
            ) == oee.calculate(session=s, scope=line, period=w.interval)
