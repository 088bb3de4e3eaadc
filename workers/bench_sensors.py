"""`plantops bench sensors`: sensor readings through the real ingest endpoint, on a scratch
system of its own (PostgreSQL from the wheel in a temporary folder, migrated, with the demo;
Temporal's dev server; the worker and the API in this process), so nothing running is
touched.

A. Readings ingested per second: `--readings` readings in batches of `--batch` (1,000 by
   default) from `--streams` gateways at once, each over its own sensors, every sensor with
   a high-threshold rule to judge.
B. Breach to anomaly: `--breaches` times, the reading that completes a breach is sent alone
   and the time until the answer is taken: by then the anomaly is registered and committed
   and its lifecycle started."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.settings import Settings
from workers.bench_cpu import CpuMeter, postmaster

SENSORS_PER_STREAM = 1_000
URL = "/api/v1/sensor-readings"


def add_arguments(bench: Any) -> None:
    bench.add_argument(
        "--readings", type=int, default=200_000, help="sensors: readings to ingest (A)"
    )
    bench.add_argument("--batch", type=int, default=1_000, help="sensors: readings per batch")
    bench.add_argument("--streams", type=int, default=2, help="sensors: gateways sending at once")
    bench.add_argument("--breaches", type=int, default=20, help="sensors: breaches to time (B)")


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _seed(sessions, streams: int, breaches: int) -> tuple[str, list[list[str]], list[str]]:
    """A gateway key, the sensor codes of each stream and the breach sensors (bulk inserts
    over the demo's assets)."""
    from sqlalchemy import insert, select

    from domain.actor import Actor
    from domain.db import transaction
    from domain.models import Asset, Sensor, SensorRule, User
    from domain.services import sensors as service

    with transaction(sessions) as s:
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        who = Actor(
            admin.id, admin.username, admin.full_name, admin.organization_id, ("MAINT_ADMIN",)
        )
        org = admin.organization_id
        assets = list(s.scalars(select(Asset.id).where(Asset.organization_id == org)))
        _, key = service.create_gateway(session=s, actor=who, name="bench")
        codes = [[f"BENCH-{k}-{i:04d}" for i in range(SENSORS_PER_STREAM)] for k in range(streams)]
        hot = [f"BENCH-HOT-{i:03d}" for i in range(breaches)]
        rows = [
            {"organization_id": org, "asset_id": assets[n % len(assets)], "code": code,
             "name": code, "kind": "TEMPERATURE", "unit": "°C",
             "expected_interval_seconds": 86_400, "is_active": True}
            for n, code in enumerate([c for group in codes for c in group] + hot)
        ]  # fmt: skip
        ids = s.execute(insert(Sensor).returning(Sensor.id, Sensor.code), rows).all()
        s.execute(
            insert(SensorRule),
            [
                {"organization_id": org, "sensor_id": sid, "kind": "HIGH",
                 "threshold": 80.0 if code.startswith("BENCH-HOT") else 1e9,
                 "for_seconds": 0, "deadband": 1.0, "safety_impact": "SERIOUS",
                 "urgency": "URGENT"}
                for sid, code in ids
            ],
        )  # fmt: skip
    return key, codes, hot


def _body(codes: list[str], start: datetime, batch: int, step: int) -> bytes:
    readings = []
    for i in range(batch):
        at = start + timedelta(milliseconds=step * batch + i)
        readings.append({"sensor": codes[i % len(codes)], "time": at.isoformat(),
                         "value": 20.0 + (i % 50) / 10})  # fmt: skip
    return json.dumps({"readings": readings}).encode()


def _bodies(codes, total: int, batch: int) -> list[list[bytes]]:
    """Each stream's batches, built before the clock starts: the gateways' own JSON is not
    the server's work."""
    streams = len(codes)
    per_stream = max(1, total // (batch * streams))
    start = datetime.now(UTC) - timedelta(hours=2)
    return [[_body(codes[k], start, batch, n) for n in range(per_stream)] for k in range(streams)]


async def _throughput(http, key: str, bodies: list[list[bytes]]) -> tuple[int, float, int]:
    """(readings stored, seconds, refused batches)."""
    streams = len(bodies)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    stored = refused = 0

    async def stream(k: int) -> None:
        nonlocal stored, refused
        for body in bodies[k]:
            r = await http.post(URL, content=body, headers=headers)
            if r.status_code == 200:
                stored += r.json()["stored"]
            else:
                refused += 1
                if refused <= 3:
                    print(f"  refused: {r.status_code} {r.text[:200]}", flush=True)

    t0 = time.perf_counter()
    await asyncio.gather(*(stream(k) for k in range(streams)))
    return stored, time.perf_counter() - t0, refused


async def _breaches(http, key: str, hot: list[str]) -> tuple[list[float], int]:
    """Milliseconds from sending each breaching reading to the answer; anomalies opened."""
    headers = {"X-API-Key": key}
    times, opened = [], 0
    for code in hot:
        at = datetime.now(UTC) - timedelta(seconds=1)
        warm = {"readings": [{"sensor": code, "time": (at - timedelta(seconds=1)).isoformat(),
                              "value": 70.0}]}  # fmt: skip
        await http.post(URL, json=warm, headers=headers)
        body = {"readings": [{"sensor": code, "time": at.isoformat(), "value": 85.0}]}
        t0 = time.perf_counter()
        r = await http.post(URL, json=body, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        if r.status_code == 200 and r.json()["registered"]:
            opened += 1
    return times, opened


def _cpu(own: float, database: float, readings: int) -> None:
    """CPU per 1,000 readings: it holds on a shared machine where the rate does not."""
    per = 1000 / readings if readings else 0.0
    print(
        f"  CPU {own + database:.2f} s ({own:.2f} s API and worker, {database:.2f} s "
        f"PostgreSQL): {(own + database) * per:.3f} s per 1,000 readings "
        f"({own * per:.3f} + {database * per:.3f})",
        flush=True,
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(settings: Settings, total: int, batch: int, streams: int, breaches: int) -> None:
    import httpx
    import psycopg
    from temporalio.common import SearchAttributeKey
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from api.app import create_app
    from domain.db import make_engine, make_sessionmaker
    from domain.migrate import upgrade
    from domain.services.demo import load_demo
    from workers import registry
    from workers.embedded import SEARCH_ATTRIBUTES, EmbeddedPostgres, free_port, temporal_cli
    from workers.worker import build_alert_worker

    root = Path(tempfile.mkdtemp(prefix="plantops-bench-sensors-"))
    pg = EmbeddedPostgres(root / "data", free_port(), durable=False)
    print(f"sensors: scratch system in {root}; load average {_load()}", flush=True)
    pg.start()
    env = None
    try:
        with psycopg.connect(pg.url("postgres").replace("+psycopg", ""), autocommit=True) as c:
            c.execute('CREATE DATABASE "bench"')
        url = pg.url("bench")
        upgrade(url)
        engine = make_engine(url, pool_size=10, max_overflow=10)
        sessions = make_sessionmaker(engine)
        load_demo(sessions)
        key, codes, hot = _seed(sessions, streams, breaches)
        keys = [SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES]
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_cli(), search_attributes=keys, ui=False,
            dev_server_log_level="error",
        )  # fmt: skip
        queue = f"bench-sensors-{uuid.uuid4().hex[:6]}"
        bench_settings = settings.model_copy(
            update={"task_queue": queue, "database_url": url, "secret_key": "bench-" + "x" * 40}
        )
        app = create_app(bench_settings, sessions=sessions, temporal=env.client)
        with ThreadPoolExecutor(max_workers=16) as executor:
            worker = Worker(
                env.client, task_queue=queue, workflows=registry.WORKFLOWS,
                activities=registry.activities(sessions, bench_settings, client=env.client),
                activity_executor=executor,
            )  # fmt: skip
            alerts = build_alert_worker(env.client, sessions, queue, executor, bench_settings)
            transport = httpx.ASGITransport(app=app)
            async with (
                worker,
                alerts,
                httpx.AsyncClient(
                    transport=transport, base_url="http://bench", timeout=120
                ) as http,
            ):
                print(
                    f"A. {total} readings in batches of {batch}, {streams} gateways at once, "
                    f"{SENSORS_PER_STREAM} sensors each (one rule per sensor)",
                    flush=True,
                )
                bodies = _bodies(codes, total, batch)
                meter = CpuMeter(postmaster(root / "data")).start()
                own = time.process_time()
                stored, seconds, refused = await _throughput(http, key, bodies)
                own = time.process_time() - own
                rate = stored / seconds if seconds else 0.0
                print(f"  stored {stored} in {seconds:.2f} s: {rate:,.0f} readings/s"
                      f" ({refused} batches refused)", flush=True)  # fmt: skip
                _cpu(own, meter.seconds(), stored)
                print("A'. the same batches sent again (a gateway that did not hear the answer)")
                again, seconds, refused = await _throughput(http, key, bodies)
                print(f"  stored {again} new in {seconds:.2f} s ({refused} batches refused)")
                print(f"B. {len(hot)} breaches, each reading sent alone (bearing 85 °C vs 80 °C)")
                times, opened = await _breaches(http, key, hot)
                if times:
                    median = statistics.median(times)
                    print(f"  breach to anomaly registered: median {median:.0f} ms, "
                          f"p95 {_pct(times, 0.95):.0f} ms, max {max(times):.0f} ms "
                          f"({opened} of {len(hot)} opened)")  # fmt: skip
                print(f"load average {_load()} (1, 5, 15 min; {os.cpu_count()} cores, shared)")
        engine.dispose()
    finally:
        if env is not None:
            await env.shutdown()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
        gc.collect()


def cmd_bench_sensors(settings: Settings, args: argparse.Namespace) -> None:
    for name in ("readings", "batch", "streams", "breaches"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name} must be at least 1")
    if args.batch > 10_000:
        raise SystemExit("--batch is at most 10,000 (the endpoint's limit)")
    asyncio.run(run(settings, args.readings, args.batch, args.streams, args.breaches))
