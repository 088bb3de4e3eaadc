"""A shift's OEE from its hour summaries (what the shift report reads) equals the same
figures from the records wherever the snapshot round kept them; a machine missing an
hour's summary is taken from its records; ragged ends are summed by the database."""

from sqlalchemy import delete, select, update

from domain.actor import system_actor
from domain.models import Site
from domain.models.production import OeeHourlySummary
from domain.rules.oee import Interval
from domain.services import oee, shift_reports
from tests.oee_helpers import DAY, local, snapshot_round
from tests.shift_report_helpers import shift_example

SKIP = ("scope", "ref", "start", "end")


def _records(s, scope, period):
    got = oee.calculate(session=s, scope=scope, period=period)
    return {k: v for k, v in got.items() if k not in SKIP}


def test_a_shift_report_reads_the_hour_summaries(sessions):
    ids = shift_example(sessions)
    with sessions() as s:
        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        window = shift_reports.shift_window(s, site, "DAY", DAY)
        actor = system_actor(site.organization_id, "test")
        scope = oee.resolve(session=s, actor=actor, site="JKS")
        # No summaries yet: every machine from its records.
        assert shift_reports.collect(s, site, window)["oee"] == _records(s, scope, window.interval)
        snapshot_round(s, local(5), local(14))
        s.flush()
        reference = _records(s, scope, window.interval)
        assert shift_reports.collect(s, site, window)["oee"] == reference
        assert reference["total_count"] == 19_271
        # Ragged ends: whole hours from the summaries, the rest summed from the records.
        for period in (Interval(local(6, 20), local(12, 35)), Interval(local(7, 5), local(7, 50))):
            tallies = oee.hour_tallies(session=s, scope=scope, period=period)
            got = oee.figures_of(scope=scope, period=period, per_machine=tallies)
            assert got == oee.calculate(session=s, scope=scope, period=period)
        # The report reads the summaries: a changed hour shows in it, not in the records.
        saw = ids["SAW-JKS-001"]
        s.execute(
            update(OeeHourlySummary)
            .where(OeeHourlySummary.machine_id == saw,
                   OeeHourlySummary.hour_start == local(9))
            .values(total=OeeHourlySummary.total + 100)
        )  # fmt: skip
        assert shift_reports.collect(s, site, window)["oee"]["total_count"] == 19_371
        # An hour without its summary: that machine is taken from its records again.
        s.execute(
            delete(OeeHourlySummary).where(
                OeeHourlySummary.machine_id == saw, OeeHourlySummary.hour_start == local(11)
            )
        )
        assert shift_reports.collect(s, site, window)["oee"] == reference
