"""The lifecycle kit: the one record-a-step activity, the notices sent with a step, typed
refusals from a workflow to the API's answer, the timeline's one Event, and local steps
recorded only in new runs (older histories replay their activities)."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from temporalio.client import WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.anomalies import ANOMALY_STEPS, ANOMALY_SUBJECT
from activities.notifier import Notifier, NotifyInput, Send
from activities.steps import StepActivities, StepInput, StepTarget, record
from activities.work_orders import WORK_ORDER_STEPS
from api import gateway
from api.errors import ApiError
from domain.errors import NotFound
from domain.models import Anomaly, AuditLog, Notification
from tests.anomaly_helpers import actor, register, start, until_status
from tests.conftest import ending_started_workflows
from workers import registry
from workers.replay import decisions
from workflows import kit
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import AcceptRequest, Event
from workflows.work_order_types import WorkOrderEvent

HISTORIES = Path(__file__).parent.parent / "histories"


def _step(ref: str, org: int, who, step: int = 1, notices=()) -> StepInput:
    return StepInput(
        "ANOMALY",
        ref,
        org,
        step,
        "ALERT_ACKNOWLEDGED",
        {"alert_acknowledged_at": "2026-11-30T08:00:00+00:00"},
        who,
        "seen",
        {},
        list(notices),
    )


def _counts(sessions, ref: str) -> tuple[int, int]:
    with sessions() as s:
        audits = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.entity_id == ref)
        )
        sent = s.scalar(
            select(func.count()).select_from(Notification).where(Notification.reference == ref)
        )
        return audits, sent


async def test_record_step_is_idempotent_on_retry(sessions, notify_settings):
    ref = register(sessions)
    who = actor(sessions, "supervisor")
    notifier = Notifier(sessions, notify_settings, subjects=[ANOMALY_SUBJECT])
    acts = StepActivities(sessions, [ANOMALY_STEPS, WORK_ORDER_STEPS], notifier)
    notice = NotifyInput(
        ref, who.organization_id, 2, "IN_PROGRESS", [Send("IN_APP", "REPORTER")], {}
    )
    before = _counts(sessions, ref)
    env = ActivityEnvironment()

    first = env.run(acts.record_step, _step(ref, who.organization_id, who, 1, [notice]))
    after_first = _counts(sessions, ref)
    again = env.run(acts.record_step, _step(ref, who.organization_id, who, 1, [notice]))

    assert first.written and not again.written and first.notice_error is None
    assert after_first == (before[0] + 1, before[1] + 1)  # one audit row, one in-app notice
    assert _counts(sessions, ref) == after_first  # the retry wrote nothing more
    with sessions() as s:
        row = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        assert row.last_step == 1 and row.alert_acknowledged_at is not None


async def test_a_step_and_its_notices_commit_once(sessions, notify_settings):
    """One transaction: the step's row, its audit row and its outbox rows commit together,
    and the keys waiting for a provider come back without another read, retry included."""
    ref = register(sessions)
    who = actor(sessions, "supervisor")
    notifier = Notifier(sessions, notify_settings, subjects=[ANOMALY_SUBJECT])
    acts = StepActivities(sessions, [ANOMALY_STEPS, WORK_ORDER_STEPS], notifier)
    notice = NotifyInput(
        ref,
        who.organization_id,
        2,
        "IN_PROGRESS",
        [Send("IN_APP", "REPORTER"), Send("EMAIL", "ON_DUTY_SUPERVISOR")],
        {},
    )
    commits: list[object] = []

    def committed(conn) -> None:
        commits.append(conn)

    engine = sessions.kw["bind"]
    event.listen(engine, "commit", committed)
    try:
        out = ActivityEnvironment().run(
            acts.record_step, _step(ref, who.organization_id, who, 1, [notice])
        )
    finally:
        event.remove(engine, "commit", committed)
    again = ActivityEnvironment().run(
        acts.record_step, _step(ref, who.organization_id, who, 1, [notice])
    )

    assert len(commits) == 1
    assert out.notice_error is None and len(out.deliver) == 1  # the email; in-app is its row
    assert out.deliver[0].endswith("/EMAIL/" + out.deliver[0].rsplit("/", 1)[1])
    assert again.deliver == out.deliver  # still pending: handed out again on a retry


async def test_notices_that_cannot_be_queued_leave_the_step_written(sessions, notify_settings):
    ref = register(sessions)
    who = actor(sessions, "supervisor")

    def broken(*_args):
        raise RuntimeError("no audience today")

    subject = replace(ANOMALY_SUBJECT, audience=broken)
    notifier = Notifier(sessions, notify_settings, subjects=[subject])
    acts = StepActivities(sessions, [ANOMALY_STEPS], notifier)
    notice = NotifyInput(ref, who.organization_id, 2, "IN_PROGRESS", [Send("IN_APP", "REPORTER")])
    before = _counts(sessions, ref)

    out = ActivityEnvironment().run(
        acts.record_step, _step(ref, who.organization_id, who, 1, [notice])
    )

    assert out.written and out.deliver == [] and "no audience today" in (out.notice_error or "")
    assert _counts(sessions, ref) == (before[0] + 1, before[1])  # the audit row, no notice


async def test_a_step_refused_by_the_domain_keeps_its_type_and_field(sessions):
    def missing(session, organization_id, key):
        raise NotFound(f"nothing called {key}", field="reference")

    target = StepTarget("ANOMALY", missing, frozenset({"status"}))
    who = actor(sessions, "supervisor")
    with pytest.raises(ApplicationError) as err:
        record(sessions, target, _step("ANO-0000-000000", who.organization_id, who))
    assert err.value.type == "NotFound" and err.value.non_retryable
    assert list(err.value.details) == ["reference"]


async def test_an_unwritable_field_is_not_written(sessions):
    ref = register(sessions)
    who = actor(sessions, "supervisor")
    data = _step(ref, who.organization_id, who)
    data.changes = {"reporter_id": 1}
    with pytest.raises(ValueError, match="not writable"):
        record(sessions, ANOMALY_STEPS, data)


@pytest.fixture
async def tenv(time_env, sessions, task_queue, executor, notify_settings):
    async with (
        ending_started_workflows(time_env.client) as client,
        Worker(
            time_env.client,
            task_queue=task_queue,
            workflows=registry.WORKFLOWS,
            activities=registry.activities(sessions, notify_settings),
            activity_executor=executor,
        ),
    ):
        yield client


async def test_a_workflow_refusal_reaches_the_api_by_its_type(tenv, sessions, task_queue):
    handle = await start(tenv, sessions, task_queue)
    s = await until_status(handle, "ASSIGNED", "ESCALATED")
    someone_else = actor(sessions, "supervisor")
    assert s.assignee is None or s.assignee.username != "supervisor"
    late = AcceptRequest(someone_else, s.deadline, safety_acknowledged=False)
    with pytest.raises(ApiError) as err:
        await gateway.update(tenv, gateway.ANOMALY, handle.id, AnomalyWorkflow.accept, late)
    assert (err.value.status, err.value.kind) == (403, "NotAllowed")
    assert err.value.message.startswith("only the assignee")


async def test_a_refusal_naming_a_field_keeps_it_through_the_gateway(tenv, sessions, task_queue):
    handle = await start(tenv, sessions, task_queue)
    s = await until_status(handle, "ASSIGNED")
    tech = actor(sessions, s.assignee.username)
    req = AcceptRequest(tech, s.deadline, safety_acknowledged=False)
    with pytest.raises(ApiError) as err:
        await gateway.update(tenv, gateway.ANOMALY, handle.id, AnomalyWorkflow.accept, req)
    assert (err.value.status, err.value.kind, err.value.field) == (
        422,
        "RuleViolation",
        "safety_acknowledged",
    )


async def test_new_runs_write_steps_locally_with_their_notices(tenv, sessions, task_queue):
    handle = await start(tenv, sessions, task_queue)
    s = await until_status(handle, "ASSIGNED")
    tech = actor(sessions, s.assignee.username)
    s = await handle.execute_update(
        AnomalyWorkflow.accept, AcceptRequest(tech, s.deadline, safety_acknowledged=True)
    )
    assert s.status == "IN_PROGRESS"
    with sessions() as db:  # committed before the update answered
        assert db.scalars(select(Anomaly.status).where(Anomaly.reference == handle.id)).one() == (
            "IN_PROGRESS"
        )
        events = db.scalars(
            select(Notification.event).where(Notification.reference == handle.id)
        ).all()
        assert "IN_PROGRESS" in events
    history = await handle.fetch_history()
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    assert markers, "steps are local activities in new runs"
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    assert "record_decision" not in scheduled and "record_step" not in scheduled
    lines = [d.line() for d in decisions(history)]
    assert any("ACCEPTED" in line and tech.full_name in line for line in lines), lines
    assert any("notify IN_PROGRESS" in line for line in lines), lines


def test_histories_recorded_before_the_kit_replay_their_activities():
    path = HISTORIES / "anomaly_happy_path.json"
    history = WorkflowHistory.from_json("recorded", json.loads(path.read_text()))
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    assert "record_decision" in scheduled  # replayed by the replay tests, unpatched
    assert list(HISTORIES.glob("*_local_steps.json")), "a history recorded with local steps"


def test_one_event_type_for_every_timeline():
    assert Event is kit.Event and WorkOrderEvent is kit.Event


def test_refuse_is_typed_non_retryable_with_the_field():
    with pytest.raises(ApplicationError) as err:
        kit.refuse(kit.CONFLICT, "already done", "status")
    assert err.value.type == "Conflict" and err.value.non_retryable
    assert list(err.value.details) == ["status"]
