"""PM pages: the schedules (all, due, overdue), a maintenance calendar by month or week of
due, scheduled, overdue and done PMs per site in the site's time, and the forms that create
and change templates (each change a new version) and schedules (edit, pause, resume)."""

import calendar
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import DbSession
from api.errors import ApiError
from api.permissions import door_of, doors_by, web_door
from api.web import check_csrf, render
from api.web_errors import field_errors
from api.web_roles import waiting_for
from api.web_words import asset_zone, from_local_input, local_input
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Asset, AssetType, PmSchedule, Site, WorkOrder
from domain.rules import pm as rules
from domain.rules import pm_board as board
from domain.rules.roles import Action, roles_with, scope_for
from domain.schemas.pm import Reason, ScheduleEdit, ScheduleIn, TemplateIn, TemplatePart
from domain.services import pm_schedules as service
from domain.services import pm_templates as templates

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
        notice=request.query_params.get("notice"),
        may_plan=scope_for(actor.roles, Action.MANAGE_PM_SCHEDULES) is not None,
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


# -- templates and schedules: list, create, edit, pause and resume, through the API's own
# route functions (same checks, same services and workflow updates) --

TemplateEditor = Annotated[Actor, Depends(web_door(Action.MANAGE_PM_TEMPLATES))]
Planner = Annotated[Actor, Depends(web_door(Action.MANAGE_PM_SCHEDULES))]
TEMPLATE_FIELDS = (
    "code", "name", "description", "asset_type", "schedule_type", "interval_days",
    "interval_hours", "interval_cycles", "estimated_hours", "required_skills",
    "required_permits", "tasks", "safety_instructions", "regulatory_reference",
)  # fmt: skip
SCHEDULE_FIELDS = (
    "template", "asset", "schedule_type", "interval_days", "interval_hours", "interval_cycles",
    "anchor", "next_due_date", "alert_days_before", "overdue_threshold_days", "overdue_action",
    "reason",
)  # fmt: skip
PHOTO = "[photo]"  # a task line ending so asks for a photo


def _text(raw, names) -> dict[str, str]:
    return {k: str(raw.get(k, "") or "").strip() for k in names}


def _words(value: str) -> list[str]:
    return [w.strip() for w in value.replace("\n", ",").split(",") if w.strip()]


def _errors(err: Exception) -> tuple[int, dict[str, str], str]:
    """The field messages at the form's own fields ("tasks.2.description" at tasks)."""
    code, errors, message = field_errors(err)
    at: dict[str, str] = {}
    for name, text in errors.items():
        at.setdefault(name.split(".")[0], text)
    return code, at, message


def _waiting(action: Action) -> str:
    return waiting_for(set(roles_with(action)))


def task_lines(tasks: list[dict]) -> str:
    """A template's tasks as the form's lines, one per task."""
    return "\n".join(
        t["description"] + (f" {PHOTO}" if t.get("requires_photo") else "") for t in tasks
    )


def tasks_from_lines(text: str, before: list[dict]) -> list[dict]:
    """The form's lines as tasks, in order; a line naming a task of the current version keeps
    that task's other details (measurement, instructions)."""
    known = {t["description"]: t for t in before}
    tasks = []
    for i, line in enumerate(x.strip() for x in text.splitlines() if x.strip()):
        photo = line.endswith(PHOTO)
        name = line.removesuffix(PHOTO).strip()
        tasks.append(known.get(name, {}) | {
            "sequence": i + 1, "description": name, "requires_photo": photo,
        })  # fmt: skip
    return tasks


def _template_form(request, session, actor, code: int = 200, **extra) -> HTMLResponse:
    asset_types = session.scalars(
        select(AssetType)
        .where(AssetType.organization_id == actor.organization_id)
        .order_by(AssetType.code)
    ).all()
    return render(
        request,
        "web/pm_template_form.html",
        code,
        actor=actor,
        asset_types=asset_types,
        schedule_types=list(rules.ScheduleType),
        **extra,
    )


def _template_in(form: dict[str, str], raw, before: list[dict]) -> TemplateIn:
    return TemplateIn(
        code=form["code"],
        name=form["name"],
        description=form["description"] or None,
        asset_type=form["asset_type"],
        schedule_type=form["schedule_type"],
        interval_days=form["interval_days"] or None,
        interval_hours=form["interval_hours"] or None,
        interval_cycles=form["interval_cycles"] or None,
        estimated_hours=form["estimated_hours"] or None,
        required_skills=[w.upper() for w in _words(form["required_skills"])],
        required_permits=[w.upper() for w in _words(form["required_permits"])],
        tasks=tasks_from_lines(form["tasks"], before),
        safety_instructions=form["safety_instructions"] or None,
        is_regulatory=raw.get("is_regulatory") == "on",
        regulatory_reference=form["regulatory_reference"] or None,
    )


@router.get("/pm/templates", response_class=HTMLResponse)
def templates_page(request: Request, session: DbSession, actor: Viewer) -> HTMLResponse:
    rows, total = templates.list_templates(
        session=session, organization_id=actor.organization_id, limit=500
    )
    return render(
        request,
        "web/pm_templates.html",
        actor=actor,
        notice=request.query_params.get("notice"),
        items=[templates.to_out(session, r) for r in rows],
        total=total,
        may_edit=scope_for(actor.roles, Action.MANAGE_PM_TEMPLATES) is not None,
        waiting=_waiting(Action.MANAGE_PM_TEMPLATES),
    )


@router.get("/pm/templates/new", response_class=HTMLResponse)
def new_template_form(request: Request, session: DbSession, actor: TemplateEditor):
    return _template_form(request, session, actor, form={"schedule_type": "TIME_BASED"})


@router.post("/pm/templates/new", response_class=HTMLResponse)
async def new_template(request: Request, session: DbSession, actor: TemplateEditor):
    from api.routes.pm import create_template

    raw = await request.form()
    check_csrf(request, str(raw.get("csrf_token", "")))
    form = _text(raw, TEMPLATE_FIELDS) | {"is_regulatory": raw.get("is_regulatory", "")}
    try:
        out = create_template(_template_in(form, raw, []), session, actor)
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, errors, message = _errors(err)
        return _template_form(
            request, session, actor, code, form=form, errors=errors, error=message
        )
    notice = f"Template {out.code} created (version {out.version})"
    return RedirectResponse(f"/pm/templates?{urlencode({'notice': notice})}", 303)


@router.get("/pm/templates/{ref}", response_class=HTMLResponse)
def edit_template_form(ref: str, request: Request, session: DbSession, actor: TemplateEditor):
    row = templates.get_template(session=session, organization_id=actor.organization_id, ref=ref)
    out = templates.to_out(session, row)
    form = {
        k: ("" if v is None else v)
        for k, v in out.model_dump().items()
        if k in TEMPLATE_FIELDS or k == "is_regulatory"
    }
    form |= {
        "required_skills": ", ".join(out.required_skills),
        "required_permits": ", ".join(out.required_permits),
        "tasks": task_lines(row.tasks),
        "is_regulatory": "on" if out.is_regulatory else "",
    }
    return _template_form(request, session, actor, form=form, template=out)


@router.post("/pm/templates/{ref}", response_class=HTMLResponse)
async def revise_template(ref: str, request: Request, session: DbSession, actor: TemplateEditor):
    """A new version; work orders already made keep the version they came from."""
    from api.routes.pm import revise_template as revise

    row = templates.get_template(session=session, organization_id=actor.organization_id, ref=ref)
    out = templates.to_out(session, row)
    raw = await request.form()
    check_csrf(request, str(raw.get("csrf_token", "")))
    form = _text(raw, TEMPLATE_FIELDS) | {"is_regulatory": raw.get("is_regulatory", "")}
    form["code"] = row.code  # a template keeps its code
    try:
        data = _template_in(form, raw, list(row.tasks))
        # What the form does not show stays as the current version has it.
        data = data.model_copy(
            update={
                "applicable_assets": list(row.applicable_assets),
                "required_competencies": list(row.required_competencies),
                "parts": [TemplatePart(**p) for p in row.parts],
                "procedure_url": row.procedure_url,
                "is_active": row.is_active,
            }
        )
        saved = revise(str(row.id), data, session, actor)
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, errors, message = _errors(err)
        return _template_form(
            request, session, actor, code, form=form, errors=errors, error=message, template=out
        )
    notice = f"Template {saved.code} saved as version {saved.version}"
    return RedirectResponse(f"/pm/templates?{urlencode({'notice': notice})}", 303)


def _schedule_form(request, session, actor, code: int = 200, **extra) -> HTMLResponse:
    org = actor.organization_id
    current, _ = templates.list_templates(session=session, organization_id=org, limit=500)
    assets = session.scalars(
        select(Asset).where(Asset.organization_id == org).order_by(Asset.asset_number)
    ).all()
    return render(
        request,
        "web/pm_schedule_form.html",
        code,
        actor=actor,
        templates=current,
        assets=assets,
        schedule_types=list(rules.ScheduleType),
        anchors=list(rules.Anchor),
        overdue_actions=list(rules.OverdueAction),
        **extra,
    )


def _moment(value: str, zone: str) -> datetime | None:
    """A datetime-local field in the asset's site time; a wrong one is refused at its field."""
    if not value:
        return None
    try:
        return from_local_input(value, zone)
    except ValueError:
        raise ApiError(
            422, "RuleViolation", "next_due_date: enter a date and time", "next_due_date"
        ) from None


def _asset_zone(session, actor: Actor, number: str) -> str:
    asset_id = session.scalar(
        select(Asset.id).where(
            Asset.organization_id == actor.organization_id, Asset.asset_number == number.upper()
        )
    )
    return asset_zone(session, asset_id)


@router.get("/pm/schedules/new", response_class=HTMLResponse)
def new_schedule_form(
    request: Request, session: DbSession, actor: Planner, template: str = "", asset: str = ""
) -> HTMLResponse:
    form = {
        "template": template.upper(),
        "asset": asset.upper(),
        "anchor": "FLOATING",
        "alert_days_before": "7",
        "overdue_threshold_days": "14",
        "overdue_action": "ALERT",
    }
    return _schedule_form(request, session, actor, form=form)


@router.post("/pm/schedules/new", response_class=HTMLResponse)
async def new_schedule(request: Request, session: DbSession, actor: Planner) -> Response:
    from api.routes.pm import create_schedule

    raw = await request.form()
    check_csrf(request, str(raw.get("csrf_token", "")))
    form = _text(raw, SCHEDULE_FIELDS)
    try:
        zone = _asset_zone(session, actor, form["asset"])
        data = ScheduleIn(
            template=form["template"],
            asset=form["asset"],
            schedule_type=form["schedule_type"] or None,
            interval_days=form["interval_days"] or None,
            interval_hours=form["interval_hours"] or None,
            interval_cycles=form["interval_cycles"] or None,
            anchor=form["anchor"] or "FLOATING",
            next_due_date=_moment(form["next_due_date"], zone),
            alert_days_before=form["alert_days_before"] or 7,
            overdue_threshold_days=form["overdue_threshold_days"] or 14,
            overdue_action=form["overdue_action"] or "ALERT",
        )
        out = await create_schedule(data, request, session, actor, request.app.state.temporal)
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, errors, message = _errors(err)
        return _schedule_form(request, session, actor, code, form=form, errors=errors,
                              error=message)  # fmt: skip
    notice = f"Schedule {out['code']} created"
    return RedirectResponse(f"/pm/schedules/{out['id']}?{urlencode({'notice': notice})}", 303)


async def _schedule_page(
    request, session, actor: Actor, ref: str, code: int = 200, **extra
) -> HTMLResponse:
    row = service.get_schedule(session=session, organization_id=actor.organization_id, ref=ref)
    out = service.to_out(session, row)
    zone = asset_zone(session, row.asset_id)
    form = {
        k: ("" if out.get(k) is None else str(out[k]))
        for k in SCHEDULE_FIELDS
        if k not in ("template", "asset", "reason", "next_due_date")
    } | {"next_due_date": local_input(row.next_due_date, zone), "reason": ""}
    extra.setdefault("form", form)
    return render(
        request,
        "web/pm_schedule.html",
        code,
        actor=actor,
        notice=request.query_params.get("notice"),
        s=out,
        zone=zone,
        schedule_types=list(rules.ScheduleType),
        anchors=list(rules.Anchor),
        overdue_actions=list(rules.OverdueAction),
        may_plan=scope_for(actor.roles, Action.MANAGE_PM_SCHEDULES) is not None,
        waiting=_waiting(Action.MANAGE_PM_SCHEDULES),
        **extra,
    )


@router.get("/pm/schedules/{ref}", response_class=HTMLResponse)
async def schedule_page(ref: str, request: Request, session: DbSession, actor: Viewer):
    return await _schedule_page(request, session, actor, ref)


SCHEDULE_DOORS = {name: door_of(Action.MANAGE_PM_SCHEDULES) for name in ("edit", "pause", "resume")}
EDITABLE = ("schedule_type", "interval_days", "interval_hours", "interval_cycles", "anchor",
            "alert_days_before", "overdue_threshold_days", "overdue_action")  # fmt: skip


@router.post("/pm/schedules/{ref}/{action}", response_class=HTMLResponse)
@doors_by("action", SCHEDULE_DOORS)
async def schedule_action(
    ref: str, action: str, request: Request, session: DbSession, actor: Planner
) -> Response:
    """Edit, pause (a reason is required) or resume, as the API's routes do them."""
    from api.routes import pm as api

    row = service.get_schedule(session=session, organization_id=actor.organization_id, ref=ref)
    raw = await request.form()
    check_csrf(request, str(raw.get("csrf_token", "")))
    form = _text(raw, SCHEDULE_FIELDS)
    client = request.app.state.temporal
    sid = str(row.id)
    try:
        if action == "pause":
            await api.pause_schedule(sid, Reason(reason=form["reason"]), session, actor, client)
            done = "Schedule paused"
        elif action == "resume":
            await api.resume_schedule(sid, session, actor, client, Reason(reason=form["reason"]))
            done = "Schedule resumed"
        elif action == "edit":
            zone = asset_zone(session, row.asset_id)
            now = service.to_out(session, row)
            # Only what the form changed travels (the API takes the fields it is given).
            # An empty field keeps the value (the page cannot clear one).
            given = {k: form[k] for k in EDITABLE if form[k] and form[k] != _shown(now.get(k))}
            due = _moment(form["next_due_date"], zone)
            if form["next_due_date"] != local_input(row.next_due_date, zone):
                given["next_due_date"] = due
            if raw.get("template_version") == "on":
                given["template_version"] = True
            edit = ScheduleEdit(**given, reason=form["reason"])
            await api.edit_schedule(sid, edit, session, actor, client)
            done = "Schedule saved"
        else:
            raise ApiError(404, "NotFound", f"no action {action}")
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, errors, message = _errors(err)
        if action in ("pause", "resume") and not errors:
            errors = {"reason": message}
        return await _schedule_page(
            request, session, actor, sid, code, form=form, errors=errors, error=message,
            failed=action,
        )  # fmt: skip
    return RedirectResponse(f"/pm/schedules/{sid}?{urlencode({'notice': done})}", 303)


def _shown(value) -> str:
    return "" if value is None else str(value)


# -- the dashboard's PM card, a line per site --


def dashboard_card(session, organization_id: int, now: datetime | None = None) -> list[dict]:
    """Per site: PMs due this week (the site's week), overdue, and assets blocked by an
    overdue PM; paused and inactive schedules count nowhere."""
    now = now or datetime.now(UTC)
    sites = session.execute(
        select(Site.id, Site.code, Site.timezone)
        .where(Site.organization_id == organization_id)
        .order_by(Site.code)
    ).all()
    rows = session.execute(
        select(
            Asset.site_id,
            PmSchedule.asset_id,
            PmSchedule.next_due_date,
            PmSchedule.meter_due_at,
            PmSchedule.blocked_at,
        )
        .join(Asset, Asset.id == PmSchedule.asset_id)
        .where(
            PmSchedule.organization_id == organization_id,
            PmSchedule.is_active.is_(True),
            PmSchedule.is_paused.is_(False),
        )
    ).all()
    by_site: dict[int, list[board.PmDue]] = defaultdict(list)
    for site_id, asset_id, due, meter_due_at, blocked_at in rows:
        by_site[site_id].append(board.PmDue(asset_id, due, meter_due_at, blocked_at is not None))
    card = []
    for site_id, code, zone in sites:
        if site_id not in by_site:
            continue
        counts = board.count(by_site[site_id], now, zone or "UTC")
        card.append(
            {
                "site": code,
                "due_this_week": counts.due_this_week,
                "overdue": counts.overdue,
                "blocked_assets": len(counts.blocked_assets),
            }
        )
    return card
