"""Sensors, their rules and gateways: configuration, scoped by organisation and audited."""

import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from domain.actor import Actor
from domain.errors import Conflict, NotFound, RuleViolation
from domain.models import Asset, Meter, Sensor, SensorGateway, SensorRule
from domain.rules.pm import ScheduleType
from domain.rules.sensors import Rule, RuleKind, describe
from domain.schemas.sensors import (
    GatewayOut,
    RuleIn,
    RuleOut,
    RuleStateOut,
    SensorIn,
    SensorOut,
)
from domain.services import pm_schedules
from domain.services.audit import record_change

KEY_PREFIX = "pgw_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _asset(session: Session, actor: Actor, number: str) -> Asset:
    from domain.services.assets import asset_for_write

    return asset_for_write(session=session, actor=actor, ref=number)


def _meter(session: Session, asset: Asset, meter_type: str | None) -> Meter | None:
    if meter_type is None:
        return None
    meter = session.scalars(
        select(Meter).where(Meter.asset_id == asset.id, Meter.meter_type == meter_type)
    ).one_or_none()
    if meter is None:
        raise RuleViolation(
            f"asset {asset.asset_number} has no {meter_type} meter", field="meter_type"
        )
    return meter


def get_sensor(*, session: Session, organization_id: int, code: str, lock: bool = False) -> Sensor:
    query = select(Sensor).where(
        Sensor.organization_id == organization_id, Sensor.code == code.strip().upper()
    )
    if lock:
        query = query.with_for_update()
    sensor = session.scalars(query).one_or_none()
    if sensor is None:
        raise NotFound(f"sensor {code} not found", field="code")
    return sensor


def list_sensors(
    *, session: Session, organization_id: int, asset: str | None, limit: int, offset: int
) -> tuple[list[Sensor], int]:
    query = select(Sensor).where(Sensor.organization_id == organization_id)
    if asset:
        query = query.join(Asset, Asset.id == Sensor.asset_id).where(
            Asset.asset_number == asset.strip().upper()
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(Sensor.rules).selectinload(SensorRule.state))
        .order_by(Sensor.asset_id, Sensor.code)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def _snapshot(sensor: Sensor, asset: Asset) -> dict:
    return {
        "asset": asset.asset_number,
        "name": sensor.name,
        "kind": sensor.kind,
        "unit": sensor.unit,
        "expected_interval_seconds": sensor.expected_interval_seconds,
        "meter_id": sensor.meter_id,
        "is_active": sensor.is_active,
        "rules": [
            {
                "id": r.id,
                "kind": r.kind,
                "threshold": r.threshold,
                "for_seconds": r.for_seconds,
                "deadband": r.deadband,
                "safety_impact": r.safety_impact,
                "urgency": r.urgency,
                "pm_schedule_id": r.pm_schedule_id,
            }
            for r in sensor.rules
        ],
    }


def _apply(session: Session, sensor: Sensor, data: SensorIn, asset: Asset) -> None:
    meter = _meter(session, asset, data.meter_type.value if data.meter_type else None)
    sensor.asset_id = asset.id
    sensor.name = data.name
    sensor.kind = data.kind.value
    sensor.unit = data.unit
    sensor.expected_interval_seconds = data.expected_interval_seconds
    sensor.meter_id = meter.id if meter else None
    sensor.is_active = data.is_active
    # Rules named by id keep their state (and their open anomaly); the others are new.
    existing = {r.id: r for r in sensor.rules}
    kept: list[SensorRule] = []
    for i, rule in enumerate(data.rules):
        if rule.id is not None:
            row = existing.get(rule.id)
            if row is None:
                raise RuleViolation(
                    f"sensor {sensor.code} has no rule {rule.id}", field=f"rules.{i}.id"
                )
            if row.kind != rule.kind.value and row.state is not None:
                row.state = None  # another kind of rule: its state means nothing now
        else:
            row = SensorRule(organization_id=sensor.organization_id)
        row.kind = rule.kind.value
        row.threshold = rule.threshold
        row.for_seconds = rule.for_seconds
        row.deadband = rule.deadband
        row.safety_impact = rule.safety_impact.value
        row.urgency = rule.urgency.value
        row.pm_schedule_id = _condition_schedule(session, sensor, asset, rule, i)
        kept.append(row)
    sensor.rules = kept


def _condition_schedule(
    session: Session, sensor: Sensor, asset: Asset, rule: RuleIn, i: int
) -> int | None:
    """The CONDITION_BASED schedule of the sensor's asset a rule names, or None."""
    if not rule.pm_schedule:
        return None
    field = f"rules.{i}.pm_schedule"
    try:
        schedule = pm_schedules.get_schedule(
            session=session, organization_id=sensor.organization_id, ref=rule.pm_schedule
        )
    except NotFound as err:
        raise NotFound(str(err), field=field) from err
    if schedule.asset_id != asset.id:
        raise RuleViolation(
            f"PM schedule {rule.pm_schedule} is not on asset {asset.asset_number}", field=field
        )
    if schedule.schedule_type != ScheduleType.CONDITION_BASED.value:
        raise RuleViolation(
            f"PM schedule {rule.pm_schedule} is {schedule.schedule_type}, not CONDITION_BASED",
            field=field,
        )
    return schedule.id


def create_sensor(*, session: Session, actor: Actor, data: SensorIn) -> Sensor:
    asset = _asset(session, actor, data.asset)
    taken = session.scalar(
        select(Sensor.id).where(
            Sensor.organization_id == actor.organization_id, Sensor.code == data.code
        )
    )
    if taken is not None:
        raise Conflict(f"a sensor {data.code} exists already", field="code")
    sensor = Sensor(organization_id=actor.organization_id, code=data.code, rules=[])
    _apply(session, sensor, data, asset)
    session.add(sensor)
    return _audited(session, actor, sensor, asset, "CREATED", None)


def update_sensor(*, session: Session, actor: Actor, code: str, data: SensorIn) -> Sensor:
    sensor = get_sensor(
        session=session, organization_id=actor.organization_id, code=code, lock=True
    )
    if data.code != sensor.code:
        raise RuleViolation("a sensor's code cannot change", field="code")
    before = _snapshot(sensor, session.get(Asset, sensor.asset_id))
    asset = _asset(session, actor, data.asset)
    _apply(session, sensor, data, asset)
    return _audited(session, actor, sensor, asset, "UPDATED", before)


def _audited(
    session: Session, actor: Actor, sensor: Sensor, asset: Asset, action: str, before: dict | None
) -> Sensor:
    """The sensor written, with its audit row (before and after)."""
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type="SENSOR",
        entity_id=sensor.code,
        action=action,
        before=before,
        after=_snapshot(sensor, asset),
    )
    return sensor


def delete_sensor(*, session: Session, actor: Actor, code: str) -> None:
    """Gone from configuration; its raw readings age out with the retention."""
    sensor = get_sensor(
        session=session, organization_id=actor.organization_id, code=code, lock=True
    )
    before = _snapshot(sensor, session.get(Asset, sensor.asset_id))
    session.delete(sensor)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type="SENSOR",
        entity_id=sensor.code,
        action="DELETED",
        before=before,
        after=None,
    )


def to_out(session: Session, sensor: Sensor) -> SensorOut:
    asset = session.get(Asset, sensor.asset_id)
    meter = session.get(Meter, sensor.meter_id) if sensor.meter_id else None
    rules = []
    for r in sensor.rules:
        st = r.state
        rules.append(
            RuleOut(
                id=r.id,
                kind=RuleKind(r.kind),
                threshold=r.threshold,
                for_seconds=r.for_seconds,
                deadband=r.deadband,
                safety_impact=r.safety_impact,
                urgency=r.urgency,
                pm_schedule=pm_schedules.reference(r.pm_schedule_id) if r.pm_schedule_id else None,
                description=describe(
                    Rule(RuleKind(r.kind), r.threshold, r.for_seconds, r.deadband), sensor.unit
                ),
                state=RuleStateOut(
                    status=st.status,
                    breaching_since=st.breaching_since,
                    count=st.count,
                    episodes=st.episodes,
                    peak=st.peak,
                    last_seen=st.last_seen,
                    anomaly_reference=st.anomaly_reference,
                )
                if st
                else None,
            )
        )
    return SensorOut(
        code=sensor.code,
        name=sensor.name,
        asset=asset.asset_number,
        kind=sensor.kind,
        unit=sensor.unit,
        expected_interval_seconds=sensor.expected_interval_seconds,
        meter_type=meter.meter_type.value if meter else None,
        is_active=sensor.is_active,
        last_value=sensor.last_value,
        last_reading_at=sensor.last_reading_at,
        stale_since=sensor.stale_since,
        stale_anomaly=sensor.stale_anomaly,
        rules=rules,
    )


# -- gateways --


def create_gateway(*, session: Session, actor: Actor, name: str) -> tuple[SensorGateway, str]:
    """The gateway and its key, which is shown this once: only its hash is kept."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    gateway = SensorGateway(
        organization_id=actor.organization_id,
        name=name,
        key_hash=hash_key(key),
        key_prefix=key[:12],
        is_active=True,
        created_by=actor.full_name,
    )
    session.add(gateway)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type="SENSOR_GATEWAY",
        entity_id=str(gateway.id),
        action="CREATED",
        before=None,
        after={"name": name, "key_prefix": gateway.key_prefix},
    )
    return gateway, key


def list_gateways(*, session: Session, organization_id: int) -> list[SensorGateway]:
    return list(
        session.scalars(
            select(SensorGateway)
            .where(SensorGateway.organization_id == organization_id)
            .order_by(SensorGateway.id)
        )
    )


def revoke_gateway(*, session: Session, actor: Actor, gateway_id: int) -> SensorGateway:
    gateway = session.get(SensorGateway, gateway_id, with_for_update=True)
    if gateway is None or gateway.organization_id != actor.organization_id:
        raise NotFound(f"gateway {gateway_id} not found", field="gateway_id")
    if gateway.is_active:
        gateway.is_active = False
        record_change(
            session=session,
            actor=actor,
            entity_type="SENSOR_GATEWAY",
            entity_id=str(gateway.id),
            action="REVOKED",
            before={"is_active": True},
            after={"is_active": False},
        )
    session.flush()
    return gateway


def gateway_out(gateway: SensorGateway) -> GatewayOut:
    return GatewayOut(
        id=gateway.id,
        name=gateway.name,
        key_prefix=gateway.key_prefix,
        is_active=gateway.is_active,
        last_seen_at=gateway.last_seen_at,
    )


def gateway_for_key(*, session: Session, key: str) -> SensorGateway | None:
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    gateway = session.scalars(
        select(SensorGateway).where(SensorGateway.key_hash == hash_key(key))
    ).one_or_none()
    if gateway is None or not gateway.is_active:
        return None
    return gateway
