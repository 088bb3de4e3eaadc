"""OEE snapshots every five minutes and the summaries rolled up from them: the workflow on
the time-skipping server, the Schedule on the dev server; a replayed or late run changes
nothing twice, and the day's figures come out of the summed times and counts."""

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import ScheduleHandle
from temporalio.worker import Replayer

from domain.models.production import OeeDailySummary, OeeHourlySummary, OeeSnapshot
from domain.rules.oee import figures, percent
from domain.services import oee_snapshots
from tests.oee_helpers import DAY, local, saw_line
from workers import registry
from workers.schedules import OEE_SNAPSHOT_ID, schedules
from workflows.oee_snapshot import OeeSnapshotWorkflow
from workflows.oee_snapshot_types import OeeSnapshotInput

HISTORIES = Path(__file__).parent.parent / "histories"


def _record_example(sessions) -> dict[str, int]:
    """The worked example's stops and output, written as the API writes them."""
    from domain.actor import system_actor
    from domain.models.production import Machine
    from domain.services import production
    from domain.services import production_downtime as downtime

    ids = saw_line(sessions)
    with sessions() as s:
        m = s.get(Machine, ids["SAW-JKS-001"])
        actor = system_actor(m.organization_id, "test")
        downtime.record_downtime(session=s, actor=actor, machine=m, reason_code="BD-MECH",
                                 start=local(8), end=local(8, 47))  # fmt: skip
        production.record_count(session=s, actor=actor, machine=m, period_start=local(6),
                                period_end=local(13), total=19_271, good=18_848)  # fmt: skip
        s.commit()
    return ids


def _table(sessions, model, machine_id):
    with sessions() as s:
        return s.scalars(select(model).where(model.machine_id == machine_id)).all()


async def _run(client, task_queue, taken_at):
    return await client.execute_workflow(
        OeeSnapshotWorkflow.run, OeeSnapshotInput(taken_at),
        id=f"OEE-SNAPSHOT-T-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
    )  # fmt: skip


async def test_a_slot_replayed_or_late_is_written_once(tworker, sessions, task_queue):
    ids = _record_example(sessions)
    machine = ids["SAW-JKS-001"]
    first = await _run(tworker, task_queue, local(8, 5))
    assert first.taken_at == local(8, 5).astimezone(UTC) and first.machines == 2
    assert first.hours == 2 and first.days == 2  # both machines have planned time
    [snap] = _table(sessions, OeeSnapshot, machine)
    assert (snap.planned_s, snap.down_s) == (300.0, 300.0)  # the 08:00-08:05 slot, stopped
    before = [(h.hour_start, h.planned_s, h.down_s, h.total) for h in
              _table(sessions, OeeHourlySummary, machine)]  # fmt: skip
    # The same slot again (a replayed or retried run), then an earlier slot run late.
    again = await _run(tworker, task_queue, local(8, 7))  # rounds down to 08:05
    assert again.taken_at == first.taken_at
    assert len(_table(sessions, OeeSnapshot, machine)) == 1
    after = [(h.hour_start, h.planned_s, h.down_s, h.total) for h in
             _table(sessions, OeeHourlySummary, machine)]  # fmt: skip
    assert after == before
    await _run(tworker, task_queue, local(7, 55))
    [hour7, hour8] = sorted(_table(sessions, OeeHourlySummary, machine),
                            key=lambda h: h.hour_start)  # fmt: skip
    assert hour8.planned_s == 300.0 and hour7.planned_s == 300.0 and hour7.down_s == 0.0
    [day] = _table(sessions, OeeDailySummary, machine)
    assert day.day == DAY and day.planned_s == 600.0 and day.down_s == 300.0

    # A run recorded for the replay tests.
    history_run = await tworker.start_workflow(
        OeeSnapshotWorkflow.run, OeeSnapshotInput(local(8, 10)),
        id=f"OEE-SNAPSHOT-H-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
    )  # fmt: skip
    await history_run.result()
    history = await history_run.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "oee_snapshot.json").write_text(history.to_json())


def test_a_shift_of_snapshots_rolls_up_to_the_worked_example(sessions):
    """Every slot of the DAY shift, snapshot by snapshot: the hours and the day hold sums of
    times and counts, and the ratios recomputed from them are the example's to the
    hundredth, however the slots were cut."""
    ids = _record_example(sessions)
    machine = ids["SAW-JKS-001"]
    slot = local(6, 5)
    with sessions() as s:
        while slot <= local(13):
            oee_snapshots.take_snapshots(session=s, taken_at=slot)
            slot += timedelta(minutes=5)
        for hour in range(6, 13):
            oee_snapshots.roll_up_hour(session=s, hour_start=local(hour))
        oee_snapshots.roll_up_days(session=s, at=local(12))
        s.commit()
    assert len(_table(sessions, OeeSnapshot, machine)) == 84
    hourly = oee_snapshots.summary_tally(_table(sessions, OeeHourlySummary, machine))
    daily = oee_snapshots.summary_tally(_table(sessions, OeeDailySummary, machine))
    for t in (hourly, daily):
        f = figures(t)
        assert (percent(f.availability), percent(f.performance), percent(f.quality),
                percent(f.oee)) == (88.81, 86.11, 97.80, 74.79)  # fmt: skip
    assert round(daily.planned_s) == 420 * 60 and round(daily.total) == 19_271
    # Rolling the same hour and day up again changes nothing.
    with sessions() as s:
        oee_snapshots.roll_up_hour(session=s, hour_start=local(8))
        oee_snapshots.roll_up_days(session=s, at=local(12))
        s.commit()
        assert s.scalar(select(func.count()).select_from(OeeHourlySummary)) == 14  # 2 machines
    assert oee_snapshots.summary_tally(_table(sessions, OeeDailySummary, machine)) == daily


async def test_the_schedule_fires_the_snapshot_round(
    dev_env, temporal_client, worker, sessions, settings
):
    """The Schedule plantops keeps, under a name of this test's own, triggered now: the run
    takes the slot of its scheduled time."""
    saw_line(sessions)
    schedule_id = f"{OEE_SNAPSHOT_ID}-{uuid.uuid4().hex[:6]}"
    handle: ScheduleHandle = await temporal_client.create_schedule(
        schedule_id, schedules(settings)[OEE_SNAPSHOT_ID]
    )
    try:
        # A trigger at a five-minute mark meets the Schedule's own fire under the same
        # workflow id, and one of the two does not start: trigger again.
        actions = []
        for attempt in range(300):
            if attempt % 100 == 0:
                await handle.trigger()
            actions = (await handle.describe()).info.recent_actions
            if actions:
                break
            await asyncio.sleep(0.1)
        run = temporal_client.get_workflow_handle_for(
            OeeSnapshotWorkflow.run, actions[-1].action.workflow_id
        )
        state = await run.result()
        assert state.taken_at <= datetime.now(UTC)
        assert state.taken_at.minute % 5 == 0 and state.taken_at.second == 0
    finally:
        await handle.delete()


def test_output_entered_after_its_slots_reaches_the_summaries_once(sessions):
    from domain.actor import system_actor
    from domain.models.production import Machine
    from domain.services import production

    ids = saw_line(sessions)
    machine = ids["SAW-JKS-001"]
    with sessions() as s:
        slot = local(8, 5)
        while slot <= local(9):
            oee_snapshots.take_snapshots(session=s, taken_at=slot)
            slot += timedelta(minutes=5)
        oee_snapshots.roll_up_hour(session=s, hour_start=local(8))
        m = s.get(Machine, machine)
        # The operator enters the 08:00-09:00 run at 09:02, after its slots were taken.
        production.record_count(session=s, actor=system_actor(m.organization_id), machine=m,
                                period_start=local(8), period_end=local(9), total=3000,
                                good=2970, now=local(9, 2))  # fmt: skip
        s.commit()
        for _ in range(2):  # the round, and the same round replayed
            oee_snapshots.take_snapshots(session=s, taken_at=local(9, 5))
            assert oee_snapshots.retake_late(session=s, taken_at=local(9, 5)) == 12
            s.commit()
    [hour] = [h for h in _table(sessions, OeeHourlySummary, machine) if h.hour_start == local(8)]
    assert (hour.total, hour.good, hour.planned_s) == (3000, 2970, 3600)
    [day] = _table(sessions, OeeDailySummary, machine)
    assert day.total == 3000
