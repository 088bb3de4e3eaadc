"""The demo's PM programme started by the worker: the due ones open their work orders, the
overdue BLOCK one takes its asset out of service; a second start changes nothing."""

import asyncio

from sqlalchemy import select

from domain.models import Asset, PmSchedule, PmTemplate, WorkOrder
from tests.conftest import ending_started_workflows
from workers.pm_start import start_missing_pm_schedules


async def test_the_demo_pm_programme_runs(dev_env, sessions, settings, worker):
    with sessions() as s:
        codes = set(s.scalars(select(PmTemplate.code)))
        schedules = s.scalars(select(PmSchedule)).all()
    assert {"FL-DAILY-INSP", "SAW-BLADE-500H", "CRANE-ANNUAL-2000H", "COMP-LUBE-M"} <= codes
    assert {r.schedule_type for r in schedules} == {"TIME_BASED", "METER_BASED", "HYBRID"}
    with sessions() as s:
        certified = s.scalars(select(Asset).where(Asset.requires_certification.is_(True))).all()
        expired = [a.asset_number for a in certified if str(a.certification_expiry) < "2026-11"]
    # Seed 003 C.1: every certificate on record has its inspection schedule.
    assert {r.code for r in schedules if r.template_code == "CERTIFICATION"} == {
        f"CERTIFICATION@{a.asset_number}" for a in certified
    }
    async with ending_started_workflows(dev_env.client) as client:
        started = await start_missing_pm_schedules(client, sessions, settings)
        assert len(started) == len(schedules)
        hvac = None
        for _ in range(200):
            with sessions() as s:
                hvac = s.scalars(select(Asset).where(Asset.asset_number == "HVAC-JKS-001")).one()
                opened = dict(s.execute(select(PmSchedule.code, PmSchedule.open_work_order)).all())
            certs_open = all(opened[f"CERTIFICATION@{n}"] for n in expired)
            if (
                hvac.status.value == "OUT_OF_SERVICE"
                and opened["SAW-BLADE-500H@SAW-JKS-002"]
                and certs_open
            ):
                break
            await asyncio.sleep(0.1)
        assert (hvac.status.value, hvac.status_reason) == (
            "OUT_OF_SERVICE",
            "PM overdue - blocked per policy",
        )
        # Due: the forklift overdue by hours, the saw past its meter, the blocked air handler.
        assert opened["FL-DAILY-INSP@FORKLIFT-JKS-002"] and opened["HVAC-LUBE-M@HVAC-JKS-001"]
        # Later: the crane's meter 200 hours off, the compressor in 10 days.
        assert opened["CRANE-ANNUAL-2000H@CRANE-JKS-001"] is None
        assert opened["COMP-LUBE-M@COMP-JKS-001"] is None
        for number in expired:  # a lapsed certificate: its inspection is open at once
            assert opened[f"CERTIFICATION@{number}"]
        with sessions() as s:
            count = len(s.scalars(select(WorkOrder.id).where(WorkOrder.type == "PM")).all())
        await start_missing_pm_schedules(client, sessions, settings)
        await asyncio.sleep(0.5)
        with sessions() as s:
            assert len(s.scalars(select(WorkOrder.id).where(WorkOrder.type == "PM")).all()) == count
