"""What people add to a work order (tasks, labour, permits, parts, files, details), for
the API routes and the page's forms alike: check the input, store an uploaded file by its
hash, then send the typed update; the workflow's activities write the rows. No
transaction or row lock is held while the workflow answers."""

import asyncio
from typing import Any

from sqlalchemy.orm import Session
from temporalio.client import Client

from api import work_order_actions as wo_actions
from domain.actor import Actor
from domain.rules import work_orders as rules
from domain.schemas.work_orders import (
    LaborIn,
    PartIssueIn,
    PartRequestIn,
    PermitIn,
    TaskEditIn,
    TaskIn,
)
from domain.services import files
from domain.services import work_orders as service
from workflows.work_order import WorkOrderWorkflow as WO
from workflows.work_order_types import (
    AddTaskRequest,
    AttachFileRequest,
    CompleteTaskRequest,
    ContentState,
    EditTaskRequest,
    FileKey,
    IssuePartRequest,
    IssuePermitRequest,
    LogLaborRequest,
    RemovePermitRequest,
    RemoveTaskRequest,
    RequestPartsRequest,
    UpdateDetailsRequest,
    WorkOrderState,
)


async def _send(
    client: Client, session: Session, actor: Actor, number: str, method: Any, request: Any
) -> Any:
    # In a thread (it ends the request's transaction): the event loop serves others meanwhile.
    number = await asyncio.to_thread(wo_actions.own, session, actor, number)
    return await wo_actions.update(client, number, method, request)


async def add_task(
    client: Client, session: Session, actor: Actor, number: str, data: TaskIn
) -> ContentState:
    req = AddTaskRequest(actor, **data.model_dump())
    return await _send(client, session, actor, number, WO.add_task, req)


async def edit_task(
    client: Client, session: Session, actor: Actor, number: str, sequence: int, data: TaskEditIn
) -> ContentState:
    """The task as it is to be; refused once the work order is approved."""
    values = data.model_dump(exclude={"sequence", "reason"})
    req = EditTaskRequest(
        actor, sequence, **values, new_sequence=data.sequence, reason=data.reason or ""
    )
    return await _send(client, session, actor, number, WO.edit_task, req)


async def remove_task(
    client: Client, session: Session, actor: Actor, number: str, sequence: int, reason: str = ""
) -> ContentState:
    req = RemoveTaskRequest(actor, sequence, reason)
    return await _send(client, session, actor, number, WO.remove_task, req)


async def complete_task(
    client: Client,
    session: Session,
    actor: Actor,
    number: str,
    sequence: int,
    measurement_value: float | None,
    notes: str,
) -> ContentState:
    req = CompleteTaskRequest(actor, sequence, measurement_value, notes)
    return await _send(client, session, actor, number, WO.complete_task, req)


async def log_labor(
    client: Client, session: Session, actor: Actor, number: str, data: LaborIn
) -> ContentState:
    req = LogLaborRequest(
        actor, data.hours, data.technician, data.labor_type, data.hourly_rate, data.notes
    )
    return await _send(client, session, actor, number, WO.log_labor, req)


async def issue_permit(
    client: Client, session: Session, actor: Actor, number: str, data: PermitIn
) -> ContentState:
    req = IssuePermitRequest(
        actor,
        data.kind.value,
        list(data.energy_sources),
        data.isolation_verified,
        list(data.lock_numbers),
    )
    return await _send(client, session, actor, number, WO.issue_permit, req)


async def remove_permit(
    client: Client, session: Session, actor: Actor, number: str, kind: str
) -> ContentState:
    req = RemovePermitRequest(actor, kind)
    return await _send(client, session, actor, number, WO.remove_permit, req)


async def request_parts(
    client: Client, session: Session, actor: Actor, number: str, data: PartRequestIn
) -> ContentState:
    req = RequestPartsRequest(actor, data.part_number, data.quantity, data.reserve)
    return await _send(client, session, actor, number, WO.request_parts, req)


async def issue_part(
    client: Client, session: Session, actor: Actor, part_number: str, data: PartIssueIn
) -> ContentState:
    req = IssuePartRequest(actor, part_number, data.quantity, list(data.serial_numbers))
    return await _send(client, session, actor, data.work_order, WO.issue_part, req)


async def attach_file(
    client: Client,
    session: Session,
    actor: Actor,
    number: str,
    kind: rules.Evidence,
    filename: str,
    content_type: str,
    content: bytes,
    description: str | None,
) -> ContentState:
    """The file is stored (once per content) and committed first; only its key travels."""
    service.refuse_upload(kind, len(content), content_type)

    def stored() -> tuple[str, str]:
        found = wo_actions.own(session, actor, number)
        digest = files.store(session, organization_id=actor.organization_id, content=content)
        session.commit()
        return found, digest

    number, digest = await asyncio.to_thread(stored)  # off the event loop
    key = FileKey(digest, filename, content_type, len(content))
    req = AttachFileRequest(actor, kind.value, key, description)
    return await wo_actions.update(client, number, WO.attach_file, req)


async def update_details(
    client: Client, actor: Actor, number: str, changes: dict[str, Any]
) -> WorkOrderState:
    """`number` already checked as one of the caller's (`work_order_actions.own`)."""
    req = UpdateDetailsRequest(actor, changes)
    return await wo_actions.update(client, number, WO.update_details, req)
