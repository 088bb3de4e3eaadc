"""The first safety watches start at registration, beside the anomaly's workflow, on the alert
task queue: the voice call and the escalation fire at their moment even while the lifecycle
queue is behind (here: no lifecycle worker at all), and what they did lands once in the
anomaly's state, audit and timeline when its workflow catches up."""

import asyncio
import json
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer, Worker

from domain.models import Anomaly, AuditLog
from tests.anomaly_helpers import (
    actor,
    notifications,
    register,
    start_registered,
    state,
    until_status,
)
from tests.conftest import ending_started_workflows, own_time_env
from workers import registry
from workers.worker import build_alert_worker
from workflows.alert_watch import RegistrationWatchWorkflow, registration_watch_id
from workflows.alert_watch_types import WATCHES_DONE, AlertEvent
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_start import first_watches
from workflows.anomaly_types import AcceptRequest, AcknowledgeRequest, ReassignRequest

HISTORIES = Path(__file__).parent.parent / "histories"
# Its tests sleep through hours of timers: a clock of its own.
time_env = own_time_env
SUPERVISOR_PHONE = "+16015550104"


@pytest.fixture
async def client(time_env):
    async with ending_started_workflows(time_env.client) as client:
        yield client


@pytest.fixture
async def alerts(time_env, sessions, task_queue, executor, notify_settings):
    return build_alert_worker(time_env.client, sessions, task_queue, executor, notify_settings)


def _lifecycle_worker(client, sessions, task_queue, settings, executor) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=registry.WORKFLOWS,
        activities=registry.activities(sessions, settings),
        activity_executor=executor,
    )


def _due_together(settings):
    """The voice-call delay equal to the G1 response time: both watches due at one moment."""
    return settings.model_copy(update={"voice_call_after_seconds": 120, "response_g1_minutes": 2})


@pytest.fixture
async def lifecycles(time_env, sessions, task_queue, executor, notify_settings):
    return _lifecycle_worker(time_env.client, sessions, task_queue, notify_settings, executor)


@pytest.fixture
def register_g1(client, time_env, sessions, task_queue, notify_settings):
    """Registers an IMMEDIATE-impact anomaly at the test clock's now and starts it."""

    async def register():
        now = await time_env.get_current_time()
        return await start_registered(
            client, sessions, task_queue, notify_settings, now=now, safety_impact="IMMEDIATE"
        )

    return register


async def _until(handle, check, env) -> None:
    for _ in range(200):
        if check(await state(handle)):
            return
        await env.sleep(timedelta(seconds=1))
    raise AssertionError(f"{handle.id}: {await state(handle)}")


async def _children(handle) -> list[str]:
    return [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]


async def _escalation_children(handle) -> list[str]:
    """The lifecycle's own escalation watches; the child's start may land a moment after the
    state the test waited for."""
    for _ in range(50):
        found = [c for c in await _children(handle) if "-escalation-" in c]
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def _started_as_if_watched(client, sessions, task_queue):
    """A G1 anomaly's lifecycle started as if its registration's watches ran, with none
    running: what they report is up to the test."""
    from workflows.anomaly_types import AnomalyInput

    ref = register(sessions, safety_impact="IMMEDIATE")
    org = actor(sessions, "operator").organization_id
    handle = await client.start_workflow(
        AnomalyWorkflow.run,
        AnomalyInput(ref, org, indexed=False, watches=True),
        id=ref,
        task_queue=task_queue,
    )
    return ref, handle


def _escalation_texts(twilio_recorder) -> list[dict]:
    return [
        m for m in twilio_recorder.of_kind("message") if m["Body"].startswith("Escalated to you")
    ]


async def _registered_at(sessions, reference: str):
    from domain.models import Anomaly

    with sessions() as db:
        return db.scalars(select(Anomaly.registered_at).where(Anomaly.reference == reference)).one()


async def test_the_call_fires_while_the_lifecycle_queue_is_stalled(
    dev_env, sessions, task_queue, executor, notify_settings, twilio_recorder
):
    """A burst can hold a lifecycle's first steps back for minutes: the watch started at
    registration does not wait for them. Real time on the dev server (the time-skipping
    server does not move its clock while a workflow task waits for a worker)."""
    settings = notify_settings.model_copy(update={"voice_call_after_seconds": 2})
    async with ending_started_workflows(dev_env.client) as client:
        async with build_alert_worker(dev_env.client, sessions, task_queue, executor, settings):
            handle = await start_registered(
                client, sessions, task_queue, settings, safety_impact="IMMEDIATE"
            )
            # No lifecycle worker yet: the anomaly's workflow has not taken a step.
            for _ in range(100):
                if twilio_recorder.of_kind("call"):
                    break
                await asyncio.sleep(0.1)
            calls = twilio_recorder.of_kind("call")
            assert len(calls) == 1 and calls[0]["To"] == SUPERVISOR_PHONE
            assert f"Reference {handle.id}" in calls[0]["Twiml"]
            history = await handle.fetch_history()
            assert not [
                e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
            ]
            lifecycles = _lifecycle_worker(dev_env.client, sessions, task_queue, settings, executor)
            async with lifecycles:
                s = await until_status(handle, "ASSIGNED", "ESCALATED")
                for _ in range(100):
                    s = await state(handle)
                    if s.voice_called:
                        break
                    await asyncio.sleep(0.1)
        # The call the watch made lands in the timeline once and is not made again.
        assert s.voice_called and [e.action for e in s.events].count("VOICE_CALL") == 1
        assert len(twilio_recorder.of_kind("call")) == 1
        voice_rows = [n for n in notifications(sessions, handle.id) if n.event == "VOICE_CALL"]
        assert len(voice_rows) == 1 and voice_rows[0].status == "SENT"
        # The first watches are not children of the lifecycle.
        assert not await _children(handle)


async def test_acknowledged_in_time_no_call(
    register_g1, time_env, sessions, twilio_recorder, alerts, lifecycles
):
    async with alerts, lifecycles:
        handle = await register_g1()
        await until_status(handle, "ASSIGNED", "ESCALATED")
        await handle.execute_update(
            AnomalyWorkflow.acknowledge_alert, AcknowledgeRequest(actor(sessions, "supervisor"))
        )
        await time_env.sleep(timedelta(minutes=10))
        s = await state(handle)
        assert not s.voice_called and not twilio_recorder.of_kind("call")
        assert "VOICE_CALL" not in [e.action for e in s.events]


async def test_accepted_in_time_no_escalation(
    register_g1, time_env, sessions, twilio_recorder, alerts, lifecycles
):
    async with alerts, lifecycles:
        handle = await register_g1()
        s = await until_status(handle, "ASSIGNED")
        tech = actor(sessions, s.assignee.username)
        now = await time_env.get_current_time()
        await handle.execute_update(
            AnomalyWorkflow.accept, AcceptRequest(tech, now + timedelta(minutes=20), True)
        )
        await time_env.sleep(timedelta(minutes=40))
        s = await state(handle)
        assert s.status == "IN_PROGRESS" and not s.escalated
        assert not _escalation_texts(twilio_recorder)
        assert "ESCALATED" not in [e.action for e in s.events]


async def test_unanswered_escalates_once_at_the_deadline_from_registration(
    register_g1, time_env, sessions, notify_settings, twilio_recorder, alerts, lifecycles, client
):
    async with alerts, lifecycles:
        handle = await register_g1()
        s = await until_status(handle, "ASSIGNED")
        tech = s.assignee.full_name
        registered = await _registered_at(sessions, handle.id)
        assert s.deadline == registered + timedelta(minutes=15)
        await time_env.sleep(s.deadline - timedelta(seconds=5) - await time_env.get_current_time())
        assert not _escalation_texts(twilio_recorder)
        await time_env.sleep(timedelta(minutes=1))
        await _until(handle, lambda s: s.status == "ESCALATED", time_env)
        s = await state(handle)
        assert s.escalation_level == "SUPERVISOR" and s.assignee.username == "supervisor"
        # The next level's clock runs from when the watch escalated, on time.
        assert registered + timedelta(minutes=30) <= s.deadline < registered + timedelta(minutes=31)
        texts = _escalation_texts(twilio_recorder)
        assert len(texts) == 1 and texts[0]["To"] == SUPERVISOR_PHONE
        supervisor = actor(sessions, "supervisor").user_id
        rows = [n for n in notifications(sessions, handle.id) if n.event == "ESCALATED"]
        told = sorted(n.channel for n in rows if n.recipient_id == supervisor)
        assert told == ["EMAIL", "IN_APP", "SMS"]  # once each, by the watch
        with sessions() as db:
            audit = db.scalars(
                select(AuditLog).where(
                    AuditLog.entity_id == handle.id, AuditLog.action == "ESCALATED"
                )
            ).all()
        assert len(audit) == 1 and audit[0].new_state["assignee_id"] == supervisor
        assert audit[0].reason == f"no acceptance from {tech} within the response time"
        assert [e.action for e in s.events].count("ESCALATED") == 1
        # The next level is watched by the registration's own workflow, not by a child of the
        # lifecycle: the manager is told at the supervisor's deadline, once, and the lifecycle
        # writes it.
        supervisor_deadline = s.deadline
        await time_env.sleep(s.deadline - timedelta(seconds=5) - await time_env.get_current_time())
        assert (await state(handle)).escalation_level == "SUPERVISOR"
        await time_env.sleep(timedelta(minutes=1))
        await _until(handle, lambda s: s.escalation_level == "MANAGER", time_env)
        s = await state(handle)
        assert s.assignee.username == "manager"
        assert supervisor_deadline + timedelta(minutes=15) <= s.deadline
        assert s.deadline < supervisor_deadline + timedelta(minutes=16)
        manager = actor(sessions, "manager").user_id
        rows = [n for n in notifications(sessions, handle.id) if n.event == "ESCALATED"]
        assert sorted(n.channel for n in rows if n.recipient_id == manager) == [
            "EMAIL",
            "IN_APP",
            "SMS",
        ]
        assert len(_escalation_texts(twilio_recorder)) == 2
        assert [e.action for e in s.events].count("ESCALATED") == 2
        with sessions() as db:
            audit = db.scalars(
                select(AuditLog)
                .where(AuditLog.entity_id == handle.id, AuditLog.action == "ESCALATED")
                .order_by(AuditLog.id)
            ).all()
        assert [a.new_state["assignee_id"] for a in audit] == [supervisor, manager]
        assert audit[1].reason == "no acceptance from Dolores Vega within the response time"

        history = await handle.fetch_history()
        await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
        watch = client.get_workflow_handle(registration_watch_id(handle.id))
        watch_history = await watch.fetch_history()
        signalled = [
            e
            for e in watch_history.events
            if e.HasField("signal_external_workflow_execution_initiated_event_attributes")
        ]
        assert len(signalled) == 3  # the voice call, the escalation, the next level
        # The chain ends at the manager: the lifecycle repeats from there, with a child.
        assert [(e["kind"], e["fired"]) for e in await watch.result()] == [
            ("VOICE", True),
            ("ESCALATION", True),
            ("ESCALATION", True),
        ]
        assert await _escalation_children(handle)
        await Replayer(workflows=registry.ALERT_WORKFLOWS).replay_workflow(watch_history)
        if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
            (HISTORIES / "anomaly_registration_chain.json").write_text(history.to_json())
            (HISTORIES / "registration_watch_chain.json").write_text(watch_history.to_json())


async def test_a_watch_that_never_reports_leaves_the_escalation_to_the_lifecycle(
    client, time_env, sessions, task_queue, notify_settings, twilio_recorder, alerts, lifecycles
):
    """Started as if the registration's watches ran, but none does: the lifecycle still
    escalates, a grace period after the deadline."""
    from workflows.anomaly import WATCH_REPORT_GRACE

    async with alerts, lifecycles:
        ref, handle = await _started_as_if_watched(client, sessions, task_queue)
        s = await until_status(handle, "ASSIGNED")
        await time_env.sleep(s.deadline + timedelta(seconds=30) - await time_env.get_current_time())
        assert (await state(handle)).status == "ASSIGNED"
        await time_env.sleep(WATCH_REPORT_GRACE)
        await _until(handle, lambda s: s.status == "ESCALATED", time_env)
        # The text leaves through the outbox once the step is committed: on a busy
        # machine a moment later.
        for _ in range(100):
            if _escalation_texts(twilio_recorder):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # and no second one follows
        assert len(_escalation_texts(twilio_recorder)) == 1


@pytest.mark.parametrize("move", ["takes it", "hands it back"])
async def test_the_chain_ends_when_the_new_holder_acts(
    move, register_g1, time_env, sessions, twilio_recorder, alerts, lifecycles, client
):
    """The supervisor the escalation reached takes the anomaly, or hands it to a technician
    (a new deadline), before their own deadline: at that deadline the registration's
    workflow finds nothing due, tells nobody and ends."""
    async with alerts, lifecycles:
        handle = await register_g1()
        s = await until_status(handle, "ASSIGNED")
        technician = s.assignee
        await time_env.sleep(s.deadline + timedelta(seconds=30) - await time_env.get_current_time())
        await _until(handle, lambda s: s.status == "ESCALATED", time_env)
        own_deadline = (await state(handle)).deadline
        to = None if move == "takes it" else technician
        await handle.execute_update(
            AnomalyWorkflow.reassign, ReassignRequest(actor(sessions, "supervisor"), move, to)
        )
        watches = client.get_workflow_handle_for(
            RegistrationWatchWorkflow.run, registration_watch_id(handle.id)
        )
        # Past the supervisor's deadline (the technician's new one is 30 s later).
        now = await time_env.get_current_time()
        await time_env.sleep(own_deadline + timedelta(seconds=10) - now)
        events = await watches.result()
        assert [(e.kind, e.fired) for e in events] == [
            ("VOICE", True),
            ("ESCALATION", True),
            ("ESCALATION", False),
        ]
        s = await state(handle)
        assert s.status == ("IN_PROGRESS" if to is None else "ASSIGNED")
        assert [e.action for e in s.events].count("ESCALATED") == 1
        assert len(_escalation_texts(twilio_recorder)) == 1
        manager = actor(sessions, "manager").user_id
        assert not [n for n in notifications(sessions, handle.id) if n.recipient_id == manager]


async def test_the_lifecycle_follows_the_chain_by_deadline_and_goes_up_itself_when_behind(
    client, time_env, sessions, task_queue, notify_settings, twilio_recorder, alerts, lifecycles
):
    """Reports are matched to the deadline they enforced: one for another deadline is not
    taken for the current one; a next level's watch that found the record behind (not
    fired) makes the lifecycle go up itself at once, not a grace period later."""
    from activities.anomalies import Person
    from workflows.anomaly import WATCH_REPORT_GRACE

    async with alerts, lifecycles:
        ref, handle = await _started_as_if_watched(client, sessions, task_queue)
        s = await until_status(handle, "ASSIGNED")
        first = s.deadline
        response = first - await _registered_at(sessions, ref)
        await time_env.sleep(first + timedelta(seconds=1) - await time_env.get_current_time())
        sup = actor(sessions, "supervisor")
        holder = Person(sup.user_id, "supervisor", "Dolores Vega")
        stale = AlertEvent("ESCALATION", True, first, holder, deadline=first - timedelta(hours=1))
        await handle.signal(WATCHES_DONE, [stale])
        await time_env.sleep(timedelta(seconds=20))
        assert (await state(handle)).status == "ASSIGNED"  # not its deadline's report
        report = AlertEvent(
            "ESCALATION", True, first, holder, deadline=first, next_due=first + response
        )
        await handle.signal(WATCHES_DONE, [report])
        await _until(handle, lambda s: s.status == "ESCALATED", time_env)
        s = await state(handle)
        assert s.assignee.username == "supervisor" and s.deadline == first + response
        # The next level's watch looked before the record showed the supervisor: not fired.
        await time_env.sleep(s.deadline + timedelta(seconds=1) - await time_env.get_current_time())
        behind = AlertEvent("ESCALATION", False, s.deadline, deadline=s.deadline)
        await handle.signal(WATCHES_DONE, [behind])
        await _until(handle, lambda s: s.escalation_level == "MANAGER", time_env)
        now = await time_env.get_current_time()
        assert now < first + response + WATCH_REPORT_GRACE
        s = await state(handle)
        assert s.assignee.username == "manager"
        # From there on the lifecycle watches the next levels itself.
        assert await _escalation_children(handle)
        # The watch told the supervisor (not here); the manager is told by the lifecycle.
        manager = actor(sessions, "manager").user_id
        rows = [n for n in notifications(sessions, handle.id) if n.event == "ESCALATED"]
        assert not [n for n in rows if n.recipient_id == sup.user_id and n.channel == "SMS"]
        assert "SMS" in [n.channel for n in rows if n.recipient_id == manager]


async def test_a_failing_provider_does_not_hold_the_escalation_back(
    register_g1, time_env, client, sessions, task_queue, notify_settings, executor, lifecycles
):
    """The escalation's messages are queued, then the provider fails them (after retries
    that take minutes in production): the report goes out with the decision, not after the
    delivery, so the lifecycle records the escalation the watch made (no grace period,
    nobody told twice), and the failure lands on its timeline once it is known."""
    from temporalio import activity
    from temporalio.exceptions import ApplicationError

    from activities.alert_watches import AlertWatchActivities
    from activities.notifier import Notifier, NotifyOutput
    from workflows.alert_watch import alert_queue

    notifier = Notifier(sessions, notify_settings)

    @activity.defn(name="deliver_queued")
    async def failing(keys: list[str]) -> NotifyOutput:
        if any("/ESCALATED/" in k for k in keys):
            await asyncio.sleep(0.5)
            raise ApplicationError("provider down", non_retryable=True)
        return await notifier.deliver_queued(keys)

    alerts = Worker(
        time_env.client,
        task_queue=alert_queue(task_queue),
        workflows=registry.ALERT_WORKFLOWS,
        activities=[AlertWatchActivities(sessions, notifier).decide_watches, failing],
        activity_executor=executor,
    )
    async with alerts, lifecycles:
        handle = await register_g1()
        s = await until_status(handle, "ASSIGNED")
        await time_env.sleep(s.deadline + timedelta(seconds=1) - await time_env.get_current_time())
        for _ in range(100):
            s = await state(handle)
            if s.status == "ESCALATED" and "NOTIFY_FAILED" in [e.action for e in s.events]:
                break
            await asyncio.sleep(0.1)
        assert s.status == "ESCALATED" and s.assignee.username == "supervisor"
        failed = [e for e in s.events if e.action == "NOTIFY_FAILED"]
        assert len(failed) == 1 and "provider down" in failed[0].detail
        supervisor = actor(sessions, "supervisor").user_id
        rows = [n for n in notifications(sessions, handle.id) if n.event == "ESCALATED"]
        told = sorted(n.channel for n in rows if n.recipient_id == supervisor)
        assert told == ["EMAIL", "IN_APP", "SMS"]  # once each, by the watch
        # In the watch's history the escalation's report precedes its delivery's outcome;
        # the failure follows in a signal of its own.
        watch = client.get_workflow_handle(registration_watch_id(handle.id))
        order = []
        for e in (await watch.fetch_history()).events:
            if e.HasField("signal_external_workflow_execution_initiated_event_attributes"):
                order.append(
                    e.signal_external_workflow_execution_initiated_event_attributes.signal_name
                )
            elif e.HasField("marker_recorded_event_attributes"):
                details = e.marker_recorded_event_attributes.details
                if "data" in details and b"deliver_queued" in details["data"].payloads[0].data:
                    order.append("delivered")
        escalation = order[order.index("delivered") + 1 :]  # after the voice call's
        assert escalation[:3] == [WATCHES_DONE, "delivered", "watch_problems"], order


async def test_the_registration_holds_no_transaction_across_its_temporal_calls(
    dev_env, sessions, notify_settings
):
    """What the API's POST does: the record committed and its watches computed first, then
    the Temporal starts with no transaction open (a burst of registrations waiting on
    Temporal would otherwise hold every pooled connection, idle in transaction)."""
    from domain.schemas.anomalies import AnomalyReport

    report = AnomalyReport(
        asset="SAW-JKS-001",
        channel="API",
        safety_impact="IMMEDIATE",
        urgency="URGENT",
        title="Guard missing on saw line 1",
        description="The blade guard is off and the saw is running.",
    )
    async with ending_started_workflows(dev_env.client) as client:  # no clock of the others
        await _register_through_the_api_path(client, sessions, notify_settings, report)


async def _register_through_the_api_path(client, sessions, notify_settings, report) -> None:
    from api.anomaly_actions import register_and_start

    session = sessions()
    try:
        ref = await register_and_start(
            client=client,
            settings=notify_settings,
            session=session,
            actor=actor(sessions, "operator"),
            report=report,
        )
        assert not session.in_transaction()
    finally:
        session.close()
    with sessions() as s:
        anomaly = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        watches = first_watches(s, notify_settings, anomaly)
    for workflow_id in [ref, registration_watch_id(ref)]:
        await client.get_workflow_handle(workflow_id).describe()  # each was started
    assert {w.kind for w in watches} == {"VOICE", "ESCALATION"}


def test_the_escalation_is_due_even_before_the_lifecycle_assigned(sessions, notify_settings):
    """Under a burst the lifecycle may not have assessed nor assigned the anomaly by its
    deadline: nobody accepted, so the registration's escalation watch still tells the
    supervisor at the deadline (the lifecycle writes the escalation when it catches up)."""
    from activities.anomalies import AnomalyActivities, WatchCheck

    ref = register(sessions, safety_impact="IMMEDIATE")
    with sessions() as s:
        anomaly = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        assert anomaly.status == "REGISTERED" and anomaly.response_deadline is None
        escalation = first_watches(s, notify_settings, anomaly)[-1]
        org = anomaly.organization_id
    acts = AnomalyActivities(sessions, notify_settings)
    check = WatchCheck(ref, org, "ESCALATION", escalation.deadline)
    assert acts.watch_still_due(check)
    moved = WatchCheck(ref, org, "ESCALATION", escalation.deadline + timedelta(minutes=5))
    with sessions() as s:  # assessed: the written deadline is the one enforced
        row = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        row.response_deadline = escalation.deadline
        s.commit()
    assert acts.watch_still_due(check) and not acts.watch_still_due(moved)


async def test_a_lifecycle_behind_the_deadline_writes_the_watchs_escalation_once(
    client, time_env, sessions, task_queue, notify_settings, twilio_recorder, alerts, lifecycles
):
    """The lifecycle starts well past the deadline (a burst held it back): the escalation
    watch told the supervisor at the deadline all the same; the lifecycle, once it runs,
    assigns and then writes that escalation (to the supervisor the watch told) without
    telling anyone twice."""
    from domain.db import transaction
    from domain.services import anomalies as anomaly_service
    from workflows.anomaly_start import start_watches
    from workflows.anomaly_types import AnomalyInput

    ref = register(sessions, safety_impact="IMMEDIATE")
    org = actor(sessions, "operator").organization_id
    with transaction(sessions) as s:
        anomaly = anomaly_service.get_anomaly(session=s, organization_id=org, reference=ref)
        anomaly.registered_at = await time_env.get_current_time()
        s.flush()
        watches = first_watches(s, notify_settings, anomaly)
    async with alerts:
        assert await start_watches(client, task_queue, watches)
        await time_env.sleep(timedelta(minutes=16))
        texts = _escalation_texts(twilio_recorder)
        assert len(texts) == 1 and texts[0]["To"] == SUPERVISOR_PHONE
        async with lifecycles:
            handle = await client.start_workflow(
                AnomalyWorkflow.run,
                AnomalyInput(
                    ref, org, notify_settings.voice_call_after_seconds, indexed=False, watches=True
                ),
                id=ref,
                task_queue=task_queue,
            )
            await _until(handle, lambda s: s.status == "ESCALATED", time_env)
            s = await state(handle)
    assert s.escalation_level == "SUPERVISOR" and s.assignee.username == "supervisor"
    assert [e.action for e in s.events].count("ESCALATED") == 1
    assert len(_escalation_texts(twilio_recorder)) == 1


async def test_a_call_and_an_escalation_due_together_go_out_from_one_decision(
    client, time_env, sessions, task_queue, notify_settings, twilio_recorder, executor
):
    """With the voice-call delay equal to the G1 response time both watches fall due at one
    moment: one wake-up and one local activity decide both, the call and the escalation's
    text both reach the supervisor, and each is reported to the anomaly's workflow."""
    settings = _due_together(notify_settings)
    alerts = build_alert_worker(time_env.client, sessions, task_queue, executor, settings)
    lifecycles = _lifecycle_worker(time_env.client, sessions, task_queue, settings, executor)
    async with alerts, lifecycles:
        now = await time_env.get_current_time()
        handle = await start_registered(
            client, sessions, task_queue, settings, now=now, safety_impact="IMMEDIATE"
        )
        await until_status(handle, "ASSIGNED")
        await time_env.sleep(timedelta(minutes=3))
        await _until(handle, lambda s: s.status == "ESCALATED" and s.voice_called, time_env)
        assert [c["To"] for c in twilio_recorder.of_kind("call")] == [SUPERVISOR_PHONE]
        assert [t["To"] for t in _escalation_texts(twilio_recorder)] == [SUPERVISOR_PHONE]
        s = await state(handle)
        assert [e.action for e in s.events].count("VOICE_CALL") == 1
        assert [e.action for e in s.events].count("ESCALATED") == 1
        watches = client.get_workflow_handle_for(
            RegistrationWatchWorkflow.run, registration_watch_id(handle.id)
        )
        history = await watches.fetch_history()
        # The first moment, up to its report: one wake-up, one decision, one signal for both,
        # and the timer to the next level's moment (the new holder's response time, 2 min).
        first = []
        for e in history.events:
            first.append(e)
            if e.HasField("signal_external_workflow_execution_initiated_event_attributes"):
                break
        timers = [e for e in first if e.HasField("timer_started_event_attributes")]
        markers = [
            e.marker_recorded_event_attributes.details["data"].payloads[0].data
            for e in first
            if e.HasField("marker_recorded_event_attributes")
            and "data" in e.marker_recorded_event_attributes.details
        ]
        decided = [m for m in markers if b"decide_watches" in m]
        assert len(decided) == 1 and len(timers) == 2
        assert 110 < timers[1].timer_started_event_attributes.start_to_fire_timeout.seconds <= 120
        report = first[-1].signal_external_workflow_execution_initiated_event_attributes
        assert report.signal_name == WATCHES_DONE
        events = json.loads(report.input.payloads[0].data)
        assert [(e["kind"], e["fired"]) for e in events] == [("VOICE", True), ("ESCALATION", True)]
        assert events[0]["at"] == events[1]["at"]
        signals = [
            e
            for e in history.events
            if e.HasField("signal_external_workflow_execution_initiated_event_attributes")
        ]
        assert len(signals) == 1  # the next level is not due yet


def test_a_watch_decision_leaves_an_acknowledged_call_and_is_safe_to_run_again(
    sessions, notify_settings
):
    """The call was acknowledged, the escalation was not accepted: only the escalation is
    queued, to the on-duty supervisor; a second run (a retried activity) queues nothing
    new and keeps the same messages."""
    from activities.alert_watches import AlertWatchActivities, WatchesDueInput, WatchNotice
    from activities.notifier import Notifier
    from domain.db import transaction
    from domain.services import anomalies as anomaly_service
    from workflows.alert_watch import _notice

    ref = register(sessions, safety_impact="IMMEDIATE")
    org = actor(sessions, "operator").organization_id
    with transaction(sessions) as s:
        anomaly = anomaly_service.get_anomaly(session=s, organization_id=org, reference=ref)
        watches = first_watches(s, notify_settings, anomaly)
        anomaly.alert_acknowledged_at = anomaly.registered_at + timedelta(seconds=30)
    acts = AlertWatchActivities(sessions, Notifier(sessions, notify_settings))
    data = WatchesDueInput([WatchNotice(w, _notice(w)) for w in watches])
    first = acts.decide_watches(data)
    assert [(d.kind, d.fired) for d in first] == [("VOICE", False), ("ESCALATION", True)]
    assert first[0].keys == [] and first[1].target.username == "supervisor"
    assert first[1].keys  # email and SMS wait for their provider
    rows = [(n.event, n.channel) for n in notifications(sessions, ref) if n.event != "ALERT"]
    assert sorted(rows) == [("ESCALATED", "EMAIL"), ("ESCALATED", "IN_APP"), ("ESCALATED", "SMS")]
    # Accepted after that attempt committed: a retry keeps the decision it made (what it
    # queued is delivered, not left waiting), and queues nothing new.
    with transaction(sessions) as s:
        anomaly = anomaly_service.get_anomaly(session=s, organization_id=org, reference=ref)
        anomaly.status = "IN_PROGRESS"
    again = acts.decide_watches(data)
    assert [(d.kind, d.fired) for d in again] == [("VOICE", False), ("ESCALATION", True)]
    assert again[1].keys == sorted(first[1].keys) and again[1].target == first[1].target
    assert len([n for n in notifications(sessions, ref) if n.event == "ESCALATED"]) == 3


def test_the_next_level_is_decided_on_the_holder_and_only_once_the_record_is_settled(
    sessions, notify_settings
):
    """The next level's watch goes out only while the person the level below handed the
    anomaly to still holds it at that deadline (a reassignment within the second before
    the deadline is not taken for silence), and the chain is followed only once the
    lifecycle has written the hand-over (a record still REGISTERED is not)."""
    from activities.alert_watches import AlertWatchActivities, WatchesDueInput, WatchNotice
    from activities.notifier import Notifier
    from domain.db import transaction
    from domain.services import anomalies as anomaly_service
    from workflows.alert_watch import _notice, next_level_watch

    ref = register(sessions, safety_impact="IMMEDIATE")
    org = actor(sessions, "operator").organization_id
    supervisor, tech = actor(sessions, "supervisor").user_id, actor(sessions, "tech").user_id
    acts = AlertWatchActivities(sessions, Notifier(sessions, notify_settings))
    with transaction(sessions) as s:
        anomaly = anomaly_service.get_anomaly(session=s, organization_id=org, reference=ref)
        escalation = first_watches(s, notify_settings, anomaly)[-1]
    # The record still REGISTERED at the first deadline: due, but the chain not followed.
    [first] = acts.decide_watches(WatchesDueInput([WatchNotice(escalation, _notice(escalation))]))
    assert first.fired and not first.settled
    assert next_level_watch(escalation, first, escalation.due) is None
    with transaction(sessions) as s:
        anomaly = anomaly_service.get_anomaly(session=s, organization_id=org, reference=ref)
        anomaly.status, anomaly.assignee_id = "ESCALATED", supervisor
        anomaly.response_deadline = escalation.due + timedelta(seconds=escalation.response_seconds)
    [settled] = acts.decide_watches(WatchesDueInput([WatchNotice(escalation, _notice(escalation))]))
    assert settled.fired and settled.settled
    following = next_level_watch(escalation, settled, escalation.due)
    assert following.level == "MANAGER" and following.holder == supervisor
    assert following.deadline == anomaly.response_deadline and following.step == -1
    # The supervisor handed it to a technician a moment before: their deadline is within
    # the second of the watch's, but the holder differs: nothing due, nobody told.
    with transaction(sessions) as s:
        anomaly = anomaly_service.get_anomaly(session=s, organization_id=org, reference=ref)
        anomaly.status, anomaly.assignee_id = "ASSIGNED", tech
        anomaly.response_deadline = following.deadline - timedelta(milliseconds=500)
    [moved] = acts.decide_watches(WatchesDueInput([WatchNotice(following, _notice(following))]))
    assert not moved.fired and not moved.keys
    # Still the supervisor's: the manager is told; the chain ends there.
    with transaction(sessions) as s:
        anomaly = anomaly_service.get_anomaly(session=s, organization_id=org, reference=ref)
        anomaly.status, anomaly.assignee_id = "ESCALATED", supervisor
        anomaly.response_deadline = following.deadline
    [manager] = acts.decide_watches(WatchesDueInput([WatchNotice(following, _notice(following))]))
    assert manager.fired and manager.target.username == "manager" and manager.keys
    assert next_level_watch(following, manager, following.due) is None


def test_a_watch_that_cannot_decide_leaves_the_other_to_go_out(sessions, notify_settings):
    """One watch fails on its own (here an escalation to a level that does not exist): the
    voice call due with it is still queued, and the failure is reported with the watch."""
    from dataclasses import replace as copy

    from activities.alert_watches import AlertWatchActivities, WatchesDueInput, WatchNotice
    from activities.notifier import Notifier
    from workflows.alert_watch import _notice

    ref = register(sessions, safety_impact="IMMEDIATE")
    with sessions() as s:
        anomaly = s.scalars(select(Anomaly).where(Anomaly.reference == ref)).one()
        voice, escalation = first_watches(s, notify_settings, anomaly)
    broken = copy(escalation, level="NOBODY")
    acts = AlertWatchActivities(sessions, Notifier(sessions, notify_settings))
    decided = acts.decide_watches(
        WatchesDueInput(
            [WatchNotice(voice, _notice(voice)), WatchNotice(broken, _notice(escalation))]
        )
    )
    assert [(d.kind, d.fired) for d in decided] == [("VOICE", True), ("ESCALATION", False)]
    assert decided[0].keys and "NOBODY" in decided[1].problems[0]
    rows = [(n.event, n.channel) for n in notifications(sessions, ref) if n.event != "ALERT"]
    assert rows == [("VOICE_CALL", "VOICE")]


async def test_a_decision_that_fails_at_first_still_alerts_late_not_never(
    client, time_env, sessions, task_queue, notify_settings, twilio_recorder, executor
):
    """The database is away when the watches fall due (here: the decision fails its first
    three attempts): it is tried again until it is made, with no limit on the attempts
    (the kit's usual writes give up after eight), and the call and the escalation still go
    out, once each."""
    from temporalio import activity

    from activities.alert_watches import AlertWatchActivities, WatchesDueInput
    from activities.notifier import Notifier
    from workflows.alert_watch import DECIDE, alert_queue

    real = AlertWatchActivities(sessions, Notifier(sessions, notify_settings))
    attempts = []

    @activity.defn(name="decide_watches")
    def flaky(data: WatchesDueInput):
        attempts.append(activity.info().attempt)
        if len(attempts) <= 3:
            raise ConnectionError("database away")
        return real.decide_watches(data)

    deliver = Notifier(sessions, notify_settings).deliver_queued
    alerts = Worker(
        time_env.client,
        task_queue=alert_queue(task_queue),
        workflows=registry.ALERT_WORKFLOWS,
        activities=[flaky, deliver],
        activity_executor=executor,
    )
    settings = _due_together(notify_settings)
    async with alerts:
        now = await time_env.get_current_time()
        ref = register(sessions, safety_impact="IMMEDIATE")
        org = actor(sessions, "operator").organization_id
        from domain.db import transaction
        from domain.services import anomalies as anomaly_service
        from workflows.anomaly_start import start_watches

        with transaction(sessions) as s:
            anomaly = anomaly_service.get_anomaly(session=s, organization_id=org, reference=ref)
            anomaly.registered_at = now
            s.flush()
            # No lifecycle to report to here.
            watches = [replace(w, parent="") for w in first_watches(s, settings, anomaly)]
        assert await start_watches(client, task_queue, watches)
        await time_env.sleep(timedelta(minutes=3))
        for _ in range(200):  # the retries wait in the worker, in real time
            if twilio_recorder.of_kind("call") and _escalation_texts(twilio_recorder):
                break
            await asyncio.sleep(0.1)
        # No lifecycle has assessed it: the chain is not followed, and the workflow ends.
        events = await client.get_workflow_handle_for(
            RegistrationWatchWorkflow.run, registration_watch_id(ref)
        ).result()
    assert attempts == [1, 2, 3, 4]
    assert not DECIDE["retry_policy"].maximum_attempts  # unlimited
    assert [(e.kind, e.fired) for e in events] == [("VOICE", True), ("ESCALATION", True)]
    assert [c["To"] for c in twilio_recorder.of_kind("call")] == [SUPERVISOR_PHONE]
    assert [t["To"] for t in _escalation_texts(twilio_recorder)] == [SUPERVISOR_PHONE]


async def test_a_watch_that_could_not_decide_is_on_the_timeline(
    register_g1, time_env, sessions, alerts, lifecycles
):
    """A registration watch reports that it could not decide (its problem with it): the
    anomaly's timeline says so, and no call is counted as made."""
    from workflows.alert_watch_types import WATCH_DONE

    async with alerts, lifecycles:
        handle = await register_g1()
        await until_status(handle, "ASSIGNED", "ESCALATED")
        now = await time_env.get_current_time()
        await handle.signal(WATCH_DONE, AlertEvent("VOICE", False, now, problems=["ValueError: x"]))
        for _ in range(100):
            s = await state(handle)
            if "NOTIFY_FAILED" in [e.action for e in s.events]:
                break
            await asyncio.sleep(0.05)
        failed = [e for e in s.events if e.action == "NOTIFY_FAILED"]
        assert [e.detail for e in failed] == ["VOICE_CALL: ValueError: x"]
        assert not s.voice_called
