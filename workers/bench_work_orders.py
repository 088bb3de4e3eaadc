"""`plantops bench work-orders`: full work-order lifecycles through the running API (create,
submit, approve, schedule, LOTO permit, start, tasks, labour, evidence, complete, LOTO off,
verify, return-to-service approval that closes it), timed per action."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from domain.rules.work_orders import VERIFICATION_CHECKLIST
from workers.bench import (
    PNG_BYTES,
    ApiBench,
    BenchFailure,
    RunResult,
    _describe,
    login_fixed_users,
    run_concurrently,
)

ASSET = "SAW-JKS-001"
BASE = "/api/v1/maintenance/work-orders"
SUPERVISOR, MANAGER, TECH = "supervisor", "manager", "tech"
ENDPOINTS = (
    "create",
    "poll",
    "submit",
    "approve",
    "schedule",
    "permit",
    "start",
    "task",
    "labor",
    "evidence",
    "complete",
    "permit_off",
    "verify",
    "rts_approve",
)
POLL_EVERY = 0.05
POLL_FOR = 30.0


class WorkOrderBench(ApiBench):
    async def lifecycle(self, i: int) -> None:
        try:
            number = await self.create(i)
            await self.work(number)
        except (BenchFailure, httpx.HTTPError) as err:
            self.result.fail(f"work order {i}: {_describe(err)}")
            return
        self.result.lifecycles += 1

    async def create(self, i: int) -> str:
        body = {
            "asset": ASSET,
            "type": "CORRECTIVE",
            "title": f"bench work order {i}",
            "description": f"benchmark lifecycle number {i}, replace the worn blade",
            "requires_loto": True,
            "tasks": [
                {"description": "Replace the blade"},
                {
                    "description": "Check blade run-out",
                    "requires_measurement": True,
                    "unit": "mm",
                    "spec_max": 0.05,
                },
            ],
        }
        created = await self.call("create", SUPERVISOR, "POST", BASE, json=body)
        number = created["number"]
        deadline = time.monotonic() + POLL_FOR
        while time.monotonic() < deadline:  # the lifecycle answers once its worker took it
            got = await self.call("poll", SUPERVISOR, "GET", f"{BASE}/{number}")
            if got.get("live"):
                return number
            await asyncio.sleep(POLL_EVERY)
        raise BenchFailure(f"{number} has no live state after {POLL_FOR:.0f} s")

    async def work(self, number: str) -> None:
        base = f"{BASE}/{number}"

        async def post(endpoint: str, user: str, path: str, **kw: Any) -> Any:
            return await self.call(endpoint, user, "POST", f"{base}{path}", **kw)

        await post("submit", SUPERVISOR, "/submit", json={})
        await post("approve", MANAGER, "/approve", json={})
        await post("schedule", SUPERVISOR, "/schedule", json={"assignee": TECH})
        loto = {"kind": "LOTO", "energy_sources": ["480V main"], "isolation_verified": True}
        await post("permit", TECH, "/permits", json=loto)
        await post("start", TECH, "/start", json={})
        await post("task", TECH, "/tasks/1/complete", json={})
        await post("task", TECH, "/tasks/2/complete", json={"measurement_value": 0.02})
        await post("labor", TECH, "/labor", json={"hours": 2.5})
        files = {"file": ("checklist.png", PNG_BYTES, "image/png")}
        await post("evidence", TECH, "/attachments", data={"kind": "CHECKLIST"}, files=files)
        await post("complete", TECH, "/complete", json={})
        await post("permit_off", TECH, "/permits/LOTO/remove", json={})
        checklist = {item: True for item in VERIFICATION_CHECKLIST}
        verify = {"checklist": checklist, "test_run_passed": True}
        state = await post("verify", SUPERVISOR, "/verify", json=verify)
        if state["status"] != "VERIFIED":
            raise BenchFailure(f"{number} went {state['status']} at verification")
        state = await post("rts_approve", MANAGER, "/return-to-service", json={})
        if state["status"] != "CLOSED":
            raise BenchFailure(f"{number} not closed: {state.get('message')}")


async def run_work_orders(url: str, count: int, concurrency: int) -> RunResult:
    result = RunResult()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        bench = WorkOrderBench(http, result)
        await login_fixed_users(bench, url, (SUPERVISOR, MANAGER, TECH))
        result.seconds = await run_concurrently(count, concurrency, bench.lifecycle)
    return result
