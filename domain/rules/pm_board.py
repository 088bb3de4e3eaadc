"""What the dashboard's PM card counts for one site, in the site's own week (seed 003 H.2
and D): due this week, overdue, and the assets an overdue PM blocks. Pure: no I/O."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class PmDue:
    """One running schedule as the card sees it."""

    asset_id: int
    next_due_date: datetime | None
    meter_due_at: datetime | None = None  # a meter PM past its due reading since then
    blocked: bool = False


@dataclass
class SiteCounts:
    due_this_week: int = 0
    overdue: int = 0
    blocked_assets: set[int] = field(default_factory=set)


def week_end(now: datetime, zone: str) -> datetime:
    """The end of the site's current week (Monday 00:00 next, in its time), as an instant."""
    local = now.astimezone(ZoneInfo(zone))
    monday = (local + timedelta(days=7 - local.weekday())).date()
    return datetime.combine(monday, datetime.min.time(), ZoneInfo(zone))


def is_overdue(pm: PmDue, now: datetime) -> bool:
    """The same test as the overdue list: past its due date, or its due reading reached."""
    return pm.meter_due_at is not None or (pm.next_due_date is not None and pm.next_due_date < now)


def count(pms: list[PmDue], now: datetime, zone: str) -> SiteCounts:
    end = week_end(now, zone)
    counts = SiteCounts()
    for pm in pms:
        if is_overdue(pm, now):
            counts.overdue += 1
        elif pm.next_due_date is not None and pm.next_due_date < end:
            counts.due_this_week += 1
        if pm.blocked:
            counts.blocked_assets.add(pm.asset_id)
    return counts
