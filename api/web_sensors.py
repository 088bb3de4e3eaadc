"""Sensor pages: the sensors of each asset with their rules and where each rule stands, and
the form that adds or changes a sensor and its rules (input kept, errors at their field)."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import DbSession
from api.errors import ApiError
from api.permissions import web_door
from api.web import check_csrf, render
from api.web_errors import field_errors, plain
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Asset
from domain.rules.roles import Action
from domain.schemas.sensors import MAX_RULES, SensorIn
from domain.services import sensors as service

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(web_door(Action.VIEW_ASSETS))]
Editor = Annotated[Actor, Depends(web_door(Action.EDIT_ASSETS))]
SENSOR_FIELDS = ("asset", "code", "name", "kind", "unit", "expected_interval_seconds", "meter_type")
RULE_FIELDS = (
    "id", "kind", "threshold", "for_seconds", "deadband", "safety_impact", "urgency", "pm_schedule"
)  # fmt: skip
EMPTY_RULES = 2  # blank rule rows the form offers for new rules


@router.get("/sensors", response_class=HTMLResponse)
def sensors_page(request: Request, session: DbSession, actor: Viewer, asset: str = "") -> Any:
    rows, total = service.list_sensors(
        session=session,
        organization_id=actor.organization_id,
        asset=asset[:60] or None,
        limit=500,
        offset=0,
    )
    by_asset: dict[str, list] = {}
    for row in rows:
        out = service.to_out(session, row)
        by_asset.setdefault(out.asset, []).append(out)
    return render(
        request, "web/sensors.html", actor=actor, mode="list", by_asset=by_asset, total=total,
        asset=asset,
    )  # fmt: skip


def _assets(session, actor: Actor) -> list[Asset]:
    return list(
        session.scalars(
            select(Asset)
            .where(Asset.organization_id == actor.organization_id)
            .order_by(Asset.asset_number)
        )
    )


def _form_page(request, session, actor, form, errors, error=None, code=None, status=200):
    rules = form.get("rules", [])
    rows = rules + [{} for _ in range(max(0, min(EMPTY_RULES, MAX_RULES - len(rules))))]
    return render(
        request, "web/sensors.html", status, actor=actor, mode="form", form=form, rules=rows,
        errors=errors, error=error, code=code, assets=_assets(session, actor),
    )  # fmt: skip


@router.get("/sensors/new", response_class=HTMLResponse)
def new_form(request: Request, session: DbSession, actor: Editor, asset: str = "") -> Any:
    form = {"asset": asset.upper()[:60], "expected_interval_seconds": "60", "rules": []}
    return _form_page(request, session, actor, form, {})


@router.get("/sensors/{code}", response_class=HTMLResponse)
def edit_form(request: Request, code: str, session: DbSession, actor: Editor) -> Any:
    sensor = service.get_sensor(session=session, organization_id=actor.organization_id, code=code)
    out = service.to_out(session, sensor)
    form = {k: getattr(out, k) for k in SENSOR_FIELDS} | {"is_active": out.is_active}
    form["rules"] = [{k: getattr(r, k) for k in RULE_FIELDS} for r in out.rules]
    return _form_page(request, session, actor, form, {}, code=out.code)


def _values(form) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in SENSOR_FIELDS}
    values["is_active"] = form.get("is_active") == "on"
    rules = []
    for i in range(MAX_RULES):
        rule = {k: str(form.get(f"rules.{i}.{k}", "")).strip() for k in RULE_FIELDS}
        if rule["kind"]:  # a row without a kind is no rule (how a rule is removed)
            rules.append(rule)
    values["rules"] = rules
    return values


def _data(values: dict[str, Any]) -> SensorIn:
    def blank(v: str) -> str | None:
        return v or None

    return SensorIn(
        **{k: blank(values[k]) for k in SENSOR_FIELDS if k != "meter_type"},
        meter_type=blank(values["meter_type"]),
        is_active=values["is_active"],
        rules=[
            {k: v for k, v in r.items() if v != "" and not (k == "id" and v in ("None",))}
            for r in values["rules"]
        ],
    )


def _errors(err: Exception) -> tuple[int, dict[str, str], str]:
    """As the other forms, but a rule's field keeps its row: `rules.1.threshold`."""
    if not isinstance(err, ValidationError):
        return field_errors(err)
    errors: dict[str, str] = {}
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "form"
        message = plain(e["msg"])
        if ": " in message and field.startswith("rules."):  # "threshold: must be..."
            name, message = message.split(": ", 1)
            field = f"{field}.{name}"
        errors.setdefault(field, message)
    first = next(iter(errors.items()))
    return 422, errors, f"{first[0].replace('_', ' ')}: {first[1]}"


async def _save(request: Request, session, actor: Actor, code: str | None) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    values = _values(form)

    def save() -> str:
        data = _data(values)
        if code is None:
            sensor = service.create_sensor(session=session, actor=actor, data=data)
        else:
            sensor = service.update_sensor(session=session, actor=actor, code=code, data=data)
        saved = sensor.code
        session.commit()
        return saved

    def refused(err: Exception) -> Response:
        session.rollback()
        status, errors, error = _errors(err)
        return _form_page(request, session, actor, values, errors, error, code, status)

    # The database off the event loop: it serves other requests meanwhile.
    try:
        saved = await asyncio.to_thread(save)
    except (ValidationError, ApiError, DomainError) as err:
        return await asyncio.to_thread(refused, err)
    return RedirectResponse(f"/sensors?notice=Sensor+{saved}+saved", 303)


@router.post("/sensors/new", response_class=HTMLResponse)
async def new_submit(request: Request, session: DbSession, actor: Editor) -> Response:
    return await _save(request, session, actor, None)


@router.post("/sensors/{code}", response_class=HTMLResponse)
async def edit_submit(request: Request, code: str, session: DbSession, actor: Editor) -> Response:
    return await _save(request, session, actor, code)
