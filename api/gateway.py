"""The one door from the API and the pages to a lifecycle: the caller's organisation checked
before anything reaches the workflow, then start, update or live query, with Temporal's
errors turned into the API's once. A refusal is mapped by its type, never by its text."""

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api import deps
from api.errors import ApiError, refusal
from api.jsonable import jsonable
from domain.actor import Actor
from domain.models import Anomaly, PmSchedule, WorkOrder


@dataclass(frozen=True)
class Lifecycle:
    """What the gateway needs to know of one lifecycle's record."""

    name: str  # as the answers say it: "anomaly", "work order"
    model: Any = None  # the record's table, for the organisation check
    key: Any = None  # its column holding the reference, which is the workflow id
    field: str = "reference"  # the path field a 404 names
    gone: str = "{name} {ref} has no running lifecycle"  # the answer when no workflow runs
    failed: str = "the action failed"  # what a workflow error other than a refusal says
    refusal_field: str | None = None  # named by a refusal that names no field itself


ANOMALY = Lifecycle("anomaly", Anomaly, Anomaly.reference, "reference")
WORK_ORDER = Lifecycle(
    "work order",
    WorkOrder,
    WorkOrder.number,
    "number",
    gone="the work order has no running lifecycle",
)
ASSET = Lifecycle("asset", failed="status change failed", refusal_field="status")
PM_SCHEDULE = Lifecycle(
    "PM schedule", PmSchedule, None, "id", gone="the PM schedule has no running lifecycle"
)


def own(session: Session, actor: Actor, lifecycle: Lifecycle, ref: str) -> str:
    """The record's reference if it belongs to the caller's organisation (else 404), checked
    before anything reaches its workflow; the workflow checks it once more."""
    found = session.scalar(
        select(lifecycle.key).where(
            lifecycle.model.organization_id == actor.organization_id,
            lifecycle.key == ref.upper(),
        )
    )
    session.rollback()  # no transaction stays open across the Temporal call
    if found is None:
        raise ApiError(404, "NotFound", f"{lifecycle.name} {ref} not found", lifecycle.field)
    return found


def _refusal_in(err: BaseException | None) -> ApplicationError | None:
    """The rule's own typed refusal inside Temporal's wrappers (a workflow's failure, an
    activity's error), if there is one."""
    while err is not None:
        if isinstance(err, ApplicationError) and err.type:
            return err
        err = getattr(err, "cause", None) or err.__cause__
    return None


def api_error(err: Exception, lifecycle: Lifecycle, ref: str = "") -> ApiError:
    """Temporal's answer as the API's: a typed refusal keeps its type, message and field."""
    if isinstance(err, WorkflowFailureError):
        # A lifecycle that runs to its answer (a report's steps) failed: its refusal, if any.
        cause = _refusal_in(err.cause)
        if cause is not None:
            field = cause.details[0] if cause.details else lifecycle.refusal_field
            return refusal(cause.type, cause.message, field)
        return ApiError(500, "WorkflowError", f"{lifecycle.failed}: {err.cause or err}")
    if isinstance(err, WorkflowUpdateFailedError):
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type:
            field = cause.details[0] if cause.details else lifecycle.refusal_field
            return refusal(cause.type, cause.message, field)
        return ApiError(500, "WorkflowError", f"{lifecycle.failed}: {cause}")
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.NOT_FOUND:
            return ApiError(404, "NotFound", lifecycle.gone.format(name=lifecycle.name, ref=ref))
        return ApiError(503, "Unavailable", f"Temporal did not answer: {err}")
    raise err


async def update(
    client: Client | WorkflowHandle,
    lifecycle: Lifecycle,
    ref: str,
    method: Any,
    request: Any,
    *,
    plain: bool = False,
) -> Any:
    """Send an update and return what the workflow answers (its state): no query after.
    An update that takes no argument is sent with `request` None. `plain`: the state as
    the JSON it travelled in (dicts, ISO dates), for an answer that is only sent on."""
    handle = (
        client if isinstance(client, WorkflowHandle) else client.get_workflow_handle(ref.upper())
    )
    shape = {"result_type": dict} if plain else {}
    try:
        if request is None:
            return await handle.execute_update(method, **shape)
        return await handle.execute_update(method, request, **shape)
    except (WorkflowUpdateFailedError, RPCError) as err:
        raise api_error(err, lifecycle, ref) from None


async def act(
    where: Session | Request,
    client: Client,
    actor: Actor,
    lifecycle: Lifecycle,
    ref: str,
    method: Any,
    request: Any,
    *,
    plain: bool = False,
) -> Any:
    """A person's action: the organisation check, then the update. Given the HTTP request,
    the check runs on the reads' own async connections; given a session (a route that uses
    one anyway), in a thread: either way the event loop serves other requests meanwhile."""
    if isinstance(where, Request):
        owned = await deps.own(where, actor, lifecycle, ref)
    else:
        owned = await asyncio.to_thread(own, where, actor, lifecycle, ref)
    return await update(client, lifecycle, owned, method, request, plain=plain)


async def live(client: Client, workflow_id: str, query: Any) -> dict[str, Any] | None:
    """The workflow's live state, or None if Temporal cannot answer just now (the record
    is still worth showing without its live part)."""
    try:
        state = await client.get_workflow_handle(workflow_id).query(query)
    except Exception:
        return None
    return jsonable(state)


async def start(
    client: Client,
    run: Any,
    data: Any,
    *,
    workflow_id: str,
    task_queue: str,
    unavailable: str | None = None,
    **options: Any,
) -> WorkflowHandle:
    """Start a lifecycle. With `unavailable`, Temporal being away is a 503 saying it (the
    record is committed first and the worker starts its lifecycle when it comes back)."""
    try:
        return await client.start_workflow(
            run, data, id=workflow_id, task_queue=task_queue, **options
        )
    except RPCError as err:
        if unavailable is None:
            raise
        raise ApiError(503, "Unavailable", unavailable.format(error=err)) from None
