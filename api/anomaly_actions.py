"""Talking to AnomalyWorkflow, shared by the API and the web pages: registration then
start, human actions as updates, and refusals turned into the project's errors."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.anomalies import Person
from api.errors import ApiError, refusal
from api.jsonable import jsonable
from domain.actor import Actor
from domain.errors import NotFound
from domain.models import User
from domain.rules.anomaly_lifecycle import REPORTERS, needs_role
from domain.schemas.anomalies import AnomalyReport
from domain.services import anomalies as service
from domain.settings import Settings
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import AnomalyInput, AnomalyState


async def register_and_start(
    *, client: Client, settings: Settings, session: Session, actor: Actor, report: AnomalyReport
) -> str:
    denied = needs_role(actor.roles, REPORTERS, "reporting an anomaly")
    if denied:
        raise refusal(denied.kind, denied.message)
    anomaly = service.register(session=session, actor=actor, report=report)
    reference = anomaly.reference
    session.commit()  # the record stands even if Temporal is briefly away
    try:
        await client.start_workflow(
            AnomalyWorkflow.run,
            AnomalyInput(reference, actor.organization_id, settings.voice_call_after_seconds),
            id=reference,
            task_queue=settings.task_queue,
        )
    except RPCError as err:
        # The worker starts it when it next comes up (workers/resume.py).
        raise ApiError(
            503,
            "Unavailable",
            f"registered as {reference}, but its lifecycle could not start yet ({err}); "
            "it starts as soon as Temporal and the worker are back",
        ) from None
    return reference


def person(session: Session, actor: Actor, username: str) -> Person:
    user = session.scalars(
        select(User).where(User.organization_id == actor.organization_id, User.username == username)
    ).one_or_none()
    if user is None or not user.is_active:
        raise NotFound(f"user {username} not found", field="assignee")
    return Person(user.id, user.username, user.full_name)


def own(session: Session, actor: Actor, reference: str) -> str:
    """The anomaly's reference if it belongs to the caller's organisation (else 404),
    checked before anything reaches its workflow; the workflow checks it once more."""
    from domain.models import Anomaly

    found = session.scalar(
        select(Anomaly.reference).where(
            Anomaly.organization_id == actor.organization_id,
            Anomaly.reference == reference.upper(),
        )
    )
    session.rollback()  # no transaction stays open across the Temporal call
    if found is None:
        raise NotFound(f"anomaly {reference} not found", field="reference")
    return found


async def update(client: Client, reference: str, method: Any, request: Any) -> AnomalyState:
    handle = client.get_workflow_handle(reference.upper())
    try:
        return await handle.execute_update(method, request)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type:
            field = cause.details[0] if cause.details else None
            raise refusal(cause.type, cause.message, field) from None
        raise ApiError(500, "WorkflowError", f"the action failed: {cause}") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(
                404, "NotFound", f"anomaly {reference} has no running lifecycle"
            ) from None
        raise ApiError(503, "Unavailable", f"Temporal did not answer: {err}") from None


async def live(client: Client, reference: str) -> dict[str, Any] | None:
    """The workflow's live state, or None if Temporal cannot answer just now."""
    try:
        state = await client.get_workflow_handle(reference).query(AnomalyWorkflow.get_state)
    except Exception:  # the record is still worth showing without its live part
        return None
    return jsonable(state)
