"""schemathesis over the whole OpenAPI document, as several roles, against the real app
(PostgreSQL, Temporal, worker) over HTTP: no answer is a server error, and every answer
matches the schema its operation declares. Generation is derandomized, so a run is
repeatable."""

import asyncio
import os
from dataclasses import dataclass, field
from datetime import timedelta

import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from api.app import create_app
from workers.embedded import free_port

# Examples per operation for each role, half valid and half invalid data: the manager
# passes most permission checks and so reaches the most code; the other roles mostly
# meet refusals, which must not fail either (one valid and one invalid example each).
# Every operation is called by every role; PLANTOPS_FUZZ_SCALE=5 searches deeper.
SCALE = float(os.environ.get("PLANTOPS_FUZZ_SCALE", "1"))
EXAMPLES = {"manager": 10, "tech": 2, "operator": 2, "auditor": 2}
CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    failures: dict[tuple[str, str], str] = field(default_factory=dict)


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max(1, int(examples * SCALE) // 2),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def _fuzz(schema, base_url: str, headers_by_role: dict[str, dict[str, str]]) -> Tally:
    tally = Tally()
    http = requests.Session()

    def runner(operation, mode: GenerationMode, role: str, headers: dict[str, str]):
        @_settings(EXAMPLES[role])
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            tally.requests += 1
            try:
                response = case.call(base_url=base_url, session=http, headers=headers)
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as err:  # recorded; all operations run
                key = (operation.label, type(err).__name__)
                tally.failures.setdefault(key, f"as {role}: {err}"[:2000])

        return run

    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1
        for role, headers in headers_by_role.items():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    runner(operation, mode, role, headers)()
                except hypothesis.errors.Unsatisfiable:  # nothing to make invalid
                    pass
    return tally


async def test_no_server_error_and_every_answer_matches_its_schema(
    settings, sessions, temporal_client, worker, token_for
):
    app = create_app(settings, sessions=sessions, temporal=temporal_client)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        schema = schemathesis.openapi.from_dict(app.openapi())
        headers = {r: token_for(r, timedelta(minutes=30)) for r in EXAMPLES}
        tally = await asyncio.to_thread(_fuzz, schema, f"http://127.0.0.1:{port}", headers)
    finally:
        server.should_exit = True
        await serving
    print(f"\nfuzz: {tally.operations} operations, {tally.requests} requests, as {EXAMPLES}")
    report = "\n\n".join(f"{op} [{kind}]\n{text}" for (op, kind), text in tally.failures.items())
    assert not tally.failures, f"{len(tally.failures)} failing operations:\n{report}"


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
