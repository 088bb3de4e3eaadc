"""Start the lifecycle of anomalies registered while Temporal was unreachable."""

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.models import Anomaly
from domain.settings import Settings

log = logging.getLogger("plantops.worker")


async def start_missing_lifecycles(
    client: Client, sessions: sessionmaker[Session], settings: Settings
) -> list[str]:
    """An anomaly whose workflow never wrote a step has no lifecycle yet. A running one is
    left alone, and only a run that failed or was terminated may be started again."""
    with sessions() as session:
        waiting = session.execute(
            select(Anomaly.reference, Anomaly.organization_id).where(
                Anomaly.status == "REGISTERED", Anomaly.last_step == 0
            )
        ).all()
    from workflows.anomaly_start import first_watches, start_lifecycle

    started = []
    for reference, organization_id in waiting:
        # Its safety watches first, as at registration: those that started then are kept,
        # never started twice.
        with sessions() as session:
            anomaly = session.scalars(select(Anomaly).where(Anomaly.reference == reference)).one()
            watches = first_watches(session, settings, anomaly)
        if await start_lifecycle(client, settings, reference, organization_id, watches):
            started.append(reference)
    if started:
        log.info("started the lifecycle of %d waiting anomalies", len(started))
    return started


async def start_missing_work_orders(
    client: Client, sessions: sessionmaker[Session], settings: Settings
) -> list[str]:
    """A DRAFT work order that never wrote a step may have no lifecycle; start it. One
    that is running raises 'already started' and is left alone."""
    from activities.work_orders import snapshot
    from domain.models import WorkOrder
    from workflows.work_order import WorkOrderWorkflow
    from workflows.work_order_types import WorkOrderInput

    started = []
    with sessions() as session:
        waiting = session.scalars(
            select(WorkOrder).where(WorkOrder.status == "DRAFT", WorkOrder.last_step == 0)
        ).all()
        inputs = [(wo.number, WorkOrderInput(wo.number, wo.organization_id, snapshot(session, wo)))
                  for wo in waiting]  # fmt: skip
    for number, data in inputs:
        try:
            await client.start_workflow(
                WorkOrderWorkflow.run,
                data,
                id=number,
                task_queue=settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
            started.append(number)
        except WorkflowAlreadyStartedError:
            continue
    if started:
        log.info("started the lifecycle of %d waiting work orders", len(started))
    return started
