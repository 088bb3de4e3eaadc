"""Talking to AnomalyWorkflow, shared by the API and the web pages: registration then
start, human actions as updates, and refusals turned into the project's errors."""

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client

from activities.anomalies import Person
from api import gateway
from api.errors import refusal
from domain.actor import Actor
from domain.errors import NotFound
from domain.models import User
from domain.rules.anomaly_lifecycle import REPORTERS, needs_role
from domain.schemas.anomalies import AnomalyReport
from domain.services import anomalies as service
from domain.settings import Settings
from workflows.alert_watch_types import AlertWatchInput
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_start import first_watches, start_watches
from workflows.anomaly_types import AnomalyInput, AnomalyState


async def register_and_start(
    *, client: Client, settings: Settings, session: Session, actor: Actor, report: AnomalyReport
) -> str:
    denied = needs_role(actor.roles, REPORTERS, "reporting an anomaly")
    if denied:
        raise refusal(denied.kind, denied.message)

    def record() -> tuple[str, list[AlertWatchInput]]:
        anomaly = service.register(session=session, actor=actor, report=report)
        found = anomaly.reference, first_watches(session, settings, anomaly)
        # The record stands even if Temporal is briefly away; no transaction (nor pooled
        # connection) is held across the Temporal calls below.
        session.commit()
        return found

    # In a thread: a burst of reports is not held up behind one report's database work.
    reference, first = await asyncio.to_thread(record)
    # The safety watches first, each on the alert queue asleep until its moment: under a
    # burst of registrations the lifecycle's own first steps may wait behind the others'.
    watches = await start_watches(client, settings.task_queue, first)
    # The worker starts it when it next comes up (workers/resume.py).
    await gateway.start(
        client,
        AnomalyWorkflow.run,
        AnomalyInput(
            reference, actor.organization_id, settings.voice_call_after_seconds, watches=watches
        ),
        workflow_id=reference,
        task_queue=settings.task_queue,
        unavailable=f"registered as {reference}, but its lifecycle could not start yet "
        "({error}); it starts as soon as Temporal and the worker are back",
    )
    return reference


def person(session: Session, actor: Actor, username: str) -> Person:
    user = session.scalars(
        select(User).where(User.organization_id == actor.organization_id, User.username == username)
    ).one_or_none()
    if user is None or not user.is_active:
        raise NotFound(f"user {username} not found", field="assignee")
    return Person(user.id, user.username, user.full_name)


def own(session: Session, actor: Actor, reference: str) -> str:
    return gateway.own(session, actor, gateway.ANOMALY, reference)


async def update(client: Client, reference: str, method: Any, request: Any) -> AnomalyState:
    return await gateway.update(client, gateway.ANOMALY, reference, method, request)


async def live(client: Client, reference: str) -> dict[str, Any] | None:
    """The workflow's live state, or None if Temporal cannot answer just now."""
    return await gateway.live(client, reference, AnomalyWorkflow.get_state)
