"""Talking to PM schedules' lifecycles from outside: starting one; a condition on an asset
(an SPC violation, a sensor rule) naming a CONDITION_BASED schedule, which drafts its work
order for review (or notes the condition on the one open); an asset's certificate, whose
schedule (seed 003 C.1) is created or follows the expiry when the asset is saved."""

import asyncio
import logging
from datetime import datetime

from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api import gateway
from api.errors import ApiError
from domain.actor import Actor
from domain.errors import NotFound, RuleViolation
from domain.models import Asset, PmSchedule
from domain.services import assets as asset_service
from domain.services import pm_schedules as service
from workflows.pm_schedule import PMScheduleWorkflow
from workflows.pm_schedule_types import (
    TASK_TIMEOUT,
    CertificateRequest,
    ConditionRequest,
    PMScheduleInput,
)

log = logging.getLogger(__name__)


async def tell_condition(
    *,
    session: Session,
    client: Client,
    actor: Actor,
    schedule: str,
    asset: Asset,
    source: str,
    detail: str,
) -> str:
    """The number of the schedule's work order the condition opened or found open."""

    def lookup() -> str:
        try:
            org = actor.organization_id
            row = service.get_schedule(session=session, organization_id=org, ref=schedule)
        except NotFound as err:
            raise NotFound(str(err), field="pm_schedule") from err
        if row.asset_id != asset.id:
            raise RuleViolation(
                f"PM schedule {schedule} is not on asset {asset.asset_number}", field="pm_schedule"
            )
        workflow_id = service.reference(row.id)
        session.rollback()  # no transaction stays open across the Temporal call
        return workflow_id

    workflow_id = await asyncio.to_thread(lookup)  # the event loop serves others meanwhile
    state = await gateway.update(
        client, gateway.PM_SCHEDULE, workflow_id, PMScheduleWorkflow.condition,
        ConditionRequest(actor, source, detail),
    )  # fmt: skip
    return state.facts.open_work_order


async def start_schedule(client: Client, task_queue: str, row: PmSchedule) -> None:
    """The schedule's lifecycle, started once (a running one is left as it is)."""
    await gateway.start(
        client,
        PMScheduleWorkflow.run,
        PMScheduleInput(row.id, row.organization_id),
        workflow_id=service.reference(row.id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_timeout=TASK_TIMEOUT,
        unavailable="the schedule is saved; its lifecycle starts when Temporal answers ({error})",
    )


async def follow_certificate(
    *, session: Session, client: Client, task_queue: str, actor: Actor, number: str
) -> None:
    """After the asset is saved: its certification schedule created and started, or told
    its new due. The asset stands even if Temporal cannot be told now (the worker starts a
    schedule without a step when it comes up)."""

    def saved() -> tuple[PmSchedule | None, datetime | None]:
        asset = asset_service.get_asset(session=session, actor=actor, ref=number)
        row, moved = service.certification_schedule(session=session, actor=actor, asset=asset)
        session.commit()  # no transaction stays open across the Temporal call
        return row, moved

    # In a thread: the caller's event loop serves other requests meanwhile.
    row, moved = await asyncio.to_thread(saved)
    if row is None:
        return
    workflow_id = service.reference(row.id)
    try:
        if moved is None:
            await start_schedule(client, task_queue, row)
            return
        await gateway.update(
            client, gateway.PM_SCHEDULE, workflow_id, PMScheduleWorkflow.certificate_changed,
            CertificateRequest(actor, moved),
        )  # fmt: skip
    except ApiError as err:  # the asset is saved: its answer is not a Temporal error
        log.warning("certificate of %s not told to %s: %s", number, workflow_id, err)


async def tell_conditions(
    client: Client, actor: Actor, conditions: list[tuple[int, str]], source: str
) -> list[str]:
    """Conditions a machine reported (a sensor rule's breach), each to the schedule the
    rule names, checked when the rule was saved; a schedule that cannot take one now
    (paused, not running) leaves its anomaly to speak for it. The work orders drafted."""
    drafted = []
    for schedule_id, detail in conditions:
        try:
            state = await gateway.update(
                client, gateway.PM_SCHEDULE, service.reference(schedule_id),
                PMScheduleWorkflow.condition, ConditionRequest(actor, source, detail),
            )  # fmt: skip
        except Exception as err:  # the readings are stored: a late schedule is not their error
            log.warning("condition not told to PMS-%s: %s", schedule_id, err)
            continue
        if state.facts and state.facts.open_work_order:
            drafted.append(state.facts.open_work_order)
    return drafted
