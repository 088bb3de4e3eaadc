"""The safety watches on the time-skipping server: the H1 voice call and the escalation on
silence run as AlertWatchWorkflow children on the alert task queue, from deadlines counted
from registration, and what they do lands once in the anomaly's state, audit and timeline."""

import os
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer, Worker

from domain.models import AuditLog
from tests.anomaly_helpers import actor, notifications, start, state, until_status
from tests.conftest import ending_started_workflows, own_time_env
from workers import registry
from workers.worker import build_alert_worker
from workflows.alert_watch import alert_queue
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import AcceptRequest, AcknowledgeRequest

HISTORIES = Path(__file__).parent.parent / "histories"
# Its tests sleep through hours of timers: a clock of its own.
time_env = own_time_env
SUPERVISOR_PHONE = "+16015550104"


@pytest.fixture
async def client(time_env, sessions, task_queue, executor, notify_settings):
    async with (
        ending_started_workflows(time_env.client) as client,
        Worker(
            time_env.client,
            task_queue=task_queue,
            workflows=registry.WORKFLOWS,
            activities=registry.activities(sessions, notify_settings),
            activity_executor=executor,
        ),
        build_alert_worker(time_env.client, sessions, task_queue, executor, notify_settings),
    ):
        yield client


async def _until(handle, check, env) -> None:
    for _ in range(200):
        if check(await state(handle)):
            return
        await env.sleep(timedelta(seconds=1))
    raise AssertionError(f"{handle.id}: {await state(handle)}")


async def _watches(handle) -> list[tuple[str, str]]:
    """(child workflow id, task queue) of every watch the anomaly started."""
    found = []
    async for e in handle.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            attrs = e.start_child_workflow_execution_initiated_event_attributes
            found.append((attrs.workflow_id, attrs.task_queue.name))
    return found


def _escalation_texts(twilio_recorder) -> list[dict]:
    return [
        m for m in twilio_recorder.of_kind("message") if m["Body"].startswith("Escalated to you")
    ]


async def test_acknowledged_before_the_delay_no_call(
    client, time_env, sessions, task_queue, twilio_recorder
):
    handle = await start(client, sessions, task_queue, safety_impact="IMMEDIATE")
    await until_status(handle, "ASSIGNED", "ESCALATED")
    await handle.execute_update(
        AnomalyWorkflow.acknowledge_alert, AcknowledgeRequest(actor(sessions, "supervisor"))
    )
    await time_env.sleep(timedelta(minutes=10))
    s = await state(handle)
    assert not s.voice_called and not twilio_recorder.of_kind("call")
    assert "VOICE_CALL" not in [e.action for e in s.events]
    voice = [w for w in await _watches(handle) if "-voice-" in w[0]]
    assert voice and all(q == alert_queue(task_queue) for _, q in voice)


async def test_not_acknowledged_exactly_one_call_at_the_delay_from_registration(
    client, time_env, sessions, task_queue, twilio_recorder
):
    handle = await start(client, sessions, task_queue, safety_impact="IMMEDIATE")
    await until_status(handle, "ASSIGNED", "ESCALATED")
    history = await handle.fetch_history()
    started = history.events[0].event_time.ToDatetime().replace(tzinfo=UTC)
    await time_env.sleep(started + timedelta(minutes=4) - await time_env.get_current_time())
    assert not twilio_recorder.of_kind("call")
    await time_env.sleep(timedelta(minutes=2))
    await _until(handle, lambda s: s.voice_called, time_env)
    await time_env.sleep(timedelta(minutes=30))  # nothing calls again
    calls = twilio_recorder.of_kind("call")
    assert len(calls) == 1 and calls[0]["To"] == SUPERVISOR_PHONE
    assert f"Reference {handle.id}" in calls[0]["Twiml"]
    s = await state(handle)
    assert [e.action for e in s.events].count("VOICE_CALL") == 1
    voice_rows = [n for n in notifications(sessions, handle.id) if n.event == "VOICE_CALL"]
    assert len(voice_rows) == 1 and voice_rows[0].status == "SENT"


async def test_accepted_before_the_deadline_no_escalation(
    client, time_env, sessions, task_queue, twilio_recorder
):
    handle = await start(client, sessions, task_queue, safety_impact="IMMEDIATE")
    s = await until_status(handle, "ASSIGNED")
    tech = actor(sessions, s.assignee.username)
    now = await time_env.get_current_time()
    await handle.execute_update(
        AnomalyWorkflow.accept, AcceptRequest(tech, now + timedelta(minutes=20), True)
    )
    await time_env.sleep(timedelta(minutes=40))
    s = await state(handle)
    assert s.status == "IN_PROGRESS" and not s.escalated
    assert s.escalation_level == "TECHNICIAN" and s.assignee.username == tech.username
    assert not _escalation_texts(twilio_recorder)
    assert not [n for n in notifications(sessions, handle.id) if n.event == "ESCALATED"]
    assert "ESCALATED" not in [e.action for e in s.events]


async def test_escalation_lands_in_state_audit_and_timeline_once(
    client, time_env, sessions, task_queue, twilio_recorder
):
    handle = await start(client, sessions, task_queue, safety_impact="IMMEDIATE")
    s = await until_status(handle, "ASSIGNED")
    tech = s.assignee.full_name
    history = await handle.fetch_history()
    started = history.events[0].event_time.ToDatetime().replace(tzinfo=UTC)
    # The G1 response time, counted from registration (the workflow's start).
    assert s.deadline == started + timedelta(minutes=15)
    await time_env.sleep(s.deadline + timedelta(minutes=1) - await time_env.get_current_time())
    await _until(handle, lambda s: s.status == "ESCALATED", time_env)
    s = await state(handle)
    assert s.escalation_level == "SUPERVISOR" and s.assignee.username == "supervisor"
    assert s.escalated
    # The next level's clock runs from when the watch escalated, on time.
    assert started + timedelta(minutes=30) <= s.deadline < started + timedelta(minutes=31)

    texts = _escalation_texts(twilio_recorder)
    assert len(texts) == 1 and texts[0]["To"] == SUPERVISOR_PHONE and handle.id in texts[0]["Body"]
    rows = [n for n in notifications(sessions, handle.id) if n.event == "ESCALATED"]
    supervisor = actor(sessions, "supervisor").user_id
    told = sorted(n.channel for n in rows if n.recipient_id == supervisor)
    assert told == ["EMAIL", "IN_APP", "SMS"]  # once each, by the watch
    assert any(n.recipient_id != supervisor and n.channel == "IN_APP" for n in rows)  # reporter
    with sessions() as db:
        audit = db.scalars(
            select(AuditLog).where(AuditLog.entity_id == handle.id, AuditLog.action == "ESCALATED")
        ).all()
    assert len(audit) == 1
    assert audit[0].new_state["assignee_id"] == supervisor
    assert audit[0].new_state["escalation_level"] == "SUPERVISOR"
    assert audit[0].reason == f"no acceptance from {tech} within the response time"
    assert [e.action for e in s.events].count("ESCALATED") == 1

    watches = await _watches(handle)
    assert any("-escalation-" in w for w, _ in watches)
    assert {q for _, q in watches} == {alert_queue(task_queue)}
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "anomaly_alert_watch.json").write_text(history.to_json())
