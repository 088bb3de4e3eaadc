"""PMScheduleWorkflow on a time-skipping server of its own (seed 003 D.1-D.3, L.1 scenario 2;
seed 004 BR-MAINT-001/002): calendar, meter and hybrid schedules over several cycles, the
overdue actions and their notices, one work order at a time, edits and pauses while one is
open, continue-as-new, and replay.

A PM work order's end is what its lifecycle writes on its row (CLOSED with completed_at,
or CANCELLED); these tests write that end on the row and end its workflow, so the schedule
is tested apart from the many steps of closing a work order."""

import asyncio
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.pm import PmActivities
from domain.db import transaction
from domain.models import (
    Asset,
    AuditLog,
    Meter,
    MeterReading,
    Notification,
    PmSchedule,
    WorkOrder,
    WorkOrderTask,
)
from domain.schemas.pm import ScheduleIn, TemplateIn
from domain.services import pm_schedules, pm_templates
from tests.anomaly_helpers import actor
from workers import registry
from workflows.pm_schedule import PMScheduleWorkflow
from workflows.pm_schedule_types import (
    CertificateRequest,
    ConditionRequest,
    DeferRequest,
    EditRequest,
    MeterReadingEvent,
    OpenPmRequest,
    PauseRequest,
    PMScheduleInput,
    SkipRequest,
)

HISTORIES = Path(__file__).parent.parent / "histories"
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
async def time_env():
    """A time-skipping server of this module's own: its tests move the clock by days."""
    path = str(Path(sys.executable).parent / "temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    yield env
    await env.shutdown()


def make_schedule(
    sessions, *, asset: str, code: str, schedule_type: str, days: int | None = None,
    hours: float | None = None, next_due: datetime | None = None,
    last_reading: float | None = None, action: str = "ALERT", threshold: int = 14,
    alert_days: int = 7, anchor: str = "FLOATING",
) -> int:  # fmt: skip
    planner = actor(sessions, "planner")
    with transaction(sessions) as s:
        row = s.scalars(select(Asset).where(Asset.asset_number == asset)).one()
        template = pm_templates.create_template(
            session=s,
            actor=planner,
            data=TemplateIn(
                code=code, name=f"{code} inspection", asset_type=row.type.code,
                schedule_type=schedule_type, interval_days=days, interval_hours=hours,
                estimated_hours=1.5, required_skills=["MECH"], required_permits=["LOTO"],
                tasks=[
                    {"sequence": 1, "description": "Check guards", "requires_photo": True},
                    {"sequence": 2, "description": "Measure blade runout",
                     "requires_measurement": True, "measurement_unit": "mm",
                     "measurement_spec": "0.0-0.2 mm"},
                ],
            ),
        )  # fmt: skip
        schedule = pm_schedules.create_schedule(
            session=s,
            actor=planner,
            data=ScheduleIn(
                template=template.code, asset=asset, next_due_date=next_due,
                last_meter_reading=last_reading, overdue_action=action,
                overdue_threshold_days=threshold, alert_days_before=alert_days, anchor=anchor,
            ),
        )  # fmt: skip
        return schedule.id


async def start(client: Client, sessions, task_queue: str, schedule_id: int, **options):
    with sessions() as s:
        org = s.get(PmSchedule, schedule_id).organization_id
    data = PMScheduleInput(schedule_id, org, indexed=False, **options)
    await client.start_workflow(
        PMScheduleWorkflow.run, data, id=f"PMS-{schedule_id}", task_queue=task_queue
    )
    return client.get_workflow_handle(f"PMS-{schedule_id}")  # the latest run, as it goes on


async def refused(update, message: str) -> None:
    """The update refused, its cause naming `message`."""
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await update
    assert message in str(err.value.cause)


async def settle(handle, check, what: str = ""):
    """The live state once `check` holds: the workflow's steps run in real time."""
    state = None
    for _ in range(200):
        try:
            state = await handle.query(PMScheduleWorkflow.get_state)
        except RPCError:  # asked as a run continued as new: ask the next one
            await asyncio.sleep(0.05)
            continue
        if state.facts is not None and check(state):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: {state}")


def work_orders(sessions, schedule_id: int) -> list[WorkOrder]:
    with sessions() as s:
        return list(
            s.scalars(
                select(WorkOrder).where(WorkOrder.pm_schedule_id == schedule_id)
                .order_by(WorkOrder.id)
            )
        )  # fmt: skip


def row(sessions, schedule_id: int) -> PmSchedule:
    with sessions() as s:
        return s.get(PmSchedule, schedule_id)


async def finish(client: Client, handle, sessions, number: str, at: datetime,
                 status: str = "CLOSED", tell: bool = True) -> None:  # fmt: skip
    """The work order ended as its lifecycle ends it: the row, then its workflow done."""
    with transaction(sessions) as s:
        wo = s.scalars(select(WorkOrder).where(WorkOrder.number == number)).one()
        wo.status = status
        wo.closed_at = at
        if status == "CLOSED":
            wo.completed_at = at
    await client.get_workflow_handle(number).terminate("ended by the test")
    if tell:
        await handle.signal(PMScheduleWorkflow.work_order_changed, number)


def read_meter(sessions, asset: str, reading: float, at: datetime) -> None:
    with transaction(sessions) as s:
        a = s.scalars(select(Asset).where(Asset.asset_number == asset)).one()
        meter = s.scalars(
            select(Meter).where(Meter.asset_id == a.id, Meter.meter_type == "HOURS")
        ).one()
        s.add(MeterReading(organization_id=a.organization_id, meter_id=meter.id, asset_id=a.id,
                           reading=reading, previous_reading=meter.current_reading,
                           recorded_at=at, recorded_by="test"))  # fmt: skip
        meter.current_reading, meter.last_reading_at = reading, at


def notices(sessions, schedule_id: int) -> list[tuple[str, str]]:
    """(event, recipient) of the schedule's notices, in order."""
    with sessions() as s:
        return list(
            s.execute(
                select(Notification.event, Notification.recipient_name)
                .where(Notification.key.like(f"PMS-{schedule_id}/%"),
                       Notification.channel == "IN_APP")
                .order_by(Notification.id)
            ).all()
        )  # fmt: skip


async def test_thirty_day_schedule_over_three_cycles_completed_late_and_early(
    tclient: Client, time_env, sessions, task_queue
):
    now = await time_env.get_current_time()
    due = now + timedelta(days=10)
    sid = make_schedule(sessions, asset="SAW-JKS-002", code="PM-SAW-30", schedule_type="TIME_BASED",
                        days=30, next_due=due)  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid, poll_seconds=6 * 3600)
    state = await settle(handle, lambda s: s.status == "WAITING", "asleep until the lead time")
    await time_env.sleep(2 * DAY)
    assert work_orders(sessions, sid) == []
    # BR-MAINT-001: opened 7 days before the due date, in APPROVED, from the template.
    await time_env.sleep(DAY + timedelta(hours=1))
    state = await settle(handle, lambda s: s.facts.open_work_order, "opened at due - lead")
    [wo] = work_orders(sessions, sid)
    assert (wo.type, wo.status, wo.source, wo.source_reference) == (
        "PM",
        "APPROVED",
        "PM_SCHEDULE",
        f"PMS-{sid}",
    )
    assert wo.requires_loto and wo.pm_template_id and wo.estimated_hours == 1.5
    with sessions() as s:
        tasks = s.scalars(select(WorkOrderTask).where(WorkOrderTask.work_order_id == wo.id)
                          .order_by(WorkOrderTask.sequence)).all()  # fmt: skip
        assert [(t.description, t.spec_min, t.spec_max, t.requires_photo) for t in tasks] == [
            ("Check guards", None, None, True),
            ("Measure blade runout", 0.0, 0.2, False),
        ]
        tech = s.scalars(select(AuditLog).where(AuditLog.entity_id == wo.number,
                                                AuditLog.action == "APPROVED")).one()  # fmt: skip
        assert tech.new_state["pm_schedule"] == f"PMS-{sid}"
    assert wo.assigned_to_id == actor(sessions, "tech").user_id  # the one skilled in MECH
    assert "PM_DUE" in {e for e, _ in notices(sessions, sid)}, state.events

    # Cycle 1, done 5 days late: the next due counts from the completion (floating).
    await time_env.sleep(12 * DAY)
    late = await time_env.get_current_time()
    await finish(tclient, handle, sessions, wo.number, late)
    state = await settle(handle, lambda s: s.facts.cycles == 1, "first PM recorded")
    assert state.facts.next_due_date == late + timedelta(days=30)
    assert state.facts.last_executed_wo == wo.number and state.facts.open_work_order is None

    # Cycle 2, done 2 days early.
    await time_env.sleep(23 * DAY + timedelta(hours=1))
    state = await settle(handle, lambda s: s.facts.open_work_order, "second opened")
    early = await time_env.get_current_time() + timedelta(days=5)  # due - 2 days
    await time_env.sleep(5 * DAY)
    early = await time_env.get_current_time()
    await finish(tclient, handle, sessions, state.facts.open_work_order, early)
    state = await settle(handle, lambda s: s.facts.cycles == 2, "second PM recorded")
    assert state.facts.next_due_date == early + timedelta(days=30)

    # Cycle 3, read from the record by the poll alone (no signal).
    await time_env.sleep(23 * DAY + timedelta(hours=1))
    state = await settle(handle, lambda s: s.facts.open_work_order, "third opened")
    third = state.facts.open_work_order
    done = await time_env.get_current_time()
    await finish(tclient, handle, sessions, third, done, tell=False)
    await time_env.sleep(timedelta(hours=7))
    state = await settle(handle, lambda s: s.facts.cycles == 3, "third PM read by the poll")
    stored = row(sessions, sid)
    assert (stored.cycles, stored.last_executed_wo, stored.open_work_order) == (3, third, None)
    assert stored.next_due_date == done + timedelta(days=30)
    with sessions() as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-002")).one()
        assert asset.last_maintenance_at == done
    assert len(work_orders(sessions, sid)) == 3
    assert [e.action for e in state.events].count("PM_COMPLETED") == 3

    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "pm_schedule_cycles.json").write_text(history.to_json())


async def test_a_fixed_schedule_keeps_the_calendar(tclient, time_env, sessions, task_queue):
    now = await time_env.get_current_time()
    due = now + timedelta(days=7)
    sid = make_schedule(sessions, asset="FORKLIFT-JKS-001", code="PM-FL-M", days=30,
                        schedule_type="TIME_BASED", next_due=due, anchor="FIXED")  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    state = await settle(handle, lambda s: s.facts.open_work_order, "opened at once")
    await time_env.sleep(9 * DAY)  # done two days late
    await finish(tclient, handle, sessions, state.facts.open_work_order,
                 await time_env.get_current_time())  # fmt: skip
    state = await settle(handle, lambda s: s.facts.cycles == 1, "done")
    assert state.facts.next_due_date == due + timedelta(days=30)


async def test_a_500_hour_meter_schedule_driven_by_readings(
    tclient, time_env, sessions, task_queue
):
    sid = make_schedule(sessions, asset="SAW-JKS-001", code="PM-SAW-500H",
                        schedule_type="METER_BASED", hours=500, last_reading=12480)  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    state = await settle(handle, lambda s: s.status == "WAITING", "waits for the meter")
    assert state.facts.next_due_meter == 12980
    await time_env.sleep(60 * DAY)  # no calendar: nothing happens with time alone
    assert work_orders(sessions, sid) == []
    now = await time_env.get_current_time()
    read_meter(sessions, "SAW-JKS-001", 12900, now)
    await handle.signal(PMScheduleWorkflow.meter_reading, MeterReadingEvent(12900, now))
    await settle(handle, lambda s: s.facts.current_reading == 12900, "reading taken")
    assert work_orders(sessions, sid) == []  # 80 hours to go, alert at 50
    read_meter(sessions, "SAW-JKS-001", 12935, now)
    await handle.signal(PMScheduleWorkflow.meter_reading, MeterReadingEvent(12935, now))
    state = await settle(handle, lambda s: s.facts.open_work_order, "opened by the meter")
    [wo] = work_orders(sessions, sid)
    assert "opened by meter" in wo.description
    await time_env.sleep(2 * DAY)
    at = await time_env.get_current_time()
    read_meter(sessions, "SAW-JKS-001", 12990, at)
    await finish(tclient, handle, sessions, wo.number, at + timedelta(minutes=5))
    state = await settle(handle, lambda s: s.facts.cycles == 1, "PM recorded")
    # From the reading at completion, not from the due reading.
    assert (state.facts.last_meter_reading, state.facts.next_due_meter) == (12990, 13490)
    assert state.facts.next_due_date is None


async def test_hybrid_the_meter_wins(tclient, time_env, sessions, task_queue):
    now = await time_env.get_current_time()
    # D.1: annual or 2,000 hours; 1,800 hours run, 8 months since the last inspection.
    sid = make_schedule(sessions, asset="CRANE-JKS-001", code="PM-CRANE-ANNUAL",
                        schedule_type="HYBRID", days=365, hours=2000,
                        next_due=now + timedelta(days=120), last_reading=2410)  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    await settle(handle, lambda s: s.status == "WAITING", "waiting")
    read_meter(sessions, "CRANE-JKS-001", 4370, now)
    await handle.signal(PMScheduleWorkflow.meter_reading, MeterReadingEvent(4370, now))
    await settle(handle, lambda s: s.facts.open_work_order, "opened by the meter")
    [wo] = work_orders(sessions, sid)
    assert "opened by meter" in wo.description


async def test_hybrid_the_calendar_wins(tclient, time_env, sessions, task_queue):
    now = await time_env.get_current_time()
    sid = make_schedule(sessions, asset="CRANE-JKS-001", code="PM-CRANE-ANNUAL",
                        schedule_type="HYBRID", days=365, hours=2000,
                        next_due=now + timedelta(days=8), last_reading=4200)  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    await settle(handle, lambda s: s.status == "WAITING", "waiting")
    await time_env.sleep(DAY + timedelta(hours=1))
    await settle(handle, lambda s: s.facts.open_work_order, "opened by the calendar")
    [wo] = work_orders(sessions, sid)
    assert "opened by time" in wo.description
    # Done: both counts start again from the completion.
    at = await time_env.get_current_time()
    await finish(tclient, handle, sessions, wo.number, at)
    state = await settle(handle, lambda s: s.facts.cycles == 1, "done")
    assert state.facts.next_due_date == at + timedelta(days=365)
    assert state.facts.next_due_meter == 4210 + 2000  # the crane's meter as stored


async def test_alert_tells_the_team_at_once_and_the_manager_a_week_later(
    tclient, time_env, sessions, task_queue
):
    now = await time_env.get_current_time()
    sid = make_schedule(sessions, asset="FORKLIFT-JKS-001", code="PM-FL-W",
                        schedule_type="TIME_BASED", days=7,
                        next_due=now + timedelta(hours=1))  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    await settle(handle, lambda s: s.facts.open_work_order, "opened")
    await time_env.sleep(timedelta(hours=2))
    state = await settle(handle, lambda s: "team" in s.facts.overdue_told, "team told")
    told = notices(sessions, sid)
    assert {e for e, _ in told} == {"PM_DUE", "PM_OVERDUE"}
    assert "Wen Li" not in {who for _, who in told}  # no manager yet
    await time_env.sleep(3 * DAY)
    assert notices(sessions, sid) == told  # ALERT does not repeat
    await time_env.sleep(4 * DAY)
    state = await settle(handle, lambda s: "manager" in s.facts.overdue_told, "manager told")
    assert state.status == "OVERDUE" and state.days_overdue == 7
    escalated = [w for e, w in notices(sessions, sid) if e == "PM_OVERDUE_ESCALATED"]
    with sessions() as s:
        from domain.models import User

        managers = {u.full_name for u in s.scalars(select(User)) if "MAINT_MANAGER" in u.roles}
    assert set(escalated) == managers & set(escalated) and escalated
    assert row(sessions, sid).blocked_at is None


async def test_escalate_tells_both_every_day(tclient, time_env, sessions, task_queue):
    now = await time_env.get_current_time()
    sid = make_schedule(sessions, asset="FORKLIFT-JKS-002", code="PM-FL-E",
                        schedule_type="TIME_BASED", days=7, action="ESCALATE",
                        next_due=now + timedelta(hours=1))  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    await settle(handle, lambda s: s.facts.open_work_order, "opened")
    await time_env.sleep(timedelta(hours=2))
    await settle(handle, lambda s: s.facts.overdue_told.get("day") == 0, "day 0")
    await time_env.sleep(DAY)
    await settle(handle, lambda s: s.facts.overdue_told.get("day") == 1, "day 1")
    await time_env.sleep(DAY)
    await settle(handle, lambda s: s.facts.overdue_told.get("day") == 2, "day 2")
    events = [e for e, _ in notices(sessions, sid)]
    assert events.count("PM_DUE") >= 1
    per_day = events.count("PM_OVERDUE_ESCALATED")
    assert per_day and per_day % 3 == 0  # the same people, on each of three days
    assert row(sessions, sid).blocked_at is None


async def test_block_takes_the_asset_out_past_the_threshold_until_the_pm_closes(
    tclient, time_env, sessions, task_queue
):
    now = await time_env.get_current_time()
    sid = make_schedule(sessions, asset="FORKLIFT-JKS-003", code="PM-FL-B",
                        schedule_type="TIME_BASED", days=30, action="BLOCK", threshold=3,
                        next_due=now + timedelta(hours=1))  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    state = await settle(handle, lambda s: s.facts.open_work_order, "opened")
    await time_env.sleep(3 * DAY + timedelta(hours=2))
    with sessions() as s:
        assert s.scalars(select(Asset).where(Asset.asset_number == "FORKLIFT-JKS-003")
                         ).one().status.value == "IN_SERVICE"  # fmt: skip
    await time_env.sleep(DAY)
    state = await settle(handle, lambda s: s.facts.blocked_at is not None, "blocked")
    with sessions() as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "FORKLIFT-JKS-003")).one()
        assert (asset.status.value, asset.status_reason) == (
            "OUT_OF_SERVICE",
            "PM overdue - blocked per policy",
        )
    assert "PM_BLOCKED" in {e for e, _ in notices(sessions, sid)}
    from domain.services import dispatch

    with sessions() as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "FORKLIFT-JKS-003")).one()
        today = (await time_env.get_current_time()).date()
        kinds = {b.type for b in dispatch.dispatch_check(s, asset, today)}
    assert "PM_OVERDUE" in kinds
    # The PM done: the block's cause is gone, the overdue record starts again.
    await finish(tclient, handle, sessions, state.facts.open_work_order,
                 await time_env.get_current_time())  # fmt: skip
    state = await settle(handle, lambda s: s.facts.cycles == 1, "done")
    assert state.facts.blocked_at is None and state.facts.overdue_told == {}
    with sessions() as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "FORKLIFT-JKS-003")).one()
        today = (await time_env.get_current_time()).date()
        assert "PM_OVERDUE" not in {b.type for b in dispatch.dispatch_check(s, asset, today)}


async def test_no_duplicate_when_the_timer_and_a_reading_arrive_together(
    tclient, time_env, sessions, task_queue, settings
):
    now = await time_env.get_current_time()
    sid = make_schedule(sessions, asset="SHEAR-JKS-001", code="PM-SHEAR-H",
                        schedule_type="HYBRID", days=90, hours=500,
                        next_due=now + timedelta(days=7), last_reading=14900)  # fmt: skip
    read_meter(sessions, "SHEAR-JKS-001", 15390, now)
    # Calendar due (at its lead time now) and the meter past its alert, with readings
    # signalled in the same first decision: one work order.
    with sessions() as s:
        org = s.get(PmSchedule, sid).organization_id
    await tclient.start_workflow(
        PMScheduleWorkflow.run, PMScheduleInput(sid, org, indexed=False), id=f"PMS-{sid}",
        task_queue=task_queue, start_signal="meter_reading",
        start_signal_args=[MeterReadingEvent(15391, now)],
    )  # fmt: skip
    handle = tclient.get_workflow_handle(f"PMS-{sid}")
    for reading in (15392, 15393, 15394):
        await handle.signal(PMScheduleWorkflow.meter_reading, MeterReadingEvent(reading, now))
    await settle(handle, lambda s: s.facts.current_reading == 15394, "readings taken")
    await time_env.sleep(timedelta(hours=2))
    await settle(handle, lambda s: s.facts.open_work_order, "opened")
    assert len(work_orders(sessions, sid)) == 1
    # The step run again (a worker lost after opening) finds the open one.
    acts = PmActivities(sessions, tclient, task_queue)
    again = await acts.open_pm_work_order(OpenPmRequest(sid, org, "TIME", False))
    assert not again.created and again.number == work_orders(sessions, sid)[0].number
    assert len(work_orders(sessions, sid)) == 1


async def test_edit_and_pause_while_a_work_order_is_open(tclient, time_env, sessions, task_queue):
    now = await time_env.get_current_time()
    sid = make_schedule(sessions, asset="COMP-JKS-001", code="PM-COMP-M",
                        schedule_type="TIME_BASED", days=30,
                        next_due=now + timedelta(days=2))  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    state = await settle(handle, lambda s: s.facts.open_work_order, "opened")
    number = state.facts.open_work_order
    planner, tech = actor(sessions, "planner"), actor(sessions, "tech")
    await refused(
        handle.execute_update(PMScheduleWorkflow.pause, PauseRequest(tech, "busy week")),
        "Manage PM Schedules",
    )
    state = await handle.execute_update(
        PMScheduleWorkflow.pause, PauseRequest(planner, "line stopped for the audit")
    )
    assert state.status == "PAUSED" and state.facts.open_work_order == number
    await time_env.sleep(5 * DAY)  # past due, but paused: no overdue notices
    assert "PM_OVERDUE" not in {e for e, _ in notices(sessions, sid)}
    state = await handle.execute_update(
        PMScheduleWorkflow.edit, EditRequest(planner, {"interval_days": 60}, "every two months")
    )
    assert state.facts.interval_days == 60 and state.facts.open_work_order == number
    state = await handle.execute_update(PMScheduleWorkflow.resume, PauseRequest(planner, "back"))
    assert state.status == "OVERDUE"
    at = await time_env.get_current_time()
    await finish(tclient, handle, sessions, number, at)
    state = await settle(handle, lambda s: s.facts.cycles == 1, "done")
    assert state.facts.next_due_date == at + timedelta(days=60)
    assert len(work_orders(sessions, sid)) == 1
    with sessions() as s:
        actions = [a for (a,) in s.execute(select(AuditLog.action).where(
            AuditLog.entity_id == f"PMS-{sid}").order_by(AuditLog.id))]  # fmt: skip
    assert actions[:1] == ["CREATED"]
    assert {"PAUSED", "EDITED", "RESUMED", "PM_COMPLETED"} <= set(actions)


async def test_a_cancelled_work_order_leaves_the_pm_due_skip_and_defer(
    tclient, time_env, sessions, task_queue
):
    now = await time_env.get_current_time()
    sid = make_schedule(sessions, asset="ROUTER-JKS-001", code="PM-ROUTER-M",
                        schedule_type="TIME_BASED", days=30,
                        next_due=now + timedelta(days=3))  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid)
    state = await settle(handle, lambda s: s.facts.open_work_order, "opened")
    first = state.facts.open_work_order
    await finish(tclient, handle, sessions, first, now, status="CANCELLED")
    state = await settle(
        handle, lambda s: s.facts.open_work_order not in (None, first), "a new one opened"
    )
    second = state.facts.open_work_order
    assert [w.number for w in work_orders(sessions, sid)] == [first, second]
    # Defer, by a supervisor with a reason: the due date later, the work order kept.
    sup, planner = actor(sessions, "supervisor"), actor(sessions, "planner")
    await refused(
        handle.execute_update(
            PMScheduleWorkflow.defer, DeferRequest(planner, "parts late", now + 10 * DAY)
        ),
        "Skip or Defer PM",
    )
    await refused(
        handle.execute_update(PMScheduleWorkflow.defer, DeferRequest(sup, "", now + 10 * DAY)),
        "needs a reason",
    )
    state = await handle.execute_update(
        PMScheduleWorkflow.defer, DeferRequest(sup, "parts arrive next week", now + 10 * DAY)
    )
    assert state.facts.next_due_date == now + 10 * DAY and state.facts.open_work_order == second
    # Skip: the work order cancelled through its lifecycle (whose rules apply: an approved
    # order is cancelled by a manager), the next due one interval on.
    await refused(
        handle.execute_update(PMScheduleWorkflow.skip, SkipRequest(sup, "asset rebuilt")),
        "needs one of the roles MAINT_ADMIN, MAINT_MANAGER",
    )
    assert row(sessions, sid).open_work_order == second  # nothing half done
    manager = actor(sessions, "manager")
    state = await handle.execute_update(
        PMScheduleWorkflow.skip, SkipRequest(manager, "asset rebuilt last week")
    )
    assert state.facts.open_work_order is None
    assert state.facts.next_due_date == now + 40 * DAY
    with sessions() as s:
        assert s.scalars(select(WorkOrder.status).where(WorkOrder.number == second)).one() == (
            "CANCELLED"
        )
        reasons = {a.action: a.reason for a in s.scalars(
            select(AuditLog).where(AuditLog.entity_id == f"PMS-{sid}"))}  # fmt: skip
    assert reasons["SKIPPED"] == "asset rebuilt last week"
    assert reasons["DEFERRED"] == "parts arrive next week"


async def test_continue_as_new_keeps_the_history_short(tclient, time_env, sessions, task_queue):
    now = await time_env.get_current_time()
    sid = make_schedule(sessions, asset="BANDER-JKS-001", code="PM-BAND-D",
                        schedule_type="TIME_BASED", days=1, alert_days=0,
                        next_due=now + timedelta(hours=1))  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid, cycles_per_run=2)
    first_run = (await handle.describe()).run_id
    for cycle in range(1, 4):
        await time_env.sleep(timedelta(hours=2))
        state = await settle(handle, lambda s: s.facts.open_work_order, f"cycle {cycle}")
        await finish(tclient, handle, sessions, state.facts.open_work_order,
                     await time_env.get_current_time())  # fmt: skip
        await settle(handle, lambda s, c=cycle: s.facts.cycles == c, f"cycle {cycle} done")
        await time_env.sleep(DAY - timedelta(hours=2))
    assert (await handle.describe()).run_id != first_run
    state = await handle.query(PMScheduleWorkflow.get_state)
    assert state.facts.cycles == 3 and row(sessions, sid).cycles == 3
    with sessions() as s:
        opened = s.scalar(select(func.count()).select_from(WorkOrder)
                          .where(WorkOrder.pm_schedule_id == sid))  # fmt: skip
    assert opened >= 3


async def _close_through_its_lifecycle(client: Client, sessions, number: str) -> None:
    """The PM work order (APPROVED) scheduled, done, verified and closed, as people do it."""
    from activities.anomalies import Person
    from domain.rules import work_orders as wo_rules
    from domain.services import files
    from tests.anomaly_helpers import PNG
    from workflows.work_order import WorkOrderWorkflow as WO
    from workflows.work_order_types import (
        AttachFileRequest,
        CompleteTaskRequest,
        FileKey,
        LogLaborRequest,
        MoveRequest,
        ScheduleRequest,
        VerifyRequest,
    )

    wo = client.get_workflow_handle(number)
    tech, manager = actor(sessions, "tech"), actor(sessions, "manager")
    person = Person(tech.user_id, tech.username, tech.full_name)
    await wo.execute_update(WO.schedule, ScheduleRequest(actor(sessions, "planner"), person))
    await wo.execute_update(WO.start, MoveRequest(tech))
    await wo.execute_update(WO.complete_task, CompleteTaskRequest(tech, 1))
    await wo.execute_update(WO.log_labor, LogLaborRequest(tech, 1.0, hourly_rate=40.0))
    with transaction(sessions) as s:
        digest = files.store(s, organization_id=tech.organization_id, content=PNG + b"pm")
    key = FileKey(digest, "checklist.png", "image/png", len(PNG) + 2)
    await wo.execute_update(WO.attach_file, AttachFileRequest(tech, "CHECKLIST", key))
    await wo.execute_update(WO.complete, MoveRequest(tech))
    checklist = {item: True for item in wo_rules.VERIFICATION_CHECKLIST}
    await wo.execute_update(
        WO.verify, VerifyRequest(actor(sessions, "supervisor"), checklist, True)
    )
    state = await wo.execute_update(WO.approve_return, MoveRequest(manager))
    assert state.status == "CLOSED", state


async def test_the_close_tells_the_schedule_at_once(tclient, time_env, sessions, task_queue):
    """The work order's close signals PMS-<id>: the next due is counted then, not at the
    next look at the record (six hours away here), and the clock has not moved."""
    planner = actor(sessions, "planner")
    now = await time_env.get_current_time()
    with transaction(sessions) as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-001")).one()
        template = pm_templates.create_template(
            session=s, actor=planner,
            data=TemplateIn(code="PM-SAW-TOLD", name="Told on close", asset_type=asset.type.code,
                            schedule_type="TIME_BASED", interval_days=30,
                            tasks=[{"sequence": 1, "description": "Check guards"}]),
        )  # fmt: skip
        sid = pm_schedules.create_schedule(
            session=s, actor=planner,
            data=ScheduleIn(template=template.code, asset="SAW-JKS-001", alert_days_before=0,
                            next_due_date=now + timedelta(hours=1)),
        ).id  # fmt: skip
    handle = await start(tclient, sessions, task_queue, sid, poll_seconds=6 * 3600)
    await settle(handle, lambda s: s.status == "WAITING", "asleep until due")
    await time_env.sleep(timedelta(hours=2))
    state = await settle(handle, lambda s: s.facts.open_work_order, "opened when due")
    number = state.facts.open_work_order
    await _close_through_its_lifecycle(tclient, sessions, number)
    closed = row_wo(sessions, number)
    state = await settle(handle, lambda s: s.facts.cycles == 1, "told by the close")
    assert state.facts.open_work_order is None and state.facts.last_executed_wo == number
    assert state.facts.next_due_date == closed.completed_at + timedelta(days=30)
    assert await time_env.get_current_time() < closed.closed_at + timedelta(hours=1)
    wo_history = await tclient.get_workflow_handle(number).fetch_history()
    pm_history = await handle.fetch_history()
    replayer = Replayer(workflows=registry.WORKFLOWS)
    await replayer.replay_workflow(wo_history)
    await replayer.replay_workflow(pm_history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "work_order_pm_told_on_close.json").write_text(wo_history.to_json())
        (HISTORIES / "pm_schedule_told_on_close.json").write_text(pm_history.to_json())


async def test_a_condition_drafts_one_work_order_at_a_time(tclient, time_env, sessions, task_queue):
    """CONDITION_BASED: no clock wakes it; a condition drafts a work order for review; a
    second while it is open is noted; after it closes the next condition drafts anew."""
    sid = make_schedule(
        sessions, asset="SAW-JKS-001", code="PM-SAW-SPC", schedule_type="CONDITION_BASED"
    )
    handle = await start(tclient, sessions, task_queue, sid)
    await settle(handle, lambda s: s.status == "WAITING", "no clock")
    await time_env.sleep(timedelta(days=400))
    assert not work_orders(sessions, sid)
    quality = actor(sessions, "quality")
    told = ConditionRequest(quality, "SPC", "rule 4 on cut length")
    state = await handle.execute_update(PMScheduleWorkflow.condition, told)
    first = state.facts.open_work_order
    [wo] = work_orders(sessions, sid)
    assert (wo.number, wo.status, wo.type) == (first, "DRAFT", "PM")
    state = await handle.execute_update(PMScheduleWorkflow.condition, told)
    assert state.facts.open_work_order == first and len(work_orders(sessions, sid)) == 1
    assert [e.action for e in state.events][-2:] == ["WORK_ORDER_OPENED", "CONDITION_NOTED"]
    # The quality roles were told of the draft once, in its opening step; not of the note.
    with sessions() as s:
        told_quality = s.scalars(
            select(Notification.recipient_name).where(Notification.event == "SPC_CONDITION")
        ).all()
    assert told_quality and len(told_quality) == len(set(told_quality))
    await finish(tclient, handle, sessions, first, await time_env.get_current_time())
    state = await settle(handle, lambda s: s.facts.cycles == 1, "closed")
    assert state.facts.next_due_date is None and state.status == "WAITING"
    state = await handle.execute_update(PMScheduleWorkflow.condition, told)
    assert state.facts.open_work_order not in (None, first)
    # Another organisation's condition is not found; a paused schedule takes none.
    await refused(
        handle.execute_update(
            PMScheduleWorkflow.condition, ConditionRequest(actor(sessions, "b-quality"), "SPC", "x")
        ),
        "not found",
    )
    planner = actor(sessions, "planner")
    await handle.execute_update(PMScheduleWorkflow.pause, PauseRequest(planner, "line rebuilt"))
    await refused(handle.execute_update(PMScheduleWorkflow.condition, told), "is paused")
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        # The first recording (pm_schedule_condition.json) predates the quality notice.
        (HISTORIES / "pm_schedule_condition_quality.json").write_text(history.to_json())


async def test_a_certification_inspection_renews_the_certificate(
    tclient, time_env, sessions, task_queue
):
    """Seed 003 C.1: the certificate's schedule opens an INSPECTION work order 30 days
    before expiry; its close renews the certificate a year on, audited on the asset; a
    hand-changed expiry moves the due."""
    now = await time_env.get_current_time()
    planner = actor(sessions, "planner")
    with transaction(sessions) as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-002")).one()
        asset.requires_certification = True
        asset.certification_expiry = (now + timedelta(days=45)).date()
        sid = pm_schedules.certification_schedule(session=s, actor=planner, asset=asset)[0].id
    handle = await start(tclient, sessions, task_queue, sid)
    await settle(handle, lambda s: s.status == "WAITING", "asleep until 30 days ahead")
    moved = now + timedelta(days=60)
    state = await handle.execute_update(
        PMScheduleWorkflow.certificate_changed, CertificateRequest(planner, moved)
    )
    assert state.facts.next_due_date == moved
    await refused(
        handle.execute_update(
            PMScheduleWorkflow.certificate_changed,
            CertificateRequest(actor(sessions, "operator"), moved),
        ),
        "not among your permissions",
    )
    await time_env.sleep(timedelta(days=31))
    state = await settle(handle, lambda s: s.facts.open_work_order, "opened 30 days ahead")
    [wo] = work_orders(sessions, sid)
    assert (wo.type, wo.status) == ("INSPECTION", "APPROVED")
    done = await time_env.get_current_time()
    await finish(tclient, handle, sessions, wo.number, done)
    state = await settle(handle, lambda s: s.facts.cycles == 1, "closed")
    assert state.facts.next_due_date == done + timedelta(days=365)
    with sessions() as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-002")).one()
        assert (
            asset.certification_expiry
            == (done + timedelta(days=365)).astimezone(ZoneInfo("America/Chicago")).date()
        )
        audit = s.scalars(
            select(AuditLog).where(
                AuditLog.entity_id == "SAW-JKS-002", AuditLog.action == "CERTIFIED"
            )
        ).one()
        assert audit.reason == f"certification inspection {wo.number} closed"
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "pm_schedule_certification.json").write_text(history.to_json())


def row_wo(sessions, number: str) -> WorkOrder:
    with sessions() as s:
        wo = s.scalars(select(WorkOrder).where(WorkOrder.number == number)).one()
        s.expunge(wo)
        return wo


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("pm_schedule*.json")), ids=lambda p: p.name)
async def test_recorded_pm_histories_replay(path):
    history = WorkflowHistory.from_json("recorded", json.loads(path.read_text()))
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)


def test_pm_histories_are_recorded():
    assert list(HISTORIES.glob("pm_schedule*.json")), "record with PLANTOPS_RECORD_HISTORIES=1"


async def test_a_block_due_under_a_stop_work_hold_takes_the_asset_out_once_released(
    tclient, time_env, sessions, task_queue
):
    """An overdue BLOCK falling while a stop-work holds the asset (SAFETY_HOLD) cannot move
    it; once the stop-work clears (the asset back to MAINTENANCE) the PM is still overdue,
    so the asset must go OUT_OF_SERVICE, not stay free to return to service."""
    from activities.asset_gateway import AssetChange, AssetGateway

    now = await time_env.get_current_time()
    number = "FORKLIFT-JKS-003"
    sid = make_schedule(sessions, asset=number, code="PM-FL-H", schedule_type="TIME_BASED",
                        days=30, action="BLOCK", threshold=3,
                        next_due=now + timedelta(hours=1))  # fmt: skip
    with transaction(sessions) as s:  # a stop-work holds it (the asset's workflow not yet up)
        asset = s.scalars(select(Asset).where(Asset.asset_number == number)).one()
        asset.status = type(asset.status)("SAFETY_HOLD")
        asset_id = asset.id
    handle = await start(tclient, sessions, task_queue, sid)
    await settle(handle, lambda s: s.facts.open_work_order, "opened")
    await time_env.sleep(4 * DAY + timedelta(hours=2))  # past the threshold, still held
    await settle(handle, lambda s: s.facts.overdue_told, "overdue")
    with sessions() as s:
        assert s.get(Asset, asset_id).status.value == "SAFETY_HOLD"
    # The stop-work cleared: the asset released to MAINTENANCE, the PM still not done.
    gateway = AssetGateway(sessions, tclient, task_queue)
    await gateway.change_asset_status(
        AssetChange(asset_id, "MAINTENANCE", "stop-work cleared",
                    actor(sessions, "ehs"), only_from=["SAFETY_HOLD"])
    )  # fmt: skip
    await time_env.sleep(2 * DAY)
    for _ in range(400):  # on a busy machine the block lands a few seconds later
        with sessions() as s:
            status = s.get(Asset, asset_id).status.value
        if status == "OUT_OF_SERVICE":
            break
        await asyncio.sleep(0.05)
    assert status == "OUT_OF_SERVICE", "the overdue PM's block was lost under the hold"


def test_the_dispatch_check_names_a_meter_pm_overdue_past_its_block_threshold(sessions):
    """The workflow counts overdue from the due date or the due meter, whichever came first
    (rules.overdue_since); the dispatch check must name the same PM as blocking."""
    from datetime import UTC

    from domain.services import dispatch

    sid = make_schedule(sessions, asset="SAW-JKS-001", code="PM-SAW-M", hours=500,
                        schedule_type="METER_BASED", last_reading=12480, action="BLOCK",
                        threshold=3)  # fmt: skip
    now = datetime.now(UTC)
    with transaction(sessions) as s:  # the meter reached its due reading five days ago
        s.get(PmSchedule, sid).meter_due_at = now - 5 * DAY
    with sessions() as s:
        asset = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-001")).one()
        kinds = {b.type for b in dispatch.dispatch_check(s, asset, now.date())}
    assert "PM_OVERDUE" in kinds
