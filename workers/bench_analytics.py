"""`plantops bench analytics`: the OEE and reliability reads over 90 days of output for a
site of many machines, on a scratch PostgreSQL of its own (nothing running is touched).

It loads shifts, output per machine every `--grain` minutes, stoppages with reasons and
the hourly and daily summaries, then times each read `--runs` times warm and prints the
median and the 95th percentile. With `--reuse` the loaded database is kept under the data
folder and the next run of the same shape times the reads on it without loading again."""

from __future__ import annotations

import argparse
import json
import os
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

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from domain.actor import system_actor
from domain.models import Asset, Site
from domain.models.production import (
    Machine,
    OeeDailySummary,
    OeeHourlySummary,
    OeeStoppage,
)
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
    bench.add_argument(
        "--reuse",
        action="store_true",
        help="analytics: keep the loaded database under the data folder (bench-analytics) "
        "and, when one made with the same --machines, --days and --grain is there, time the "
        "reads on it instead of loading again",
    )


def cmd_bench_analytics(args: argparse.Namespace) -> None:
    from domain.db import make_engine, make_sessionmaker
    from domain.migrate import upgrade
    from domain.services.demo import load_demo
    from workers.embedded import EmbeddedPostgres, free_port

    if 60 % args.grain:
        raise SystemExit("--grain must divide an hour (1, 2, 3, 5, 10, 15, 30 or 60)")
    shape = {"machines": args.machines, "days": args.days, "grain": args.grain}
    if getattr(args, "reuse", False):
        from domain.settings import Settings

        root = (Path(Settings().data_dir) / "bench-analytics").resolve()
        marker = root / "loaded.json"
        kept = json.loads(marker.read_text()) if marker.exists() else {}
        if kept.get("shape") != shape:
            shutil.rmtree(root, ignore_errors=True)  # another shape, or a load cut short
            kept = {}
        root.mkdir(parents=True, exist_ok=True)
    else:
        root, marker, kept = Path(tempfile.mkdtemp(prefix="plantops-bench-analytics-")), None, {}
    pg = EmbeddedPostgres(root / "data", free_port(), durable=False)
    pg.start()
    try:
        import psycopg

        url = pg.url("bench")
        if not kept:
            with psycopg.connect(pg.url("postgres").replace("+psycopg", ""), autocommit=True) as c:
                c.execute('DROP DATABASE IF EXISTS "bench"')
                c.execute('CREATE DATABASE "bench"')
        upgrade(url)  # a kept database gets the migrations added since its load
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        if kept:
            now = datetime.fromisoformat(kept["now"])
            print(f"reusing the data loaded at {kept['now']} in {root}: {kept['loaded']}",
                  flush=True)  # fmt: skip
        else:
            load_demo(sessions)
            started = time.perf_counter()
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            with sessions() as s:
                loaded = _load(s, args, now)
                s.commit()
            rows = ", ".join(f"{n:,} {what}" for what, n in loaded.items())
            summary = (f"{args.machines} machines x {args.days} days, a count every "
                       f"{args.grain} min: {sum(loaded.values()):,} rows ({rows})")  # fmt: skip
            print(f"loaded {summary} in {time.perf_counter() - started:.1f} s", flush=True)
        with sessions() as s:
            s.execute(text("ANALYZE"))
            s.commit()
            if marker is not None and not kept:
                marker.write_text(json.dumps({"shape": shape, "now": now.isoformat(),
                                              "loaded": summary}))  # fmt: skip
            _time_reads(s, args, now)
        engine.dispose()
    finally:
        pg.stop()
        if marker is None:
            shutil.rmtree(root, ignore_errors=True)


def _load(s: Session, args: argparse.Namespace, now: datetime) -> dict[str, int]:
    """The bench's machines, shifts and records; the rows loaded per kind."""
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
    raw = s.connection().connection.dbapi_connection
    step = timedelta(minutes=args.grain)
    stops_of: dict[int, list[Stop]] = {}
    n_stops = 0
    with raw.cursor() as cur:
        # The stops, drawn here; then the planned minutes each machine ran, for the
        # database to fill with output (every minute of planned time outside a stop).
        with cur.copy(
            "COPY production_downtime (organization_id, machine_id, line_id, reason_code, "
            "category, planned, severity, start_time, end_time, duration_minutes, logged_by, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for m in machines:
                stops_of[m.id] = stops = []
                for w in windows:
                    for _ in range(rng.choice((0, 1, 2, 2, 3))):
                        start = w.interval.start + timedelta(minutes=rng.randrange(0, 450))
                        code, category = rng.choice(REASONS)
                        end = start + timedelta(minutes=rng.randrange(5, 90))
                        stops.append(Stop(f"b{n_stops}", m.id, start, end, code, category))
                        n_stops += 1
                        minutes = (end - start).total_seconds() / 60
                        copy.write_row((m.organization_id, m.id, m.line_id, code, category,
                                        False, "medium", start, end, minutes, "bench", now,
                                        now))  # fmt: skip
        # The runs between stops: for each, the first and the last minute on the shift's
        # `--grain` grid that lie outside every stop, for the database to fill with output.
        cur.execute(
            "CREATE TEMP TABLE bench_runs (organization_id int, machine_id int, "
            "first timestamptz, last timestamptz, ideal float8) ON COMMIT DROP"
        )
        with cur.copy("COPY bench_runs FROM STDIN") as copy:
            for m in machines:
                for first_at, last_at in _runs(windows, stops_of[m.id], step):
                    copy.write_row((m.organization_id, m.id, first_at, last_at,
                                    m.ideal_cycle_seconds))  # fmt: skip
        cur.execute("SELECT setseed(0.7)")
        # The rows name machines this load just made: their foreign-key checks, one trigger
        # a row, are skipped on this scratch database (the bench connects as its owner).
        cur.execute("SET LOCAL session_replication_role = replica")
        # One row a `--grain` minutes, made at 80 to 97 % of the ideal rate, up to 3 % bad;
        # in machine and time order, so each index grows at its right edge.
        cur.execute(
            """
            INSERT INTO production_counts (organization_id, machine_id, period_start,
                period_end, total, good, reject, ideal_cycle_seconds, rework, startup_reject,
                recorded_by, recorded_at)
            SELECT organization_id, machine_id, at, at + step, made, made - bad, bad, ideal,
                   0, 0, 'bench', at + step
            FROM (
                SELECT r.organization_id, r.machine_id, at, r.ideal, g.step,
                       floor(%(grain)s * 60 / r.ideal * (0.8 + 0.17 * random()))::int AS made,
                       random() * 0.03 AS bad_share
                FROM bench_runs r,
                     LATERAL (SELECT make_interval(mins => %(grain)s) AS step) g,
                     generate_series(r.first, r.last, g.step) AS at
            ) x, LATERAL (SELECT floor(made * bad_share)::int AS bad) b
            """,
            {"grain": args.grain},
        )
        n_counts = cur.rowcount
        cur.execute("SET LOCAL session_replication_role = origin")
        # Each machine's output per UTC hour, summed by the database as the roll-up does.
        cur.execute(
            """
            SELECT machine_id, date_trunc('hour', period_start, 'UTC') AS hour,
                   sum(total)::float8, sum(good)::float8,
                   sum(total * ideal_cycle_seconds)::float8
            FROM production_counts GROUP BY 1, 2
            """
        )
        per_hour = {(r[0], r[1]): (r[2], r[3], r[4]) for r in cur.fetchall()}
    last_hour = now.replace(minute=0)
    hourly, daily = [], []
    for m in machines:
        # The summaries: times from the engine, counts summed per hour (they never straddle).
        merged = rules.merge_stops(stops_of.pop(m.id))
        by_day: dict = defaultdict(rules.Tally)
        for w in summarised:
            near = [x for x in merged if x.start < w.interval.end and x.end > w.interval.start]
            hour = w.interval.start
            while hour < w.interval.end and hour + timedelta(hours=1) <= last_hour:
                h = Interval(hour, hour + timedelta(hours=1))
                t = rules.tally(period=h, planned=[p for p in w.planned if p.clip(h)],
                                stoppages=near, counts=[])  # fmt: skip
                total, good, ideal = per_hour.pop((m.id, hour), (0.0, 0.0, 0.0))
                t = t + rules.Tally(total=total, good=good, ideal_s=ideal)
                hourly.append({"organization_id": m.organization_id, "machine_id": m.id,
                               "hour_start": hour, **vars(t)})  # fmt: skip
                by_day[hour.astimezone(zone).date()] = by_day[hour.astimezone(zone).date()] + t
                hour = h.end
        daily += [{"organization_id": m.organization_id, "machine_id": m.id, "day": d, **vars(t)}
                  for d, t in by_day.items()]  # fmt: skip
    for table, rows in ((OeeHourlySummary, hourly), (OeeDailySummary, daily)):
        for i in range(0, len(rows), 5000):
            s.execute(insert(table), rows[i : i + 5000])
    # The merged stoppages the record hooks and the snapshot round keep, in one pass.
    oee_stoppages.rebuild(session=s, machines=machines, period=Interval(period.start, now))
    stored = s.scalar(select(func.count()).select_from(OeeStoppage))
    return {"counts": n_counts, "stops": n_stops, "hour summaries": len(hourly),
            "day summaries": len(daily), "merged stoppages": stored or 0}  # fmt: skip


def _runs(windows, stops: list[Stop], step: timedelta) -> list[tuple[datetime, datetime]]:
    """The first and last point of each run of the planned grid (a point every `step` from
    each planned part's start) lying outside every stop."""
    out = []
    cuts = sorted((x.start, x.end) for x in stops)
    for w in windows:
        for part in w.planned:
            at = part.start
            for start, end in cuts:
                if start >= part.end:
                    break
                if end <= at:
                    continue
                last = _grid_before(part.start, start, step)
                if last >= at:
                    out.append((at, last))
                at = max(at, _grid_from(part.start, end, step))
            if at < part.end:
                out.append((at, _grid_before(part.start, part.end, step)))
    return out


def _grid_from(origin: datetime, at: datetime, step: timedelta) -> datetime:
    """The first grid point at or after `at`."""
    return origin + -((origin - at) // step) * step


def _grid_before(origin: datetime, at: datetime, step: timedelta) -> datetime:
    """The last grid point strictly before `at`."""
    return origin + ((at - origin - timedelta(microseconds=1)) // step) * step


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
        (f"a shift report ({day.code} {day.day}, every machine, all it collects)", 1.0,
         lambda: shift_reports.collect(s, site, day)),
    ]  # fmt: skip
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{'read':<66} {'p50 s':>8} {'p95 s':>8} {'target':>7}   load average {load}")
    for name, target, read in reads:
        read()  # warm
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            read()
            times.append(time.perf_counter() - t)
        times.sort()
        p95 = times[min(len(times) - 1, max(0, int(round(0.95 * len(times))) - 1))]
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"{name:<66} {statistics.median(times):>8.3f} {p95:>8.3f} {target:>7.1f}   {load}",
              flush=True)  # fmt: skip
