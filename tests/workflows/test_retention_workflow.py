"""Seed 002's retention as a daily round on the time-skipping server: rows past their age
are gone, younger rows stay, a second run deletes nothing, and the shift reports' table is
handled once it exists (and skipped while it does not). The raw sensor readings go in the
same round, under the same one Schedule."""

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text
from temporalio.worker import Replayer

from domain.models import HandoverNote, ShiftReport, Site, sensor_readings
from domain.models.production import (
    EnergyReading,
    Machine,
    OeeDailySummary,
    OeeHourlySummary,
    OeeSnapshot,
)
from domain.rules import retention as rules
from tests.oee_helpers import saw_line
from workers import registry
from workers.schedules import RETENTION_ID, SENSOR_RETENTION_ID, schedules
from workflows.retention import RetentionWorkflow
from workflows.retention_types import RetentionInput

HISTORIES = Path(__file__).parent.parent / "histories"
NOW = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)


def test_cutoffs_follow_the_calendar():
    keep = {k.table: k for k in rules.RETENTION}
    assert rules.cutoff(keep["oee_snapshots"], NOW) == NOW - timedelta(days=90)
    assert rules.cutoff(keep["oee_hourly_summaries"], NOW) == NOW.replace(year=2025)
    assert rules.cutoff_value(keep["oee_daily_summaries"], NOW) == date(2023, 12, 1)
    assert rules.cutoff_value(keep["shift_reports"], NOW) == date(2019, 12, 1)
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert rules.years_before(leap, 2) == datetime(2026, 2, 28, tzinfo=UTC)


def _seed(sessions) -> int:
    """Each kind a day past its age and a day inside it."""
    machine_id = saw_line(sessions)["SAW-JKS-001"]
    with sessions() as s:
        org = s.get(Machine, machine_id).organization_id
        common = {"organization_id": org, "machine_id": machine_id}
        for age in (timedelta(days=91), timedelta(days=89)):
            s.add(OeeSnapshot(**common, taken_at=NOW - age))
        for at in (
            NOW.replace(year=2025) - timedelta(days=1),
            NOW.replace(year=2025) + timedelta(days=1),
        ):
            s.add(OeeHourlySummary(**common, hour_start=at.replace(minute=0)))
        for day in (date(2023, 11, 30), date(2023, 12, 1)):
            s.add(OeeDailySummary(**common, day=day))
        for at in (
            NOW.replace(year=2024) - timedelta(days=1),
            NOW.replace(year=2024) + timedelta(days=1),
        ):
            s.add(EnergyReading(**common, reading_time=at, kwh=1.0, reading_type="manual"))
        for age in (timedelta(days=91), timedelta(days=89)):  # kept 90 days by default
            s.execute(insert(sensor_readings).values(organization_id=org, sensor_id=1,
                                                     time=NOW - age, value=1.0))  # fmt: skip
        s.commit()
    return org


def _count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


async def _run(client, task_queue):
    return await client.execute_workflow(
        RetentionWorkflow.run, RetentionInput(NOW),
        id=f"OEE-RETENTION-T-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
    )  # fmt: skip


async def test_old_rows_go_young_rows_stay_and_a_rerun_deletes_nothing(
    tworker, sessions, task_queue
):
    org = _seed(sessions)
    first = await _run(tworker, task_queue)
    assert first.deleted == {
        "oee_snapshots": 1,
        "oee_hourly_summaries": 1,
        "oee_daily_summaries": 1,
        "energy_readings": 1,
        "shift_reports": 0,
        "sensor_readings": 1,
    }  # fmt: skip
    for model in (OeeSnapshot, OeeHourlySummary, OeeDailySummary, EnergyReading, sensor_readings):
        assert _count(sessions, model) == 1, model
    with sessions() as s:
        assert s.scalar(select(OeeDailySummary.day)) == date(2023, 12, 1)  # the cutoff day stays
    again = await _run(tworker, task_queue)
    assert set(again.deleted.values()) == {0}

    # Shift reports are kept seven years by their day; a handover note written with one
    # that goes stays, no longer pointing at it.
    with sessions() as s:
        site_id = s.scalar(select(Site.id).where(Site.organization_id == org, Site.code == "JKS"))
        reports = []
        for n, day in enumerate((date(2019, 11, 30), date(2019, 12, 1), date(2026, 11, 30))):
            start = datetime.combine(day, datetime.min.time(), UTC)
            reports.append(ShiftReport(
                organization_id=org, site_id=site_id, reference=f"SHR-RET-{n}",
                shift_code="DAY", shift_day=day, start_time=start,
                end_time=start + timedelta(hours=8), generated_at=start,
            ))  # fmt: skip
        s.add_all(reports)
        s.flush()
        s.add(HandoverNote(
            organization_id=org, site_id=site_id, shift_report_id=reports[0].id,
            from_shift="DAY", from_day=date(2019, 11, 30), to_shift="NIGHT",
            to_day=date(2019, 11, 30), message="old note", created_by="test",
            created_at=reports[0].start_time,
        ))  # fmt: skip
        s.commit()
    handle = await tworker.start_workflow(
        RetentionWorkflow.run, RetentionInput(NOW),
        id=f"OEE-RETENTION-H-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
    )  # fmt: skip
    third = await handle.result()
    assert third.deleted["shift_reports"] == 1
    with sessions() as s:
        assert s.scalar(text("SELECT count(*) FROM shift_reports")) == 2
        assert s.scalar(select(HandoverNote.shift_report_id)) is None

    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "oee_retention.json").write_text(history.to_json())


def test_the_retention_schedule_is_daily(settings):
    kept = schedules(settings)
    assert SENSOR_RETENTION_ID not in kept  # one round, one Schedule, for both
    spec = kept[RETENTION_ID].spec
    [calendar] = spec.calendars
    assert [r.start for r in calendar.hour] == [3] and [r.start for r in calendar.minute] == [30]
