"""`plantops bench`: the no-op lifecycle on the dev server, the percentile, the reachability
check. Timings are never asserted: they depend on the machine."""

import uuid

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from workers.bench import latency_table, percentile, run_api, run_noop
from workers.bench_noop import NOOP_ACTIVITIES
from workers.bench_shape import NoopAnomalyWorkflow, NoopInput, NoopRequest
from workers.embedded import StartupError, free_port


async def test_noop_lifecycles_run_to_closure(dev_env, task_queue):
    result = await run_noop(dev_env.client, task_queue, count=3, concurrency=2)

    assert (result.lifecycles, result.errors) == (3, 0)
    assert result.seconds > 0 and result.per_second > 0
    counts = {name: len(values) for name, values in result.latencies.items()}
    assert counts == {
        "accept": 3,
        "progress": 3,
        "attachment": 6,
        "resolve": 3,
        "review": 3,
        "submit_rex": 3,
        "review_rex": 3,
    }


async def test_noop_workflow_refuses_an_update_out_of_order(dev_env, task_queue):
    client = dev_env.client
    worker = Worker(
        client, task_queue=task_queue, workflows=[NoopAnomalyWorkflow], activities=NOOP_ACTIVITIES
    )
    async with worker:
        workflow_id = f"BENCH-{uuid.uuid4()}"
        handle = await client.start_workflow(
            NoopAnomalyWorkflow.run, NoopInput(workflow_id), id=workflow_id, task_queue=task_queue
        )
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(NoopAnomalyWorkflow.review, NoopRequest("supervisor"))
        assert await handle.query(NoopAnomalyWorkflow.status) in ("REGISTERED", "ASSIGNED")
        await handle.terminate("test finished")


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert [percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([7.0], 50) == percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 0)


def test_latency_table_has_a_row_per_endpoint():
    table = latency_table(["register", "poll"], {"register": [1.0, 3.0], "poll": [2.0]})
    lines = table.splitlines()
    assert "p99 ms" in lines[0]
    assert lines[1].split() == ["register", "2", "1.0", "3.0", "3.0"]
    assert lines[2].split() == ["poll", "1", "2.0", "2.0", "2.0"]


async def test_an_unreachable_api_is_a_startup_error():
    with pytest.raises(StartupError, match="not reachable"):
        await run_api(f"http://127.0.0.1:{free_port()}", count=1, concurrency=1)
