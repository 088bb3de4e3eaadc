"""`plantops bench analytics`: the OEE and reliability reads over 90 days of output for a
site of many machines, on a scratch PostgreSQL of its own (nothing running is touched).

It loads shifts, output per machine every `--grain` minutes, stoppages with reasons and
the hourly and daily summaries, then times each read `--runs` times warm and prints the
median and the 95th percentile."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from domain.actor import system_actor
from domain.models import Asset, Site
from domain.models.production import Machine, OeeDailySummary, OeeHourlySummary
from domain.rules import oee as rules
from domain.rules.oee import Interval, Stop
from domain.rules.shifts import site_day
from domain.services import oee, oee_stoppages, production, shift_reports

SITE = "JKS"
REASONS = (("BD-MECH", "breakdown"), ("BD-ELEC", "breakdown"), ("SU-CHNG", "changeover"),
           ("MT-WAIT", "material"), ("OP-NONE", "operator"), ("CL-SAN", "cleaning"))  # fmt: skip


def add_arguments(bench) -> None:
    bench.add_argument("--machines", type=int, default=200, help="analytics: machines")
    bench.add_argument("--days", type=int, default=90, help="analytics: days of history")
    bench.add_argument("--grain", type=int, default=1, help="analytics: minutes per count")
    bench.add_argument("--runs", type=int, default=20, help="analytics: warm runs per read")


def cmd_bench_analytics(args: argparse.Namespace) -> None:
    from domain.db import make_engine, make_sessionmaker
    from domain.migrate import upgrade
    from domain.services.demo import load_demo
    from workers.embedded import EmbeddedPostgres, free_port

    if 60 % args.grain:
        raise SystemExit("--grain must divide an hour (1, 2, 3, 5, 10, 15, 30 or 60)")
    root = Path(tempfile.mkdtemp(prefix="plantops-bench-analytics-"))
    pg = EmbeddedPostgres(root / "data", free_port(), durable=False)
    pg.start()
    try:
        import psycopg

        with psycopg.connect(pg.url("postgres").replace("+psycopg", ""), autocommit=True) as c:
            c.execute('CREATE DATABASE "bench"')
        url = pg.url("bench")
        upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        load_demo(sessions)
        started = time.perf_counter()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        with sessions() as s:
            counts, stops = _load(s, args, now)
            s.commit()
        print(f"loaded {args.machines} machines x {args.days} days: {counts:,} counts "
              f"(every {args.grain} min), {stops:,} stops, summaries, "
              f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        with sessions() as s:
            s.execute(text("ANALYZE"))
            s.commit()
            _time_reads(s, args, now)
        engine.dispose()
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def _load(s: Session, args: argparse.Namespace, now: datetime) -> tuple[int, int]:
    site = s.scalars(select(Site).where(Site.code == SITE)).one()
    template = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-001")).one()
    production.ensure_reasons(session=s, organization_id=site.organization_id)
    production.add_shift(
        session=s,
        site=site,
        code="DAY",
        starts_at=clock(6),
        ends_at=clock(14),
        weekdays=[1, 2, 3, 4, 5],
        planned_stops=[(clock(10), clock(10, 30))],
    )
    production.add_shift(session=s, site=site, code="EVE", starts_at=clock(14),
                         ends_at=clock(22), weekdays=[1, 2, 3, 4, 5])  # fmt: skip
    line = production.add_line(session=s, site=site, code="BENCH", name="Bench line")
    ids = s.execute(insert(Asset).returning(Asset.id), [
        {"organization_id": site.organization_id, "asset_number": f"BENCH-{i:04d}",
         "name": f"Bench machine {i}", "type_id": template.type_id,
         "criticality": template.criticality, "site_id": site.id}
        for i in range(args.machines)
    ]).scalars().all()  # fmt: skip
    rng = random.Random(7)
    machines = s.execute(insert(Machine).returning(Machine), [
        {"organization_id": site.organization_id, "asset_id": a, "site_id": site.id,
         "line_id": line.id, "ideal_cycle_seconds": rng.choice((20.0, 30.0, 45.0, 60.0))}
        for a in ids
    ]).scalars().all()  # fmt: skip
    s.flush()
    zone = ZoneInfo(site.timezone)
    first = (now - timedelta(days=args.days)).astimezone(zone).date()
    period = Interval(site_day(first, site.timezone).start, now)
    every = production.site_shift_windows(session=s, site=site, period=period)
    windows = [w for w in every if w.interval.end <= now]  # with output and stops
    # The shift running now has no output yet but its whole hours are summarised, as the
    # snapshot round would have (planned time, nothing made).
    summarised = [w for w in every if w.interval.start < now]
    last_hour = now.replace(minute=0)
    raw = s.connection().connection.dbapi_connection
    n_counts = n_stops = 0
    hourly, daily = [], []
    step = timedelta(minutes=args.grain)
    for m in machines:
        stops: list[Stop] = []
        count_rows = []
        per_hour: dict[datetime, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for w in windows:
            shift_stops = []
            for _ in range(rng.choice((0, 1, 2, 2, 3))):
                start = w.interval.start + timedelta(minutes=rng.randrange(0, 450))
                code, category = rng.choice(REASONS)
                end = start + timedelta(minutes=rng.randrange(5, 90))
                shift_stops.append(Stop(f"b{n_stops}", m.id, start, end, code, category))
                n_stops += 1
            stops += shift_stops
            for part in w.planned:
                at = part.start
                while at < part.end:
                    if not any(x.start <= at < x.end for x in shift_stops):
                        made = int(args.grain * 60 / m.ideal_cycle_seconds * rng.uniform(0.8, 0.97))
                        bad = int(made * rng.uniform(0, 0.03))
                        count_rows.append((m.organization_id, m.id, at, at + step, made,
                                           made - bad, bad, m.ideal_cycle_seconds))  # fmt: skip
                        hour = at.replace(minute=0)
                        sums = per_hour[hour]
                        sums[0] += made
                        sums[1] += made - bad
                        sums[2] += made * m.ideal_cycle_seconds
                    at += step
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY production_counts (organization_id, machine_id, period_start, period_end, "
                "total, good, reject, ideal_cycle_seconds, rework, startup_reject, recorded_by, "
                "recorded_at) FROM STDIN"
            ) as copy,
        ):
            for r in count_rows:
                copy.write_row((*r, 0, 0, "bench", r[3]))
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY production_downtime (organization_id, machine_id, line_id, reason_code, "
                "category, planned, severity, start_time, end_time, duration_minutes, logged_by, "
                "created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            for x in stops:
                minutes = (x.end - x.start).total_seconds() / 60
                copy.write_row(
                    (
                        m.organization_id,
                        m.id,
                        m.line_id,
                        x.reason_code,
                        x.category,
                        False,
                        "medium",
                        x.start,
                        x.end,
                        minutes,
                        "bench",
                        now,
                        now,
                    )
                )
        n_counts += len(count_rows)
        # The summaries: times from the engine, counts summed per hour (they never straddle).
        merged = rules.merge_stops(stops)
        planned = [p for w in windows for p in w.planned]
        by_day: dict = defaultdict(rules.Tally)
        for w in summarised:
            hour = w.interval.start
            while hour < w.interval.end and hour + timedelta(hours=1) <= last_hour:
                h = Interval(hour, hour + timedelta(hours=1))
                near = [x for x in merged if x.start < h.end and (x.end or now) > h.start]
                t = rules.tally(period=h, planned=[p for p in w.planned if p.clip(h)],
                                stoppages=near, counts=[])  # fmt: skip
                total, good, ideal = per_hour.pop(hour, (0.0, 0.0, 0.0))
                t = t + rules.Tally(total=total, good=good, ideal_s=ideal)
                hourly.append({"organization_id": m.organization_id, "machine_id": m.id,
                               "hour_start": hour, **vars(t)})  # fmt: skip
                by_day[hour.astimezone(zone).date()] = by_day[hour.astimezone(zone).date()] + t
                hour = h.end
        del planned
        daily += [{"organization_id": m.organization_id, "machine_id": m.id, "day": d, **vars(t)}
                  for d, t in by_day.items()]  # fmt: skip
    for table, rows in ((OeeHourlySummary, hourly), (OeeDailySummary, daily)):
        for i in range(0, len(rows), 5000):
            s.execute(insert(table), rows[i : i + 5000])
    # The merged stoppages the record hooks and the snapshot round keep, in one pass.
    oee_stoppages.rebuild(session=s, machines=machines, period=Interval(period.start, now))
    return n_counts, n_stops


def _time_reads(s: Session, args: argparse.Namespace, now: datetime) -> None:
    site = s.scalars(select(Site).where(Site.code == SITE)).one()
    actor = system_actor(site.organization_id, "bench")
    period = Interval(now - timedelta(days=args.days), now)
    scope = oee.resolve(session=s, actor=actor, site=SITE)
    machine = oee.resolve(session=s, actor=actor, machine="BENCH-0000")
    day = [w for w in production.site_shift_windows(session=s, site=site, period=Interval(
        now - timedelta(days=3), now)) if w.interval.end <= now][-1]  # fmt: skip
    reads: list[tuple[str, float, Callable[[], object]]] = [
        (f"OEE of the site over {args.days} days (summaries)", 0.2,
         lambda: oee.summed(session=s, scope=scope, period=period)),
        (f"a machine's {args.days}-day OEE trend (daily)", 0.5,
         lambda: oee.trend(session=s, scope=machine, period=period, grain="day")),
        (f"MTBF/MTTR of the site over {args.days} days (stored sums)", 0.3,
         lambda: oee.reliability_stored(session=s, scope=scope, period=period)),
        (f"Pareto of the site over {args.days} days (stored stoppages)", 0.3,
         lambda: oee.pareto_stored(session=s, scope=scope, period=period, by="reason")),
        (f"a shift report ({day.code} {day.day}, every machine, records)", 1.0,
         lambda: oee.calculate(session=s, scope=scope, period=day.interval, by_shift=True)),
        (f"a shift report draft ({day.code}, everything collected)", 10.0,
         lambda: shift_reports.collect(s, site, day)),
    ]  # fmt: skip
    print(f"{'read':<58} {'p50 s':>8} {'p95 s':>8} {'target':>7}")
    for name, target, read in reads:
        read()  # warm
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            read()
            times.append(time.perf_counter() - t)
        times.sort()
        p95 = times[min(len(times) - 1, max(0, int(round(0.95 * len(times))) - 1))]
        print(f"{name:<58} {statistics.median(times):>8.3f} {p95:>8.3f} {target:>7.1f}")
