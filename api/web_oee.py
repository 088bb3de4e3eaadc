"""The OEE pages: a card per machine (running, down or idle; OEE against target), a trend
and a Pareto drawn server-side as inline SVG (no script, nothing fetched), the alerts to
acknowledge and resolve, and the downtime log with one big button per reason category for
an operator on a phone. Each person sees the buttons the permission table gives them."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import DbSession
from api.errors import ApiError
from api.permissions import web_door
from api.web import check_csrf, render
from api.web_roles import oee_doors
from api.web_words import from_local_input
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Asset, Site
from domain.models.production import Machine, ProductionDowntime
from domain.rules.oee import Interval
from domain.rules.roles import Action
from domain.schemas.oee import CountIn
from domain.services import oee, oee_alerts, oee_live, production
from domain.services import production_downtime as downtime
from workflows.oee_alert import end_watch, start_watch
from workflows.oee_alert_types import DowntimeWatchInput

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(web_door(Action.VIEW_OEE))]
Logger = Annotated[Actor, Depends(web_door(Action.LOG_PRODUCTION))]

W, H, PAD = 640, 220, 34  # the charts' drawing box, in SVG units (scaled to the card)
STATUS_WORDS = {"running": "Running", "down": "Down", "idle": "Idle"}


# -- charts --


def trend_svg(points: Sequence[tuple[str, float | None]], target: float | None, title: str):
    """OEE per period as a line over 0-100 %, the target as a dashed line; a period with no
    planned time is a gap, not a zero."""
    if not points:
        return Markup('<p class="muted">No figures for this period yet.</p>')
    inner_w, inner_h = W - 2 * PAD, H - 2 * PAD
    step = inner_w / max(1, len(points) - 1)

    def y(pct: float) -> float:
        return PAD + inner_h * (1 - min(max(pct, 0.0), 100.0) / 100)

    parts = [
        f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        'style="width:100%;height:auto" class="chart trend">',
        f"<title>{escape(title)}</title>",
    ]
    for pct in (0, 50, 100):
        parts.append(
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(pct):.1f}" y2="{y(pct):.1f}" '
            'stroke="#dde3ea"/>'
        )
        parts.append(
            f'<text x="{PAD - 4}" y="{y(pct) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#667">{pct}%</text>'
        )
    if target is not None:
        parts.append(
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
            'stroke="#c0392b" stroke-dasharray="6 4" class="target"/>'
        )
        parts.append(
            f'<text x="{W - PAD}" y="{y(target) - 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#c0392b">target {target:g}%</text>'
        )
    run: list[str] = []
    for i, (label, pct) in enumerate(points):
        x = PAD + i * step
        if pct is None:
            if len(run) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="#1f6feb" stroke-width="2.5" '
                    f'points="{" ".join(run)}"/>'
                )
            run = []
            continue
        run.append(f"{x:.1f},{y(pct):.1f}")
        colour = "#1a7f37" if target is None or pct >= target else "#c0392b"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y(pct):.1f}" r="3.5" fill="{colour}">'
            f"<title>{escape(label)}: {pct:g}%</title></circle>"
        )
    if len(run) > 1:
        parts.append(
            f'<polyline fill="none" stroke="#1f6feb" stroke-width="2.5" points="{" ".join(run)}"/>'
        )
    first, last = points[0][0], points[-1][0]
    parts.append(f'<text x="{PAD}" y="{H - 8}" font-size="11" fill="#667">{escape(first)}</text>')
    parts.append(
        f'<text x="{W - PAD}" y="{H - 8}" font-size="11" text-anchor="end" '
        f'fill="#667">{escape(last)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def pareto_svg(rows: Sequence[dict[str, Any]], title: str, top: int = 8):
    """Downtime hours per reason as bars, largest first, and the cumulative share as a
    line against the right-hand 0-100 % scale."""
    rows = list(rows)[:top]
    if not rows:
        return Markup('<p class="muted">No downtime in this period.</p>')
    inner_w, inner_h = W - 2 * PAD, H - 2 * PAD - 14
    most = max(r["hours"] for r in rows) or 1.0
    slot = inner_w / len(rows)
    parts = [
        f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        'style="width:100%;height:auto" class="chart pareto">',
        f"<title>{escape(title)}</title>",
    ]
    line = []
    for i, r in enumerate(rows):
        h = inner_h * r["hours"] / most
        x = PAD + i * slot + slot * 0.15
        top_y = PAD + inner_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{top_y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
            f'fill="#e67e22"><title>{escape(r["key"])}: {r["hours"]:g} h, {r["events"]} stops'
            "</title></rect>"
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{top_y - 4:.1f}" font-size="11" '
            f'text-anchor="middle">{r["hours"]:g} h</text>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{PAD + inner_h + 14:.1f}" '
            f'font-size="11" text-anchor="middle">{escape(r["key"])}</text>'
        )
        line.append(f"{x + slot * 0.35:.1f},{PAD + inner_h * (1 - r['cumulative_pct'] / 100):.1f}")
    parts.append(
        f'<polyline fill="none" stroke="#34495e" stroke-width="2" '
        f'points="{" ".join(line)}" class="cumulative"/>'
    )
    parts.append(
        f'<text x="{W - PAD}" y="{PAD - 6}" font-size="11" text-anchor="end" '
        'fill="#34495e">cumulative %</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


# -- the page --


def _machines(session, actor: Actor) -> list[tuple[Machine, str]]:
    allowed = oee_alerts.visible_machines(session=session, actor=actor)
    query = (
        select(Machine, Asset.asset_number)
        .join(Asset, Asset.id == Machine.asset_id)
        .where(Machine.organization_id == actor.organization_id, Machine.producing.is_(True))
        .order_by(Asset.asset_number)
    )
    if allowed is not None:
        query = query.where(Machine.id.in_(allowed))
    return [(m, n) for m, n in session.execute(query)]


def _scope(session, machines: list[tuple[Machine, str]], ref: str) -> oee.Scope:
    ms = [m for m, _ in machines]
    sites = {
        s.id: s for s in session.scalars(select(Site).where(Site.id.in_({m.site_id for m in ms})))
    }
    return oee.Scope(
        "machine" if len(ms) == 1 else "site", ref, ms, sites, {m.id: n for m, n in machines}
    )


def _context(session, actor: Actor, machine: str, now: datetime) -> dict[str, Any]:
    visible = _machines(session, actor)
    chosen = [(m, n) for m, n in visible if n == machine.upper()] if machine else visible
    cards = []
    for m, number in visible:
        live = oee_live.realtime(
            session=session, scope=_scope(session, [(m, number)], number), now=now
        )
        cards.append({"machine": number, **live})
    charts: dict[str, Any] = {}
    if chosen:
        scope = _scope(session, chosen, machine.upper() or "all")
        target = chosen[0][0].oee_target_pct if len(chosen) == 1 else None
        days = oee.trend(
            session=session,
            scope=scope,
            period=Interval(now - timedelta(days=14), now),
            grain="day",
        )
        hours = oee.trend(
            session=session,
            scope=scope,
            period=Interval(now - timedelta(hours=24), now),
            grain="hour",
        )
        pareto = oee.pareto(
            session=session, scope=scope, period=Interval(now - timedelta(days=7), now), by="reason"
        )
        charts = {
            "days": trend_svg(
                [(p["at"][5:10], p["oee_pct"]) for p in days["points"]],
                target,
                "OEE per day, last 14 days",
            ),
            "hours": trend_svg(
                [(p["at"][11:16], p["oee_pct"]) for p in hours["points"]],
                target,
                "OEE per hour, last 24 hours",
            ),
            "pareto": pareto_svg(pareto["rows"], "Downtime by reason, last 7 days"),
            "pareto_hours": pareto["total_hours"],
        }
    ids = [m.id for m, _ in chosen]
    alerts = oee_alerts.list_alerts(
        session=session,
        organization_id=actor.organization_id,
        active=True,
        machine_ids=ids,
        limit=50,
    )
    names = {m.id: n for m, n in visible}
    stops = session.scalars(
        select(ProductionDowntime)
        .where(ProductionDowntime.machine_id.in_(ids))
        .order_by(
            ProductionDowntime.end_time.is_(None).desc(), ProductionDowntime.start_time.desc()
        )
        .limit(25)
    ).all()
    reasons = production.list_reasons(session=session, organization_id=actor.organization_id)
    categories: dict[str, list] = {}
    for r in reasons:
        if r.is_active:
            categories.setdefault(r.category, []).append(r)
    open_by_machine = {s.machine_id: s for s in stops if s.end_time is None}
    return {
        "cards": cards,
        "machine": machine.upper(),
        "machines": [n for _, n in visible],
        "charts": charts,
        "alerts": [oee_alerts.alert_out(session, a) for a in alerts],
        "stops": [{"row": s, "machine": names.get(s.machine_id, "")} for s in stops],
        "categories": categories,
        "open_by_machine": open_by_machine,
        "entry_machines": [(m, n) for m, n in chosen],
        "now": now,
        "status_words": STATUS_WORDS,
    }


def _page(request, session, actor, machine="", status_code=200, error=None, notice=None, **extra):
    context = _context(session, actor, machine, datetime.now(UTC))
    extra.setdefault("out_form", {})
    extra.setdefault("out_errors", {})
    session.commit()  # the default reason catalogue, written on first use
    return render(
        request,
        "web/oee.html",
        status_code=status_code,
        actor=actor,
        doors=oee_doors(actor),
        error=error,
        notice=notice,
        **context,
        **extra,
    )


@router.get("/oee", response_class=HTMLResponse)
def oee_page(
    request: Request, session: DbSession, actor: Viewer, machine: str = "", notice: str = ""
) -> HTMLResponse:
    if machine and machine.upper() not in {n for _, n in _machines(session, actor)}:
        machine = ""
    return _page(request, session, actor, machine, notice=notice or None)


def _refused(request, session, actor, machine, err) -> HTMLResponse:
    session.rollback()
    status = (
        err.status
        if isinstance(err, ApiError)
        else {"NotFound": 404, "NotAllowed": 403, "Conflict": 409}.get(err.kind, 422)
    )
    return _page(request, session, actor, machine, status_code=status, error=err.message)


@router.post("/oee/downtime", response_class=HTMLResponse)
async def open_stop(request: Request, session: DbSession, actor: Logger) -> Response:
    """A big button: the machine stopped for a reason of this category (its first reason
    code, refined when the stop ends) or for one reason code."""
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    number = form.get("machine", "").strip()

    def record() -> Response | DowntimeWatchInput:
        try:
            if not number:
                raise ApiError(422, "RuleViolation", "machine: choose the machine", "machine")
            machine = production.machine_for(session=session, actor=actor, ref=number, write=True)
            code = form.get("reason_code", "").strip()
            if not code:
                category = form.get("category", "").strip()
                match = [
                    r
                    for r in production.list_reasons(
                        session=session, organization_id=actor.organization_id
                    )
                    if r.is_active and r.category == category
                ]
                if not match:
                    raise ApiError(
                        422, "RuleViolation", "category: choose a reason category", "category"
                    )
                code = match[0].code
            row = downtime.record_downtime(
                session=session, actor=actor, machine=machine, reason_code=code,
                start=datetime.now(UTC),
            )  # fmt: skip
            session.commit()
        except (ApiError, DomainError) as err:
            return _refused(request, session, actor, number, err)
        return DowntimeWatchInput(row.id, row.organization_id, row.start_time)

    # The database part in a thread: a slow write holds up no other request.
    done = await asyncio.to_thread(record)
    if isinstance(done, Response):
        return done
    settings = request.app.state.settings
    await start_watch(request.app.state.temporal, settings.task_queue, done)
    return RedirectResponse(f"/oee?machine={number.upper()}&notice=stop+recorded", 303)


OUTPUT_FIELDS = ("total", "good", "reject", "rework")
FORM_FIELDS = {"machine", "period_start", "period_end", "work_order", *OUTPUT_FIELDS}


@router.post("/oee/output", response_class=HTMLResponse)
async def record_output(request: Request, session: DbSession, actor: Logger) -> Response:
    """The operator's count at the end of a run, in the machine's site time; the same
    rules as the API's production counts. A refusal comes back at its field, typed values
    kept."""
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    number = form.get("machine", "").strip().upper()

    def record() -> Response:
        try:
            if not number:
                raise ApiError(422, "RuleViolation", "choose the machine", "machine")
            machine = production.machine_for(session=session, actor=actor, ref=number, write=True)
            zone = session.get(Site, machine.site_id).timezone
            times = {}
            for name in ("period_start", "period_end"):
                try:
                    times[name] = from_local_input(form.get(name, ""), zone)
                except ValueError:
                    raise ApiError(422, "RuleViolation", "enter a date and time", name) from None
            counts = {}
            for name in OUTPUT_FIELDS:
                text = form.get(name, "").strip()
                if text or name in ("total", "good"):
                    if not text.isdigit():
                        raise ApiError(422, "RuleViolation", "a whole number, 0 or more", name)
                    counts[name] = int(text)
            data = CountIn(
                machine=number, work_order=form.get("work_order", "").strip() or None,
                **times, **counts,
            )  # fmt: skip
            production.record_output(session=session, actor=actor, data=data)
            session.commit()
        except ValidationError as err:
            first = err.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "total"
            return _output_refused(request, session, actor, number, form, field, first["msg"])
        except (ApiError, DomainError) as err:
            # A refusal of the machine itself (another work centre's) names the asset.
            field = err.field if err.field in FORM_FIELDS else "machine"
            return _output_refused(request, session, actor, number, form, field, err.message)
        return RedirectResponse(f"/oee?machine={number}&notice=output+recorded", 303)

    return await asyncio.to_thread(record)  # off the event loop, as above


def _output_refused(request, session, actor, machine, form, field, message) -> HTMLResponse:
    session.rollback()
    shown = "" if field == "machine" else machine  # a machine refused is not shown
    return _page(
        request, session, actor, shown, status_code=422, out_form=form,
        out_errors={field.split(".")[0]: message},
    )  # fmt: skip


@router.post("/oee/downtime/{downtime_id}/end", response_class=HTMLResponse)
async def end_stop(
    downtime_id: int, request: Request, session: DbSession, actor: Logger
) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))

    def end() -> Response | tuple[str, ProductionDowntime]:
        number = ""
        try:
            row = session.get(ProductionDowntime, downtime_id)
            if row is None or row.organization_id != actor.organization_id:
                raise ApiError(404, "NotFound", f"downtime {downtime_id} not found", "downtime_id")
            number = (
                session.scalar(
                    select(Asset.asset_number)
                    .join(Machine, Machine.asset_id == Asset.id)
                    .where(Machine.id == row.machine_id)
                )
                or ""
            )
            production.machine_for(session=session, actor=actor, ref=number, write=True)
            row = downtime.end_downtime(
                session=session,
                actor=actor,
                downtime_id=downtime_id,
                end=datetime.now(UTC),
                reason_code=form.get("reason_code", "").strip() or None,
                notes=form.get("notes", "").strip() or None,
            )
            session.commit()
        except (ApiError, DomainError) as err:
            return _refused(request, session, actor, number, err)
        return number, row

    done = await asyncio.to_thread(end)  # off the event loop, as above
    if isinstance(done, Response):
        return done
    number, row = done
    await end_watch(request.app.state.temporal, row.id, row.start_time)
    return RedirectResponse(f"/oee?machine={number}&notice=stop+ended", 303)


@router.post("/oee/alerts/{alert_id}/{action}", response_class=HTMLResponse)
async def alert_move(
    alert_id: int, action: str, request: Request, session: DbSession, actor: Logger
) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    machine = form.get("machine", "")

    def move() -> Response:
        try:
            oee_alerts.alert_for(session=session, actor=actor, alert_id=alert_id)
            oee_alerts.move(
                session=session,
                actor=actor,
                alert_id=alert_id,
                action=action,
                notes=form.get("notes", "").strip() or None,
            )
            session.commit()
        except (ApiError, DomainError) as err:
            return _refused(request, session, actor, machine, err)
        word = {"acknowledge": "acknowledged", "act": "action+noted", "resolve": "resolved"}[action]
        return RedirectResponse(f"/oee?machine={machine}&notice=alert+{word}", 303)

    return await asyncio.to_thread(move)  # off the event loop, as above


def dashboard_card(session, actor: Actor) -> dict[str, Any]:
    """The main dashboard's OEE card: machines by status now and the open alerts."""
    now = datetime.now(UTC)
    machines = _machines(session, actor)
    by_status: dict[str, int] = {}
    below = 0
    for m, number in machines:
        live = oee_live.realtime(
            session=session, scope=_scope(session, [(m, number)], number), now=now
        )
        by_status[live["status"]] = by_status.get(live["status"], 0) + 1
        below += live["on_target"] is False
    open_alerts = len(
        oee_alerts.list_alerts(
            session=session,
            organization_id=actor.organization_id,
            active=True,
            machine_ids=[m.id for m, _ in machines],
        )
    )
    return {
        "oee_card": {
            "machines": len(machines),
            "by_status": by_status,
            "below_target": below,
            "alerts": open_alerts,
        }
    }
