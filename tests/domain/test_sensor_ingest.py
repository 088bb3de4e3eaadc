"""The ingest path of intake channel C2 against real PostgreSQL: one COPY per batch, rules
judged in bulk, one anomaly per rule while it is open, changes of state told at most once a
minute, meters moved, silent sensors found, raw readings trimmed."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from domain.db import transaction
from domain.errors import RuleViolation
from domain.models import (
    Anomaly,
    AuditLog,
    Meter,
    MeterReading,
    Sensor,
    SensorGateway,
    SensorRuleState,
    sensor_readings,
)
from domain.schemas.sensors import ReadingIn, SensorIn
from domain.services import sensor_readings as ingest_service
from domain.services import sensors as service
from tests.anomaly_helpers import actor

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _sensor(sessions, who="planner", **fields) -> None:
    data = {
        "asset": "SAW-JKS-001",
        "code": "TT-101",
        "name": "Saw 1 main bearing",
        "kind": "TEMPERATURE",
        "unit": "°C",
        "expected_interval_seconds": 60,
        "rules": [
            {
                "kind": "HIGH",
                "threshold": 80,
                "deadband": 2,
                "safety_impact": "SERIOUS",
                "urgency": "URGENT",
            }
        ],
    } | fields
    with transaction(sessions) as s:
        service.create_sensor(session=s, actor=actor(sessions, who), data=SensorIn(**data))


def _gateway(sessions, who="admin") -> int:
    with transaction(sessions) as s:
        gw, _ = service.create_gateway(session=s, actor=actor(sessions, who), name="hall A")
        return gw.id


def _send(sessions, gw: int, values, *, start: datetime, now: datetime, code="TT-101", every=10):
    batch = [
        ReadingIn(sensor=code, time=start + timedelta(seconds=i * every), value=v)
        for i, v in enumerate(values)
    ]
    with transaction(sessions) as s:
        return ingest_service.ingest(
            session=s, gateway=s.get(SensorGateway, gw), readings=batch, now=now
        )


def _state(sessions) -> SensorRuleState:
    with sessions() as s:
        return s.scalars(select(SensorRuleState)).one()


def test_a_breach_opens_one_anomaly_that_counts_until_closed(sessions):
    _sensor(sessions)
    gw = _gateway(sessions)
    first = _send(sessions, gw, [70, 85], start=NOW, now=NOW + timedelta(seconds=20))
    assert len(first.registered) == 1 and first.told == []
    ref = first.registered[0]
    with sessions() as s:
        anomaly = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        assert anomaly.channel == "IOT"
        assert anomaly.factors["safety_impact"] == "SERIOUS"
        assert anomaly.factors["urgency"] == "URGENT"
        assert anomaly.detected_at == NOW + timedelta(seconds=10)
        # seed 000 C2: the bearing at 85 °C against 80 °C, reading and rule attached
        sensor = anomaly.enrichment["sensor"]
        assert sensor["reading"]["value"] == 85 and sensor["rule"]["threshold"] == 80
        assert "85 °C" in anomaly.title and "above 80 °C" in anomaly.title
    # Staying over and hovering inside the deadband (78-80): the same anomaly, counts grow.
    t = NOW + timedelta(seconds=20)
    more = _send(sessions, gw, [86, 79, 78.5], start=t, now=t + timedelta(seconds=30))
    assert more.registered == [] and more.told == []
    st = _state(sessions)
    assert (st.status, st.count, st.episodes, st.peak) == ("BREACH", 4, 1, 86)
    assert st.anomaly_reference == ref
    # Back under past the deadband within the minute of the registration: it waits...
    t = NOW + timedelta(seconds=50)
    back = _send(sessions, gw, [77.9], start=t, now=t)
    assert back.told == [] and _state(sessions).pending == "NORMAL"
    # ...and goes with the next batch once the minute has passed.
    t = NOW + timedelta(seconds=90)
    later = _send(sessions, gw, [70], start=t, now=t)
    assert [(x.reference, x.change) for x in later.told] == [(ref, "NORMAL")]
    assert later.told[0].count == 4 and later.told[0].peak == 86
    # Over again while the anomaly is open: added to it, told at most once a minute.
    t = NOW + timedelta(seconds=100)
    again = _send(sessions, gw, [90], start=t, now=t)
    assert again.registered == [] and again.told == []
    st = _state(sessions)
    assert (st.count, st.episodes, st.peak, st.pending) == (5, 2, 90, "BREACH")
    silent, waiting = _sweep(sessions, NOW + timedelta(seconds=160))
    assert [(x.reference, x.change) for x in waiting] == [(ref, "BREACH")]
    # Once the anomaly is closed, a new breach opens a new one, counted afresh.
    with transaction(sessions) as s:
        s.execute(update(Anomaly).where(Anomaly.reference == ref).values(status="CLOSED"))
    t = NOW + timedelta(seconds=200)
    _send(sessions, gw, [70], start=t, now=t)
    t = NOW + timedelta(seconds=210)
    fresh = _send(sessions, gw, [88], start=t, now=t)
    assert len(fresh.registered) == 1 and fresh.registered != [ref]
    st = _state(sessions)
    assert (st.count, st.episodes, st.peak) == (1, 1, 88)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(sensor_readings)) == 10


def _sweep(sessions, now):
    with transaction(sessions) as s:
        return ingest_service.sweep(session=s, now=now)


def test_bad_batches_name_the_reading_and_store_nothing(sessions):
    _sensor(sessions)
    _sensor(sessions, who="b-planner", asset="HBR-SAW-001", code="HB-TT-1")
    gw = _gateway(sessions)
    for values, code, field in (
        ([70, 71], "NOPE-1", "readings.0.sensor"),
        ([70, 71], "HB-TT-1", "readings.0.sensor"),  # another organisation's sensor
    ):
        with pytest.raises(RuleViolation) as err:
            _send(sessions, gw, values, start=NOW, now=NOW, code=code)
        assert err.value.field == field
    with pytest.raises(RuleViolation) as err:
        _send(sessions, gw, [70], start=NOW + timedelta(hours=1), now=NOW)
    assert err.value.field == "readings.0.time"
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(sensor_readings)) == 0


def test_a_meter_sensor_moves_its_meter_and_tells_pm_once_a_minute(sessions):
    _sensor(sessions, code="RH-1", kind="COUNTER", unit="h", meter_type="HOURS", rules=[])
    gw = _gateway(sessions)
    with sessions() as s:
        start = s.scalars(select(Meter.current_reading).join(Sensor, Sensor.meter_id == Meter.id))
        start = start.one()
    one = _send(sessions, gw, [start + 1, start + 2], start=NOW, now=NOW, code="RH-1")
    assert one.meters == 1 and len(one.moves) == 1 and one.moves[0].reading == start + 2
    assert one.moves[0].schedule_ids  # the saw's meter-based PM schedule
    t = NOW + timedelta(seconds=30)
    two = _send(sessions, gw, [start + 3], start=t, now=t, code="RH-1")
    assert two.meters == 1 and two.moves == []  # the meter moves, the schedules wait
    t = NOW + timedelta(seconds=61)
    three = _send(sessions, gw, [start + 4, start + 1], start=t, now=t, code="RH-1")
    assert three.meters == 0  # latest of the batch lower: a meter never goes back
    t = NOW + timedelta(seconds=80)
    four = _send(sessions, gw, [start + 5], start=t, now=t, code="RH-1")
    assert len(four.moves) == 1
    with sessions() as s:
        meter = s.scalars(select(Meter).join(Sensor, Sensor.meter_id == Meter.id)).one()
        assert meter.current_reading == start + 5
        rows = s.scalars(select(MeterReading.source).where(MeterReading.meter_id == meter.id))
        assert list(rows).count("SENSOR") == 3


def test_silent_sensors_are_flagged_once_and_raw_readings_age_out(sessions):
    _sensor(sessions, rules=[])
    gw = _gateway(sessions)
    _send(sessions, gw, [20], start=NOW - timedelta(days=100), now=NOW)
    _send(sessions, gw, [21], start=NOW, now=NOW)
    silent, _ = _sweep(sessions, NOW + timedelta(seconds=75))  # 60 s and the write step
    assert silent == []
    silent, _ = _sweep(sessions, NOW + timedelta(seconds=76))
    assert [x.code for x in silent] == ["TT-101"]
    assert _sweep(sessions, NOW + timedelta(seconds=200))[0] == []  # alerted once
    t = NOW + timedelta(seconds=300)
    _send(sessions, gw, [22], start=t, now=t)
    with sessions() as s:
        assert s.scalars(select(Sensor.stale_since)).one() is None
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.entity_type == "SENSOR").order_by(AuditLog.id)
        )
        assert list(actions) == ["CREATED", "STALE", "HEARD_AGAIN"]
    with transaction(sessions) as s:
        assert ingest_service.trim(session=s, now=NOW) == 1  # 90 days by default
    with transaction(sessions) as s:
        assert ingest_service.trim(session=s, now=NOW + timedelta(days=1, seconds=100), days=1) == 1
        left = s.scalar(select(func.count()).select_from(sensor_readings))
        assert left == 1


def _readings(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(sensor_readings))


def test_a_batch_sent_again_stores_and_counts_nothing_twice(sessions):
    _sensor(sessions)
    gw = _gateway(sessions)
    now = NOW + timedelta(minutes=5)
    first = _send(sessions, gw, [70, 85, 86], start=NOW, now=now)
    assert (first.stored, first.duplicates, len(first.registered)) == (3, 0, 1)
    before = _state(sessions)
    assert (before.count, before.episodes, before.peak) == (2, 1, 86)
    # The gateway did not hear the answer and sends the batch again: nothing new.
    again = _send(sessions, gw, [70, 85, 86], start=NOW, now=now)
    assert (again.stored, again.duplicates, again.registered, again.told) == (0, 3, [], [])
    st = _state(sessions)
    assert (st.count, st.episodes, st.peak, st.last_time) == (2, 1, 86, before.last_time)
    # A batch half old, half new (and one reading twice in it): only the new ones count.
    t = NOW + timedelta(seconds=20)
    mixed = [
        ReadingIn(sensor="TT-101", time=t, value=86),  # stored already
        ReadingIn(sensor="TT-101", time=t + timedelta(seconds=10), value=91),
        ReadingIn(sensor="TT-101", time=t + timedelta(seconds=10), value=99),  # twice
        ReadingIn(sensor="tt-101", time=t + timedelta(seconds=20), value=87),
    ]
    with transaction(sessions) as s:
        done = ingest_service.ingest(
            session=s, gateway=s.get(SensorGateway, gw), readings=mixed, now=now
        )
    assert (done.stored, done.duplicates, done.registered) == (2, 2, [])
    st = _state(sessions)
    assert (st.count, st.episodes, st.peak) == (4, 1, 91)
    assert _readings(sessions) == 5
    with sessions() as s:
        iot = select(func.count()).select_from(Anomaly).where(Anomaly.channel == "IOT")
        assert s.scalar(iot) == 1
        sensor = s.scalars(select(Sensor).where(Sensor.code == "TT-101")).one()
        assert sensor.last_value == 87


def test_the_key_migration_keeps_the_first_of_each_duplicate(cluster):
    """0019: readings stored twice before the key existed are removed before it is made."""
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from domain.db import make_engine
    from domain.migrate import downgrade, upgrade

    name = cluster.create()
    url = cluster.url(name)
    try:
        downgrade(url, "0018_maximo")
        engine = make_engine(url, poolclass=NullPool)
        with engine.begin() as c:
            for sensor, value in ((1, 1.0), (1, 2.0), (1, 3.0), (2, 4.0)):
                c.execute(
                    text("INSERT INTO sensor_readings VALUES (1, :s, :t, :v, NULL)"),
                    {"s": sensor, "t": NOW, "v": value},
                )
        upgrade(url)
        with engine.connect() as c:
            rows = c.execute(text("SELECT sensor_id, value FROM sensor_readings ORDER BY 1"))
            assert rows.all() == [(1, 1.0), (2, 4.0)]
        engine.dispose()
    finally:
        cluster.drop(name)
