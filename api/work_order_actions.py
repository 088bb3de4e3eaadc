"""Work orders for the API and the pages: create and start the workflow, send transitions
and content updates (see `api.work_order_content`), and map the workflow's refusals."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.work_orders import snapshot
from api.errors import ApiError, refusal
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import User, WorkOrder
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import WorkOrderInput, WorkOrderState

# Each simple move by its name in the URL, for the API's routes and the page's buttons alike.
TRANSITIONS = {
    "submit": WorkOrderWorkflow.submit,
    "approve": WorkOrderWorkflow.approve,
    "reject": WorkOrderWorkflow.reject,
    "start": WorkOrderWorkflow.start,
    "resume": WorkOrderWorkflow.start,
    "wait-parts": WorkOrderWorkflow.wait_parts,
    "hold": WorkOrderWorkflow.hold,
    "escalate": WorkOrderWorkflow.escalate,
    "complete": WorkOrderWorkflow.complete,
    "return-to-service": WorkOrderWorkflow.approve_return,
    "close": WorkOrderWorkflow.close,
    "cancel": WorkOrderWorkflow.cancel,
}


async def start(
    client: Client, task_queue: str, session: Session, wo: WorkOrder, indexed: bool = True
) -> None:
    """The work order's lifecycle, started with the record as stored (committed)."""
    data = WorkOrderInput(wo.number, wo.organization_id, snapshot(session, wo), indexed)
    session.rollback()  # the snapshot's reads end here: no transaction spans the call
    await client.start_workflow(WorkOrderWorkflow.run, data, id=wo.number, task_queue=task_queue)


def _as_api_error(err: Exception) -> ApiError:
    if isinstance(err, WorkflowUpdateFailedError):
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type:
            field = cause.details[0] if cause.details else None
            return refusal(cause.type, cause.message, field)
        return ApiError(500, "WorkflowError", f"the action failed: {cause}")
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.NOT_FOUND:
            return ApiError(404, "NotFound", "the work order has no running lifecycle")
        return ApiError(503, "Unavailable", f"Temporal did not answer: {err}")
    raise err


def own(session: Session, actor: Actor, number: str) -> str:
    """The work order's number if it belongs to the caller's organisation (else 404), checked
    before anything reaches its workflow; the workflow checks it once more."""
    found = session.scalar(
        select(WorkOrder.number).where(
            WorkOrder.organization_id == actor.organization_id,
            WorkOrder.number == number.upper(),
        )
    )
    session.rollback()  # no transaction stays open across the Temporal call
    if found is None:
        raise ApiError(404, "NotFound", f"work order {number} not found", "number")
    return found


async def update(client: Client, number: str, method: Any, request: Any) -> WorkOrderState:
    handle = client.get_workflow_handle(number.upper())
    try:
        return await handle.execute_update(method, request)
    except (WorkflowUpdateFailedError, RPCError) as err:
        raise _as_api_error(err) from None


def user_for(session: Session, actor: Actor, username: str | None) -> User | None:
    if not username:
        return None
    user = session.scalars(
        select(User).where(User.organization_id == actor.organization_id, User.username == username)
    ).one_or_none()
    if user is None:
        raise DomainError(f"user {username} not found", field="assignee")
    return user


def now() -> datetime:
    return datetime.now(UTC)


def work_orders_of(session: Session, reference: str, organization_id: int) -> list[dict[str, str]]:
    return [
        {"number": number, "status": status, "type": type_}
        for number, status, type_ in session.execute(
            select(WorkOrder.number, WorkOrder.status, WorkOrder.type)
            .where(
                WorkOrder.organization_id == organization_id,
                WorkOrder.source_reference == reference.upper(),
            )
            .order_by(WorkOrder.id)
        ).all()
    ]
