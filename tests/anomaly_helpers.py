"""Shared steps for the anomaly tests: register, act as a demo user, walk the lifecycle."""

import uuid
from datetime import timedelta

from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle

from domain.actor import Actor
from domain.db import transaction
from domain.models import AnomalyAttachment, Notification, User
from domain.schemas.anomalies import AnomalyReport
from domain.services import anomalies as anomaly_service
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import (
    AcceptRequest,
    AnomalyInput,
    AttachRequest,
    ProgressRequest,
    ResolveRequest,
    ReviewRequest,
    SubmitRexRequest,
)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def actor(sessions, username: str) -> Actor:
    with sessions() as s:
        u = s.scalars(select(User).where(User.username == username)).one()
        return Actor(u.id, u.username, u.full_name, u.organization_id, tuple(u.roles))


def register(sessions, username: str = "operator", **fields) -> str:
    report = {
        "asset": "SAW-JKS-001",
        "title": "Blade wobble on saw line 1",
        "description": "The blade wobbles at full speed and the cut edge is rough.",
        **fields,
    }
    with transaction(sessions) as s:
        who = actor(sessions, username)
        return anomaly_service.register(
            session=s, actor=who, report=AnomalyReport(**report)
        ).reference


async def start(client: Client, sessions, task_queue: str, **fields) -> WorkflowHandle:
    ref = register(sessions, **fields)
    org = actor(sessions, "operator").organization_id
    return await client.start_workflow(
        AnomalyWorkflow.run,
        AnomalyInput(ref, org, indexed=False),
        id=ref,
        task_queue=task_queue,
    )


async def start_registered(
    client: Client, sessions, task_queue: str, settings, now=None, **fields
) -> WorkflowHandle:
    """As the API registers: the safety watches on the alert queue, then the lifecycle.
    `now`: the registration time on a test server's clock (the time-skipping server's runs
    ahead of the wall clock)."""
    from workflows.anomaly_start import first_watches, start_watches

    ref = register(sessions, **fields)
    org = actor(sessions, "operator").organization_id
    with transaction(sessions) as session:
        anomaly = anomaly_service.get_anomaly(session=session, organization_id=org, reference=ref)
        if now is not None:
            anomaly.registered_at = now
            session.flush()
        watches = first_watches(session, settings, anomaly)
    assert await start_watches(client, task_queue, watches)
    return await client.start_workflow(
        AnomalyWorkflow.run,
        AnomalyInput(ref, org, settings.voice_call_after_seconds, indexed=False, watches=True),
        id=ref,
        task_queue=task_queue,
    )


async def state(handle: WorkflowHandle):
    return await handle.query(AnomalyWorkflow.get_state)


async def until_status(handle: WorkflowHandle, *statuses: str, env=None):
    import asyncio

    for _ in range(200):
        s = await state(handle)
        if s.status in statuses:
            return s
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} stayed {s.status}, expected {statuses}")


def attach(sessions, reference: str, kind: str, who: Actor) -> AttachRequest:
    with transaction(sessions) as s:
        anomaly = anomaly_service.get_anomaly(
            session=s, organization_id=who.organization_id, reference=reference
        )
        row = AnomalyAttachment(
            anomaly_id=anomaly.id,
            kind=kind,
            filename=f"{kind.lower()}-{uuid.uuid4().hex[:4]}.png",
            content_type="image/png",
            size=len(PNG),
            content=PNG,
            uploaded_by=who.full_name,
        )
        s.add(row)
        s.flush()
        return AttachRequest(who, row.id, kind, row.filename)


async def accept_and_document(handle, sessions, now, tech: Actor) -> None:
    await handle.execute_update(
        AnomalyWorkflow.accept, AcceptRequest(tech, now + timedelta(minutes=20), True)
    )
    await handle.execute_update(
        AnomalyWorkflow.progress,
        ProgressRequest(
            tech,
            "Isolated the saw, found the blade flange loose",
            loto_acknowledged=True,
            parts_used=[
                {
                    "part_number": "FL-220",
                    "description": "flange",
                    "quantity": 1,
                    "serial_numbers": ["SN-4411"],
                }
            ],
            test_results=[{"name": "run-out", "value": "0.02 mm", "passed": True}],
        ),
    )
    for kind in ("BEFORE_PHOTO", "AFTER_PHOTO"):
        await handle.execute_update(
            AnomalyWorkflow.attachment, attach(sessions, handle.id, kind, tech)
        )


def resolution(tech: Actor) -> ResolveRequest:
    return ResolveRequest(
        tech,
        root_cause="flange bolts worked loose",
        corrective_action="new flange, bolts torqued to spec",
        verification_test="run-out 0.02 mm at full speed",
        safety_restored=True,
    )


def rex(author: Actor) -> SubmitRexRequest:
    return SubmitRexRequest(
        author,
        root_cause_analysis="Vibration loosened the flange bolts; no thread locker was used.",
        lessons_learned="Check flange torque at every blade change.",
        preventive_actions="Add a torque check to the weekly PM.",
        best_practices="Use thread locker on flange bolts.",
        training_needs="Torque procedure refresher for the night shift.",
    )


def approve(who: Actor, feedback: str = "") -> ReviewRequest:
    return ReviewRequest(who, True, feedback)


def reject(who: Actor, feedback: str) -> ReviewRequest:
    return ReviewRequest(who, False, feedback)


def notifications(sessions, reference: str) -> list[Notification]:
    with sessions() as s:
        return list(
            s.scalars(
                select(Notification)
                .where(Notification.reference == reference)
                .order_by(Notification.id)
            ).all()
        )
