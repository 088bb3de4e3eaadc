"""Lists and details read as one JSON object per record, built by PostgreSQL with the
answer's own field names: the same answers as the records' `to_out`, without building
ORM objects or reading columns one by one in Python. A record's lines come in the same
statement as JSON arrays, so a page is the count and one statement, whatever it holds."""

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Text, bindparam, case, cast, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg as psycopg_dialect
from sqlalchemy.orm import aliased

from domain.models import (
    Anomaly,
    AnomalyAttachment,
    Area,
    Asset,
    AssetType,
    Meter,
    Permit,
    RevokedToken,
    Site,
    User,
    WorkCenter,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderLabor,
    WorkOrderPart,
    WorkOrderTask,
)

EMPTY_LIST = literal_column("'[]'::json")
EMPTY_OBJECT = literal_column("'{}'::jsonb")
EMPTY_ARRAY = literal_column("'[]'::jsonb")  # for jsonb columns


def _object(**fields: Any) -> Any:
    """json_build_object('name', column, ...): at most 50 fields (PostgreSQL's 100 arguments)."""
    pairs = [p for name, column in fields.items() for p in (literal_column(f"'{name}'"), column)]
    return func.json_build_object(*pairs)


def _or(column: Any, empty: Any) -> Any:
    """As `value or empty` in Python: SQL NULL and a stored JSON null both give `empty`."""
    return func.coalesce(func.nullif(column, literal_column("'null'::jsonb")), empty)


def _lines(parent: Any, key: Any, order: Any, **fields: Any) -> Any:
    """A record's lines of one kind as a JSON array of objects, in `order`."""
    agg = func.json_agg(aggregate_order_by(_object(**fields), order))
    return select(func.coalesce(agg, EMPTY_LIST)).where(key == parent).scalar_subquery()


def _page(items: list[dict], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# Aliases: a filter may already join the plain table (an asset's number, a site's code).
_Assignee = aliased(User)
_Type = aliased(AssetType)
_Site = aliased(Site)
_Area = aliased(Area)
_WorkCenter = aliased(WorkCenter)
_Parent = aliased(Asset)
_Asset = aliased(Asset)

# -- anomalies --

A = AnomalyAttachment
_ANOMALY = _object(
    reference=Anomaly.reference,
    status=Anomaly.status,
    title=Anomaly.title,
    description=Anomaly.description,
    asset=func.coalesce(Anomaly.enrichment["asset_number"].astext, ""),
    site=func.coalesce(Anomaly.enrichment["site_code"].astext, ""),
    location=Anomaly.location,
    channel=Anomaly.channel,
    reporter=Anomaly.reporter_name,
    occurred_at=Anomaly.occurred_at,
    detected_at=Anomaly.detected_at,
    registered_at=Anomaly.registered_at,
    latitude=Anomaly.latitude,
    longitude=Anomaly.longitude,
    criticality=Anomaly.criticality,
    criticality_score=Anomaly.criticality_score,
    criticality_reasons=_or(Anomaly.criticality_reasons, EMPTY_ARRAY),
    response_deadline=Anomaly.response_deadline,
    dashboard_flag=Anomaly.dashboard_flag,
    alert_acknowledged_at=Anomaly.alert_acknowledged_at,
    assignee=case((Anomaly.assignee_id.is_not(None), _Assignee.username)),
    assignment_score=Anomaly.assignment_score,
    assignment_explanation=_or(Anomaly.assignment_explanation, EMPTY_ARRAY),
    escalation_level=Anomaly.escalation_level,
    eta=Anomaly.eta,
    accepted_at=Anomaly.accepted_at,
    resolved_at=Anomaly.resolved_at,
    closed_at=Anomaly.closed_at,
    resolution=_or(Anomaly.resolution, EMPTY_OBJECT),
    work_log=_or(Anomaly.work_log, EMPTY_OBJECT),
    enrichment=_or(Anomaly.enrichment, EMPTY_OBJECT),
    attachments=_lines(
        Anomaly.id, A.anomaly_id, A.id,
        id=A.id, kind=A.kind, filename=A.filename, content_type=A.content_type, size=A.size,
        caption=A.caption, uploaded_by=A.uploaded_by, uploaded_at=A.uploaded_at,
    ),
)  # fmt: skip
_ANOMALY_JOINS = ((_Assignee, _Assignee.id == Anomaly.assignee_id, True),)


# The work orders opened from an anomaly, oldest first, shown with its detail.
_OPENED = (
    select(
        func.coalesce(
            func.json_agg(
                aggregate_order_by(
                    _object(number=WorkOrder.number, status=WorkOrder.status, type=WorkOrder.type),
                    WorkOrder.id,
                )
            ),
            EMPTY_LIST,
        )
    )
    .where(
        WorkOrder.organization_id == Anomaly.organization_id,
        WorkOrder.source_reference == Anomaly.reference,
    )
    .scalar_subquery()
)


# -- assets --

_ASSET = _object(
    id=Asset.id,
    asset_number=Asset.asset_number,
    name=Asset.name,
    description=Asset.description,
    type_code=_Type.code,
    type_name=_Type.name,
    category=_Type.category,
    criticality=Asset.criticality,
    status=Asset.status,
    status_reason=Asset.status_reason,
    status_changed_at=Asset.status_changed_at,
    status_changed_by=Asset.status_changed_by,
    site_code=_Site.code,
    area_code=_Area.code,
    work_center_code=_WorkCenter.code,
    parent_asset_number=_Parent.asset_number,
    manufacturer=Asset.manufacturer,
    model=Asset.model,
    serial_number=Asset.serial_number,
    install_date=Asset.install_date,
    requires_certification=Asset.requires_certification,
    certification_expiry=Asset.certification_expiry,
    production_loss_per_hour=Asset.production_loss_per_hour,
    latitude=Asset.latitude,
    longitude=Asset.longitude,
    meters=_lines(
        Asset.id, Meter.asset_id, Meter.id,
        meter_type=Meter.meter_type, unit=Meter.unit, current_reading=Meter.current_reading,
        last_reading_at=Meter.last_reading_at,
    ),
    updated_at=Asset.updated_at,
)  # fmt: skip
_ASSET_JOINS = (
    (_Type, _Type.id == Asset.type_id, False),
    (_Site, _Site.id == Asset.site_id, False),
    (_Area, _Area.id == Asset.area_id, True),
    (_WorkCenter, _WorkCenter.id == Asset.work_center_id, True),
    (_Parent, _Parent.id == Asset.parent_asset_id, True),
)


# -- work orders --

T, L, P, PT, F = WorkOrderTask, WorkOrderLabor, WorkOrderPart, Permit, WorkOrderAttachment
_WORK_ORDER = _object(
    number=WorkOrder.number,
    type=WorkOrder.type,
    priority=WorkOrder.priority,
    source=WorkOrder.source,
    source_reference=WorkOrder.source_reference,
    status=WorkOrder.status,
    asset=_Asset.asset_number,
    asset_status=_Asset.status,
    title=WorkOrder.title,
    description=WorkOrder.description,
    assigned_to_id=WorkOrder.assigned_to_id,
    scheduled_date=WorkOrder.scheduled_date,
    estimated_hours=WorkOrder.estimated_hours,
    estimated_cost=WorkOrder.estimated_cost,
    requires_loto=WorkOrder.requires_loto,
    requires_hot_work=WorkOrder.requires_hot_work,
    requires_confined_space=WorkOrder.requires_confined_space,
    requires_first_article=WorkOrder.requires_first_article,
    first_article_passed=WorkOrder.first_article_passed,
    after_stop_work=WorkOrder.after_stop_work,
    started_at=WorkOrder.started_at,
    completed_at=WorkOrder.completed_at,
    verified_at=WorkOrder.verified_at,
    verification=WorkOrder.verification,
    test_run_passed=WorkOrder.test_run_passed,
    approvals=WorkOrder.approvals,
    closed_at=WorkOrder.closed_at,
    cancel_reason=WorkOrder.cancel_reason,
    tasks=_lines(
        WorkOrder.id, T.work_order_id, T.sequence,
        sequence=T.sequence, description=T.description, required=T.is_required,
        requires_measurement=T.requires_measurement, unit=T.measurement_unit,
        spec_min=T.spec_min, spec_max=T.spec_max, requires_photo=T.requires_photo,
        measurement_value=T.measurement_value,
        measurement_passed=T.measurement_passed, completed=T.completed,
        completed_by=T.completed_by,
    ),
    labor=_lines(
        WorkOrder.id, L.work_order_id, L.id,
        technician=L.technician_name, hours=L.hours, type=L.labor_type, cost=L.total_cost,
    ),
    parts=_lines(
        WorkOrder.id, P.work_order_id, P.id,
        part_id=P.part_id, required=P.quantity_required, used=P.quantity_used,
        serial_numbers=P.serial_numbers, issued_by=P.issued_by, unit_cost=P.unit_cost,
    ),
    permits=_lines(
        WorkOrder.id, PT.work_order_id, PT.id,
        number=PT.number, kind=PT.kind, status=PT.status, issued_by=PT.issued_by,
        energy_sources=PT.energy_sources, isolation_verified=PT.isolation_verified,
        removed_by=PT.removed_by,
    ),
    attachments=_lines(
        WorkOrder.id, F.work_order_id, F.id,
        id=F.id, kind=F.kind, filename=F.filename, source=F.source, uploaded_by=F.uploaded_by,
    ),
)  # fmt: skip
_WORK_ORDER_JOINS = ((_Asset, _Asset.id == WorkOrder.asset_id, False),)


# -- one statement per read, for psycopg's own connections --
#
# Each read's SQL is compiled once per shape (which filters are given) and then run with
# its values as a prepared statement: no statement building, no ORM, one round trip for
# the count and the page together.

_DIALECT = psycopg_dialect()
_compiled: dict[tuple, tuple[str, dict[str, Any]]] = {}


def _sql(key: tuple, build: Callable[[], Any]) -> tuple[str, dict[str, Any]]:
    """The SQL text of `build()` and the values of its constant parameters."""
    found = _compiled.get(key)
    if found is None:
        compiled = build().compile(dialect=_DIALECT)
        found = _compiled[key] = (compiled.string, dict(compiled.params))
    return found


async def _one(conn: Any, key: tuple, build: Callable[[], Any], values: dict) -> Any:
    sql, constants = _sql(key, build)
    cursor = await conn.execute(sql, {**constants, **values}, prepare=True)
    return await cursor.fetchone()


def _named(name: str) -> Any:
    return bindparam(name, required=False)


def _page_statement(where: list, record: Any, joins: tuple, order: list, entity: Any) -> Any:
    """The count and the page's records (a JSON array, in order) of `entity` rows `where`."""
    count = select(func.count()).select_from(entity).where(*where).scalar_subquery()
    rows = select(record.label("o"), func.row_number().over(order_by=order).label("n"))
    rows = rows.select_from(entity)
    for target, on, outer in joins:
        rows = rows.join(target, on, isouter=outer)
    rows = rows.where(*where).order_by(*order).limit(_named("limit")).offset(_named("offset"))
    page = rows.subquery()
    items = func.coalesce(func.json_agg(aggregate_order_by(page.c.o, page.c.n)), EMPTY_LIST)
    # As text: the answer's model reads it straight from JSON, with no Python objects between.
    items = cast(select(items).scalar_subquery(), Text)
    return select(count.label("total"), items.label("items"))


async def _page_of(conn, key, build, values, limit: int, offset: int) -> str:
    """The page as JSON text, as `_page` would hold it."""
    total, items = await _one(conn, key, build, {**values, "limit": limit, "offset": offset})
    return f'{{"items":{items},"total":{total},"limit":{limit},"offset":{offset}}}'


def _in(column: Any, key: Any, where: Any) -> Any:
    return column.in_(select(key).where(where))


def _statuses(text: str) -> list[str]:
    return [s.strip().upper() for s in text.split(",") if s.strip()]


async def anomaly_page_of(
    conn: Any, *, organization_id: int, filters: Any, limit: int, offset: int
) -> str:
    """As anomaly_page over anomalies.filtered(filters) of the organisation, as JSON text."""
    f = filters
    values: dict[str, Any] = {"org": organization_id}
    if f.status:
        values["statuses"] = _statuses(f.status)
        if not values["statuses"]:  # as `status IN ()`: nothing
            return f'{{"items":[],"total":0,"limit":{limit},"offset":{offset}}}'
    if f.criticality:
        values["criticality"] = f.criticality.upper()
    if f.asset:
        values["asset"] = f.asset.upper()
    if f.site:
        values["site"] = f.site.upper()
    if f.assignee:
        values["assignee"] = f.assignee
    if f.q:
        values["like"] = f"%{f.q}%"
    shape = tuple(sorted(values))

    def build() -> Any:
        where = [Anomaly.organization_id == _named("org")]
        if "statuses" in values:
            where.append(Anomaly.status == func.any(_named("statuses")))
        if "criticality" in values:
            where.append(Anomaly.criticality == _named("criticality"))
        if "asset" in values:
            where.append(_in(Anomaly.asset_id, Asset.id, Asset.asset_number == _named("asset")))
        if "site" in values:
            where.append(_in(Anomaly.site_id, Site.id, Site.code == _named("site")))
        if "assignee" in values:
            where.append(_in(Anomaly.assignee_id, User.id, User.username == _named("assignee")))
        if "like" in values:
            like = _named("like")
            where.append(or_(Anomaly.title.ilike(like), Anomaly.description.ilike(like)))
        order = [Anomaly.registered_at.desc(), Anomaly.id.desc()]
        return _page_statement(where, _ANOMALY, _ANOMALY_JOINS, order, Anomaly)

    return await _page_of(conn, ("anomalies", *shape), build, values, limit, offset)


async def asset_page_of(
    conn: Any, *, actor: Any, assigned_only: bool, filters: Any, limit: int, offset: int
) -> str:
    """As asset_page over assets.filtered(actor, filters), as JSON text: an operator
    (`assigned_only`) sees the assets of its own work centre."""
    f = filters
    values: dict[str, Any] = {"org": actor.organization_id}
    if assigned_only:
        values["user"] = actor.user_id
    if f.site:
        values["site"] = f.site.upper()
    if f.status:
        values["status"] = f.status.value
    if f.criticality:
        values["criticality"] = f.criticality.upper()
    if f.type:
        values["type"] = f.type.upper()
    if f.work_center:
        values["work_center"] = f.work_center.upper()
    if f.q:
        values["like"] = f"%{f.q}%"
    shape = tuple(sorted(values))

    def build() -> Any:
        where = [Asset.organization_id == _named("org")]
        if "user" in values:
            wc = select(User.work_center_id).where(User.id == _named("user")).scalar_subquery()
            where.append(Asset.work_center_id == wc)
        if "site" in values:
            where.append(_in(Asset.site_id, Site.id, Site.code == _named("site")))
        if "status" in values:
            where.append(Asset.status == _named("status"))
        if "criticality" in values:
            where.append(Asset.criticality == _named("criticality"))
        if "type" in values:
            where.append(_in(Asset.type_id, AssetType.id, AssetType.code == _named("type")))
        if "work_center" in values:
            code = WorkCenter.code == _named("work_center")
            where.append(_in(Asset.work_center_id, WorkCenter.id, code))
        if "like" in values:
            like = _named("like")
            where.append(or_(Asset.asset_number.ilike(like), Asset.name.ilike(like)))
        return _page_statement(where, _ASSET, _ASSET_JOINS, [Asset.asset_number], Asset)

    return await _page_of(conn, ("assets", *shape), build, values, limit, offset)


def _with_costs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in items:
        # As WorkOrder.labor_cost and parts_cost: summed in Python from the lines in the
        # same order, so the floats come out the same to the last digit.
        labor = round(sum(e["cost"] for e in item["labor"]), 2)
        parts = round(sum((p["used"] or 0) * (p.pop("unit_cost") or 0) for p in item["parts"]), 2)
        item["labor_cost"], item["parts_cost"] = labor, parts
        item["total_cost"] = round(labor + parts, 2)
    return items


async def work_order_page_of(
    conn: Any,
    *,
    organization_id: int,
    statuses: str | None,
    type: str | None,
    asset: str | None,
    assignee_id: int | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """As work_order_page over the organisation's work orders the filters pick."""
    values: dict[str, Any] = {"org": organization_id}
    if statuses:
        values["statuses"] = [s.strip().upper() for s in statuses.split(",")]
    if type:
        values["type"] = type
    if asset:
        values["asset"] = asset.upper()
    if assignee_id is not None:
        values["assignee"] = assignee_id
    shape = tuple(sorted(values))

    def build() -> Any:
        where = [WorkOrder.organization_id == _named("org")]
        if "statuses" in values:
            where.append(WorkOrder.status == func.any(_named("statuses")))
        if "type" in values:
            where.append(WorkOrder.type == _named("type"))
        if "asset" in values:
            where.append(_in(WorkOrder.asset_id, Asset.id, Asset.asset_number == _named("asset")))
        if "assignee" in values:
            where.append(WorkOrder.assigned_to_id == _named("assignee"))
        order = [WorkOrder.id.desc()]
        return _page_statement(where, _WORK_ORDER, _WORK_ORDER_JOINS, order, WorkOrder)

    total, items = await _one(
        conn, ("work_orders", *shape), build, {**values, "limit": limit, "offset": offset}
    )
    return _page(_with_costs(json.loads(items)), total, limit, offset)


async def user_id_of(conn: Any, *, organization_id: int, username: str) -> int | None:
    """The id of the organisation's user of that name (active or not), or None."""

    def build() -> Any:
        return select(User.id).where(
            User.organization_id == _named("org"), User.username == _named("username")
        )

    row = await _one(conn, ("user_id",), build, {"org": organization_id, "username": username})
    return row[0] if row else None


async def owns(conn: Any, *, model: Any, key: Any, organization_id: int, ref: str) -> str | None:
    """The record's key (as stored) if the organisation has it, else None."""

    def build() -> Any:
        return select(key).where(model.organization_id == _named("org"), key == _named("ref"))

    row = await _one(conn, ("owns", key.key), build, {"org": organization_id, "ref": ref.upper()})
    return row[0] if row else None


async def anomaly_view_of(conn: Any, *, organization_id: int, reference: str) -> dict | None:
    """As anomaly_view."""

    def build() -> Any:
        statement = select(_ANOMALY, _OPENED).select_from(Anomaly)
        for target, on, outer in _ANOMALY_JOINS:
            statement = statement.join(target, on, isouter=outer)
        return statement.where(
            Anomaly.organization_id == _named("org"), Anomaly.reference == _named("ref")
        )

    values = {"org": organization_id, "ref": reference.upper()}
    row = await _one(conn, ("anomaly_view",), build, values)
    if row is None:
        return None
    out, opened = row
    out["work_orders"] = opened
    return out


async def work_order_view_of(conn: Any, *, organization_id: int, number: str) -> dict | None:
    """As work_order_view."""

    def build() -> Any:
        statement = select(_WORK_ORDER).select_from(WorkOrder)
        for target, on, outer in _WORK_ORDER_JOINS:
            statement = statement.join(target, on, isouter=outer)
        return statement.where(
            WorkOrder.organization_id == _named("org"), WorkOrder.number == _named("number")
        )

    values = {"org": organization_id, "number": number.upper()}
    row = await _one(conn, ("work_order_view",), build, values)
    return _with_costs([row[0]])[0] if row else None


# -- who asks --


async def bearer_of(conn: Any, *, user_id: int, token_id: str | None) -> tuple[bool, Any]:
    """As users.bearer, in one statement whether the user exists or not: (revoked, the
    user's row or None)."""

    def build() -> Any:
        revoked = select(
            select(RevokedToken.token_id)
            .where(RevokedToken.token_id == _named("token"))
            .exists()
            .label("revoked")
        ).subquery("r")
        return (
            select(
                revoked.c.revoked,
                User.username,
                User.full_name,
                User.organization_id,
                User.roles,
                User.is_active,
            )
            .select_from(revoked)
            .outerjoin(User, User.id == _named("user"))
        )

    row = await _one(conn, ("bearer",), build, {"token": token_id, "user": user_id})
    return row[0], (row if row[1] is not None else None)
