"""Server-rendered pages: session cookie login, CSRF-checked forms, asset pages."""

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import func, select

from api import meter_readings, sign_in, web_words
from api.asset_status import change_by_hand
from api.deps import DbSession, TemporalClient
from api.errors import ApiError
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Asset, Site
from domain.rules.asset_status import TRANSITIONS, AssetStatus
from domain.rules.roles import Action, Scope, scope_for
from domain.schemas.assets import MeterReadingIn, StatusChange
from domain.services import assets as service
from domain.services import web_sessions
from domain.services.users import actor_for
from domain.settings import PROJECT_ROOT

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")


class LoginRequired(Exception):
    pass


def back_to(request: Request) -> str:
    """The page to come back to after sign-in: its path and query."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: str) -> None:
    expected = request.session.get("csrf")
    if not expected or not secrets.compare_digest(expected, submitted or ""):
        raise ApiError(
            403, "CsrfFailed", "form expired or forged: reload the page and retry", "csrf_token"
        )


def web_actor(request: Request, session: DbSession) -> Actor:
    # The signed cookie alone is not enough: its session must still be live in the table.
    now = datetime.now(UTC)
    user = web_sessions.user_for(session=session, token=request.session.get("sid"), now=now)
    if user is None:
        raise LoginRequired
    return actor_for(user, sign_in.client_address(request, request.app.state.settings))


WebActor = Annotated[Actor, Depends(web_actor)]


def _page(action: Action, *scopes: Scope):
    from api.permissions import web_door

    return Annotated[Actor, Depends(web_door(action, *scopes))]


def _public():
    from api.permissions import public

    return Depends(public)


DashboardViewer = _page(Action.VIEW_DASHBOARD)
AssetViewer = _page(Action.VIEW_ASSETS)
StatusChanger = _page(Action.CHANGE_ASSET_STATUS)
MeterRecorder = _page(Action.RECORD_METER)


templates.env.filters["word"] = web_words.word
templates.env.globals.update(
    word=web_words.word, role_words=web_words.role_words, site_time=web_words.site_time
)


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    actor: Actor | None = context.setdefault("actor", None)

    def may(action: str) -> bool:
        """Whether the signed-in person holds the action (the API's own table)."""
        return actor is not None and scope_for(actor.roles, Action[action]) is not None

    settings = request.app.state.settings
    context.setdefault("temporal_ui", f"http://{request.url.hostname}:{settings.temporal_ui_port}")
    return templates.TemplateResponse(
        request,
        name,
        {"csrf_token": csrf_token(request), "may": may, **context},
        status_code=status_code,
    )


ERROR_TITLES = {403: "Not for your role", 404: "Not found", 409: "Changed meanwhile"}


def error_page(request: Request, status: int, message: str) -> HTMLResponse | None:
    """An HTML page with the navigation for a browser's page request; None for the API."""
    if request.url.path.startswith(("/api/", "/static/", "/health", "/docs", "/openapi")):
        return None
    if "text/html" not in request.headers.get("accept", ""):
        return None
    actor = None
    try:
        with request.app.state.sessions() as session:
            actor = web_actor(request, session)
    except Exception:  # signed out, or the database is away: the page still answers
        actor = None
    title = ERROR_TITLES.get(status, "Could not do that")
    return render(
        request, "web/error.html", status, actor=actor, title=title, message=message,
        status=status,
    )  # fmt: skip


@router.get("/favicon.ico", dependencies=[_public()])
def favicon() -> Response:
    """Browsers ask for /favicon.ico before reading the page's icon link."""
    return Response(
        (PROJECT_ROOT / "static" / "favicon.svg").read_bytes(), media_type="image/svg+xml"
    )


@router.get("/login", response_class=HTMLResponse, dependencies=[_public()])
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "web/login.html", next=next)


@router.post("/login", dependencies=[_public()])
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_csrf(request, csrf)
    settings = request.app.state.settings
    outcome = sign_in.attempt(request, session, settings, username, password)
    if outcome.refusal is not None:
        page = render(
            request,
            "web/login.html",
            429,
            next=next,
            username=username,
            error=sign_in.refusal_message(outcome.refusal),
        )
        page.headers.update(sign_in.retry_after_header(outcome.refusal))
        return page
    user = outcome.user
    if user is None:
        return render(
            request,
            "web/login.html",
            401,
            next=next,
            username=username,
            error="invalid username or password",
        )
    token = web_sessions.open_session(
        session=session,
        user=user,
        address=sign_in.client_address(request, settings),
        ttl=timedelta(minutes=settings.session_ttl_minutes),
        now=datetime.now(UTC),
    )
    session.commit()
    request.session.clear()  # a fresh cookie: nothing from before sign-in carries over
    request.session["sid"] = token
    csrf_token(request)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=[_public()])
def logout(
    request: Request, session: DbSession, csrf: Annotated[str, Form(alias="csrf_token")] = ""
) -> Response:
    check_csrf(request, csrf)
    web_sessions.revoke(session=session, token=request.session.get("sid"), now=datetime.now(UTC))
    session.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, actor: DashboardViewer) -> HTMLResponse:
    rows, _ = service.list_assets(
        session=session, actor=actor, filters=service.AssetFilters(), limit=1000, offset=0
    )
    by_status: dict[str, int] = {}
    for asset in rows:
        by_status[asset.status.value] = by_status.get(asset.status.value, 0) + 1
    sites = session.execute(
        select(Site.code, Site.name, func.count(Asset.id))
        .join(Asset, Asset.site_id == Site.id, isouter=True)
        .where(Site.organization_id == actor.organization_id)
        .group_by(Site.id)
        .order_by(Site.code)
    ).all()
    attention = [a for a in rows if a.status is not AssetStatus.IN_SERVICE]
    from api.web_oee import dashboard_card  # it renders through this module
    from api.web_pm import dashboard_card as pm_card

    oee_card = (dashboard_card(session, actor)
                if scope_for(actor.roles, Action.VIEW_OEE) else {})  # fmt: skip
    return render(
        request,
        "web/dashboard.html",
        actor=actor,
        **dashboard_cards(session, actor),
        pm_sites=pm_card(session, actor.organization_id),
        **oee_card,
        by_status=by_status,
        sites=sites,
        attention=attention,
        total=len(rows),
    )


OPEN_ANOMALY = [
    "REGISTERED",
    "ASSIGNED",
    "ESCALATED",
    "IN_PROGRESS",
    "RESOLVED",
    "REX",
    "REX_REVIEW",
]
DOWN = [AssetStatus.OUT_OF_SERVICE, AssetStatus.SAFETY_HOLD, AssetStatus.MAINTENANCE]


def dashboard_cards(session, actor: Actor) -> dict:
    """Seed 003 H.2: open anomalies by level, work orders by state, assets down, and the
    downtime of today (each site's own day)."""
    from zoneinfo import ZoneInfo

    from domain.models import Anomaly, DowntimeRecord, WorkOrder
    from domain.models.production import Machine, ProductionDowntime
    from domain.rules.oee import Interval, covered_seconds

    org = actor.organization_id
    levels = dict(
        session.execute(
            select(func.coalesce(Anomaly.criticality, "assessing"), func.count())
            .where(Anomaly.organization_id == org, Anomaly.status.in_(OPEN_ANOMALY))
            .group_by(Anomaly.criticality)
        ).all()
    )
    states = dict(
        session.execute(
            select(WorkOrder.status, func.count())
            .where(
                WorkOrder.organization_id == org,
                WorkOrder.status.notin_(["CLOSED", "CANCELLED", "REJECTED"]),
            )
            .group_by(WorkOrder.status)
        ).all()
    )
    down = session.scalar(
        select(func.count()).where(Asset.organization_id == org, Asset.status.in_(DOWN))
    )
    now = datetime.now(UTC)
    zones = web_words.site_zones(session, org)
    recent = now - timedelta(days=2)
    # A stoppage may be logged on the floor and kept by maintenance: united per asset,
    # it counts once (seed 003 E.2).
    maintenance = session.execute(
        select(DowntimeRecord.asset_id, Asset.site_id, DowntimeRecord.start_time,
               DowntimeRecord.end_time)
        .join(Asset, Asset.id == DowntimeRecord.asset_id)
        .where(
            DowntimeRecord.organization_id == org,
            (DowntimeRecord.end_time.is_(None)) | (DowntimeRecord.end_time >= recent),
        )
    ).all()  # fmt: skip
    floor = session.execute(
        select(Machine.asset_id, Machine.site_id, ProductionDowntime.start_time,
               ProductionDowntime.end_time)
        .join(Machine, Machine.id == ProductionDowntime.machine_id)
        .where(
            ProductionDowntime.organization_id == org,
            (ProductionDowntime.end_time.is_(None)) | (ProductionDowntime.end_time >= recent),
        )
    ).all()  # fmt: skip
    by_asset: dict[int, list[Interval]] = {}
    for asset_id, site_id, start, end in [*maintenance, *floor]:
        tz = ZoneInfo(zones.get(site_id) or "UTC")
        midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        today = Interval(max(start, midnight), min(end or now, now))
        if today.end > today.start:
            by_asset.setdefault(asset_id, []).append(today)
    minutes = sum(covered_seconds(spans) for spans in by_asset.values()) / 60
    return {
        "anomaly_levels": levels,
        "wo_states": states,
        "assets_down": down or 0,
        "downtime_today": round(minutes),
    }


@router.get("/assets", response_class=HTMLResponse)
def asset_list(
    request: Request,
    session: DbSession,
    actor: AssetViewer,
    site: str = "",
    status: str = "",
    q: str = "",
) -> HTMLResponse:
    status_filter = AssetStatus(status) if status in AssetStatus.__members__ else None
    rows, total = service.list_assets(
        session=session,
        actor=actor,
        filters=service.AssetFilters(site or None, status_filter, q=q or None),
        limit=500,
        offset=0,
    )
    sites = session.scalars(
        select(Site).where(Site.organization_id == actor.organization_id).order_by(Site.code)
    ).all()
    return render(
        request,
        "web/assets.html",
        actor=actor,
        assets=rows,
        total=total,
        sites=sites,
        statuses=list(AssetStatus),
        site=site,
        status=status,
        q=q,
    )


@router.get("/assets/labels", response_class=HTMLResponse)
def label_sheet(request: Request, session: DbSession, actor: AssetViewer, site: str = ""):
    """A sheet of QR labels to print and stick on the machines: scanning one opens the
    report form with that machine chosen."""
    rows, _ = service.list_assets(
        session=session, actor=actor, filters=service.AssetFilters(site or None, None),
        limit=1000, offset=0,
    )  # fmt: skip
    return render(request, "web/labels.html", actor=actor, assets=rows, site=site)


def _detail(
    request: Request, session, actor: Actor, ref: str, status_code: int = 200, **extra
) -> HTMLResponse:
    asset = service.get_asset(session=session, actor=actor, ref=ref)
    history, _ = service.asset_history(session=session, actor=actor, ref=ref, limit=20, offset=0)
    can_change = scope_for(actor.roles, Action.CHANGE_ASSET_STATUS) is not None
    can_meter = scope_for(actor.roles, Action.RECORD_METER) is not None
    return render(
        request,
        "web/asset_detail.html",
        status_code,
        actor=actor,
        asset=service.to_out(session, asset),
        history=history,
        next_statuses=sorted(s.value for s in TRANSITIONS[asset.status]),
        can_change=can_change,
        can_meter=can_meter,
        zone=web_words.asset_zone(session, asset.id),
        **extra,
    )


@router.get("/assets/{ref}", response_class=HTMLResponse)
def asset_detail(
    ref: str, request: Request, session: DbSession, actor: AssetViewer
) -> HTMLResponse:
    return _detail(request, session, actor, ref, notice=request.query_params.get("notice"))


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


@router.post("/assets/{ref}/status", response_class=HTMLResponse)
async def asset_status_form(
    ref: str,
    request: Request,
    session: DbSession,
    actor: StatusChanger,
    status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        change = StatusChange(status=status, reason=reason)
        await change_by_hand(request.app.state, session, actor, ref, change)
    except ValidationError as err:
        return _detail(
            request,
            session,
            actor,
            ref,
            422,
            error=_first_error(err),
            form={"status": status, "reason": reason},
        )
    except (ApiError, DomainError) as err:
        code = err.status if isinstance(err, ApiError) else 422
        return _detail(
            request,
            session,
            actor,
            ref,
            code,
            error=err.message,
            form={"status": status, "reason": reason},
        )
    return RedirectResponse(f"/assets/{ref}?notice=Status+changed+to+{status}", 303)


@router.post("/assets/{ref}/meters", response_class=HTMLResponse)
async def asset_meter_form(
    ref: str,
    request: Request,
    session: DbSession,
    client: TemporalClient,
    actor: MeterRecorder,
    meter_type: Annotated[str, Form()] = "",
    reading: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        data = MeterReadingIn(meter_type=meter_type, reading=reading)
        # The same door as the API's: the asset's meter-based PM schedules hear of it.
        await meter_readings.record_and_tell(
            session=session, client=client, actor=actor, ref=ref, data=data
        )
    except ValidationError as err:
        session.rollback()
        return _detail(request, session, actor, ref, 422, meter_error=_first_error(err))
    except (ApiError, DomainError) as err:
        session.rollback()
        code = err.status if isinstance(err, ApiError) else 422
        return _detail(request, session, actor, ref, code, meter_error=err.message)
    return RedirectResponse(f"/assets/{ref}?notice=Reading+recorded", 303)
