"""The ingest path of intake channel C2: a gateway's batch of readings stored with one COPY,
the sensors' rules evaluated in bulk (state per rule in `sensor_rule_states`), breaches
registered as anomalies, meters moved; plus the retention of raw readings and the sweep for
silent sensors. Everything in the caller's one transaction: a refused batch leaves nothing."""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter
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
    write_step,
)
from domain.schemas.anomalies import AnomalyReport, IntakeChannel
from domain.schemas.sensors import ReadingIn
from domain.services import anomalies
from domain.services.audit import record_change

CLOCK_SKEW = timedelta(minutes=5)
# A batch goes as one JSON document (pydantic writes it, the server reads it: no Python
# work per reading) into a temporary table of the connection's own, emptied at each commit;
# from there into the readings with one INSERT that passes over the (sensor, time) pairs
# stored already, so a batch sent again stores nothing twice. The table then keeps only
# the new readings, the ones the rules judge; what the rules need of them is summed there.
INCOMING = """CREATE TEMP TABLE IF NOT EXISTS sensor_readings_incoming (n int, sensor_id int,
    time timestamptz, value float8) ON COMMIT DELETE ROWS"""
# One row per (sensor, time), the first in the batch: (rows kept, first reading too late).
LOAD = """WITH loaded AS (
        INSERT INTO sensor_readings_incoming (n, sensor_id, time, value)
        SELECT DISTINCT ON (s.id, v.time) v.n - 1, s.id, v.time, v.value
        FROM ROWS FROM (json_to_recordset(%(readings)s::json)
            AS (sensor text, time timestamptz, value float8)) WITH ORDINALITY
            AS v(sensor, time, value, n)
        JOIN sensors s ON s.organization_id = %(org)s AND s.code = upper(v.sensor)
        ORDER BY s.id, v.time, v.n
        RETURNING n, time)
    SELECT count(*), min(n) FILTER (WHERE time > %(latest)s) FROM loaded"""
# Stored, and the readings stored already dropped from the table (their number is the rowcount).
STORE = """WITH stored AS (
        INSERT INTO sensor_readings (organization_id, sensor_id, time, value, gateway_id)
        SELECT %s, sensor_id, time, value, %s FROM sensor_readings_incoming
        ON CONFLICT (sensor_id, time) DO NOTHING RETURNING sensor_id, time)
    DELETE FROM sensor_readings_incoming i
    WHERE NOT EXISTS (SELECT FROM stored s WHERE s.sensor_id = i.sensor_id AND s.time = i.time)"""
LATEST = """SELECT DISTINCT ON (sensor_id) sensor_id, time, value FROM sensor_readings_incoming
    ORDER BY sensor_id, time DESC"""
SERIES = """SELECT sensor_id, time, value FROM sensor_readings_incoming
    WHERE sensor_id = ANY(%s) ORDER BY sensor_id, time"""


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
class Condition:
    """A breach of a rule that names a CONDITION_BASED PM schedule (seed 003 D.1)."""

    schedule_id: int
    detail: str


@dataclass
class Ingested:
    stored: int = 0  # new readings (a reading stored already is passed over)
    duplicates: int = 0
    registered: list[str] = field(default_factory=list)
    told: list[Told] = field(default_factory=list)
    meters: int = 0
    moves: list[MeterMove] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    actor: Actor | None = None  # the gateway, as what it reports is written


def gateway_actor(gateway: SensorGateway) -> Actor:
    return Actor(
        None, f"gateway-{gateway.id}", f"sensor gateway {gateway.name}", gateway.organization_id,
        ("SYSTEM",),
    )  # fmt: skip


@dataclass
class SensorRow:
    """What the ingest path reads of a sensor: plain values, no ORM object per sensor."""

    id: int
    code: str
    name: str
    unit: str
    asset_id: int
    is_active: bool
    meter_id: int | None
    last_reading_at: datetime | None
    stale_since: datetime | None
    meter_told_at: datetime | None
    expected_interval_seconds: int

    def worth_writing(self, at: datetime) -> bool:
        """The latest reading is stored once it moved by the write step (see the rule)."""
        if self.last_reading_at is None or self.stale_since is not None:
            return True
        step = write_step(self.expected_interval_seconds)
        return (at - self.last_reading_at).total_seconds() >= step


@dataclass
class RuleRow:
    id: int
    sensor_id: int
    organization_id: int
    kind: str
    threshold: float
    for_seconds: int
    deadband: float
    safety_impact: str
    urgency: str
    state: RuleState
    anomaly_reference: str | None
    signalled_at: datetime | None
    pending: str | None
    count: int = 0  # mirrors of the state for `told`
    episodes: int = 0
    peak: float | None = None
    last_seen: datetime | None = None
    last_value: float | None = None
    last_time: datetime | None = None

    def rule(self) -> Rule:
        return Rule(RuleKind(self.kind), self.threshold, self.for_seconds, self.deadband)

    def at_rest(self, before: tuple) -> bool:
        """Nothing worth a write: a HIGH or LOW rule that stays normal with nothing waiting
        keeps no per-reading state (only a rate needs the previous reading)."""
        s = self.state
        return (
            self.kind != "RATE"
            and s.status is Status.NORMAL
            and (s.count, s.episodes, s.peak, s.last_seen, self.anomaly_reference, self.pending,
                 self.signalled_at) == before
        )  # fmt: skip

    def remembered(self) -> tuple:
        s = self.state
        return (s.count, s.episodes, s.peak, s.last_seen, self.anomaly_reference, self.pending,
                self.signalled_at)  # fmt: skip

    def keep(self, s: RuleState) -> None:
        self.state = s
        self.count, self.episodes, self.peak = s.count, s.episodes, s.peak
        self.last_seen, self.last_value, self.last_time = s.last_seen, s.last_value, s.last_time


SENSORS = """SELECT id, code, name, unit, asset_id, is_active, meter_id, last_reading_at,
    stale_since, meter_told_at, expected_interval_seconds
    FROM sensors WHERE organization_id = %s
    AND code IN (SELECT json_array_elements_text(%s::json)) ORDER BY id FOR UPDATE"""
# The rules of the sensors with new readings, but those at rest with nothing open or waiting
# that no new reading passes (a normal rule has no deadband yet): most rules end there.
RULES = """WITH span AS (SELECT sensor_id, max(value) AS hi, min(value) AS lo
        FROM sensor_readings_incoming GROUP BY sensor_id)
    SELECT r.id, r.sensor_id, r.organization_id, r.kind, r.threshold, r.for_seconds,
    r.deadband, r.safety_impact, r.urgency, s.status, s.breaching_since, s.count, s.episodes,
    s.peak, s.last_seen, s.last_value, s.last_time, s.anomaly_reference, s.signalled_at,
    s.pending
    FROM sensor_rules r JOIN span ON span.sensor_id = r.sensor_id
    LEFT JOIN sensor_rule_states s ON s.rule_id = r.id
    WHERE NOT (r.kind <> 'RATE' AND coalesce(s.status, 'NORMAL') = 'NORMAL'
        AND s.anomaly_reference IS NULL AND s.pending IS NULL
        AND CASE WHEN r.kind = 'HIGH' THEN span.hi <= r.threshold ELSE span.lo >= r.threshold END)
    ORDER BY r.id"""
# Every state of the batch in one statement (the sensors' locks already serialise them),
# its rows as one JSON document: the server unpacks it faster than arrays are quoted here.
SAVE_STATES = """INSERT INTO sensor_rule_states (rule_id, organization_id, status,
    breaching_since, count, episodes, peak, last_seen, last_value, last_time,
    anomaly_reference, signalled_at, pending)
    SELECT * FROM json_to_recordset(%s::json) AS v(rule_id int, organization_id int,
        status varchar, breaching_since timestamptz, count int, episodes int, peak float8,
        last_seen timestamptz, last_value float8, last_time timestamptz,
        anomaly_reference varchar, signalled_at timestamptz, pending varchar)
    ON CONFLICT (rule_id) DO UPDATE SET status = excluded.status,
        breaching_since = excluded.breaching_since, count = excluded.count,
        episodes = excluded.episodes, peak = excluded.peak, last_seen = excluded.last_seen,
        last_value = excluded.last_value, last_time = excluded.last_time,
        anomaly_reference = excluded.anomaly_reference, signalled_at = excluded.signalled_at,
        pending = excluded.pending"""
STATE_COLUMNS = (
    "rule_id", "organization_id", "status", "breaching_since", "count", "episodes", "peak",
    "last_seen", "last_value", "last_time", "anomaly_reference", "signalled_at", "pending",
)  # fmt: skip
SAVE_SENSORS = """UPDATE sensors
    SET last_value = CASE WHEN sensors.last_reading_at IS NULL OR v.at >= sensors.last_reading_at
            THEN v.value ELSE sensors.last_value END,
        last_reading_at = greatest(sensors.last_reading_at, v.at),
        stale_since = NULL, meter_told_at = coalesce(v.told, sensors.meter_told_at)
    FROM json_to_recordset(%s::json) AS v(id int, value float8, at timestamptz, told timestamptz)
    WHERE sensors.id = v.id"""


STATUS = {s.value: s for s in Status}


def _json(rows: list[dict]) -> str:
    return json.dumps(rows, default=_moment)


def _moment(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


_BATCH = TypeAdapter(list[ReadingIn])


def _refuse(readings: list[ReadingIn], sensors: dict[str, SensorRow], latest: datetime) -> None:
    """The first reading the batch cannot hold, named (a batch with an unknown or inactive
    sensor: the readings are checked in order, as they stand)."""
    for i, r in enumerate(readings):
        sensor = sensors.get(r.sensor.upper())
        if sensor is None:
            raise RuleViolation(f"unknown sensor {r.sensor}", field=f"readings.{i}.sensor")
        if not sensor.is_active:
            raise RuleViolation(f"sensor {r.sensor} is not active", field=f"readings.{i}.sensor")
        if r.time > latest:
            raise RuleViolation("a reading cannot be in the future", field=f"readings.{i}.time")


def ingest(
    *,
    session: Session,
    gateway: SensorGateway,
    readings: list[ReadingIn],
    now: datetime | None = None,
) -> Ingested:
    now = now or datetime.now(UTC)
    org = gateway.organization_id
    raw = session.connection().connection.driver_connection  # the session's transaction
    codes = list({r.sensor.upper() for r in readings})
    with raw.cursor() as cur:
        # Locked in id order: two batches for one sensor take turns, and never deadlock.
        cur.execute(SENSORS, (org, json.dumps(codes)))  # JSON: quicker than an array
        sensors = {row[1]: SensorRow(*row) for row in cur.fetchall()}
    latest = now + CLOCK_SKEW
    if len(sensors) < len(codes) or not all(s.is_active for s in sensors.values()):
        _refuse(readings, sensors, latest)
    with raw.cursor() as cur:
        cur.execute(INCOMING)
        cur.execute(LOAD, {"readings": _BATCH.dump_json(readings).decode(), "org": org,
                           "latest": latest})  # fmt: skip
        kept, late = cur.fetchone()
        if late is not None:
            raise RuleViolation("a reading cannot be in the future", field=f"readings.{late}.time")
        cur.execute(STORE, (org, gateway.id))
        old = cur.rowcount
        cur.execute(LATEST)
        last = {sensor_id: (at, value) for sensor_id, at, value in cur.fetchall()}
    result = Ingested(
        stored=kept - old, duplicates=len(readings) - kept + old, actor=gateway_actor(gateway)
    )
    by_id = {s.id: s for s in sensors.values() if s.id in last}
    _evaluate(session, raw, gateway, by_id, now, result)
    told = _meters(session, by_id, last, now, result)
    updates = []
    for sensor_id, (at, value) in last.items():
        sensor = by_id[sensor_id]
        if sensor_id not in told and not sensor.worth_writing(at):
            continue
        updates.append({"id": sensor_id, "value": value, "at": at, "told": told.get(sensor_id)})
        if sensor.stale_since is not None:
            record_change(
                session=session, actor=gateway_actor(gateway), entity_type="SENSOR",
                entity_id=sensor.code, action="HEARD_AGAIN",
                before={"stale_since": sensor.stale_since.isoformat()}, after={"stale_since": None},
            )  # fmt: skip
    with raw.cursor() as cur:
        if updates:
            cur.execute(SAVE_SENSORS, (_json(updates),))
        cur.execute("UPDATE sensor_gateways SET last_seen_at = %s WHERE id = %s", (now, gateway.id))
    session.flush()
    return result


def _evaluate(session, raw, gateway, sensors, now, result: Ingested) -> None:
    with raw.cursor() as cur:
        cur.execute(RULES)
        fetched = cur.fetchall()
        by_sensor: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
        if fetched:  # the readings of the sensors whose rules move, in time order
            cur.execute(SERIES, (list({f[1] for f in fetched}),))
            for sensor_id, at, value in cur.fetchall():
                by_sensor[sensor_id].append((at, value))
    rules, before = [], {}
    for f in fetched:
        status = STATUS[f[9] or "NORMAL"]
        state = RuleState(status, f[10], f[11] or 0, f[12] or 0, f[13], f[14], f[15], f[16])
        row = RuleRow(*f[:9], state, f[17], f[18], f[19])
        # A normal rule with a state row stays written; one without needs none yet.
        before[row.id] = row.remembered() if f[9] in (None, "NORMAL") else None
        rules.append(row)
    # An open anomaly is one not yet CLOSED; a closed one lets the next breach open anew.
    refs = [r.anomaly_reference for r in rules if r.anomaly_reference]
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
    kinds = {row.id: row.rule() for row in rules}
    for row in rules:
        state = row.state
        if row.anomaly_reference and row.anomaly_reference not in open_refs:
            row.anomaly_reference, row.pending, row.signalled_at = None, None, None
            state = closed(state)
        new, changes = evaluate(kinds[row.id], state, by_sensor[row.sensor_id])
        row.keep(new)
        sensor = sensors[row.sensor_id]
        last: Change | None = None
        for change in changes:
            if change.to is Status.BREACH and row.anomaly_reference is None:
                row.anomaly_reference = _register(session, gateway, sensor, row, change, now)
                row.signalled_at, row.pending = now, None
                result.registered.append(row.anomaly_reference)
                schedule_id = session.get(SensorRule, row.id).pm_schedule_id
                if schedule_id:  # a breach is rare: the rule's schedule read only then
                    result.conditions.append(Condition(schedule_id, (
                        f"sensor {sensor.code} {describe(row.rule(), sensor.unit)}: read "
                        f"{change.value:g} {sensor.unit} ({row.anomaly_reference})"
                    )))  # fmt: skip
                last = None
            else:
                last = change
        if last is not None and row.anomaly_reference:
            row.pending = last.to.value
        if row.pending and row.anomaly_reference and may_signal(row.signalled_at, now):
            result.told.append(told(row, sensor, row, last))
            row.signalled_at, row.pending = now, None
    states = []
    for row in rules:
        if before[row.id] is not None and row.at_rest(before[row.id]):
            continue
        s = row.state
        values = (
            row.id, row.organization_id, s.status.value, s.breaching_since, s.count, s.episodes,
            s.peak, s.last_seen, s.last_value, s.last_time, row.anomaly_reference,
            row.signalled_at, row.pending,
        )  # fmt: skip
        states.append(dict(zip(STATE_COLUMNS, values, strict=True)))
    session.flush()  # a registration's rows first
    if states:
        with raw.cursor() as cur:
            cur.execute(SAVE_STATES, (_json(states),))


def told(row, sensor, rule, change: Change | None) -> Told:
    """`row` and `rule` are a stored state and its rule, or one RuleRow for both."""
    return Told(
        row.anomaly_reference or "",
        row.pending or "",
        sensor.code,
        describe(
            Rule(RuleKind(rule.kind), rule.threshold, rule.for_seconds, rule.deadband), sensor.unit
        ),
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
    sensor: SensorRow,
    rule: RuleRow,
    change: Change,
    now: datetime,
) -> str:
    """The breach through the one registration service, with the reading and the rule."""
    asset = session.get(Asset, sensor.asset_id)
    text = describe(rule.rule(), sensor.unit)
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


def _meters(session, sensors, last, now, result: Ingested) -> dict[int, datetime]:
    """A sensor that reads a meter moves it to the batch's latest value (a meter never goes
    back); its PM schedules hear of it at most once a minute. The sensors that told them."""
    from domain.services import pm_schedules

    told = {}
    for sensor_id, sensor in sensors.items():
        if sensor.meter_id is None:
            continue
        at, value = last[sensor_id]
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
            told[sensor_id] = now
            if ids:
                result.moves.append(MeterMove(ids, value, at, kind))
    return told


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
        # The sensor's lock, as the ingest path takes it: one writer of a rule's state.
        .with_for_update(of=Sensor, skip_locked=True)
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
