"""The records at the ragged ends of a period are read through bounded index scans (migration
0022): stops by their span, output counts from an hour before the period, the longer ones
from their own index. The reads must find exactly what `start < end AND end > start` finds:
a stop across the period start, one still open, counts across the start of every length
around the bound (an hour), one ending exactly at the start."""

from datetime import timedelta

from sqlalchemy import event, select, text

from domain.actor import system_actor
from domain.models import Asset, DowntimeRecord
from domain.models.production import Machine, ProductionCount, ProductionDowntime
from domain.rules import oee as rules
from domain.rules.oee import Interval
from domain.services import oee, production
from domain.services import production_downtime as downtime
from tests.oee_helpers import local, saw_line, snapshot_round

START, END = local(8, 7), local(12, 45)
PERIOD = Interval(START, END)
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)
# (start, end) of each count of the first machine, around the period start.
COUNTS = [
    (START - 2 * HOUR, START + HOUR),  # long, starts well before: the partial index
    (START - HOUR - US, START + US),  # just over an hour: long, starts at the bound
    (START - HOUR + US, START + 2 * US),  # just under an hour: the start index
    (START - HOUR, START),  # an hour ending at the start: not in the period
    (START - 3 * HOUR, START - 2 * HOUR),  # long and before: not in it
    (START - timedelta(minutes=5), START + timedelta(minutes=5)),
    (END - timedelta(minutes=3), END + timedelta(minutes=7)),  # across the end
    (END, END + HOUR),  # starts at the end: not in it
]


def _records(s, ids) -> None:
    org = s.scalar(select(Asset.organization_id).where(Asset.asset_number == "SAW-JKS-001"))
    actor = system_actor(org, "test")
    m1, m2 = s.get(Machine, ids["SAW-JKS-001"]), s.get(Machine, ids["SAW-JKS-002"])
    now = local(23)
    for start, end in COUNTS:
        production.record_count(session=s, actor=actor, machine=m1, period_start=start,
                                period_end=end, total=100, good=97, now=now)  # fmt: skip
    at = local(6)
    while at < local(13):  # the second machine counts every ten minutes
        production.record_count(session=s, actor=actor, machine=m2, period_start=at,
                                period_end=at + timedelta(minutes=10), total=290, good=288,
                                now=now)  # fmt: skip
        at += timedelta(minutes=10)
    # Across the period start; ended before it; still open across the end.
    for machine, start, end in ((m1, local(7, 50), local(8, 20)), (m2, local(7), local(7, 30)),
                                (m1, local(12, 30), None)):  # fmt: skip
        downtime.record_downtime(session=s, actor=actor, machine=machine, reason_code="bd-mech",
                                 start=start, end=end, now=now)  # fmt: skip
    # Maintenance downtime across the start and after the end.
    for start, end in ((local(8), local(8, 10)), (local(13), local(13, 30))):
        s.add(DowntimeRecord(organization_id=org, asset_id=m2.asset_id, type="BREAKDOWN",
                             reason_code="BD-ELEC", start_time=start, end_time=end,
                             reported_by="test"))  # fmt: skip


def _statements(s, read) -> list[tuple[str, dict]]:
    seen: list[tuple[str, dict]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    engine = s.get_bind()
    event.listen(engine, "before_cursor_execute", grab)
    try:
        read()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def _plan(s, statement: str, parameters: dict) -> str:
    cursor = s.connection().connection.dbapi_connection.cursor()
    cursor.execute("EXPLAIN " + statement, parameters)
    return "\n".join(r[0] for r in cursor.fetchall())


def test_the_ragged_ends_read_what_touches_them(sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        _records(s, ids)
        snapshot_round(s, local(8), local(13))
        s.commit()
    with sessions() as s:
        org = s.scalar(select(Asset.organization_id).where(Asset.asset_number == "SAW-JKS-001"))
        site = oee.resolve(session=s, actor=system_actor(org, "test"), site="JKS")
        machines = site.machines
        # The counts and stops read are those the plain overlap test keeps.
        c = ProductionCount
        want = sorted(
            (r.machine_id, r.period_start, r.period_end)
            for r in s.execute(select(c.machine_id, c.period_start, c.period_end))
            if r.period_start < END and r.period_end > START
        )
        got = oee._counts(s, machines, PERIOD)
        read = [(m, k.interval.start, k.interval.end) for m, ks in got.items() for k in ks]
        assert sorted(read) == want
        assert sum(1 for m, *_ in want if m == ids["SAW-JKS-001"]) == 5
        d = ProductionDowntime
        floor = sorted(
            f"oee:{r.id}"
            for r in s.execute(select(d.id, d.start_time, d.end_time))
            if r.start_time < END and (r.end_time is None or r.end_time > START)
        )
        stops = downtime.stops(session=s, machines=machines, period=PERIOD)
        assert sorted(x.key for x in stops if x.key.startswith("oee:")) == floor
        assert len(floor) == 2 and len([x for x in stops if x.key.startswith("maint")]) == 1
        # The figures from those reads equal the rules over every record, summaries or not.
        day = Interval(local(0), local(23))
        every_stop = downtime.stops(session=s, machines=machines, period=day)
        windows = production.site_shift_windows(
            session=s, site=site.sites[machines[0].site_id], period=PERIOD
        )
        planned = [i for w in windows for i in w.planned]
        every_count = oee._counts(s, machines, day)
        tallies = {
            m.id: rules.tally(
                period=PERIOD,
                planned=planned,
                stoppages=rules.merge_stops([x for x in every_stop if x.machine_id == m.id]),
                counts=every_count.get(m.id, []),
                until=END,
            )
            for m in machines
        }
        reference = oee.figures_of(scope=site, period=PERIOD, per_machine=tallies)
        assert oee.calculate(session=s, scope=site, period=PERIOD) == reference
        assert oee.summed(session=s, scope=site, period=PERIOD) == reference
        assert reference["total_count"] > 0 and reference["down_minutes"] > 0
        # The ends are read through the indexes of migration 0022 (the table is too small
        # for the planner to prefer them unasked).
        s.execute(text("SET LOCAL enable_seqscan = off"))
        edge = Interval(START, START + timedelta(minutes=53))
        for read, index in (
            (lambda: downtime.stops(session=s, machines=machines, period=edge),
             "ix_production_downtime_span"),
            (lambda: oee._count_sums(s, machines, edge), "ix_production_counts_long"),
        ):  # fmt: skip
            plans = [_plan(s, *q) for q in _statements(s, read)]
            assert any(index in p for p in plans), plans
