"""The H3 summary and H4 daily digest: queued messages become one email per recipient."""

import pytest
from sqlalchemy import select
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment

from activities.notifier import DigestInput, Notifier, NotifyInput
from domain.models import Notification
from domain.settings import Settings
from tests.anomaly_helpers import register
from tests.conftest import numbering_of_its_own
from workers.schedules import (
    DAILY_ID,
    OEE_SNAPSHOT_ID,
    RETENTION_ID,
    SENSOR_RETENTION_ID,
    SENSOR_SWEEP_ID,
    SUMMARY_ID,
    ensure_schedules,
    schedules,
)

SENSOR_IDS = (SENSOR_SWEEP_ID,)


async def test_daily_digest_gathers_queued_anomalies(sessions, notify_settings, smtp):
    acts = Notifier(sessions, notify_settings)
    env = ActivityEnvironment()
    refs = [register(sessions) for _ in range(2)]
    for step, ref in enumerate(refs, start=1):
        await env.run(
            acts.notify, NotifyInput(ref, 1, step, "ALERT", [], {}, "DAILY", ["TEAM_LEAD"])
        )
    assert smtp.messages == []  # nothing goes out before the digest
    result = await env.run(acts.send_digest, DigestInput("DAILY", "20261126T0600"))
    again = await env.run(acts.send_digest, DigestInput("DAILY", "20261126T0600"))
    assert result.sent == 1 and again.queued == 0
    assert len(smtp.messages) == 1
    body = smtp.messages[0].get_payload()
    assert all(ref in body for ref in refs)
    with sessions() as s:
        statuses = {n.status for n in s.scalars(select(Notification)).all()}
    assert statuses == {"SENT"}


async def test_schedules_are_created_once(dev_env, settings: Settings):
    from tests.conftest import ending_started_workflows

    async with ending_started_workflows(dev_env.client) as client:
        # Another test's worker may have made them.
        for schedule_id in (SUMMARY_ID, DAILY_ID, OEE_SNAPSHOT_ID, RETENTION_ID, *SENSOR_IDS):
            try:
                await client.get_schedule_handle(schedule_id).delete()
            except Exception:
                pass
        # The raw readings' own Schedule of before is retired: the retention round has them.
        await client.create_schedule(SENSOR_RETENTION_ID, schedules(settings)[RETENTION_ID])
        first = await ensure_schedules(client, settings)
        second = await ensure_schedules(client, settings)
        with pytest.raises(RPCError):
            await client.get_schedule_handle(SENSOR_RETENTION_ID).describe()
        assert set(first) == {SUMMARY_ID, DAILY_ID, OEE_SNAPSHOT_ID, RETENTION_ID, *SENSOR_IDS}
        assert second == []
        daily = await client.get_schedule_handle(DAILY_ID).describe()
        assert daily.schedule.spec.calendars[0].hour[0].start == settings.daily_digest_hour_utc
        for schedule_id in first:
            await client.get_schedule_handle(schedule_id).delete()


async def test_anomalies_registered_without_a_lifecycle_get_one(
    dev_env, sessions, settings: Settings, worker
):
    from tests.conftest import ending_started_workflows
    from workers.resume import start_missing_lifecycles
    from workflows.anomaly import AnomalyWorkflow

    numbering_of_its_own(sessions)
    ref = register(sessions)  # as if Temporal had been down at registration
    async with ending_started_workflows(dev_env.client) as client:
        assert await start_missing_lifecycles(client, sessions, settings) == [ref]
        handle = client.get_workflow_handle(ref)
        for _ in range(200):
            state = await handle.query(AnomalyWorkflow.get_state)
            if state.status != "REGISTERED":
                break
        assert state.status in ("ASSIGNED", "ESCALATED")
        assert await start_missing_lifecycles(client, sessions, settings) == []


def test_daily_watch_records_pm_and_certification_events(sessions):
    from datetime import UTC, date, datetime, timedelta

    from domain.db import transaction
    from domain.models import Asset, MaintenanceEvent, PmSchedule
    from domain.services.dispatch import watch_assets

    today = date(2026, 11, 26)
    with transaction(sessions) as s:
        saw = s.query(Asset).filter_by(asset_number="SAW-JKS-001").one()
        for code, offset in (("PM-W", 3), ("PM-M", -5), ("PM-Y", 90)):
            s.add(
                PmSchedule(
                    organization_id=saw.organization_id, asset_id=saw.id, template_code=code,
                    name=code, next_due_date=datetime.combine(today, datetime.min.time(), UTC)
                    + timedelta(days=offset),
                )
            )  # fmt: skip
    for _ in range(2):  # twice the same day: recorded once
        with transaction(sessions) as s:
            watch_assets(s, today)
    with sessions() as s:
        events = [(e.type, e.entity_id) for e in s.query(MaintenanceEvent).order_by("id")]
    assert ("asset.pm_due", "SAW-JKS-001") in events
    assert ("asset.pm_overdue", "SAW-JKS-001") in events
    assert ("asset.certification_expiring", "FORKLIFT-JKS-002") in events
    assert len(events) == len(set(events))


async def test_work_orders_without_a_lifecycle_get_one(dev_env, sessions, settings, worker):
    from datetime import UTC, datetime

    from domain.db import transaction
    from domain.models import Asset, ReferenceCounter
    from domain.rules import work_orders as rules
    from domain.services import work_orders as service
    from tests.anomaly_helpers import actor
    from tests.conftest import ending_started_workflows
    from workers.resume import start_missing_work_orders
    from workflows.work_order import WorkOrderWorkflow

    with transaction(sessions) as s:  # as if Temporal had been down when it was created
        # A number no other test used on the shared server (whose closed runs keep theirs).
        s.add(ReferenceCounter(prefix="WO", year=datetime.now(UTC).year, last=90000))
        s.flush()
        wo = service.create(
            session=s, actor=actor(sessions, "supervisor"),
            asset=s.query(Asset).filter_by(asset_number="SAW-JKS-001").one(),
            type=rules.WoType.CORRECTIVE, priority=rules.WoPriority.NORMAL,
            source=rules.WoSource.SUPERVISOR_REQUEST, title="Guard", description="Loose guard",
        )  # fmt: skip
        number = wo.number
    async with ending_started_workflows(dev_env.client) as client:
        assert await start_missing_work_orders(client, sessions, settings) == [number]
        state = await client.get_workflow_handle(number).query(WorkOrderWorkflow.get_state)
        assert state.status == "DRAFT"
        assert await start_missing_work_orders(client, sessions, settings) == []


async def test_a_resumed_lifecycle_keeps_the_safety_watches_of_its_registration(
    dev_env, sessions, settings: Settings, worker
):
    """Temporal took the watches at registration, then refused the lifecycle: the worker
    starts the lifecycle later, told the watches run, and never starts a second set."""
    import json

    from sqlalchemy import select

    from domain.models import Anomaly
    from tests.conftest import ending_started_workflows
    from workers.resume import start_missing_lifecycles
    from workflows.alert_watch import registration_watch_id
    from workflows.anomaly_start import first_watches, start_watches

    numbering_of_its_own(sessions)
    ref = register(sessions, safety_impact="IMMEDIATE")
    async with ending_started_workflows(dev_env.client) as client:
        with sessions() as session:
            anomaly = session.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
            watches = first_watches(session, settings, anomaly)
        assert [w.kind for w in watches] == ["VOICE", "ESCALATION"]
        assert await start_watches(client, settings.task_queue, watches)
        held = client.get_workflow_handle(registration_watch_id(ref))
        first = (await held.describe()).run_id
        assert await start_missing_lifecycles(client, sessions, settings) == [ref]
        assert (await held.describe()).run_id == first  # the same watches, not a second set
        started = (await client.get_workflow_handle(ref).fetch_history()).events[0]
        payload = started.workflow_execution_started_event_attributes.input.payloads[0]
        assert json.loads(payload.data)["watches"] is True
