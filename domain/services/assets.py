"""Asset use cases: register, describe, list, change status, meter readings, history."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from domain.actor import Actor
from domain.errors import Conflict, NotFound, RuleViolation
from domain.models import (
    Area,
    Asset,
    AssetType,
    AuditLog,
    Meter,
    MeterReading,
    Organization,
    Site,
    WorkCenter,
)
from domain.rules.asset_status import AssetStatus, transition_refusal
from domain.rules.assets import meter_reading_refusal
from domain.rules.roles import Action, Scope, scope_for
from domain.schemas.assets import (
    AssetCreate,
    AssetOut,
    AssetUpdate,
    MeterOut,
    MeterReadingIn,
)
from domain.services.audit import record_change, snapshot

AUDITED_FIELDS = [
    "name", "description", "type_id", "criticality", "area_id", "work_center_id",
    "manufacturer", "model", "serial_number", "install_date", "requires_certification",
    "certification_expiry", "production_loss_per_hour", "latitude", "longitude",
]  # fmt: skip


@dataclass(frozen=True)
class AssetFilters:
    site: str | None = None
    status: AssetStatus | None = None
    criticality: str | None = None
    type: str | None = None
    work_center: str | None = None
    q: str | None = None


def _scoped(actor: Actor):
    """Assets the actor may see: its organisation, and for operators its work centre."""
    query = select(Asset).where(Asset.organization_id == actor.organization_id)
    if scope_for(actor.roles, Action.VIEW_ASSETS) is Scope.ASSIGNED:
        from domain.models import User

        wc = select(User.work_center_id).where(User.id == actor.user_id).scalar_subquery()
        query = query.where(Asset.work_center_id == wc)
    return query


def list_assets(
    *, session: Session, actor: Actor, filters: AssetFilters, limit: int, offset: int
) -> tuple[list[Asset], int]:
    query = filtered(actor=actor, filters=filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.options(*SHOWN).order_by(Asset.asset_number).limit(limit).offset(offset)
    return list(session.scalars(page).all()), total


def filtered(*, actor: Actor, filters: AssetFilters) -> Select[tuple[Asset]]:
    """The assets the actor may see that the filters pick."""
    query = _scoped(actor)
    if filters.site:
        query = query.join(Site, Site.id == Asset.site_id).where(Site.code == filters.site.upper())
    if filters.status:
        query = query.where(Asset.status == filters.status)
    if filters.criticality:
        query = query.where(Asset.criticality == filters.criticality.upper())
    if filters.type:
        query = query.join(AssetType, AssetType.id == Asset.type_id).where(
            AssetType.code == filters.type.upper()
        )
    if filters.work_center:
        query = query.join(WorkCenter, WorkCenter.id == Asset.work_center_id).where(
            WorkCenter.code == filters.work_center.upper()
        )
    if filters.q:
        like = f"%{filters.q}%"
        query = query.where(or_(Asset.asset_number.ilike(like), Asset.name.ilike(like)))
    return query


def get_asset(*, session: Session, actor: Actor, ref: str, lock: bool = False) -> Asset:
    """By asset number (case-insensitive) or numeric id, within what the actor may see."""
    query = _scoped(actor)
    if ref.isascii() and ref.isdigit() and int(ref) < 2**31:  # an id the column can hold
        query = query.where(Asset.id == int(ref))
    else:
        query = query.where(Asset.asset_number == ref.upper())
    if lock:
        query = query.with_for_update(of=Asset)
    asset = session.scalars(query).unique().one_or_none()
    if asset is None:
        raise NotFound(f"asset {ref} not found", field="asset")
    return asset


def asset_for_write(
    *, session: Session, actor: Actor, ref: str | None = None, asset_id: int | None = None
) -> Asset:
    """The asset a write names, within what the actor may see: an operator acts on the
    assets of its own work centre only, whichever door the write comes through."""
    if asset_id is not None:
        asset = session.scalars(_scoped(actor).where(Asset.id == asset_id)).one_or_none()
        if asset is None:
            raise NotFound(f"asset {asset_id} not found", field="asset")
        return asset
    return get_asset(session=session, actor=actor, ref=ref or "")


def _lookup(session: Session, model, org_id: int, code: str, field: str, **extra):
    row = session.scalars(
        select(model).where(
            model.organization_id == org_id,
            model.code == code.upper(),
            *[getattr(model, k) == v for k, v in extra.items()],
        )
    ).one_or_none()
    if row is None:
        raise RuleViolation(
            f"{field}: no {model.__tablename__[:-1].replace('_', ' ')} with code {code}",
            field=field,
        )
    return row


def _place(
    session: Session, org_id: int, site: Site, area_code: str | None, wc_code: str | None
) -> tuple[int | None, int | None]:
    area = (
        _lookup(session, Area, org_id, area_code, "area_code", site_id=site.id)
        if area_code
        else None
    )
    wc = None
    if wc_code:
        if area is None:
            raise RuleViolation(
                "area_code: required when work_center_code is given", field="area_code"
            )
        wc = _lookup(session, WorkCenter, org_id, wc_code, "work_center_code", area_id=area.id)
    return (area.id if area else None, wc.id if wc else None)


def create_asset(*, session: Session, actor: Actor, data: AssetCreate) -> Asset:
    org_id = actor.organization_id
    exists = session.scalar(
        select(Asset.id).where(
            Asset.organization_id == org_id, Asset.asset_number == data.asset_number
        )
    )
    if exists:
        raise Conflict(f"asset_number: {data.asset_number} already exists", field="asset_number")
    asset_type = _lookup(session, AssetType, org_id, data.type_code, "type_code")
    site = _lookup(session, Site, org_id, data.site_code, "site_code")
    area_id, wc_id = _place(session, org_id, site, data.area_code, data.work_center_code)
    parent_id = None
    if data.parent_asset_number:
        parent_id = get_asset(session=session, actor=actor, ref=data.parent_asset_number).id
    asset = Asset(
        organization_id=org_id,
        asset_number=data.asset_number,
        name=data.name,
        description=data.description,
        type_id=asset_type.id,
        criticality=data.criticality,
        site_id=site.id,
        area_id=area_id,
        work_center_id=wc_id,
        parent_asset_id=parent_id,
        manufacturer=data.manufacturer,
        model=data.model,
        serial_number=data.serial_number,
        install_date=data.install_date,
        requires_certification=data.requires_certification,
        certification_expiry=data.certification_expiry,
        production_loss_per_hour=data.production_loss_per_hour,
        latitude=data.latitude,
        longitude=data.longitude,
        status=AssetStatus.IN_SERVICE,
    )
    session.add(asset)
    session.flush()
    seen = set()
    for spec in data.meters:
        if spec.meter_type in seen:
            raise RuleViolation(f"meters: {spec.meter_type.value} listed twice", field="meters")
        seen.add(spec.meter_type)
        session.add(
            Meter(
                organization_id=org_id,
                asset_id=asset.id,
                meter_type=spec.meter_type,
                unit=spec.unit,
            )
        )
    record_change(
        session=session,
        actor=actor,
        entity_type="ASSET",
        entity_id=asset.asset_number,
        action="CREATE",
        before=None,
        after=snapshot(asset, ["asset_number", "status", *AUDITED_FIELDS]),
    )
    session.flush()
    session.refresh(asset)
    return asset


def update_asset(*, session: Session, actor: Actor, ref: str, data: AssetUpdate) -> Asset:
    asset = get_asset(session=session, actor=actor, ref=ref, lock=True)
    before = snapshot(asset, AUDITED_FIELDS)
    changes = data.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    if "type_code" in changes:
        code = changes.pop("type_code")
        if code is None:
            raise RuleViolation("type_code: may not be empty", field="type_code")
        asset.type_id = _lookup(session, AssetType, actor.organization_id, code, "type_code").id
    if "area_code" in changes or "work_center_code" in changes:
        site = session.get(Site, asset.site_id)
        area_code = changes.pop("area_code", None)
        wc_code = changes.pop("work_center_code", None)
        asset.area_id, asset.work_center_id = _place(
            session, actor.organization_id, site, area_code, wc_code
        )
    for name in ("name", "criticality"):
        if name in changes and changes[name] is None:
            raise RuleViolation(f"{name}: may not be empty", field=name)
    for name, value in changes.items():
        setattr(asset, name, value)
    after = snapshot(asset, AUDITED_FIELDS)
    if after != before:
        record_change(
            session=session,
            actor=actor,
            entity_type="ASSET",
            entity_id=asset.asset_number,
            action="UPDATE",
            before=before,
            after=after,
            reason=reason,
        )
    session.flush()
    return asset


@dataclass(frozen=True)
class StatusApplied:
    asset_number: str
    previous: str
    status: str
    changed_at: datetime


def apply_status_change(
    *,
    session: Session,
    actor: Actor,
    asset_id: int,
    target: AssetStatus,
    reason: str,
    changed_at: datetime,
) -> StatusApplied:
    """Write a status change the asset's workflow has already allowed. The table is checked
    again against the stored row, so a projection that drifted is refused, not overwritten."""
    asset = (
        session.scalars(select(Asset).where(Asset.id == asset_id).with_for_update(of=Asset))
        .unique()
        .one_or_none()
    )
    if asset is None or asset.organization_id != actor.organization_id:
        raise NotFound(f"asset {asset_id} not found", field="asset")
    previous = asset.status
    if previous == target:  # the activity ran twice: the first run already wrote it
        return StatusApplied(
            asset.asset_number, previous.value, target.value, asset.status_changed_at or changed_at
        )
    refusal = transition_refusal(previous, target)
    if refusal:
        raise RuleViolation(refusal, field="status")
    before = {"status": previous.value, "status_reason": asset.status_reason}
    asset.status = target
    asset.status_reason = reason
    asset.status_changed_at = changed_at
    asset.status_changed_by = actor.full_name
    record_change(
        session=session,
        actor=actor,
        entity_type="ASSET",
        entity_id=asset.asset_number,
        action="STATUS_CHANGE",
        before=before,
        after={"status": target.value, "status_reason": reason},
        reason=reason,
    )
    from domain.services.events import emit

    emit(
        session,
        asset.organization_id,
        "asset.status_changed",
        "ASSET",
        asset.asset_number,
        {"from": previous.value, "to": target.value, "reason": reason, "by": actor.full_name,
         "dispatchable": target is AssetStatus.IN_SERVICE},
        f"{asset.asset_number}/status/{changed_at.isoformat()}",
    )  # fmt: skip
    return StatusApplied(asset.asset_number, previous.value, target.value, changed_at)


def record_meter_reading(
    *, session: Session, actor: Actor, ref: str, data: MeterReadingIn
) -> MeterReading:
    asset = get_asset(session=session, actor=actor, ref=ref)
    meter = session.scalars(
        select(Meter)
        .where(Meter.asset_id == asset.id, Meter.meter_type == data.meter_type)
        .with_for_update()
    ).one_or_none()
    if meter is None:
        have = ", ".join(m.meter_type.value for m in asset.meters) or "none"
        raise RuleViolation(
            f"meter_type: asset {asset.asset_number} has no {data.meter_type.value} meter "
            f"(meters: {have})",
            field="meter_type",
        )
    refusal = meter_reading_refusal(meter.current_reading, data.reading)
    if refusal:
        raise RuleViolation(f"reading: {refusal}", field="reading")
    recorded_at = data.recorded_at or datetime.now(UTC)
    if meter.last_reading_at and recorded_at < meter.last_reading_at:
        raise RuleViolation(
            f"recorded_at: earlier than the last reading ({meter.last_reading_at.isoformat()})",
            field="recorded_at",
        )
    previous = meter.current_reading
    reading = MeterReading(
        organization_id=asset.organization_id,
        meter_id=meter.id,
        asset_id=asset.id,
        reading=data.reading,
        previous_reading=previous,
        delta=None if previous is None else data.reading - previous,
        recorded_at=recorded_at,
        recorded_by=actor.full_name,
        source=data.source,
    )
    session.add(reading)
    meter.current_reading = data.reading
    meter.last_reading_at = recorded_at
    record_change(
        session=session,
        actor=actor,
        entity_type="METER",
        entity_id=f"{asset.asset_number}/{meter.meter_type.value}",
        action="READING",
        before={"reading": previous},
        after={"reading": data.reading},
        reason=data.source,
    )
    session.flush()
    return reading


def list_meter_readings(
    *, session: Session, actor: Actor, ref: str, limit: int, offset: int
) -> tuple[list[MeterReading], int]:
    asset = get_asset(session=session, actor=actor, ref=ref)
    query = select(MeterReading).where(MeterReading.asset_id == asset.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(MeterReading.recorded_at.desc(), MeterReading.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def asset_history(
    *, session: Session, actor: Actor, ref: str, limit: int, offset: int
) -> tuple[list[AuditLog], int]:
    asset = get_asset(session=session, actor=actor, ref=ref)
    query = select(AuditLog).where(
        AuditLog.organization_id == actor.organization_id,
        or_(
            (AuditLog.entity_type == "ASSET") & (AuditLog.entity_id == asset.asset_number),
            (AuditLog.entity_type == "METER")
            & AuditLog.entity_id.startswith(asset.asset_number + "/"),
        ),
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def organization_code(*, session: Session, organization_id: int) -> str:
    return session.scalars(
        select(Organization.code).where(Organization.id == organization_id)
    ).one()


# What to_out shows, loaded with a page's rows: a page is a fixed number of queries.
SHOWN = (
    joinedload(Asset.site),
    joinedload(Asset.area),
    joinedload(Asset.work_center),
    joinedload(Asset.parent).load_only(Asset.asset_number),
    selectinload(Asset.meters),
)


def to_out(session: Session, asset: Asset) -> AssetOut:
    site, area, wc, parent = asset.site, asset.area, asset.work_center, asset.parent
    return AssetOut(
        id=asset.id,
        asset_number=asset.asset_number,
        name=asset.name,
        description=asset.description,
        type_code=asset.type.code,
        type_name=asset.type.name,
        category=asset.type.category.value,
        criticality=asset.criticality,
        status=asset.status,
        status_reason=asset.status_reason,
        status_changed_at=asset.status_changed_at,
        status_changed_by=asset.status_changed_by,
        site_code=site.code,
        area_code=area.code if area else None,
        work_center_code=wc.code if wc else None,
        parent_asset_number=parent.asset_number if parent else None,
        manufacturer=asset.manufacturer,
        model=asset.model,
        serial_number=asset.serial_number,
        install_date=asset.install_date,
        requires_certification=asset.requires_certification,
        certification_expiry=asset.certification_expiry,
        production_loss_per_hour=asset.production_loss_per_hour,
        latitude=asset.latitude,
        longitude=asset.longitude,
        meters=[MeterOut.model_validate(m) for m in asset.meters],
        updated_at=asset.updated_at,
    )
