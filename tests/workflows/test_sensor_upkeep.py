"""The sensors' upkeep on the dev server with the worker: a silent sensor raised once as an
anomaly whose lifecycle starts, a rule change that waited for its minute written by that
lifecycle, raw readings trimmed to the retention setting. Both histories are recorded."""

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from temporalio.worker import Replayer

from domain.db import transaction
from domain.models import Anomaly, AuditLog, Sensor, SensorRule, SensorRuleState, sensor_readings
from domain.schemas.sensors import SensorIn
from domain.services import sensors as service
from tests.anomaly_helpers import actor
from workers import registry
from workers.schedules import SENSOR_SWEEP_ID, schedules
from workflows.sensor_upkeep import SensorUpkeepWorkflow
from workflows.sensor_upkeep_types import RETENTION, SWEEP, SensorUpkeepInput

HISTORIES = Path(__file__).parent.parent / "histories"


async def _run(client, task_queue, kind):
    handle = await client.start_workflow(
        SensorUpkeepWorkflow.run, SensorUpkeepInput(kind),
        id=f"SENSORS-T-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
    )  # fmt: skip
    return handle, await handle.result()


async def _audit(sessions, ref: str, action: str) -> list[AuditLog]:
    for _ in range(100):
        with sessions() as s:
            rows = s.scalars(
                select(AuditLog).where(AuditLog.entity_id == ref, AuditLog.action == action)
            ).all()
        if rows:
            return list(rows)
        await asyncio.sleep(0.1)
    return []


async def test_upkeep_raises_silent_sensors_tells_waiting_changes_and_trims(
    worker, temporal_client, sessions, task_queue, settings
):
    now = datetime.now(UTC)
    data = {
        "asset": "SAW-JKS-001", "code": "TT-9", "name": "Saw 1 bearing", "kind": "TEMPERATURE",
        "unit": "°C", "expected_interval_seconds": 60,
        "rules": [{"kind": "HIGH", "threshold": 80}],
    }  # fmt: skip
    with transaction(sessions) as s:
        sensor = service.create_sensor(
            session=s, actor=actor(sessions, "planner"), data=SensorIn(**data)
        )
        sensor.last_reading_at = now - timedelta(minutes=3)
        org = sensor.organization_id
        s.execute(
            insert(sensor_readings),
            [
                {"organization_id": org, "sensor_id": sensor.id, "time": t, "value": 1.0}
                for t in (now - timedelta(days=91), now - timedelta(days=1))
            ],
        )
    # Silent for 3 minutes against 1: one anomaly, its lifecycle started.
    handle, first = await _run(temporal_client, task_queue, SWEEP)
    assert first.stale == ["TT-9"] and len(first.registered) == 1
    ref = first.registered[0]
    with sessions() as s:
        anomaly = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        assert anomaly.channel == "IOT" and "TT-9 silent" in anomaly.title
        assert s.scalars(select(Sensor.stale_anomaly)).one() == ref
    _, second = await _run(temporal_client, task_queue, SWEEP)
    assert second.stale == [] and second.registered == []  # raised once
    upkeep_history = await handle.fetch_history()
    # A change that waited for its minute goes with the next sweep, to its anomaly.
    with transaction(sessions) as s:
        rule = s.scalars(select(SensorRule)).one()
        s.add(
            SensorRuleState(
                rule_id=rule.id, organization_id=org, status="NORMAL", count=3, episodes=1,
                peak=91.5, last_seen=now, last_value=70.0, last_time=now,
                anomaly_reference=ref, signalled_at=now - timedelta(minutes=2), pending="NORMAL",
            )
        )  # fmt: skip
    _, third = await _run(temporal_client, task_queue, SWEEP)
    assert third.told == [ref]
    [row] = await _audit(sessions, ref, "SENSOR_NORMAL")
    assert "back to normal" in row.reason and "peak 91.5" in row.reason
    assert row.user_name == "plantops workflow"
    # Retention: the raw readings older than 90 days go.
    _, trimmed = await _run(temporal_client, task_queue, RETENTION)
    assert trimmed.deleted == 1
    with sessions() as s:
        assert len(s.execute(select(sensor_readings)).all()) == 1
    # The Schedule that fires the sweep, every minute.
    sweep = schedules(settings)[SENSOR_SWEEP_ID]
    assert sweep.spec.intervals[0].every == timedelta(minutes=1)

    anomaly_history = await temporal_client.get_workflow_handle(ref).fetch_history()
    for history in (upkeep_history, anomaly_history):
        await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "sensor_upkeep.json").write_text(upkeep_history.to_json())
        (HISTORIES / "anomaly_sensor_rule.json").write_text(anomaly_history.to_json())
