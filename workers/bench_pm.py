"""`plantops bench pm --schedules N`: N PM schedules in a scratch organisation (N/5 generated
assets with 5 templates each), all due in the same minute on the real clock, each with its
PMScheduleWorkflow asleep until then. Prints how long after that minute every PM work
order was open, the duplicates (0 expected) and the memory of the worker, which runs in
this process on a task queue of its own."""

from __future__ import annotations

import asyncio
import gc
import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from domain.db import make_engine, make_sessionmaker, transaction
from domain.models import (
    Asset,
    AssetType,
    Meter,
    Organization,
    PmSchedule,
    PmTemplate,
    Site,
    WorkOrder,
)
from domain.settings import Settings
from workers import bench_pm_floor, registry
from workers.embedded import StartupError
from workers.worker import CACHED_WORKFLOWS
from workflows.pm_schedule import PMScheduleWorkflow
from workflows.pm_schedule_types import TASK_TIMEOUT, PMScheduleInput

TEMPLATES = 5
STARTS_AT_ONCE = 200
WAIT_FOR = 900.0  # seconds after the due minute before giving up on the count
POLL_EVERY = 0.25


def _memory() -> tuple[float, float]:
    """(resident, peak) MB of this process, from /proc."""
    found = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                found[key] = int(value.split()[0]) / 1024
    return found.get("VmRSS", 0.0), found.get("VmHWM", 0.0)


def seed(sessions, schedules: int, due: datetime) -> tuple[int, list[int]]:
    """The scratch organisation, its assets, templates and schedules (bulk inserts)."""
    tag = uuid.uuid4().hex[:6].upper()
    assets = math.ceil(schedules / TEMPLATES)
    with transaction(sessions) as s:
        org = Organization(code=f"BENCH-PM-{tag}", name=f"PM bench {tag}")
        s.add(org)
        s.flush()
        site = Site(organization_id=org.id, code="BENCH", name="Bench site", timezone="UTC")
        kind = AssetType(
            organization_id=org.id, code="BENCH", name="Bench machine", category="PROCESSING"
        )
        s.add_all([site, kind])
        s.flush()
        ids = s.scalars(
            insert(Asset).returning(Asset.id),
            [
                {
                    "organization_id": org.id,
                    "asset_number": f"BENCH-{i:05d}",
                    "name": f"Bench machine {i}",
                    "type_id": kind.id,
                    "criticality": "C",
                    "site_id": site.id,
                    "status": "IN_SERVICE",
                }
                for i in range(assets)
            ],
        ).all()
        s.execute(
            insert(Meter),
            [
                {
                    "organization_id": org.id,
                    "asset_id": a,
                    "meter_type": "HOURS",
                    "unit": "h",
                    "current_reading": 0.0,
                }
                for a in ids
            ],
        )
        templates = []
        for t in range(TEMPLATES):
            row = PmTemplate(
                organization_id=org.id,
                code=f"PM-BENCH-{t}",
                version=1,
                is_current=True,
                name=f"Bench PM {t}",
                asset_type_id=kind.id,
                applicable_assets=[],
                schedule_type="TIME_BASED",
                interval_days=30,
                required_skills=[],
                required_competencies=[],
                required_permits=[],
                tasks=[{"sequence": 1, "description": "Inspect"}],
                parts=[],
                is_regulatory=False,
                is_active=True,
                created_by="bench",
            )
            s.add(row)
            templates.append(row)
        s.flush()
        rows = [
            {
                "organization_id": org.id,
                "asset_id": a,
                "template_code": t.code,
                "name": t.name,
                "code": f"{t.code}@BENCH-{i:05d}",
                "template_id": t.id,
                "schedule_type": "TIME_BASED",
                "interval_days": 30,
                "anchor": "FLOATING",
                "next_due_date": due,
                "alert_days_before": 0,
                "alert_hours_before": 50.0,
                "overdue_threshold_days": 14,
                "overdue_action": "ALERT",
                "is_active": True,
                "is_paused": False,
                "overdue_told": {},
                "cycles": 0,
                "last_step": 0,
            }
            for i, a in enumerate(ids)
            for t in templates
        ][:schedules]
        schedule_ids = s.scalars(insert(PmSchedule).returning(PmSchedule.id), rows).all()
        return org.id, list(schedule_ids)


async def start_all(client: Client, queue: str, org: int, ids: list[int]) -> None:
    gate = asyncio.Semaphore(STARTS_AT_ONCE)

    async def one(schedule_id: int) -> None:
        async with gate:
            await client.start_workflow(
                PMScheduleWorkflow.run,
                PMScheduleInput(schedule_id, org),
                id=f"PMS-{schedule_id}",
                task_queue=queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                task_timeout=TASK_TIMEOUT,
            )

    await asyncio.gather(*(one(i) for i in ids))


def counts(sessions, org: int) -> tuple[int, int]:
    """(PM work order rows, schedules that recorded theirs)."""
    with sessions() as s:
        rows = s.scalar(
            select(func.count())
            .select_from(WorkOrder)
            .where(WorkOrder.organization_id == org, WorkOrder.pm_schedule_id.is_not(None))
        )
        recorded = s.scalar(
            select(func.count())
            .select_from(PmSchedule)
            .where(PmSchedule.organization_id == org, PmSchedule.open_work_order.is_not(None))
        )
        return rows or 0, recorded or 0


def duplicates(sessions, org: int) -> int:
    with sessions() as s:
        return s.execute(
            text(
                "SELECT count(*) FROM (SELECT pm_schedule_id FROM work_orders "
                "WHERE organization_id = :org AND pm_schedule_id IS NOT NULL "
                "AND status NOT IN ('CLOSED', 'CANCELLED', 'REJECTED') "
                "GROUP BY pm_schedule_id HAVING count(*) > 1) d"
            ),
            {"org": org},
        ).scalar_one()


async def run(settings: Settings, schedules: int, keep: bool, floor: bool = True) -> None:
    address = settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"
    try:
        client = await Client.connect(address, namespace=settings.temporal_namespace)
    except RuntimeError as err:
        raise StartupError(f"cannot reach Temporal at {address}: {err}") from None
    # A queue per run: workflows an interrupted run left behind are not this run's work.
    queue = f"{settings.task_queue}-bench-pm-{uuid.uuid4().hex[:6]}"
    bench_settings = settings.model_copy(update={"task_queue": queue})
    engine = make_engine(settings.database_url, pool_size=20, max_overflow=20)
    sessions = make_sessionmaker(engine)
    # Far enough ahead for the seeding and every start; the due minute is a whole minute.
    lead = 30 + schedules * 0.01
    due = (datetime.now(UTC) + timedelta(seconds=lead + 60)).replace(second=0, microsecond=0)
    t0 = time.monotonic()
    org, ids = seed(sessions, schedules, due)
    seeded = time.monotonic() - t0
    print(
        f"PM bench: {len(ids)} schedules on {math.ceil(len(ids) / TEMPLATES)} assets, "
        f"organisation {org}, task queue {queue}, all due at {due:%H:%M:%S} UTC"
    )
    print(f"  seeded in              {seeded:.1f} s")
    with ThreadPoolExecutor(max_workers=32) as executor:
        worker = Worker(
            client,
            task_queue=queue,
            workflows=registry.WORKFLOWS,
            activities=registry.activities(sessions, bench_settings, client=client),
            activity_executor=executor,
            max_concurrent_activities=32,
            max_cached_workflows=CACHED_WORKFLOWS,
        )
        async with worker:
            t1 = time.monotonic()
            await start_all(client, queue, org, ids)
            started = time.monotonic() - t1
            print(f"  workflows started in   {started:.1f} s")
            rss, _ = _memory()
            print(f"  worker memory asleep   {rss:.0f} MB resident")
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait < 0:
                print(f"  (the starts ran {-wait:.1f} s past the due minute)")
            await asyncio.sleep(max(0.0, wait))
            rows = recorded = 0
            first = half = None
            deadline = time.monotonic() + WAIT_FOR
            while time.monotonic() < deadline:
                rows, recorded = counts(sessions, org)
                since = (datetime.now(UTC) - due).total_seconds()
                if first is None and rows:
                    first = since
                if half is None and recorded >= len(ids) / 2:
                    half = since
                if recorded >= len(ids):
                    break
                await asyncio.sleep(POLL_EVERY)
            since = (datetime.now(UTC) - due).total_seconds()
            rss, peak = _memory()
            dupes = duplicates(sessions, org)
            print(
                f"  first work order open  {first if first is not None else float('nan'):.1f} s "
                "after the due minute"
            )
            print(f"  half open              {half if half is not None else float('nan'):.1f} s")
            done = "every" if recorded >= len(ids) else f"{recorded} of {len(ids)}"
            print(f"  {done} work order open  {since:.1f} s after the due minute ({rows} rows)")
            print(f"  duplicates             {dupes}")
            print(f"  worker memory          {rss:.0f} MB resident, {peak:.0f} MB peak")
            if not keep:
                t2 = time.monotonic()
                await end_all(client, sessions, org, ids)
                print(
                    f"  bench workflows ended in {time.monotonic() - t2:.1f} s "
                    "(rows kept, in the scratch organisation)"
                )
    engine.dispose()
    gc.collect()
    if floor:  # the same wake-up with nothing of plantops in it, for comparison
        await bench_pm_floor.floor(client, len(ids), settings.task_queue, CACHED_WORKFLOWS)


async def end_all(client: Client, sessions, org: int, ids: list[int]) -> None:
    with sessions() as s:
        numbers = list(s.scalars(select(WorkOrder.number).where(WorkOrder.organization_id == org)))
    gate = asyncio.Semaphore(STARTS_AT_ONCE)

    async def end(workflow_id: str) -> None:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id).terminate("bench finished")
            except Exception:  # already ended
                pass

    await asyncio.gather(*(end(f"PMS-{i}") for i in ids), *(end(n) for n in numbers))
    with transaction(sessions) as s:  # the schedules no longer run: say so
        s.execute(
            PmSchedule.__table__.update()
            .where(PmSchedule.organization_id == org)
            .values(is_active=False)
        )


def cmd_bench_pm(settings: Settings, schedules: int, keep: bool = False) -> None:
    asyncio.run(run(settings, schedules, keep))
