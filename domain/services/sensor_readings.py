"""The ingest path of intake channel C2: a gateway's batch of readings stored with one COPY,
the sensors' rules evaluated in bulk (state per rule in `sensor_rule_states`), breaches
registered as anomalies, meters moved; plus the retention of raw readings and the sweep for
silent sensors. Everything in the caller's one transaction: a refused batch leaves nothing."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import RuleViolation
from domain.models import (
    Anomaly,
    Asset,
    Meter,
    MeterReading,
    Sensor,
    SensorGateway,
    SensorRule,
    SensorRuleState,
    sensor_readings,
)
from domain.rules.criticality import SafetyImpact, Urgency
from domain.rules.sensors import (
    RAW_RETENTION_DAYS,
    Change,
    Rule,
    RuleKind,
    RuleState,
    Status,
    closed,
    describe,
    evaluate,
    may_signal,
    stale,
)
from domain.schemas.anomalies import AnomalyReport, IntakeChannel
from domain.schemas.sensors import ReadingIn
from domain.services import anomalies
from domain.services.audit import record_change

CLOCK_SKEW = timedelta(minutes=5)
COPY = "COPY sensor_readings (organization_id, sensor_id, time, value, gateway_id) FROM STDIN"


@dataclass
class Told:
    """A rule's change of state for its open anomaly's workflow (sent after the commit)."""

    reference: str
    change: str  # BREACH or NORMAL
    sensor: str
    rule: str
    value: float | None
    at: datetime | None
    count: int
    episodes: int
    peak: float | None
    last_seen: datetime | None


@dataclass
class MeterMove:
    """A meter moved by a batch whose PM schedules are due to hear of it."""

    schedule_ids: list[int]
    reading: float
    at: datetime
    meter_type: str


@dataclass
class Ingested:
    stored: int = 0
    registered: list[str] = field(default_factory=list)
    told: list[Told] = field(default_factory=list)
    meters: int = 0
    moves: list[MeterMove] = field(default_factory=list)


def gateway_actor(gateway: SensorGateway) -> Actor:
    return Actor(
        None, f"gateway-{gateway.id}", f"sensor gateway {gateway.name}", gateway.organization_id,
        ("SYSTEM",),
    )  # fmt: skip


def _state(row: SensorRuleState) -> RuleState:
    return RuleState(
        Status(row.status),
        row.breaching_since,
        row.count,
        row.episodes,
        row.peak,
        row.last_seen,
        row.last_value,
        row.last_time,
    )


def _store(row: SensorRuleState, s: RuleState) -> None:
    row.status = s.status.value
    row.breaching_since = s.breaching_since
    row.count, row.episodes, row.peak = s.count, s.episodes, s.peak
    row.last_seen, row.last_value, row.last_time = s.last_seen, s.last_value, s.last_time


def _rule(r: SensorRule) -> Rule:
    return Rule(RuleKind(r.kind), r.threshold, r.for_seconds, r.deadband)


def ingest(
    *,
    session: Session,
    gateway: SensorGateway,
    readings: list[ReadingIn],
    now: datetime | None = None,
) -> Ingested:
    now = now or datetime.now(UTC)
    org = gateway.organization_id
    codes = {r.sensor.upper() for r in readings}
    # Locked in id order: two batches for one sensor take turns, and never deadlock.
    sensors = {
        s.code: s
        for s in session.scalars(
            select(Sensor)
            .where(Sensor.organization_id == org, Sensor.code.in_(codes))
            .order_by(Sensor.id)
            .with_for_update()
        )
    }
    by_sensor: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    rows = []
    for i, r in enumerate(readings):
        sensor = sensors.get(r.sensor.upper())
        if sensor is None:
            raise RuleViolation(f"unknown sensor {r.sensor}", field=f"readings.{i}.sensor")
        if not sensor.is_active:
            raise RuleViolation(f"sensor {r.sensor} is not active", field=f"readings.{i}.sensor")
        if r.time > now + CLOCK_SKEW:
            raise RuleViolation("a reading cannot be in the future", field=f"readings.{i}.time")
        at = r.time.astimezone(UTC)
        rows.append((org, sensor.id, at, r.value, gateway.id))
        by_sensor[sensor.id].append((at, r.value))
    result = Ingested(stored=len(rows))
    # One COPY for the batch, in the session's own transaction.
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(COPY) as copy:
        for row in rows:
            copy.write_row(row)

    for series in by_sensor.values():
        series.sort(key=lambda p: p[0])
    by_id = {s.id: s for s in sensors.values() if s.id in by_sensor}
    _evaluate(session, gateway, by_id, by_sensor, now, result)
    _meters(session, gateway, by_id, by_sensor, now, result)
    for sensor_id, series in by_sensor.items():
        sensor = by_id[sensor_id]
        at, value = series[-1]
        if sensor.last_reading_at is None or at >= sensor.last_reading_at:
            sensor.last_value, sensor.last_reading_at = value, at
        if sensor.stale_since is not None:
            record_change(
                session=session, actor=gateway_actor(gateway), entity_type="SENSOR",
                entity_id=sensor.code, action="HEARD_AGAIN",
                before={"stale_since": sensor.stale_since.isoformat()}, after={"stale_since": None},
            )  # fmt: skip
            sensor.stale_since = None
    gateway.last_seen_at = now
    session.flush()
    return result


def _evaluate(session, gateway, sensors, by_sensor, now, result: Ingested) -> None:
    rules = list(session.scalars(select(SensorRule).where(SensorRule.sensor_id.in_(list(sensors)))))
    if not rules:
        return
    states = {
        st.rule_id: st
        for st in session.scalars(
            select(SensorRuleState)
            .where(SensorRuleState.rule_id.in_([r.id for r in rules]))
            .with_for_update()
        )
    }
    # An open anomaly is one not yet CLOSED; a closed one lets the next breach open anew.
    refs = [st.anomaly_reference for st in states.values() if st.anomaly_reference]
    open_refs = set()
    if refs:
        open_refs = set(
            session.scalars(
                select(Anomaly.reference).where(
                    Anomaly.organization_id == gateway.organization_id,
                    Anomaly.reference.in_(refs),
                    Anomaly.status != "CLOSED",
                )
            )
        )
    for rule in rules:
        row = states.get(rule.id)
        if row is None:
            row = SensorRuleState(
                rule_id=rule.id, organization_id=rule.organization_id, status="NORMAL",
                count=0, episodes=0,
            )  # fmt: skip
            session.add(row)
        state = _state(row)
        if row.anomaly_reference and row.anomaly_reference not in open_refs:
            row.anomaly_reference, row.pending, row.signalled_at = None, None, None
            state = closed(state)
        new, changes = evaluate(_rule(rule), state, by_sensor[rule.sensor_id])
        _store(row, new)
        sensor = sensors[rule.sensor_id]
        last: Change | None = None
        for change in changes:
            if change.to is Status.BREACH and row.anomaly_reference is None:
                row.anomaly_reference = _register(session, gateway, sensor, rule, change, now)
                row.signalled_at, row.pending = now, None
                result.registered.append(row.anomaly_reference)
                last = None
            else:
                last = change
        if last is not None and row.anomaly_reference:
            row.pending = last.to.value
        if row.pending and row.anomaly_reference and may_signal(row.signalled_at, now):
            result.told.append(told(row, sensor, rule, last))
            row.signalled_at, row.pending = now, None


def told(row: SensorRuleState, sensor: Sensor, rule: SensorRule, change: Change | None) -> Told:
    return Told(
        row.anomaly_reference or "",
        row.pending or "",
        sensor.code,
        describe(_rule(rule), sensor.unit),
        change.value if change else row.last_value,
        change.at if change else row.last_time,
        row.count,
        row.episodes,
        row.peak,
        row.last_seen,
    )


def _register(
    session: Session,
    gateway: SensorGateway,
    sensor: Sensor,
    rule: SensorRule,
    change: Change,
    now: datetime,
) -> str:
    """The breach through the one registration service, with the reading and the rule."""
    asset = session.get(Asset, sensor.asset_id)
    text = describe(_rule(rule), sensor.unit)
    shown = f"{change.measure:g} {sensor.unit}" + ("/min" if rule.kind == "RATE" else "")
    report = AnomalyReport(
        asset=asset.asset_number,
        title=f"{sensor.name} {shown} ({text})"[:200],
        description=(
            f"Sensor {sensor.code} on {asset.asset_number} read {change.value:g} {sensor.unit} "
            f"at {change.at.isoformat()}: rule {text}."
        ),
        channel=IntakeChannel.IOT,
        detected_at=min(change.at, now),
        safety_impact=SafetyImpact(rule.safety_impact),
        urgency=Urgency(rule.urgency),
    )
    anomaly = anomalies.register(
        session=session, actor=gateway_actor(gateway), report=report, now=now
    )
    anomaly.enrichment = {
        **anomaly.enrichment,
        "sensor": {
            "code": sensor.code,
            "name": sensor.name,
            "unit": sensor.unit,
            "reading": {"time": change.at.isoformat(), "value": change.value},
            "rule": {
                "id": rule.id,
                "kind": rule.kind,
                "threshold": rule.threshold,
                "for_seconds": rule.for_seconds,
                "deadband": rule.deadband,
                "text": text,
            },
        },
    }
    return anomaly.reference


def _meters(session, gateway, sensors, by_sensor, now, result: Ingested) -> None:
    """A sensor that reads a meter moves it to the batch's latest value (a meter never goes
    back); its PM schedules hear of it at most once a minute."""
    from domain.services import pm_schedules

    for sensor_id, sensor in sensors.items():
        if sensor.meter_id is None:
            continue
        at, value = by_sensor[sensor_id][-1]
        meter = session.get(Meter, sensor.meter_id, with_for_update=True)
        if value < 0 or (meter.current_reading is not None and value < meter.current_reading):
            continue
        if meter.last_reading_at is not None and at < meter.last_reading_at:
            continue
        previous = meter.current_reading
        session.add(
            MeterReading(
                organization_id=meter.organization_id,
                meter_id=meter.id,
                asset_id=meter.asset_id,
                reading=value,
                previous_reading=previous,
                delta=None if previous is None else value - previous,
                recorded_at=at,
                recorded_by=f"sensor {sensor.code}",
                source="SENSOR",
            )
        )
        meter.current_reading, meter.last_reading_at = value, at
        result.meters += 1
        if may_signal(sensor.meter_told_at, now):
            kind = meter.meter_type.value
            ids = pm_schedules.of_asset(
                session=session, organization_id=meter.organization_id,
                asset_id=meter.asset_id, meter_type=kind,
            )  # fmt: skip
            sensor.meter_told_at = now
            if ids:
                result.moves.append(MeterMove(ids, value, at, kind))


# -- the scheduled upkeep: silent sensors, waiting changes, retention --


@dataclass
class Silent:
    organization_id: int
    code: str
    asset: str
    name: str
    since: datetime


def sweep(*, session: Session, now: datetime | None = None) -> tuple[list[Silent], list[Told]]:
    """Sensors silent past their interval (marked stale once, audited) and the changes of
    state still waiting for their minute (a sensor gone quiet sends no batch to carry them)."""
    now = now or datetime.now(UTC)
    silent = []
    for sensor in session.scalars(
        select(Sensor)
        .where(Sensor.is_active.is_(True), Sensor.stale_since.is_(None))
        .order_by(Sensor.id)
        .with_for_update(skip_locked=True)
    ):
        if not stale(
            sensor.last_reading_at, sensor.created_at, sensor.expected_interval_seconds, now
        ):
            continue
        sensor.stale_since = now
        asset = session.get(Asset, sensor.asset_id)
        record_change(
            session=session,
            actor=Actor(None, "plantops", "plantops sensors", sensor.organization_id, ("SYSTEM",)),
            entity_type="SENSOR",
            entity_id=sensor.code,
            action="STALE",
            before={"stale_since": None},
            after={"stale_since": now.isoformat()},
            reason=f"silent longer than {sensor.expected_interval_seconds} s",
        )
        silent.append(Silent(sensor.organization_id, sensor.code, asset.asset_number, sensor.name,
                             sensor.last_reading_at or sensor.created_at))  # fmt: skip
    waiting = []
    rows = session.execute(
        select(SensorRuleState, SensorRule, Sensor)
        .join(SensorRule, SensorRule.id == SensorRuleState.rule_id)
        .join(Sensor, Sensor.id == SensorRule.sensor_id)
        .where(SensorRuleState.pending.is_not(None), SensorRuleState.anomaly_reference.is_not(None))
        .with_for_update(of=SensorRuleState, skip_locked=True)
    ).all()
    for row, rule, sensor in rows:
        if may_signal(row.signalled_at, now):
            waiting.append(told(row, sensor, rule, None))
            row.signalled_at, row.pending = now, None
    session.flush()
    return silent, waiting


def trim(*, session: Session, now: datetime | None = None, days: int = RAW_RETENTION_DAYS) -> int:
    """Raw readings older than the retention, deleted; how many."""
    now = now or datetime.now(UTC)
    done = session.execute(
        delete(sensor_readings).where(sensor_readings.c.time < now - timedelta(days=days))
    )
    return done.rowcount or 0
