"""The steps of an anomaly import: its rows read from the stored file, each batch registered
in one transaction, the registered anomalies' lifecycles started (safety watches first, as
a web report's are), the import closed. Each step is keyed by the import and its rows, so
a run again after its commit adds nothing."""

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.steps import refusing
from domain.db import transaction
from domain.models import Anomaly
from domain.services import imports as service
from domain.settings import Settings
from workflows.anomaly_import_types import (
    OTHERS,
    URGENT,
    AnomalyImportInput,
    ImportCountsState,
    ImportRowsState,
    RegisterBatchRequest,
)

STARTS_AT_ONCE = 25  # lifecycle starts in flight per batch
URGENT_LEVELS = ("G1", "G2")  # paged at once (H1, H2): their lifecycles start first


def service_level(session: Session, settings: Settings, anomaly: Anomaly) -> str:
    """The level its lifecycle will assess (the same rule, from the same factors)."""
    from domain.services.anomalies import criticality

    return criticality(session, anomaly, settings.response_times())[0].level.value


class ImportActivities:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, client: Client | None
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.client = client

    @activity.defn
    def read_import_rows(self, data: AnomalyImportInput) -> ImportRowsState:
        with refusing(self.sessions) as session:
            rows = service.load_rows(session=session, actor=data.actor, import_id=data.import_id)
            numbers = service.row_numbers(session=session, import_id=data.import_id)
        return ImportRowsState(rows, numbers)

    @activity.defn
    def register_import_batch(self, data: RegisterBatchRequest) -> ImportCountsState:
        with transaction(self.sessions) as session:
            service.register_batch(
                session=session,
                actor=data.actor,
                import_id=data.import_id,
                first_row=data.first_row,
                last_row=data.last_row,
            )
            imp = service.get_import(
                session=session,
                organization_id=data.organization_id,
                ref=service.reference(data.import_id),
            )
            return ImportCountsState(imp.rows, imp.registered, imp.refused, imp.duplicates)

    @activity.defn
    async def start_import_lifecycles(self, data: RegisterBatchRequest) -> int:
        """Each anomaly the batch registered on its lifecycle, as a web report's starts:
        its safety watches, then its workflow; one already started counts as started.
        `starts` picks the G1 and G2 rows, the others, or all."""
        if self.client is None:
            raise ApplicationError("no Temporal client to start lifecycles", non_retryable=True)
        # Imported here: starting lifecycles is no workflow's business.
        from workflows.anomaly_start import first_watches, start_lifecycle

        settings = self.settings

        def watched() -> dict[str, Any]:
            with self.sessions() as session:
                refs = service.registered_in(
                    session=session,
                    organization_id=data.organization_id,
                    import_id=data.import_id,
                    first_row=data.first_row,
                    last_row=data.last_row,
                )
                chosen = select(Anomaly).where(Anomaly.reference.in_(refs))
                anomalies = session.scalars(chosen).all()
                watches = {}
                for a in anomalies:
                    level = service_level(session, settings, a)
                    if data.starts == OTHERS and level in URGENT_LEVELS:
                        continue
                    if data.starts == URGENT and level not in URGENT_LEVELS:
                        continue
                    watches[a.reference] = first_watches(session, settings, a)
            return watches

        # Read off the worker's event loop: its workflows and other activities run on it.
        watches = await asyncio.to_thread(watched)
        gate = asyncio.Semaphore(STARTS_AT_ONCE)
        client = self.client

        async def start(ref: str) -> None:
            async with gate:
                await start_lifecycle(client, settings, ref, data.organization_id, watches[ref])

        await asyncio.gather(*(start(ref) for ref in watches))
        return len(watches)

    @activity.defn
    def finish_import(self, data: AnomalyImportInput) -> ImportCountsState:
        with transaction(self.sessions) as session:
            imp = service.finish(session=session, actor=data.actor, import_id=data.import_id)
            return ImportCountsState(imp.rows, imp.registered, imp.refused, imp.duplicates)
