"""No-op activities for `plantops bench`: the activity round trips of an anomaly lifecycle
without its database writes or messages, so the benchmark can price Temporal alone."""

from typing import Any

from temporalio import activity

# One activity type per real one, so a bench history reads like an anomaly's.


@activity.defn(name="bench_assess")
async def noop_assess(data: dict[str, Any]) -> dict[str, Any]:
    return data


@activity.defn(name="bench_record")
async def noop_record(data: dict[str, Any]) -> dict[str, Any]:
    return data


@activity.defn(name="bench_notify")
async def noop_notify(data: dict[str, Any]) -> dict[str, Any]:
    return data


@activity.defn(name="bench_pick")
async def noop_pick(data: dict[str, Any]) -> dict[str, Any]:
    return data


@activity.defn(name="bench_kpis")
async def noop_kpis(data: dict[str, Any]) -> dict[str, Any]:
    return data


NOOP_ACTIVITIES = [noop_assess, noop_record, noop_notify, noop_pick, noop_kpis]
