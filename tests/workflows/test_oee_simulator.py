"""The demo's live simulator: the machines produce each minute of planned time at their
profile's pace, stop now and then and start again, a minute simulated twice writes once,
and nothing runs outside demo mode (no schedule, and the activity does nothing)."""

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.worker import Replayer, Worker

from activities.oee_simulator import SimulatorActivities
from domain.models.production import Machine, ProductionCount, ProductionDowntime
from domain.services import oee_simulator as sim
from domain.services.production_demo import MACHINES
from tests.oee_helpers import local, saw_line
from workers import registry
from workers.schedules import SIMULATOR_ID, schedules
from workflows.oee_simulator import OeeSimulatorWorkflow
from workflows.oee_simulator_types import SimulatorInput

HISTORIES = Path(__file__).parent.parent / "histories"
SAW = MACHINES[0]  # SAW-JKS-001's profile


def test_a_minute_is_decided_by_the_profile_and_the_same_twice():
    minutes = [local(6) + timedelta(minutes=i) for i in range(2000)]
    plans = [sim.plan_minute(SAW, 7, m) for m in minutes]
    assert plans == [sim.plan_minute(SAW, 7, m) for m in minutes]
    stops = [p for p in plans if p.stop]
    assert 0 < len(stops) < 60 and {p.stop for p in stops} <= {r for r, _ in SAW.reasons}
    made = [p.produce for p in plans if not p.stop]
    ideal = 60 / SAW.ideal_cycle_s
    assert SAW.speed[0] * ideal * 0.9 < sum(made) / len(made) < SAW.speed[1] * ideal * 1.1
    assert all(0 <= p.scrap <= p.produce for p in plans)


def _making(ids: dict[str, int], minute) -> int:
    """How many machines the profiles have making something in the minute."""
    plans = [sim.plan_minute(spec, ids[spec.asset], minute) for spec in MACHINES[:2]]
    return sum(1 for p in plans if p.produce and not p.stop)


def _counts(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(ProductionCount))


def test_the_floor_runs_stops_and_starts_again(sessions):
    ids = saw_line(sessions)
    machine_id = ids["SAW-JKS-001"]
    # The first minute of the DAY shift the profile stops SAW-JKS-001 in.
    start = next(
        local(6) + timedelta(minutes=i) for i in range(420)
        if sim.plan_minute(SAW, machine_id, local(6) + timedelta(minutes=i)).stop
    )  # fmt: skip
    length = sim.stop_length(machine_id, start)
    with sessions() as s:
        tick = sim.simulate_minute(session=s, at=start - timedelta(minutes=1))
        s.commit()
    assert tick.counts == _making(ids, start - timedelta(minutes=2)) > 0
    again = _counts(sessions)
    with sessions() as s:  # the same minute again (a retried activity): nothing twice
        assert sim.simulate_minute(session=s, at=start - timedelta(minutes=1)).counts == 0
        s.commit()
    assert _counts(sessions) == again
    opened = ended = None
    for i in range(length + 2):
        with sessions() as s:
            tick = sim.simulate_minute(session=s, at=start + timedelta(minutes=i + 1))
            s.commit()
        opened = opened or next((o for o in tick.opened if o.start_time == start), None)
        ended = ended or next((o for o in tick.ended if o.start_time == start), None)
    assert opened is not None and ended is not None and opened.downtime_id == ended.downtime_id
    with sessions() as s:
        stop = s.get(ProductionDowntime, opened.downtime_id)
        made_while_down = s.scalar(select(func.count()).where(
            ProductionCount.machine_id == machine_id, ProductionCount.period_start >= start,
            ProductionCount.period_end <= stop.end_time))  # fmt: skip
    assert stop.duration_minutes == length and stop.logged_by == "plantops simulator"
    assert made_while_down == 0
    # Out of planned time (between the shifts) nothing is made.
    with sessions() as s:
        assert sim.simulate_minute(session=s, at=local(13, 30)).counts == 0


@pytest.fixture
def demo_settings(settings):
    return settings.model_copy(update={"demo": True})


async def test_only_demo_mode_runs_the_simulator(
    time_env, sessions, task_queue, executor, settings, demo_settings
):
    assert SIMULATOR_ID not in schedules(settings)
    spec = schedules(demo_settings)[SIMULATOR_ID].spec
    assert spec.intervals[0].every == timedelta(minutes=1)
    ids = saw_line(sessions)
    off = SimulatorActivities(sessions, None, task_queue, settings)
    assert (await off.simulate_minute(local(8, 1))).counts == 0 and _counts(sessions) == 0

    async with Worker(
        time_env.client, task_queue=task_queue, workflows=registry.WORKFLOWS,
        activities=registry.activities(sessions, demo_settings, client=time_env.client),
        activity_executor=executor,
    ):  # fmt: skip
        handle = await time_env.client.start_workflow(
            OeeSimulatorWorkflow.run, SimulatorInput(local(8, 1)),
            id=f"OEE-SIMULATOR-T-{uuid.uuid4().hex[:8]}", task_queue=task_queue,
        )  # fmt: skip
        tick = await handle.result()
    assert tick.counts == _counts(sessions) == _making(ids, local(8)) > 0
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Machine)) == 2
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "oee_simulator.json").write_text(history.to_json())
