"""The worker every workflow test module runs on its time-skipping server (`time_env`, the
session's or the module's own): `tworker` with the plain activities, answering with the
server's client; `tclient` with the activities that start workflows of their own, through a
client that ends, on exit, what it started."""

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from tests.conftest import ending_started_workflows
from tests.workflows.lifecycle_env import register_search_attributes
from workers import registry


@pytest.fixture
async def tworker(time_env, sessions, task_queue, executor) -> AsyncIterator[Client]:
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=registry.WORKFLOWS,
        activities=registry.activities(sessions),
        activity_executor=executor,
    ):
        yield time_env.client


@pytest.fixture
async def tclient(time_env, sessions, task_queue, executor, settings) -> AsyncIterator[Client]:
    # The asset workflow a lifecycle moves is started with the search attributes.
    await register_search_attributes(time_env)
    async with ending_started_workflows(time_env.client) as client:
        async with Worker(
            time_env.client,
            task_queue=task_queue,
            workflows=registry.WORKFLOWS,
            activities=registry.activities(sessions, settings, client=client),
            activity_executor=executor,
        ):
            yield client
