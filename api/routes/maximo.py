"""The Maximo intake (seed 000 C3) under /api/v1/integrations/maximo: imports of a page
of the REST API or a CSV export, the mapping tables, the configuration of the scheduled
sync, and the runs. Admins change; managers read."""

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator
from temporalio.service import RPCError

from activities.maximo import start_lifecycles
from api.deps import AppSettings, DbSession, TemporalClient, require
from api.errors import ApiError
from api.params import Offset, RowId
from domain.actor import Actor
from domain.rules.criticality import SafetyImpact, Urgency
from domain.rules.maximo import Outcome, Page, PriorityRule, read_csv, read_page
from domain.rules.roles import Action, Scope
from domain.schemas.fields import Code, Key, Line, Moment
from domain.services import maximo as service

router = APIRouter(prefix="/api/v1/integrations/maximo", tags=["maximo"])
Reader = Annotated[Actor, Depends(require(Action.MAXIMO_INTEGRATION))]
Admin = Annotated[Actor, Depends(require(Action.MAXIMO_INTEGRATION, Scope.FULL))]
Limit = Annotated[int, Query(ge=1, le=200)]
PriorityNumber = Annotated[int, Path(ge=0, le=999)]

MAX_UPLOAD_BYTES = 10_000_000
MAX_RECORDS = 2_000


# -- shapes --


class RefusalOut(BaseModel):
    site: str | None
    kind: str | None
    id: str | None
    reason: str


class RunOut(BaseModel):
    id: int
    source: str
    workflow_id: str | None
    started_by: str
    started_at: Any
    finished_at: Any
    status: str
    note: str | None
    pages: int
    created: int
    updated: int
    unchanged: int
    refused: int
    created_references: list[str]
    updated_references: list[str]
    refusals: list[RefusalOut]


class ImportOut(RunOut):
    lifecycles_started: int


class AssetMapIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    maximo_site: Key = Field(min_length=1, description="Maximo siteid")
    assetnum: Code = Field(min_length=1, description="Maximo assetnum")
    asset: Code = Field(min_length=1, description="this system's asset number")


class AssetRemapIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    asset: Code = Field(min_length=1, description="this system's asset number")


class AssetMapOut(BaseModel):
    id: int
    maximo_site: str
    assetnum: str
    asset: str


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome = Field(description="OPEN starts the lifecycle; CLOSED, CANCELLED: history")


class StatusOut(BaseModel):
    kind: str
    maximo_status: str
    outcome: str
    source: str


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    urgency: Urgency
    safety_impact: SafetyImpact


class PriorityOut(BaseModel):
    priority: int
    urgency: str
    safety_impact: str
    source: str


class ConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    base_url: Line = Field(min_length=8, description="e.g. https://maximo.example.com/maximo/api")
    api_key: Line | None = Field(
        default=None, description="sent as the `apikey` header; leave out to keep the stored one"
    )
    interval_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    page_size: int = Field(default=100, ge=1, le=1000)
    enabled: bool = False
    resync_from: Moment | None = Field(
        default=None, description="read again everything Maximo changed after this moment"
    )

    @field_validator("resync_from")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2026-11-01T00:00:00Z")
        return value

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or " " in value:
            raise ValueError("must be an http:// or https:// URL")
        return value


class ConfigOut(BaseModel):
    base_url: str
    api_key_set: bool
    interval_minutes: int
    page_size: int
    enabled: bool
    cursor: dict[str, Any]


# -- imports --


async def _page(request: Request) -> tuple[str, Page]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "RuleViolation", "file: send the CSV export as 'file'", "file")
        raw = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            raise ApiError(422, "RuleViolation", "file: at most 10 MB", "file")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError(422, "RuleViolation", "file: the CSV must be UTF-8", "file") from None
        try:
            return "CSV", read_csv(text)
        except (ValueError, UnicodeError) as err:
            raise ApiError(422, "RuleViolation", str(err), "file") from None
    if kind != "application/json":
        raise ApiError(
            415, "RuleViolation", "send a Maximo JSON page (application/json) or "
            "a CSV export (multipart/form-data, field 'file')", "content-type",
        )  # fmt: skip
    raw = await request.body()
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ApiError(422, "RuleViolation", "body: at most 10 MB", "body")
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(422, "RuleViolation", "body: not valid JSON", "body") from None
    try:
        return "JSON", read_page(body)
    except ValueError as err:
        raise ApiError(422, "RuleViolation", str(err), "member") from None


@router.post(
    "/imports", response_model=ImportOut, status_code=201,
    summary="Import a Maximo page (MXWO/MXSR JSON) or a CSV export",
    openapi_extra={"requestBody": {"content": {
        "application/json": {"schema": {"type": "object", "required": ["member"],
                                        "properties": {"member": {"type": "array"}}}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string",
                                                                   "format": "binary"}}}},
    }, "required": True}},
)  # fmt: skip
async def import_page(
    request: Request,
    session: DbSession,
    actor: Admin,
    client: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Counts of created, updated, unchanged and refused records, each refusal with its
    reason. Records closed or cancelled in Maximo are history: no lifecycle, no notices."""
    source, page = await _page(request)
    if len(page.records) + len(page.refusals) > MAX_RECORDS:
        raise ApiError(422, "RuleViolation", f"member: at most {MAX_RECORDS} records at once",
                       "member")  # fmt: skip

    def write() -> tuple[dict[str, Any], list[str]]:
        run = service.begin_run(session=session, actor=actor, source=source)
        done = service.import_records(session=session, run=run, records=page.records,
                                      refusals=page.refusals)  # fmt: skip
        service.finish_run(session=session, run=run)
        out = service.run_out(run)
        session.commit()  # the records stand even if Temporal is briefly away
        return out, done.to_start

    out, to_start = await run_in_threadpool(write)
    started = []
    if to_start:
        try:
            started = await start_lifecycles(client, request.app.state.sessions, settings,
                                             to_start)  # fmt: skip
        except RPCError:
            pass  # the worker starts them when it next comes up (workers/resume.py)
    return {**out, "lifecycles_started": len(started)}


@router.get("/runs", response_model=list[RunOut], summary="Imports and syncs, newest first")
def list_runs(
    session: DbSession, actor: Reader, limit: Limit = 50, offset: Offset = 0
) -> list[dict[str, Any]]:
    runs = service.list_runs(session=session, organization_id=actor.organization_id,
                             limit=limit, offset=offset)  # fmt: skip
    return [service.run_out(r) for r in runs]


@router.get("/runs/{run_id}", response_model=RunOut, summary="One import or sync")
def get_run(run_id: RowId, session: DbSession, actor: Reader) -> dict[str, Any]:
    run = service.get_run(session=session, organization_id=actor.organization_id, run_id=run_id)
    return service.run_out(run)


# -- asset map --


@router.get("/asset-map", response_model=list[AssetMapOut], summary="Maximo assets mapped")
def asset_map(session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    return service.asset_rows(session=session, organization_id=actor.organization_id)


@router.post("/asset-map", response_model=AssetMapOut, status_code=201,
             summary="Map a Maximo siteid + assetnum to an asset")  # fmt: skip
def add_asset(data: AssetMapIn, session: DbSession, actor: Admin) -> dict[str, Any]:
    out = service.map_asset(session=session, actor=actor, maximo_site=data.maximo_site,
                            assetnum=data.assetnum, asset=data.asset)  # fmt: skip
    session.commit()
    return out


@router.put("/asset-map/{entry_id}", response_model=AssetMapOut, summary="Map to another asset")
def change_asset(
    entry_id: RowId, data: AssetRemapIn, session: DbSession, actor: Admin
) -> dict[str, Any]:
    out = service.remap_asset(session=session, actor=actor, entry_id=entry_id, asset=data.asset)
    session.commit()
    return out


@router.delete("/asset-map/{entry_id}", status_code=204, summary="Remove a mapping")
def remove_asset(entry_id: RowId, session: DbSession, actor: Admin) -> None:
    service.unmap_asset(session=session, actor=actor, entry_id=entry_id)
    session.commit()


# -- status and priority maps --


@router.get("/status-map", response_model=list[StatusOut],
            summary="What each Maximo status means here (defaults and own entries)")  # fmt: skip
def status_map(session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    return service.status_rows(session=session, organization_id=actor.organization_id)


@router.put("/status-map/{kind}/{maximo_status}", response_model=list[StatusOut],
            summary="Set what a Maximo status means (kind WO or SR)")  # fmt: skip
def set_status(
    kind: Key, maximo_status: Key, data: StatusIn, session: DbSession, actor: Admin
) -> list[dict[str, Any]]:
    service.set_status(session=session, actor=actor, kind=service.check_kind(kind),
                       maximo_status=maximo_status, outcome=data.outcome)  # fmt: skip
    session.commit()
    return service.status_rows(session=session, organization_id=actor.organization_id)


@router.delete("/status-map/{kind}/{maximo_status}", status_code=204,
               summary="Remove an own entry (the default applies again)")  # fmt: skip
def drop_status(kind: Key, maximo_status: Key, session: DbSession, actor: Admin) -> None:
    service.drop_status(session=session, actor=actor, kind=service.check_kind(kind),
                        maximo_status=maximo_status)  # fmt: skip
    session.commit()


@router.get("/priority-map", response_model=list[PriorityOut],
            summary="Maximo priorities as urgency and safety impact")  # fmt: skip
def priority_map(session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    return service.priority_rows(session=session, organization_id=actor.organization_id)


@router.put("/priority-map/{priority}", response_model=list[PriorityOut],
            summary="Set what a Maximo priority means")  # fmt: skip
def set_priority(
    priority: PriorityNumber,
    data: PriorityIn,
    session: DbSession,
    actor: Admin,
) -> list[dict[str, Any]]:
    service.set_priority(session=session, actor=actor, priority=priority,
                         rule=PriorityRule(data.urgency, data.safety_impact))  # fmt: skip
    session.commit()
    return service.priority_rows(session=session, organization_id=actor.organization_id)


@router.delete("/priority-map/{priority}", status_code=204, summary="Remove an own entry")
def drop_priority(priority: PriorityNumber, session: DbSession, actor: Admin) -> None:
    service.drop_priority(session=session, actor=actor, priority=priority)
    session.commit()


# -- configuration --


@router.get("/config", response_model=ConfigOut, summary="The sync's configuration (no key)")
def get_config(session: DbSession, actor: Reader) -> dict[str, Any]:
    config = service.get_config(session=session, organization_id=actor.organization_id)
    return service.config_out(config)


@router.put("/config", response_model=ConfigOut,
            summary="Where Maximo is, its API key, how often to sync, on or off")  # fmt: skip
async def put_config(
    data: ConfigIn,
    session: DbSession,
    actor: Admin,
    client: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    def write() -> dict[str, Any]:
        config = service.configure(
            session=session, actor=actor, base_url=data.base_url, api_key=data.api_key,
            interval_minutes=data.interval_minutes, page_size=data.page_size,
            enabled=data.enabled, resync_from=data.resync_from,
        )  # fmt: skip
        out = service.config_out(config)
        session.commit()
        return out

    out = await run_in_threadpool(write)
    from workflows.maximo_schedule import apply_schedule

    try:
        await apply_schedule(client, actor.organization_id, settings.task_queue,
                             data.interval_minutes, data.enabled)  # fmt: skip
    except RPCError as err:
        raise ApiError(
            503, "Unavailable", "configuration saved, but the sync's schedule could not be "
            f"set now ({err.message}); save it again",
        ) from None  # fmt: skip
    return out
