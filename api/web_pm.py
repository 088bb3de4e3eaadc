"""PM pages: the schedules (all, due, overdue) and a maintenance calendar by month or week
of due, scheduled, overdue and done PMs per site, in the site's time."""

import calendar
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api.deps import DbSession
from api.permissions import web_door
from api.web import render
from domain.actor import Actor
from domain.models import Asset, PmSchedule, Site, WorkOrder
from domain.rules import pm as rules
from domain.rules.roles import Action
from domain.services import pm_schedules as service

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(web_door(Action.VIEW_ASSETS))]


@router.get("/pm", response_class=HTMLResponse)
def schedules_page(
    request: Request, session: DbSession, actor: Viewer, which: str = "all", site: str = ""
) -> HTMLResponse:
    which = which if which in ("all", "due", "overdue") else "all"
    rows, total = service.list_schedules(
        session=session,
        organization_id=actor.organization_id,
        which=which,
        site=site or None,
        limit=500,
    )
    now = datetime.now(UTC)
    items = [service.to_out(session, r, now) for r in rows]
    return render(
        request,
        "web/pm_schedules.html",
        actor=actor,
        items=items,
        total=total,
        which=which,
        site=site,
    )


def _projected(row: PmSchedule, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's due dates inside [start, end): the next one and, for a calendar
    interval, those after it as if each PM were done on its due date."""
    due = row.next_due_date
    if due is None:
        return []
    found = []
    step = timedelta(days=row.interval_days) if row.interval_days else None
    while due < end and len(found) < 400:
        if due >= start:
            found.append(due)
        if step is None or rules.ScheduleType(row.schedule_type) not in rules.USES_CALENDAR:
            break
        due += step
    return found


@router.get("/pm/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    session: DbSession,
    actor: Viewer,
    site: str = "",
    view: str = "month",
    day: date | None = None,
) -> HTMLResponse:
    sites = session.scalars(
        select(Site).where(Site.organization_id == actor.organization_id).order_by(Site.code)
    ).all()
    chosen = next((s for s in sites if s.code == site.upper()), sites[0] if sites else None)
    zone = ZoneInfo(chosen.timezone if chosen else "UTC")
    today = datetime.now(zone).date()
    day = day or today
    if view == "week":
        first = day - timedelta(days=day.weekday())
        days = [first + timedelta(days=i) for i in range(7)]
    else:
        view = "month"
        weeks = calendar.Calendar().monthdatescalendar(day.year, day.month)
        days = [d for w in weeks for d in w]
    start = datetime.combine(days[0], datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    now = datetime.now(UTC)
    cells: dict[date, list[dict]] = defaultdict(list)
    schedules = session.scalars(
        select(PmSchedule)
        .join(Asset, Asset.id == PmSchedule.asset_id)
        .where(
            PmSchedule.organization_id == actor.organization_id,
            PmSchedule.is_active.is_(True),
            Asset.site_id == (chosen.id if chosen else -1),
        )
    ).all()
    for row in schedules:
        for due in _projected(row, start, end):
            if row.is_paused:
                kind = "paused"
            elif due < now:
                kind = "overdue"
            elif row.open_work_order and due == row.next_due_date:
                kind = "scheduled"
            else:
                kind = "due"
            cells[due.astimezone(zone).date()].append(
                {
                    "kind": kind,
                    "label": row.code or row.template_code,
                    "ref": row.id,
                    "work_order": row.open_work_order if due == row.next_due_date else None,
                }
            )
    done = session.scalars(
        select(WorkOrder)
        .join(Asset, Asset.id == WorkOrder.asset_id)
        .where(
            WorkOrder.organization_id == actor.organization_id,
            WorkOrder.type == "PM",
            WorkOrder.completed_at >= start,
            WorkOrder.completed_at < end,
            Asset.site_id == (chosen.id if chosen else -1),
        )
    ).all()
    for wo in done:
        cells[wo.completed_at.astimezone(zone).date()].append(
            {"kind": "done", "label": wo.title, "ref": None, "work_order": wo.number}
        )
    if view == "week":
        previous, following = day - timedelta(days=7), day + timedelta(days=7)
    else:
        first_of = day.replace(day=1)
        previous = (first_of - timedelta(days=1)).replace(day=1)
        following = (first_of + timedelta(days=32)).replace(day=1)
    return render(
        request,
        "web/pm_calendar.html",
        actor=actor,
        sites=sites,
        site=chosen,
        view=view,
        days=days,
        cells=cells,
        today=today,
        month=day.month,
        title_day=day,
        previous=previous,
        following=following,
    )
