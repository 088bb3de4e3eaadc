"""Starting an anomaly's safety watches and lifecycle from outside Temporal, shared by the
API's registration, the intake channels (workbook, sensors, Maximo) and the worker's resume
of lifecycles Temporal refused at registration."""

from datetime import timedelta

from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain.models import Anomaly
from domain.services import anomalies as service
from domain.settings import Settings
from workflows.alert_watch import (
    RegistrationWatchWorkflow,
    alert_queue,
    registration_watch_id,
    registration_watches,
)
from workflows.alert_watch_types import AlertWatchInput, RegistrationWatchInput
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import AnomalyInput


def first_watches(session: Session, settings: Settings, anomaly: Anomaly) -> list[AlertWatchInput]:
    assessment, deadline = service.criticality(session, anomaly, settings.response_times())
    return registration_watches(
        anomaly.reference,
        anomaly.organization_id,
        level=assessment.level,
        registered_at=anomaly.registered_at,
        deadline=deadline,
        voice_after=timedelta(seconds=settings.voice_call_after_seconds),
    )


async def start_watches(client: Client, task_queue: str, watches: list[AlertWatchInput]) -> bool:
    """True once the anomaly's watches run (already started counts); False if Temporal
    refused them: the lifecycle then starts its own watches as it goes."""
    if not watches:
        return True
    try:
        await client.start_workflow(
            RegistrationWatchWorkflow.run,
            RegistrationWatchInput(watches),
            id=registration_watch_id(watches[0].reference),
            task_queue=alert_queue(task_queue),
            # Watches that ran to their end (they alerted, or found nothing due) never run
            # twice; ones that failed or were terminated may be started again.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        return True
    except RPCError:
        return False
    return True


async def start_lifecycle(
    client: Client,
    settings: Settings,
    reference: str,
    organization_id: int,
    watches: list[AlertWatchInput],
    *,
    indexed: bool = True,
) -> bool:
    """Its safety watches first, then its lifecycle, as at any registration. True if this
    call started it: a running one is left alone, and only a run that failed or was
    terminated starts again."""
    watched = await start_watches(client, settings.task_queue, watches)
    try:
        await client.start_workflow(
            AnomalyWorkflow.run,
            AnomalyInput(
                reference,
                organization_id,
                settings.voice_call_after_seconds,
                watches=watched,
                indexed=indexed,
            ),  # fmt: skip
            id=reference,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True
