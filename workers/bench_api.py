"""`plantops bench api`: read latency and throughput of the lists and details, on a scratch
organisation seeded straight into the tables (10,000 anomalies and 10,000 work orders)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from domain.demo_data import DEMO_PASSWORD
from domain.models import (
    Anomaly,
    AnomalyAttachment,
    Area,
    Asset,
    AssetType,
    Meter,
    Organization,
    Site,
    User,
    WorkCenter,
    WorkOrder,
    WorkOrderLabor,
    WorkOrderTask,
)
from domain.passwords import hash_password
from domain.rules.asset_status import AssetStatus
from domain.rules.assets import AssetCategory, Criticality, MeterType
from workers.embedded import StartupError

ORG_CODE = "BENCH-READS"
VIEWER = "bench-reads-viewer"
ASSETS = 200
ROWS = 10_000
BATCH = 2_000
ANOMALY_STATUSES = ("REGISTERED", "ASSIGNED", "ESCALATED", "IN_PROGRESS", "RESOLVED", "CLOSED")
WO_STATUSES = ("DRAFT", "SCHEDULED", "IN_PROGRESS", "COMPLETED", "VERIFIED", "CLOSED")
LISTS = (
    ("asset list", "/api/v1/maintenance/assets?limit=50"),
    ("anomaly list", "/api/v1/anomalies?limit=50"),
    ("wo list", "/api/v1/maintenance/work-orders?limit=50"),
)


# -- seeding --


def seed(session: Session, rows: int = ROWS) -> tuple[int, int, int]:
    """The scratch organisation with `rows` anomalies and work orders; reused if there."""
    org = session.scalars(select(Organization).filter_by(code=ORG_CODE)).one_or_none()
    if org is None:
        org = _organisation(session)
    assets = session.scalars(select(Asset).filter_by(organization_id=org.id)).all()
    site = session.scalars(select(Site).filter_by(organization_id=org.id)).one()
    viewer = session.scalars(select(User).filter_by(username=VIEWER)).one()
    have = session.scalar(select(func.count()).where(Anomaly.organization_id == org.id)) or 0
    if have < rows:
        _anomalies(session, org.id, site, assets, viewer.id, have, rows)
    have_wo = session.scalar(select(func.count()).where(WorkOrder.organization_id == org.id)) or 0
    if have_wo < rows:
        _work_orders(session, org.id, assets, viewer.id, have_wo, rows)
    return len(assets), max(have, rows), max(have_wo, rows)


def _organisation(s: Session) -> Organization:
    org = Organization(code=ORG_CODE, name="Scratch organisation for the read benchmark")
    s.add(org)
    s.flush()
    o = {"organization_id": org.id}
    atype = AssetType(
        **o,
        code="PUMP",
        name="Pump",
        category=AssetCategory.UTILITY,
        required_competencies=["MECH"],
        safety_protocols=["LOTO"],
    )
    site = Site(**o, code="BR1", name="Bench plant", timezone="UTC")
    s.add_all([atype, site])
    s.flush()
    area = Area(**o, site_id=site.id, code="A1", name="Area one")
    s.add(area)
    s.flush()
    wc = WorkCenter(**o, area_id=area.id, code="WC1", name="Line one")
    s.add(wc)
    s.flush()
    s.add(
        User(
            **o,
            username=VIEWER,
            full_name="Bench Viewer",
            password_hash=hash_password(DEMO_PASSWORD),
            roles=["MAINT_MANAGER"],
            home_site_id=site.id,
        )
    )
    ids = s.scalars(
        insert(Asset).returning(Asset.id),
        [
            {
                **o,
                "asset_number": f"BR-{i:05d}",
                "name": f"Bench pump {i}",
                "type_id": atype.id,
                "criticality": (Criticality.A, Criticality.B, Criticality.C)[i % 3],
                "site_id": site.id,
                "area_id": area.id,
                "work_center_id": wc.id,
                "status": AssetStatus.IN_SERVICE,
                "manufacturer": "Acme",
            }
            for i in range(ASSETS)
        ],
    ).all()
    s.execute(
        insert(Meter),
        [{**o, "asset_id": i, "meter_type": MeterType.HOURS, "unit": "h"} for i in ids],
    )
    s.flush()
    return org


def _anomalies(s, org_id, site, assets, viewer_id, start, rows) -> None:
    now = datetime.now(UTC)
    for first in range(start, rows, BATCH):
        batch = []
        for i in range(first, min(first + BATCH, rows)):
            asset = assets[i % len(assets)]
            at = now - timedelta(minutes=rows - i)
            batch.append(
                {
                    "organization_id": org_id,
                    "reference": f"ANO-BR-{i:07d}",
                    "site_id": site.id,
                    "asset_id": asset.id,
                    "location": "line one",
                    "title": f"bench anomaly {i}",
                    "description": "seeded for the read benchmark: bearing noise",
                    "reporter_name": "Bench Viewer",
                    "channel": "API",
                    "detected_at": at,
                    "registered_at": at,
                    "enrichment": {"asset_number": asset.asset_number, "site_code": site.code},
                    "criticality": ("G1", "G2", "G3", "G4")[i % 4],
                    "criticality_score": 40 + i % 50,
                    "criticality_reasons": ["seeded"],
                    "status": ANOMALY_STATUSES[i % len(ANOMALY_STATUSES)],
                    "assignee_id": viewer_id if i % 2 else None,
                    "last_step": 1,  # as if its workflow had run: none is started for it
                }
            )
        ids = s.scalars(insert(Anomaly).returning(Anomaly.id), batch).all()
        s.execute(
            insert(AnomalyAttachment),
            [
                {
                    "anomaly_id": a,
                    "kind": "PHOTO",
                    "filename": "p.png",
                    "content_type": "image/png",
                    "size": 4,
                    "content": b"\x89PNG",
                    "uploaded_by": "Bench Viewer",
                }
                for a in ids[::5]
            ],
        )


def _work_orders(s, org_id, assets, viewer_id, start, rows) -> None:
    for first in range(start, rows, BATCH):
        batch = [
            {
                "organization_id": org_id,
                "number": f"WO-BR-{i:07d}",
                "type": ("CORRECTIVE", "PM", "INSPECTION")[i % 3],
                "source": "SUPERVISOR_REQUEST",
                "asset_id": assets[i % len(assets)].id,
                "title": f"bench work order {i}",
                "description": "seeded for the read benchmark",
                "status": WO_STATUSES[i % len(WO_STATUSES)],
                "assigned_to_id": viewer_id if i % 2 else None,
                "created_by": "Bench Viewer",
                "last_step": 1,  # as if its workflow had run: none is started for it
            }
            for i in range(first, min(first + BATCH, rows))
        ]
        ids = s.scalars(insert(WorkOrder).returning(WorkOrder.id), batch).all()
        s.execute(
            insert(WorkOrderTask),
            [
                {"work_order_id": w, "sequence": n, "description": f"step {n}"}
                for w in ids
                for n in (1, 2)
            ],
        )
        s.execute(
            insert(WorkOrderLabor),
            [
                {
                    "work_order_id": w,
                    "technician_name": "Bench Viewer",
                    "hours": 1.5,
                    "hourly_rate": 40.0,
                    "total_cost": 60.0,
                }
                for w in ids[::3]
            ],
        )


# -- measuring --


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)  # ms
    seconds: float = 0.0
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per side, when known

    def line(self, name: str, clients: int) -> str:
        from workers.bench import percentile

        n = len(self.latencies)
        if not n:
            return f"  {name:<22}{clients:>8}  no answers ({self.errors} errors)"
        p50, p95 = percentile(self.latencies, 50), percentile(self.latencies, 95)
        rps = n / self.seconds if self.seconds else 0.0
        cpu = "".join(
            f"{self.cpu[side] * 1000 / (n + self.errors):>9.1f}"
            if side in self.cpu
            else f"{'-':>9}"
            for side in ("api", "db")
        )
        return (
            f"  {name:<22}{clients:>8}{n:>8}{p50:>9.1f}{p95:>9.1f}{rps:>10.0f}{self.errors:>8}{cpu}"
        )


HEADER = (
    f"  {'read':<22}{'clients':>8}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>10}{'errors':>8}"
    f"{'api cpu':>9}{'db cpu':>9}"
)
CPU_NOTE = (
    "  api cpu / db cpu: CPU ms per request of the API's processes and of PostgreSQL's\n"
    "  (from /proc, on this machine only): the load of others blurs them less than times"
)


# -- CPU from /proc --


def listeners(port: int) -> list[int]:
    """The processes holding a listening TCP socket on `port` on this machine (readable
    ones only): the API's processes, or PostgreSQL's postmaster."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                found.append(int(pid))
        except OSError:
            continue
    return found


def cpu_seconds(roots: list[int]) -> float:
    """CPU time of `roots` and of their children (live ones, and those that have ended)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                cols = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, utime, stime, cutime, cstime = (int(cols[i]) for i in (1, 11, 12, 13, 14))
        if int(pid) in roots:
            total += utime + stime + cutime + cstime
        elif ppid in roots:
            total += utime + stime
    return total / tick


class Connection:
    """A bare HTTP/1.1 keep-alive connection that sends prepared GETs and reads the answers
    whole: the measuring client spends next to no CPU, so the API's figures are the API's
    own (a full client such as httpx costs about as much per request as a light read)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, request: bytes) -> int:
        if self.writer is not None:
            try:
                return await self._get(request)
            except (OSError, asyncio.IncompleteReadError):
                self.close()  # the server closed it while it was idle: once more on a new one
        return await self._get(request)

    async def _get(self, request: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            headers = head.lower()
            at = headers.find(b"\r\ncontent-length:")
            if at >= 0:
                end = headers.index(b"\r\n", at + 2)
                await self.reader.readexactly(int(headers[at + 17 : end]))
            elif b"transfer-encoding: chunked" in headers:
                while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                    await self.reader.readexactly(size + 2)
                await self.reader.readuntil(b"\r\n")
            if b"\r\nconnection: close" in headers:
                self.close()
            return status
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _request(host: str, path: str, token: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()


async def measure(
    pool: list[Connection],
    path: str,
    token: str,
    clients: int,
    count: int,
    sides: dict[str, list[int]] | None = None,
):
    request = _request(pool[0].host, path, token)
    figures = Figures()
    remaining = iter(range(count))

    async def client(conn: Connection) -> None:
        for _ in remaining:
            start = time.perf_counter()
            try:
                ok = await conn.get(request) == 200
            except (OSError, asyncio.IncompleteReadError, ValueError):
                ok = False
            if ok:
                figures.latencies.append((time.perf_counter() - start) * 1000)
            else:
                figures.errors += 1

    for conn in pool[:clients]:  # warm: connections, caches, the first query plans
        await conn.get(request)
    sides = {side: roots for side, roots in (sides or {}).items() if roots}
    before = {side: cpu_seconds(roots) for side, roots in sides.items()}
    start = time.perf_counter()
    await asyncio.gather(*(client(conn) for conn in pool[:clients]))
    figures.seconds = time.perf_counter() - start
    figures.cpu = {side: cpu_seconds(roots) - before[side] for side, roots in sides.items()}
    return figures


async def _token(http: httpx.AsyncClient, username: str) -> str | None:
    resp = await http.post(
        "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
    )
    return resp.json()["access_token"] if resp.is_success else None


async def _first(http: httpx.AsyncClient, token: str, path: str, key: str) -> str | None:
    resp = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    items = resp.json().get("items", []) if resp.is_success else []
    return items[0][key] if items else None


async def run(url: str, requests: int, demo_user: str | None, db_port: int | None = None) -> None:
    limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        try:
            token = await _token(http, VIEWER)
        except httpx.TransportError as err:
            raise StartupError(f"the API at {url} is not reachable ({err})") from None
        if token is None:
            raise StartupError(f"{VIEWER} cannot sign in: is the scratch organisation seeded?")
        reads = list(LISTS)
        ano = await _first(http, token, "/api/v1/anomalies?limit=1", "reference")
        wo = await _first(http, token, "/api/v1/maintenance/work-orders?limit=1", "number")
        reads += [("anomaly detail", f"/api/v1/anomalies/{ano}")]
        reads += [("wo detail", f"/api/v1/maintenance/work-orders/{wo}")]
        tokens = {name: token for name, _ in reads}
        # The seeded rows have no workflow behind them; a demo record has one.
        demo_token = await _token(http, demo_user) if demo_user else None
        if demo_token:
            for name, path, key, detail in (
                ("anomaly detail (wf)", "/api/v1/anomalies?limit=1", "reference",
                 "/api/v1/anomalies/"),
                ("wo detail (wf)", "/api/v1/maintenance/work-orders?limit=1", "number",
                 "/api/v1/maintenance/work-orders/"),
            ):  # fmt: skip
                ref = await _first(http, demo_token, path, key)
                if ref:
                    reads.append((name, detail + ref))
                    tokens[name] = demo_token
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise StartupError(f"the bench reads over plain http, not {url}")
        pool = [Connection(parts.hostname, parts.port or 80) for _ in range(20)]
        sides = {"api": listeners(parts.port or 80), "db": listeners(db_port) if db_port else []}
        print(f"load average before: {_load()}")
        print(HEADER)
        try:
            for clients in (1, 20):
                count = requests if clients == 1 else requests * 4
                for name, path in reads:
                    figures = await measure(pool, path, tokens[name], clients, count, sides)
                    print(figures.line(name, clients), flush=True)
        finally:
            for conn in pool:
                conn.close()
        print(f"load average after: {_load()}")
        print(CPU_NOTE)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cmd_bench_api(settings, args) -> None:
    from sqlalchemy.engine import make_url

    from domain.db import make_engine, make_sessionmaker, transaction
    from workers.cli import database_url

    url = (args.url or settings.web_url).rstrip("/")
    with database_url(settings) as db_url:
        db = make_url(db_url)
        db_port = (db.port or 5432) if db.host in (None, "localhost", "127.0.0.1", "::1") else None
        engine = make_engine(db_url)
        try:
            start = time.perf_counter()
            with transaction(make_sessionmaker(engine)) as session:
                assets, anomalies, work_orders = seed(session, args.rows)
            took = time.perf_counter() - start
        finally:
            engine.dispose()
    print(
        f"scratch organisation {ORG_CODE}: {assets} assets, {anomalies} anomalies, "
        f"{work_orders} work orders (ready in {took:.1f} s)"
    )
    print(f"reads through the API at {url}: {args.requests} at 1 client, "
          f"{args.requests * 4} at 20")  # fmt: skip
    _event_loop().run(run(url, args.requests, args.demo_user or None, db_port))


def _event_loop():
    """uvloop where installed (the API's own loop too): the lighter client."""
    try:
        import uvloop
    except ImportError:
        return asyncio
    return uvloop
