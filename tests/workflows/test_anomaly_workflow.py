"""AnomalyWorkflow on the time-skipping server: the lifecycle, its loops, its timers."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Replayer, Worker

from domain.models import Anomaly, AuditLog, KpiValue, Rex
from tests.anomaly_helpers import (
    accept_and_document,
    actor,
    approve,
    notifications,
    reject,
    resolution,
    rex,
    start,
    state,
    until_status,
)
from tests.conftest import ending_started_workflows, own_time_env
from workers import registry
from workers.worker import build_alert_worker
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import (
    AcceptRequest,
    AcknowledgeRequest,
    DeclineRequest,
    OverrideCriticalityRequest,
    ReassignRequest,
)

HISTORIES = Path(__file__).parent.parent / "histories"

# Each test on a time-skipping server of its own: its sleeps through timers never wait on
# what an earlier test left running on a shared one.
time_env = own_time_env


class _Env:
    """The time-skipping environment, seen through a client that cleans up after the test."""

    def __init__(self, env, client) -> None:
        self.env, self.client = env, client

    def __getattr__(self, name):
        return getattr(self.env, name)


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
        build_alert_worker(time_env.client, sessions, task_queue, executor, notify_settings),
    ):
        yield _Env(time_env, client)


async def _assigned(handle, sessions):
    s = await until_status(handle, "ASSIGNED", "ESCALATED")
    assert s.status == "ASSIGNED", s
    return actor(sessions, s.assignee.username)


async def test_happy_path_from_registration_to_closed_rex(tenv, sessions, task_queue, smtp):
    handle = await start(tenv.client, sessions, task_queue)
    tech = await _assigned(handle, sessions)
    s = await state(handle)
    assert s.criticality in ("G2", "G3") and s.reasons and s.flag
    now = await tenv.get_current_time()

    await accept_and_document(handle, sessions, now, tech)
    s = await handle.execute_update(AnomalyWorkflow.resolve, resolution(tech))
    assert s.status == "RESOLVED"
    supervisor = actor(sessions, "supervisor")
    s = await handle.execute_update(AnomalyWorkflow.review, approve(supervisor))
    assert s.status == "REX"
    s = await handle.execute_update(AnomalyWorkflow.submit_rex, rex(tech))
    assert s.status == "REX_REVIEW"
    senior = actor(sessions, "seniortech")
    s = await handle.execute_update(AnomalyWorkflow.review_rex, approve(senior, "clear and useful"))
    assert s.status == "CLOSED"
    final = await handle.result()
    assert final.status == "CLOSED" and final.review_rejections == 0

    with sessions() as db:
        anomaly = db.scalars(select(Anomaly).where(Anomaly.reference == handle.id)).one()
        assert anomaly.status == "CLOSED" and anomaly.closed_at and anomaly.accepted_at
        assert anomaly.assignee_id == tech.user_id
        assert anomaly.assignment_explanation[0].startswith(tech.full_name)
        actions = [
            a.action
            for a in db.scalars(
                select(AuditLog).where(AuditLog.entity_id == handle.id).order_by(AuditLog.id)
            )
        ]
        assert actions[:4] == ["REGISTERED", "CRITICALITY_ASSESSED", "ALERTED", "ASSIGNED"]
        assert actions[-4:] == ["RESOLVED", "REVIEW_APPROVED", "REX_SUBMITTED", "CLOSED"]
        kb = db.scalars(select(Rex).where(Rex.anomaly_id == anomaly.id)).one()
        assert kb.status == "APPROVED" and kb.reviewer_name == senior.full_name
        kpis = {k.name: k.value for k in db.scalars(select(KpiValue)).all() if k.site_id}
        assert kpis["rex_completion_rate"] == 100.0
        assert kpis["supervisor_first_review_approval"] == 100.0
        assert kpis["escalation_rate"] == 0.0
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "anomaly_happy_path.json").write_text(history.to_json())


async def test_refusals_name_what_is_missing(tenv, sessions, task_queue):
    handle = await start(tenv.client, sessions, task_queue)
    tech = await _assigned(handle, sessions)
    other = actor(sessions, "operator")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(
            AnomalyWorkflow.accept,
            AcceptRequest(other, await tenv.get_current_time(), True),
        )
    # The permission table first: an operator works no anomaly, whoever it is assigned to.
    assert err.value.cause.type == "NotAllowed" and "may not work anomaly" in (
        err.value.cause.message
    )
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(
            AnomalyWorkflow.accept,
            AcceptRequest(actor(sessions, "cnc1"), await tenv.get_current_time(), True),
        )
    assert err.value.cause.type == "NotAllowed" and "only the assignee" in err.value.cause.message
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(
            AnomalyWorkflow.accept, AcceptRequest(tech, await tenv.get_current_time(), False)
        )
    assert "safety requirements" in err.value.cause.message
    await handle.execute_update(
        AnomalyWorkflow.accept,
        AcceptRequest(tech, await tenv.get_current_time() + timedelta(minutes=10), True),
    )
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(AnomalyWorkflow.resolve, resolution(tech))
    message = err.value.cause.message
    assert err.value.cause.type == "RuleViolation"
    for missing in ("before photo", "after photo", "at least one progress note"):
        assert missing in message
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(AnomalyWorkflow.review, approve(actor(sessions, "supervisor")))
    assert err.value.cause.type == "Conflict"
    assert (await state(handle)).status == "IN_PROGRESS"


async def test_supervisor_reject_loops_back_to_field_work(tenv, sessions, task_queue):
    handle = await start(tenv.client, sessions, task_queue)
    tech = await _assigned(handle, sessions)
    await accept_and_document(handle, sessions, await tenv.get_current_time(), tech)
    await handle.execute_update(AnomalyWorkflow.resolve, resolution(tech))
    supervisor = actor(sessions, "supervisor")
    s = await handle.execute_update(
        AnomalyWorkflow.review, reject(supervisor, "guard not refitted after the repair")
    )
    assert s.status == "IN_PROGRESS" and s.feedback == "guard not refitted after the repair"
    assert s.review_rejections == 1
    delayed = [n for n in notifications(sessions, handle.id) if n.event == "DELAYED"]
    assert delayed and all("guard not refitted" in n.body for n in delayed)
    s = await handle.execute_update(AnomalyWorkflow.resolve, resolution(tech))
    assert s.status == "RESOLVED" and s.review_rounds == 2
    s = await handle.execute_update(AnomalyWorkflow.review, approve(supervisor))
    assert s.status == "REX"


async def test_rex_revision_loops_back(tenv, sessions, task_queue):
    handle = await start(tenv.client, sessions, task_queue)
    tech = await _assigned(handle, sessions)
    await accept_and_document(handle, sessions, await tenv.get_current_time(), tech)
    await handle.execute_update(AnomalyWorkflow.resolve, resolution(tech))
    await handle.execute_update(AnomalyWorkflow.review, approve(actor(sessions, "supervisor")))
    await handle.execute_update(AnomalyWorkflow.submit_rex, rex(tech))
    senior = actor(sessions, "seniortech")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(AnomalyWorkflow.review_rex, approve(tech))
    assert err.value.cause.type == "NotAllowed"
    s = await handle.execute_update(
        AnomalyWorkflow.review_rex, reject(senior, "say which torque value was used")
    )
    assert s.status == "REX" and "torque" in s.feedback
    with sessions() as db:
        assert db.scalars(select(Rex)).one().status == "NEEDS_REVISION"
    s = await handle.execute_update(AnomalyWorkflow.submit_rex, rex(tech))
    assert s.rex_version == 2
    s = await handle.execute_update(AnomalyWorkflow.review_rex, approve(senior))
    assert s.status == "CLOSED"
    with sessions() as db:
        kb = db.scalars(select(Rex)).one()
        assert kb.version == 2 and kb.status == "APPROVED"
    history = await handle.fetch_history()
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "anomaly_rex_revision.json").write_text(history.to_json())


async def test_silence_escalates_to_supervisor_then_manager(tenv, sessions, task_queue, smtp):
    handle = await start(tenv.client, sessions, task_queue)
    tech = await _assigned(handle, sessions)
    s = await state(handle)
    wait = s.deadline - await tenv.get_current_time() + timedelta(minutes=1)
    await tenv.sleep(wait)
    s = await until_status(handle, "ESCALATED")
    assert s.escalation_level == "SUPERVISOR" and s.assignee.username == "supervisor"
    await tenv.sleep(wait)
    for _ in range(100):
        s = await state(handle)
        if s.escalation_level == "MANAGER":
            break
    assert s.escalation_level == "MANAGER" and s.assignee.username == "manager"
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(
            AnomalyWorkflow.reassign,
            ReassignRequest(actor(sessions, "supervisor"), "I can take it after all"),
        )
    assert err.value.cause.type == "NotAllowed"
    manager = actor(sessions, "manager")
    s = await handle.execute_update(
        AnomalyWorkflow.reassign,
        ReassignRequest(
            manager,
            "back to the technician, now on site",
            s.assignee.__class__(tech.user_id, tech.username, tech.full_name),
        ),
    )
    assert s.status == "ASSIGNED" and s.assignee.username == tech.username and s.escalated
    escalations = [n for n in notifications(sessions, handle.id) if n.event == "ESCALATED"]
    assert {n.recipient_name for n in escalations} >= {"Dolores Vega", "Marcus Whitfield"}
    assert any(m["Subject"].startswith(f"[{handle.id}] Escalated") for m in smtp.messages)
    history = await handle.fetch_history()
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "anomaly_escalation.json").write_text(history.to_json())


async def test_decline_escalates_and_supervisor_takes_it(tenv, sessions, task_queue):
    handle = await start(tenv.client, sessions, task_queue)
    tech = await _assigned(handle, sessions)
    s = await handle.execute_update(
        AnomalyWorkflow.decline, DeclineRequest(tech, "on a confined-space job until 16:00")
    )
    assert s.status == "ESCALATED" and s.escalation_level == "SUPERVISOR"
    supervisor = actor(sessions, "supervisor")
    s = await handle.execute_update(
        AnomalyWorkflow.reassign, ReassignRequest(supervisor, "I will handle it myself")
    )
    assert s.status == "IN_PROGRESS" and s.assignee.username == "supervisor"


async def test_voice_call_after_five_unacknowledged_minutes(
    tenv, sessions, task_queue, twilio_recorder
):
    handle = await start(tenv.client, sessions, task_queue, safety_impact="IMMEDIATE")
    s = await until_status(handle, "ASSIGNED", "ESCALATED")
    assert s.criticality == "G1" and s.flashing
    texts = twilio_recorder.of_kind("message")
    assert {t["To"] for t in texts} == {"+16015550104", "whatsapp:+16015550104"}
    assert not twilio_recorder.of_kind("call")
    await tenv.sleep(timedelta(minutes=6))
    for _ in range(100):
        if (await state(handle)).voice_called:
            break
    calls = twilio_recorder.of_kind("call")
    assert len(calls) == 1 and calls[0]["To"] == "+16015550104"
    assert "Unacknowledged G1" in calls[0]["Twiml"]


async def test_no_voice_call_when_acknowledged(tenv, sessions, task_queue, twilio_recorder):
    handle = await start(tenv.client, sessions, task_queue, safety_impact="IMMEDIATE")
    await until_status(handle, "ASSIGNED", "ESCALATED")
    s = await handle.execute_update(
        AnomalyWorkflow.acknowledge_alert, AcknowledgeRequest(actor(sessions, "supervisor"))
    )
    assert s.alert_acknowledged and not s.flashing
    await tenv.sleep(timedelta(minutes=6))
    s = await state(handle)
    assert not s.voice_called and not twilio_recorder.of_kind("call")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(
            AnomalyWorkflow.acknowledge_alert, AcknowledgeRequest(actor(sessions, "supervisor"))
        )
    assert err.value.cause.type == "Conflict"


async def test_raise_restarts_the_clock_and_a_lowering_keeps_it(
    tenv, sessions, task_queue, twilio_recorder
):
    handle = await start(tenv.client, sessions, task_queue)
    await _assigned(handle, sessions)
    s = await state(handle)
    assert s.criticality == "G3" and not s.flashing
    await tenv.sleep(timedelta(hours=1))
    supervisor = actor(sessions, "supervisor")
    before = await tenv.get_current_time()
    s = await handle.execute_update(
        AnomalyWorkflow.override_criticality,
        OverrideCriticalityRequest(supervisor, "G1", "smell of burning insulation at the motor"),
    )
    after = await tenv.get_current_time()
    g1 = timedelta(minutes=15)
    assert s.criticality == "G1" and s.flashing
    assert before + g1 <= s.deadline <= after + g1
    raised = s.deadline
    with sessions() as db:
        row = db.scalars(select(Anomaly).where(Anomaly.reference == handle.id)).one()
        assert row.response_deadline == raised
    texts = twilio_recorder.of_kind("message")
    assert {t["To"] for t in texts} == {"+16015550104", "whatsapp:+16015550104"}
    assert not twilio_recorder.of_kind("call")

    await tenv.sleep(timedelta(minutes=6))
    for _ in range(100):
        if (await state(handle)).voice_called:
            break
    calls = twilio_recorder.of_kind("call")
    assert len(calls) == 1 and "Unacknowledged G1" in calls[0]["Twiml"]

    s = await handle.execute_update(
        AnomalyWorkflow.override_criticality,
        OverrideCriticalityRequest(supervisor, "G2", "insulation checked, only the fan belt"),
    )
    assert s.criticality == "G2" and s.deadline == raised
    await tenv.sleep(raised - await tenv.get_current_time() + timedelta(minutes=1))
    s = await until_status(handle, "ESCALATED")
    assert s.escalation_level == "SUPERVISOR"
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)


def test_replay_command_prints_each_decision_with_who(capsys):
    from workers.cli import main

    main(["replay", "ANO-2026-000001", "--file", str(HISTORIES / "anomaly_happy_path.json")])
    out = capsys.readouterr().out
    assert "CRITICALITY_ASSESSED" in out and "ASSIGNED" in out
    assert "asks accept" in out and "(MAINT_TECH)" in out
    assert "REVIEW_APPROVED          Dolores Vega (MAINT_SUPERVISOR)" in out
    assert "CLOSED                   Astrid Halvorsen (SENIOR_TECHNICIAN)" in out
    assert "replayed against the current code: every decision is the same" in out
