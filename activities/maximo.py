"""Activities of the Maximo sync (seed 000 C3): plan a run, read and import one page at a
time (the cursor stored with each page), start the lifecycles of the open records, close
the run. Also the lifecycle start the upload door shares."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from domain.db import transaction
from domain.models import Anomaly
from domain.rules.maximo import Kind, read_page, same_origin
from domain.services import maximo as service
from domain.settings import Settings
from workflows.maximo_sync_types import (
    FinishSyncRequest,
    ImportPageRequest,
    MaximoFeedState,
    MaximoPageState,
    MaximoRunState,
    MaximoSyncInput,
    MaximoSyncState,
    StartLifecyclesRequest,
)

FETCH_TIMEOUT = 60.0


async def start_lifecycles(
    client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    references: list[str],
    indexed: bool = True,
) -> list[str]:
    """As at any registration: the safety watches first, then the lifecycle. One already
    running is left alone; one Temporal refuses now starts when the worker next comes up
    (workers/resume.py looks for registered anomalies that never wrote a step)."""
    from workflows.anomaly_start import first_watches, start_lifecycle

    started = []

    def watched(reference: str) -> tuple[int, Any]:
        with sessions() as session:
            anomaly = session.query(Anomaly).filter_by(reference=reference).one()
            return anomaly.organization_id, first_watches(session, settings, anomaly)

    for reference in references:
        # Read off the worker's event loop: its workflows and other activities run on it.
        organization_id, watches = await asyncio.to_thread(watched, reference)
        if await start_lifecycle(
            client, settings, reference, organization_id, watches, indexed=indexed
        ):
            started.append(reference)
    return started


class MaximoActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        client: Client | None = None,
        indexed: bool = True,
    ) -> None:
        self.sessions, self.settings, self.client = sessions, settings, client
        self.indexed = indexed

    @activity.defn
    def begin_maximo_sync(self, data: MaximoSyncInput) -> MaximoRunState:
        """The run's row (a continued run keeps its own) and the first page of each feed:
        where a stopped run left off, else what changed after the last change seen."""
        with transaction(self.sessions) as session:
            try:
                config = service.get_config(session=session, organization_id=data.organization_id)
            except service.NotFound as err:
                raise ApplicationError(err.message, type="NotFound", non_retryable=True) from None
            if data.run_id is not None:
                run = service.get_run(session=session, organization_id=data.organization_id,
                                      run_id=data.run_id)  # fmt: skip
            else:
                info = activity.info()
                run = service.begin_run(
                    session=session, actor=service.importer(data.organization_id),
                    source="SYNC", workflow_id=info.workflow_id,
                )  # fmt: skip
            plan = [MaximoFeedState(k.value, href) for k, href in service.feeds(config=config)]
            return MaximoRunState(run.id, plan)

    @activity.defn
    def import_maximo_page(self, data: ImportPageRequest) -> MaximoPageState:
        """One page, fetched then imported in one transaction with the cursor moved past it:
        a failed fetch changes nothing and its retry reads the same page again."""
        with self.sessions() as session:
            config = service.get_config(session=session, organization_id=data.organization_id)
            base_url, api_key = config.base_url, config.api_key
        if not same_origin(base_url, data.href):
            raise ApplicationError(
                f"page link {data.href} leaves the configured Maximo {base_url}",
                type="RuleViolation", non_retryable=True,
            )  # fmt: skip
        body = self._fetch(data.href, api_key)
        activity.heartbeat(data.href)
        try:
            page = read_page(body)
        except ValueError as err:
            raise ApplicationError(f"{data.href}: {err}", type="RuleViolation",
                                   non_retryable=True) from None  # fmt: skip
        kind = Kind(data.kind)
        with transaction(self.sessions) as session:
            run = service.get_run(session=session, organization_id=data.organization_id,
                                  run_id=data.run_id, lock=True)  # fmt: skip
            config = service.get_config(session=session, organization_id=data.organization_id,
                                        lock=True)  # fmt: skip
            done = service.import_records(session=session, run=run, records=page.records,
                                          refusals=page.refusals)  # fmt: skip
            service.store_cursor(session=session, config=config, run=run, kind=kind,
                                 next_href=page.next_href)  # fmt: skip
            waiting = service.waiting_lifecycles(
                session=session, organization_id=data.organization_id, records=page.records
            )
        return MaximoPageState(len(done.created), len(done.updated), done.unchanged,
                               len(done.refusals), page.next_href, waiting)  # fmt: skip

    def _fetch(self, href: str, api_key: str | None) -> object:
        headers = {"Accept": "application/json"}
        if api_key:
            headers["apikey"] = api_key
        try:
            response = httpx.get(href, headers=headers, timeout=FETCH_TIMEOUT)
        except httpx.HTTPError as err:
            raise RuntimeError(f"Maximo unreachable at {href}: {err}") from None  # retried
        if response.status_code >= 500 or response.status_code == 429:
            raise RuntimeError(f"Maximo answered {response.status_code} for {href}")  # retried
        if response.status_code >= 400:
            raise ApplicationError(
                f"Maximo refused {href} with {response.status_code}: {response.text[:200]}",
                type="NotAllowed", non_retryable=True,
            )  # fmt: skip
        try:
            return response.json()
        except ValueError:
            raise ApplicationError(f"{href} did not answer JSON", type="RuleViolation",
                                   non_retryable=True) from None  # fmt: skip

    @activity.defn
    async def start_maximo_lifecycles(self, data: StartLifecyclesRequest) -> int:
        if self.client is None:
            raise ApplicationError("no Temporal client to start lifecycles", non_retryable=True)
        started = await start_lifecycles(self.client, self.sessions, self.settings,
                                         data.references, self.indexed)  # fmt: skip
        return len(started)

    @activity.defn
    def finish_maximo_sync(self, data: FinishSyncRequest) -> MaximoSyncState:
        with transaction(self.sessions) as session:
            run = service.get_run(session=session, organization_id=data.organization_id,
                                  run_id=data.run_id, lock=True)  # fmt: skip
            service.finish_run(session=session, run=run, now=datetime.now(UTC),
                               failure=data.failure)  # fmt: skip
            return MaximoSyncState(run.id, run.status, run.pages, run.created, run.updated,
                                   run.unchanged, run.refused)  # fmt: skip
