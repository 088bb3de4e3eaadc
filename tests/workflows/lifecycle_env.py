"""The time-skipping server with the project's search attributes, and a worker serving
every workflow, for the breakdown and stop-work workflow tests."""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.service import RPCError

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
