"""The time-skipping server with the project's search attributes, and a worker serving
every workflow, for the breakdown and stop-work workflow tests."""

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import get_type_hints

from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.conftest import ending_started_workflows
from workers import registry
from workers.embedded import SEARCH_ATTRIBUTES


async def register_search_attributes(env) -> None:
    """The asset workflow a lifecycle moves is started with them by the asset gateway."""
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace="default",
                search_attributes={
                    name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in SEARCH_ATTRIBUTES
                },
            )
        )
    except RPCError as err:  # registered by an earlier module of the session
        if "already" not in str(err).lower():
            raise


class Gate:
    """Holds every run of one activity until opened: the interleaving a test needs is made
    exact. `seen` keeps what each held run was given."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.open = asyncio.Event()
        self.seen: list = []


@asynccontextmanager
async def gated_worker(
    env, sessions, settings, executor, task_queue: str, activity_name: str
) -> AsyncIterator[tuple[Client, Gate]]:
    """A worker serving every workflow, with the activity `activity_name` held at a gate;
    the workflows it starts are ended afterwards."""
    gate = Gate()
    async with ending_started_workflows(env.client) as client:
        acts = registry.activities(sessions, settings, client=client)
        i = next(n for n, a in enumerate(acts) if getattr(a, "__name__", "") == activity_name)
        real = acts[i]

        async def held(data):
            gate.seen.append(data)
            gate.reached.set()
            await gate.open.wait()
            return await real(data)

        # The real activity's types, so its argument arrives as the dataclass it expects.
        hints = get_type_hints(real)
        (param,) = inspect.signature(real).parameters
        held.__annotations__ = {"data": hints[param], "return": hints["return"]}
        acts[i] = activity.defn(name=activity_name)(held)
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=registry.WORKFLOWS,
            activities=acts,
            activity_executor=executor,
        ):
            try:
                yield client, gate
            finally:
                gate.open.set()
