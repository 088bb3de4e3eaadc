"""`plantops bench maximo`: the Maximo import on a scratch database of its own (the demo
loaded): pages of work orders closed in Maximo imported (created), the same pages again
(unchanged), then each record with a later changedate (updated); records per second and
milliseconds per page. Open records add their lifecycle's start, which `plantops bench
anomalies` measures."""

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from domain.models import Organization
from domain.rules.maximo import Page, read_page
from domain.services import maximo as service
from workers.bench import latency_table

SITE, ASSETNUM, ASSET = "BENCH", "1", "PP-ST-001"


def add_arguments(bench) -> None:
    bench.add_argument("--page-size", type=int, default=100, help="maximo: records per page")


def _pages(count: int, size: int, minutes: int) -> list[Page]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    members = [
        {"wonum": str(i), "siteid": SITE, "assetnum": ASSETNUM, "status": "CLOSE",
         "wopriority": 3, "description": f"Bench work order {i}",
         "changedate": (t0 + timedelta(seconds=i)).isoformat()}
        for i in range(count)
    ]  # fmt: skip
    return [read_page({"member": members[i : i + size]}) for i in range(0, count, size)]


def cmd_bench_maximo(args: argparse.Namespace) -> None:
    import psycopg

    from domain.db import make_engine, make_sessionmaker
    from domain.migrate import upgrade
    from domain.services.demo import load_demo
    from workers.embedded import EmbeddedPostgres, free_port

    if args.page_size < 1:
        raise SystemExit("--page-size must be at least 1")
    root = Path(tempfile.mkdtemp(prefix="plantops-bench-maximo-"))
    pg = EmbeddedPostgres(root / "data", free_port(), durable=False)
    pg.start()
    try:
        with psycopg.connect(pg.url("postgres").replace("+psycopg", ""), autocommit=True) as c:
            c.execute('CREATE DATABASE "bench"')
        url = pg.url("bench")
        upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        load_demo(sessions)
        with sessions() as s:
            org = s.scalars(select(Organization.id).order_by(Organization.id)).first()
            admin = service.importer(org)
            service.map_asset(session=s, actor=admin, maximo_site=SITE, assetnum=ASSETNUM,
                              asset=ASSET)  # fmt: skip
            s.commit()
        print(f"Maximo import: {args.count} records, {args.page_size} a page, one transaction "
              "a page, on a scratch database", flush=True)  # fmt: skip
        latencies: dict[str, list[float]] = {}
        for phase, minutes in (("created", 0), ("unchanged", 0), ("updated", 60)):
            pages = _pages(args.count, args.page_size, minutes)
            latencies[phase] = []
            started = time.perf_counter()
            for page in pages:
                begun = time.perf_counter()
                with sessions() as s:
                    run = service.begin_run(session=s, actor=admin, source="JSON")
                    done = service.import_records(session=s, run=run, records=page.records,
                                                  refusals=page.refusals)  # fmt: skip
                    s.commit()
                latencies[phase].append((time.perf_counter() - begun) * 1000)
                got = {"created": len(done.created), "unchanged": done.unchanged,
                       "updated": len(done.updated)}[phase]  # fmt: skip
                if got != len(page.records):
                    raise SystemExit(f"{phase}: {got} of {len(page.records)} records")
            took = time.perf_counter() - started
            print(f"  {phase:<10} {args.count / took:8.0f} records/s ({took:.2f} s)")
        print(latency_table(list(latencies), latencies).replace("endpoint", "page    "))
        engine.dispose()
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
