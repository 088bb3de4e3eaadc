"""Work orders for the API and the pages: create and start the workflow, send transitions
and content updates (see `api.work_order_content`), and map the workflow's refusals."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client

from activities.work_orders import snapshot
from api import gateway
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

    def read() -> WorkOrderInput:
        data = WorkOrderInput(wo.number, wo.organization_id, snapshot(session, wo), indexed)
        session.rollback()  # the snapshot's reads end here: no transaction spans the call
        return data

    data = await asyncio.to_thread(read)  # off the event loop
    await gateway.start(
        client, WorkOrderWorkflow.run, data, workflow_id=data.number, task_queue=task_queue
    )


def own(session: Session, actor: Actor, number: str) -> str:
    return gateway.own(session, actor, gateway.WORK_ORDER, number)


async def update(client: Client, number: str, method: Any, request: Any) -> WorkOrderState:
    return await gateway.update(client, gateway.WORK_ORDER, number, method, request)


async def live(client: Client, number: str) -> dict[str, Any] | None:
    return await gateway.live(client, number, WorkOrderWorkflow.get_state)


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
