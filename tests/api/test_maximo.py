"""The Maximo intake (seed 000 C3) end to end on real PostgreSQL and the Temporal dev
server: the scheduled sync against a local server speaking the REST API's JSON (paging,
a 500 in the middle, a refusal that stops a run), uploads of pages and CSV exports,
the mapping tables, the configuration and the doors."""

import asyncio
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError
from temporalio.worker import Replayer

from domain.models import Anomaly, AuditLog, Notification, Organization
from domain.models.maximo import MaximoConfig, MaximoRecord
from tests.conftest import numbering_of_its_own
from workers import registry
from workflows.alert_watch import alert_queue, registration_watch_id
from workflows.maximo_schedule import ensure_maximo_schedules, schedule_id
from workflows.maximo_sync import MaximoSyncWorkflow
from workflows.maximo_sync_types import MaximoSyncInput

HISTORIES = Path(__file__).parent.parent / "histories"
BASE = "/api/v1/integrations/maximo"
KEY = "mx-key-0123456789"
T0 = datetime(2026, 11, 30, 6, tzinfo=UTC)


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _wo(wonum: str, status: str, assetnum: str, minutes: int, **extra) -> dict:
    return {
        "wonum": wonum,
        "siteid": "BEDFORD",
        "assetnum": assetnum,
        "status": status,
        "description": f"Work order {wonum}",
        "wopriority": 3,
        "reportdate": _at(minutes - 1),
        "changedate": _at(minutes),
        **extra,
    }


class FakeMaximo:
    """Answers /maximo/api/os/mxwo and /os/mxsr as Maximo's REST API does: lean JSON,
    `oslc.where` on changedate, oldest change first, `oslc.pageSize` and `pageno` paging
    with `responseInfo.nextPage.href`. `fail[(structure, pageno)]` lists the status codes
    to answer first for that page."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict]] = {"mxwo": [], "mxsr": []}
        self.requests: list[tuple[str, int, str | None, str | None]] = []
        self.fail: dict[tuple[str, int], list[int]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                structure = parts.path.rsplit("/", 1)[-1]
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                pageno, size = int(q.get("pageno", "1")), int(q.get("oslc.pageSize", "100"))
                where = q.get("oslc.where")
                fake.requests.append((structure, pageno, where, self.headers.get("apikey")))
                if self.headers.get("apikey") != KEY:
                    return self._answer(401, {"Error": {"message": "BMXAA7901E"}})
                pending = fake.fail.get((structure, pageno))
                if pending:
                    return self._answer(pending.pop(0), {"Error": {"message": "failed"}})
                rows = sorted(fake.records.get(structure, []), key=lambda r: r["changedate"])
                if where:
                    since = datetime.fromisoformat(where.split(">", 1)[1].strip('"'))
                    rows = [r for r in rows if datetime.fromisoformat(r["changedate"]) > since]
                chunk = rows[(pageno - 1) * size : pageno * size]
                info: dict = {"pagenum": pageno}
                if len(rows) > pageno * size:
                    nxt = urlencode({**q, "pageno": pageno + 1})
                    info["nextPage"] = {"href": f"{fake.base}/os/{structure}?{nxt}"}
                self._answer(200, {"member": chunk, "responseInfo": info})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/maximo/api"

    def pages(self, structure: str) -> list[int]:
        return [p for s, p, _, _ in self.requests if s == structure]


@pytest.fixture
def maximo():
    fake = FakeMaximo()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
async def schedules_ended(temporal_client: Client):
    """The configuration door creates the sync's schedule on the shared dev server."""
    made: list[str] = []
    yield made
    for sid in made:
        try:
            await temporal_client.get_schedule_handle(sid).delete()
        except RPCError:
            pass


def _org(sessions, code: str) -> int:
    with sessions() as s:
        return s.scalars(select(Organization.id).where(Organization.code == code)).one()


async def _map(client, admin, site: str, assetnum: str, asset: str) -> dict:
    r = await client.post(
        f"{BASE}/asset-map",
        headers=admin,
        json={"maximo_site": site, "assetnum": assetnum, "asset": asset},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _anomaly(sessions, org: int, wonum: str, kind: str = "WO") -> Anomaly:
    with sessions() as s:
        return s.scalars(
            select(Anomaly)
            .join(MaximoRecord, MaximoRecord.anomaly_id == Anomaly.id)
            .where(
                MaximoRecord.organization_id == org,
                MaximoRecord.external_id == wonum,
                MaximoRecord.kind == kind,
            )
        ).one()


async def _no_lifecycle(temporal_client: Client, sessions, task_queue: str, ref: str) -> None:
    """History pages no one: no lifecycle, no safety watch, no outbox row."""
    with pytest.raises(RPCError):
        await temporal_client.get_workflow_handle(ref).describe()
    query = f'TaskQueue = "{alert_queue(task_queue)}"'
    watches = [w.id async for w in temporal_client.list_workflows(query)]
    assert not [w for w in watches if w.startswith(f"{ref}-")]
    with sessions() as s:
        assert s.scalar(select(func.count()).where(Notification.reference == ref)) == 0


async def _sync(temporal_client: Client, task_queue: str, org: int, n: int):
    return await temporal_client.start_workflow(
        MaximoSyncWorkflow.run,
        MaximoSyncInput(org),
        id=f"MAXIMO-SYNC-T-{org}-{n}",
        task_queue=task_queue,
    )


async def test_the_sync_pages_retries_resumes_and_updates(
    client, token_for, sessions, temporal_client, task_queue, maximo, schedules_ended
):
    numbering_of_its_own(sessions)  # its lifecycles' ids are not an earlier test's
    admin = token_for("admin")
    org = _org(sessions, "NORDIC")
    r = await client.put(
        f"{BASE}/config",
        headers=admin,
        json={
            "base_url": maximo.base,
            "api_key": KEY,
            "interval_minutes": 60,
            "page_size": 2,
            "enabled": False,
        },
    )
    schedules_ended.append(schedule_id(org))
    assert r.status_code == 200, r.text
    assert r.json()["api_key_set"] is True and KEY not in r.text
    # The schedule: hourly, paused while the sync is disabled.
    described = await temporal_client.get_schedule_handle(schedule_id(org)).describe()
    assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
    assert described.schedule.state.paused is True
    await _map(client, admin, "BEDFORD", "11430", "PP-ST-001")
    await _map(client, admin, "bedford", "11450", "pp-gen-001")

    maximo.records["mxwo"] = [
        _wo("1001", "WAPPR", "11430", 1, wopriority=2),
        _wo("1002", "CLOSE", "11450", 2),  # history
        _wo("1003", "APPR", "99999", 3),  # an asset no one mapped
        _wo("1004", "INPRG", "11450", 4),
        _wo("1005", "COMP", "11430", 5),  # history
    ]
    maximo.records["mxsr"] = [
        {
            "ticketid": "SR501",
            "siteid": "BEDFORD",
            "assetnum": "11430",
            "status": "NEW",
            "description": "Oil mist near bearing 2",
            "changedate": _at(2),
        },
    ]
    maximo.fail[("mxwo", 2)] = [500]  # Maximo falls over in the middle of the run

    handle = await _sync(temporal_client, task_queue, org, 1)
    state = await handle.result()
    assert (state.status, state.created, state.refused, state.updated) == ("DONE", 5, 1, 0)
    # The failed page was read again, and only it; every call carried the key.
    assert maximo.pages("mxwo") == [1, 2, 2, 3] and maximo.pages("mxsr") == [1]
    assert {key for *_, key in maximo.requests} == {KEY}
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(MaximoRecord)) == 5
        assert s.scalar(select(func.count()).where(Anomaly.channel == "MAXIMO")) == 5
    run = (await client.get(f"{BASE}/runs", headers=token_for("manager"))).json()[0]
    assert run["source"] == "SYNC" and run["status"] == "DONE" and run["created"] == 5
    assert run["refusals"] == [
        {
            "site": "BEDFORD",
            "kind": "WO",
            "id": "1003",
            "reason": "asset BEDFORD/99999 is not in the asset map",
        }
    ]

    # History pages no one; an open record runs its lifecycle like any registration.
    for wonum in ("1002", "1005"):
        old = _anomaly(sessions, org, wonum)
        assert old.status == "CLOSED" and old.closed_at is not None
        await _no_lifecycle(temporal_client, sessions, task_queue, old.reference)
    first = _anomaly(sessions, org, "1001")
    assert first.channel == "MAXIMO" and first.title == "1001: Work order 1001"
    assert first.factors["urgency"] == "URGENT"  # priority 2
    await temporal_client.get_workflow_handle(first.reference).describe()
    query = f'TaskQueue = "{alert_queue(task_queue)}"'
    for _ in range(100):  # the list is eventually consistent
        watches = [w.id async for w in temporal_client.list_workflows(query)]
        if registration_watch_id(first.reference) in watches:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no safety watches for {first.reference}: {watches}")

    # Recorded for the replay tests: pages, a retried page, lifecycles started.
    history = await handle.fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(history)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "maximo_sync.json").write_text(history.to_json())

    # Next run: only what changed since the last change seen. 1001 changed; then Maximo
    # refuses page 2 outright: the run stops, its cursor kept at that page.
    maximo.requests.clear()
    maximo.records["mxwo"][0] = _wo("1001", "INPRG", "11430", 10, description="Pump leaks badly")
    maximo.records["mxwo"] += [_wo("1006", "CLOSE", "11430", 11), _wo("1007", "CLOSE", "11450", 12)]
    maximo.fail[("mxwo", 2)] = [403]
    status_before = _anomaly(sessions, org, "1001").status
    with pytest.raises(WorkflowFailureError):
        await (await _sync(temporal_client, task_queue, org, 2)).result()
    assert maximo.pages("mxwo") == [1, 2]
    assert f'changedate>"{_at(5)}"' == maximo.requests[0][2]
    with sessions() as s:
        cursor = s.scalars(select(MaximoConfig.cursor)).one()
    assert "pageno=2" in cursor["WO"]["next"] and cursor["WO"]["seen"] == _at(5)
    failed = (await client.get(f"{BASE}/runs", headers=admin)).json()[0]
    assert failed["status"] == "FAILED" and "403" in failed["note"]
    assert (failed["created"], failed["updated"]) == (1, 1)  # page 1 stands

    changed = _anomaly(sessions, org, "1001")
    assert changed.description.startswith("Pump leaks badly")
    assert changed.status != "CLOSED" and changed.status in (
        status_before,
        "ASSIGNED",
        "ESCALATED",
    )  # its lifecycle's
    with sessions() as s:
        audit = s.scalars(
            select(AuditLog).where(
                AuditLog.entity_id == changed.reference, AuditLog.action == "MAXIMO_CHANGED"
            )
        ).one()
    assert audit.user_name == "plantops Maximo import" and "status" not in audit.new_state
    assert audit.previous_state["maximo_status"] == "WAPPR"
    assert audit.new_state["maximo_status"] == "INPRG"

    # The next run resumes at the page that failed, with the filter it began with.
    maximo.requests.clear()
    state = await (await _sync(temporal_client, task_queue, org, 3)).result()
    assert maximo.pages("mxwo") == [2] and maximo.requests[0][2] == f'changedate>"{_at(5)}"'
    assert (state.created, state.updated, state.unchanged) == (1, 0, 0)
    with sessions() as s:
        cursor = s.scalars(select(MaximoConfig.cursor)).one()
        assert cursor["WO"] == {"next": None, "seen": _at(12)}
        assert s.scalar(select(func.count()).select_from(MaximoRecord)) == 7

    # The refused record's asset mapped, the admin asks to read everything again: it comes
    # in, and every record imported before is read once more and left as it was.
    await _map(client, admin, "BEDFORD", "99999", "PP-ST-002")
    r = await client.put(f"{BASE}/config", headers=admin, json={
        "base_url": maximo.base, "interval_minutes": 30, "page_size": 2, "enabled": True,
        "resync_from": _at(0)})  # fmt: skip
    assert r.status_code == 200 and r.json()["api_key_set"] is True  # the key was kept
    described = await temporal_client.get_schedule_handle(schedule_id(org)).describe()
    assert described.schedule.spec.intervals[0].every == timedelta(minutes=30)
    assert described.schedule.state.paused is False
    # A schedule Temporal lost is made again from the configuration at worker start.
    await temporal_client.get_schedule_handle(schedule_id(org)).delete()
    made = await ensure_maximo_schedules(temporal_client, sessions, task_queue)
    assert made == [schedule_id(org)]
    assert await ensure_maximo_schedules(temporal_client, sessions, task_queue) == []
    state = await (await _sync(temporal_client, task_queue, org, 4)).result()
    assert (state.created, state.updated, state.unchanged, state.refused) == (1, 0, 7, 0)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(MaximoRecord)) == 8
        assert s.scalar(select(func.count()).where(Anomaly.channel == "MAXIMO")) == 8


async def test_uploads_maps_and_doors(client, token_for, sessions, temporal_client, task_queue):
    numbering_of_its_own(sessions)
    admin, manager = token_for("admin"), token_for("manager")
    b_admin = token_for("b-admin")
    org, harbor = _org(sessions, "NORDIC"), _org(sessions, "HARBOR")
    entry = await _map(client, admin, "BEDFORD", "11430", "PP-ST-001")

    # Doors: admins change, managers read, others see nothing; each organisation its own.
    assert (await client.get(f"{BASE}/asset-map", headers=manager)).json()[0]["asset"] == (
        "PP-ST-001"
    )
    r = await client.post(
        f"{BASE}/asset-map",
        headers=manager,
        json={"maximo_site": "B", "assetnum": "1", "asset": "PP-ST-001"},
    )
    assert r.status_code == 403 and r.json()["error"]["type"] == "NotAllowed"
    assert (await client.get(f"{BASE}/runs", headers=token_for("tech"))).status_code == 403
    assert (await client.get(f"{BASE}/asset-map", headers=b_admin)).json() == []
    r = await client.put(
        f"{BASE}/asset-map/{entry['id']}", headers=b_admin, json={"asset": "HBR-SAW-001"}
    )
    assert r.status_code == 404
    r = await client.post(
        f"{BASE}/asset-map",
        headers=admin,
        json={"maximo_site": "BEDFORD", "assetnum": "1", "asset": "HBR-SAW-001"},
    )
    assert r.status_code == 404 and r.json()["error"]["field"] == "asset"
    r = await client.post(
        f"{BASE}/asset-map",
        headers=admin,
        json={"maximo_site": "BEDFORD", "assetnum": "11430", "asset": "PP-ST-002"},
    )
    assert r.status_code == 409

    # A page as the REST API returns it; the same page again changes nothing; a later
    # changedate updates the description.
    page = {"member": [_wo("2001", "WAPPR", "11430", 1), _wo("2002", "CAN", "11430", 2)]}
    r = await client.post(f"{BASE}/imports", headers=admin, json=page)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["created"], body["updated"], body["unchanged"], body["refused"]) == (2, 0, 0, 0)
    assert body["lifecycles_started"] == 1 and body["source"] == "JSON"
    again = (await client.post(f"{BASE}/imports", headers=admin, json=page)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    cancelled = _anomaly(sessions, org, "2002")
    assert cancelled.status == "CLOSED" and cancelled.resolution["outcome"] == "CANCELLED"
    await _no_lifecycle(temporal_client, sessions, task_queue, cancelled.reference)
    later = {"member": [_wo("2001", "WAPPR", "11430", 9, description="Seal replaced twice")]}
    body = (await client.post(f"{BASE}/imports", headers=admin, json=later)).json()
    assert (body["updated"], body["updated_references"]) == (
        1,
        [_anomaly(sessions, org, "2001").reference],
    )
    with sessions() as s:
        assert s.scalar(select(func.count()).where(Anomaly.channel == "MAXIMO")) == 2

    # Another organisation imports the same record into its own books, or is refused.
    refused = (await client.post(f"{BASE}/imports", headers=b_admin, json=page)).json()
    assert refused["refused"] == 2 and "not in the asset map" in refused["refusals"][0]["reason"]
    await _map(client, b_admin, "BEDFORD", "11430", "HBR-SAW-001")
    theirs = (await client.post(f"{BASE}/imports", headers=b_admin, json=page)).json()
    assert theirs["created"] == 2
    assert _anomaly(sessions, harbor, "2001").id != _anomaly(sessions, org, "2001").id
    assert (await client.get(f"{BASE}/runs/{theirs['id']}", headers=admin)).status_code == 404

    # The admin's status and priority tables decide; a CSV export reads the same way.
    r = await client.put(f"{BASE}/status-map/WO/WAPPR", headers=admin, json={"outcome": "CLOSED"})
    assert r.status_code == 200
    assert {
        "kind": "WO",
        "maximo_status": "WAPPR",
        "outcome": "CLOSED",
        "source": "ORGANIZATION",
    } in r.json()
    r = await client.put(
        f"{BASE}/priority-map/4",
        headers=admin,
        json={"urgency": "URGENT", "safety_impact": "MINOR"},
    )
    assert r.status_code == 200
    csv = (
        "wonum,siteid,assetnum,status,wopriority,description,changedate\n"
        f"3001,BEDFORD,11430,WAPPR,4,Guard loose,{_at(20)}\n"
        f"3002,BEDFORD,77777,WAPPR,3,Unknown pump,{_at(21)}\n"
        f"3003,BEDFORD,11430,WEIRD,3,Odd status,{_at(22)}\n"
    )
    r = await client.post(
        f"{BASE}/imports", headers=admin, files={"file": ("export.csv", csv, "text/csv")}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["source"], body["created"], body["refused"]) == ("CSV", 1, 2)
    assert [x["reason"] for x in body["refusals"]] == [
        "asset BEDFORD/77777 is not in the asset map",
        "status WEIRD has no entry in the status map",
    ]
    guard = _anomaly(sessions, org, "3001")
    assert guard.status == "CLOSED" and guard.factors["urgency"] == "URGENT"
    assert (await client.delete(f"{BASE}/status-map/WO/WAPPR", headers=admin)).status_code == 204
    assert (await client.delete(f"{BASE}/priority-map/4", headers=admin)).status_code == 204
    assert (await client.delete(f"{BASE}/priority-map/4", headers=admin)).status_code == 404
    four = (await client.get(f"{BASE}/priority-map", headers=manager)).json()[3]
    assert four == {"priority": 4, "urgency": "CAN_WAIT", "safety_impact": "NONE",
                    "source": "DEFAULT"}  # fmt: skip
    rows = (await client.get(f"{BASE}/status-map", headers=manager)).json()
    assert {"kind": "WO", "maximo_status": "WAPPR", "outcome": "OPEN", "source": "DEFAULT"} in rows
    with sessions() as s:
        by_admin = select(AuditLog.action).where(
            AuditLog.user_name == "Ingrid Solberg", AuditLog.action.like("MAXIMO_%")
        )
        actions = set(s.scalars(by_admin))
    assert {
        "MAXIMO_ASSET_MAPPED",
        "MAXIMO_STATUS_MAPPED",
        "MAXIMO_STATUS_UNMAPPED",
        "MAXIMO_PRIORITY_MAPPED",
    } <= actions

    # Bad input is named and writes nothing.
    r = await client.post(f"{BASE}/imports", headers=admin, json={"items": []})
    assert r.status_code == 422 and r.json()["error"]["field"] == "member"
    r = await client.post(
        f"{BASE}/imports", headers=admin, files={"file": ("x.csv", "a,b\n1,2\n", "text/csv")}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
    r = await client.put(f"{BASE}/config", headers=admin, json={"base_url": "ftp://mx/api"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "base_url"
    r = await client.put(f"{BASE}/status-map/XX/APPR", headers=admin, json={"outcome": "OPEN"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "kind"
    assert (await client.get(f"{BASE}/config", headers=manager)).status_code == 404

    # A mapping removed: the records imported through it stay; new ones are refused.
    gone = f"{BASE}/asset-map/{entry['id']}"
    assert (await client.delete(gone, headers=b_admin)).status_code == 404
    assert (await client.delete(gone, headers=admin)).status_code == 204
    late = {"member": [_wo("2009", "WAPPR", "11430", 30)]}
    body = (await client.post(f"{BASE}/imports", headers=admin, json=late)).json()
    assert (body["created"], body["refused"]) == (0, 1)
    assert _anomaly(sessions, org, "2001").status != "CLOSED"
