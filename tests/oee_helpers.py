"""A producing saw line at the demo's JKS site (America/Chicago) for the OEE tests."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.actor import system_actor
from domain.models import Asset, Site
from domain.services import oee_snapshots, production

CHICAGO = ZoneInfo("America/Chicago")
DAY = datetime(2026, 6, 2, tzinfo=CHICAGO).date()  # a Tuesday


def local(hour: int, minute: int = 0, day=DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHICAGO)


def saw_line(sessions) -> dict[str, int]:
    """SAW-JKS-001 and -002 on line SAW-1, ideal cycle 1.0 s and 2.0 s; shift DAY 06:00 to
    13:00 (420 min) and EVE 14:00 to 22:00 with a 30-minute planned stop at 18:00."""
    with sessions() as s:
        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        actor = system_actor(site.organization_id, "test")
        line = production.add_line(session=s, site=site, code="SAW-1", name="Saw line 1")
        ids = {}
        for number, cycle in (("SAW-JKS-001", 1.0), ("SAW-JKS-002", 2.0)):
            asset = s.scalars(select(Asset).where(Asset.asset_number == number)).one()
            m = production.register_machine(session=s, actor=actor, asset=asset,
                                            ideal_cycle_seconds=cycle, line=line)  # fmt: skip
            ids[number] = m.id
        production.add_shift(session=s, site=site, code="DAY", starts_at=time(6),
                             ends_at=time(13))  # fmt: skip
        production.add_shift(session=s, site=site, code="EVE", starts_at=time(14),
                             ends_at=time(22),
                             planned_stops=[(time(18), time(18, 30))])  # fmt: skip
        s.commit()
    return ids


def snapshot_round(s, start: datetime, end: datetime) -> None:
    """The snapshot round over [start, end): every slot, every hour, every day."""
    slot = start + oee_snapshots.BUCKET
    while slot <= end:
        oee_snapshots.take_snapshots(session=s, taken_at=slot)
        slot += oee_snapshots.BUCKET
    hour = start.astimezone(UTC)
    while hour < end:
        oee_snapshots.roll_up_hour(session=s, hour_start=hour)
        oee_snapshots.roll_up_days(session=s, at=hour + timedelta(hours=1))
        hour += timedelta(hours=1)
