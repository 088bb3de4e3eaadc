"""The dashboard's PM counts for a site: the site's own week, overdue by date or meter,
blocked assets counted once."""

from datetime import UTC, datetime, timedelta

from domain.rules.pm_board import PmDue, count, week_end


def test_the_week_ends_at_the_sites_monday_midnight():
    # Sunday 23:30 in Chicago is already Monday in UTC: the site's week decides.
    now = datetime(2026, 12, 7, 5, 30, tzinfo=UTC)  # Sun 6 Dec 23:30 CST
    assert week_end(now, "America/Chicago") == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    assert week_end(now, "UTC") == datetime(2026, 12, 14, 0, 0, tzinfo=UTC)


def test_due_this_week_overdue_and_blocked_assets():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday
    pms = [
        PmDue(1, now + timedelta(days=2)),  # this week
        PmDue(1, now + timedelta(days=6)),  # next Tuesday: later
        PmDue(2, now - timedelta(days=1)),  # overdue
        PmDue(3, now + timedelta(days=30), meter_due_at=now - timedelta(hours=3)),  # by meter
        PmDue(4, now - timedelta(days=20), blocked=True),
        PmDue(4, now - timedelta(days=9), blocked=True),  # the same asset, once
        PmDue(5, None),  # condition based: no date
    ]
    counts = count(pms, now, "UTC")
    assert (counts.due_this_week, counts.overdue, counts.blocked_assets) == (1, 4, {4})
