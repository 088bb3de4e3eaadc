"""Work orders end to end: the Gherkin scenarios of seed 003 L.1 and the refusals of C.3."""

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.worker import Replayer

from tests.anomaly_helpers import PNG
from workers import registry

HISTORIES = Path(__file__).parent.parent / "histories"
BASE = "/api/v1/maintenance"
CHECKLIST = {
    "Work performed as specified": True,
    "All tasks completed": True,
    "Parts properly installed": True,
    "Guards/covers reinstalled": True,
    "LOTO removed by authorized person": True,
    "Test run performed": True,
    "Test run passed": True,
    "No abnormal noise/vibration/heat": True,
    "Safety devices functional": True,
    "Documentation complete": True,
}


async def _loaded(client, h, number):
    for _ in range(200):
        body = (await client.get(f"{BASE}/work-orders/{number}", headers=h)).json()
        if body["live"]:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(body)


async def _post(client, h, path, json=None, expect=200):
    r = await asyncio.wait_for(client.post(f"{BASE}{path}", json=json or {}, headers=h), 30)
    assert r.status_code == expect, (path, r.status_code, r.text)
    body = r.json()
    if r.is_success and body.get("asset_moving"):
        await _settled(client, h, path.split("/")[2])
    return body


async def _settled(client, h, number):
    """Once the asset's move that follows a start or verify answer is done."""
    for _ in range(600):
        body = (await client.get(f"{BASE}/work-orders/{number}", headers=h)).json()
        if body["live"] and not body["live"]["asset_moving"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(body)


async def _create(client, token_for, **fields) -> str:
    body = {
        "asset": "SAW-JKS-001",
        "type": "CORRECTIVE",
        "title": "Replace worn blade",
        "description": "Blade teeth worn, cut edge rough",
        "tasks": [
            {"description": "Replace the blade"},
            {
                "description": "Check blade run-out",
                "requires_measurement": True,
                "unit": "mm",
                "spec_max": 0.05,
            },
        ],
        **fields,
    }
    r = await client.post(f"{BASE}/work-orders", json=body, headers=token_for("supervisor"))
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    await _loaded(client, token_for("supervisor"), number)
    return number


async def _to_in_progress(client, token_for, number, loto=True):
    sup, tech = token_for("supervisor"), token_for("tech")
    await _post(client, sup, f"/work-orders/{number}/submit")
    await _post(client, token_for("manager"), f"/work-orders/{number}/approve")
    await _post(client, sup, f"/work-orders/{number}/schedule", {"assignee": "tech"})
    if loto:
        await _post(
            client,
            tech,
            f"/work-orders/{number}/permits",
            {"kind": "LOTO", "energy_sources": ["480V main"], "isolation_verified": True},
            201,
        )
    return await _post(client, tech, f"/work-orders/{number}/start")


async def _finish_work(client, token_for, number, evidence=("CHECKLIST",), loto=False):
    tech = token_for("tech")
    await _post(client, tech, f"/work-orders/{number}/tasks/1/complete", {})
    await _post(
        client, tech, f"/work-orders/{number}/tasks/2/complete", {"measurement_value": 0.02}
    )
    await _post(client, tech, f"/work-orders/{number}/labor", {"hours": 2.5}, 201)
    for kind in evidence:
        r = await client.post(
            f"{BASE}/work-orders/{number}/attachments",
            data={"kind": kind},
            files={"file": (f"{kind}.png", PNG, "image/png")},
            headers=tech,
        )
        assert r.status_code == 201, r.text
    await _post(client, tech, f"/work-orders/{number}/complete")
    if loto:
        await _post(client, tech, f"/work-orders/{number}/permits/LOTO/remove")
    return await _post(
        client,
        token_for("supervisor"),
        f"/work-orders/{number}/verify",
        {"checklist": CHECKLIST, "test_run_passed": True},
    )


async def _asset_status(client, token_for, ref="SAW-JKS-001"):
    r = await client.get(f"{BASE}/assets/{ref}", headers=token_for("manager"))
    return r.json()["status"]


async def test_c3_refusals_one_by_one_and_loto_scenario_6(client, token_for):
    sup, tech, mgr = token_for("supervisor"), token_for("tech"), token_for("manager")
    number = await _create(client, token_for, description="", requires_loto=True)
    r = await _post(client, sup, f"/work-orders/{number}/submit", expect=422)
    assert r["error"]["message"] == "cannot submit: description is required"

    number = await _create(client, token_for, requires_loto=True, estimated_cost=25_000)
    await _post(client, sup, f"/work-orders/{number}/submit")
    r = await _post(client, tech, f"/work-orders/{number}/approve", expect=403)
    assert r["error"]["type"] == "NotAllowed"
    r = await _post(client, sup, f"/work-orders/{number}/approve", expect=403)
    assert "exceeds the supervisor's approval limit" in r["error"]["message"]
    await _post(client, mgr, f"/work-orders/{number}/approve")
    r = await _post(client, tech, f"/work-orders/{number}/start", expect=409)
    assert "cannot go from APPROVED to IN_PROGRESS" in r["error"]["message"]
    await _post(client, sup, f"/work-orders/{number}/schedule", {"assignee": "tech"})

    # L.1 scenario 6: no LOTO permit, no start.
    r = await _post(client, tech, f"/work-orders/{number}/start", expect=422)
    assert r["error"]["message"] == "cannot start work: LOTO permit required"
    r = await _post(
        client,
        token_for("operator"),
        f"/work-orders/{number}/permits",
        {"kind": "LOTO", "energy_sources": ["480V"], "isolation_verified": True},
        403,
    )
    assert "may not issue permits" in r["error"]["message"]
    r = await _post(
        client,
        tech,
        f"/work-orders/{number}/permits",
        {"kind": "LOTO", "energy_sources": ["x"]},
        422,
    )
    assert r["error"]["field"] == "isolation_verified"
    await _post(
        client,
        tech,
        f"/work-orders/{number}/permits",
        {"kind": "LOTO", "energy_sources": ["480V main", "hydraulic accumulator"],
         "isolation_verified": True, "lock_numbers": ["L-17"]},
        201,
    )  # fmt: skip
    state = await _post(client, tech, f"/work-orders/{number}/start")
    assert state["status"] == "IN_PROGRESS"
    assert await _asset_status(client, token_for) == "MAINTENANCE"

    r = await _post(client, tech, f"/work-orders/{number}/complete", expect=422)
    message = r["error"]["message"]
    assert "task 1 not completed" in message and "no labour time logged" in message
    r = await _post(
        client, tech, f"/work-orders/{number}/tasks/2/complete", {"measurement_value": 0.09}
    )
    assert r["measurement_passed"] is False
    await _post(client, tech, f"/work-orders/{number}/tasks/1/complete", {})
    await _post(client, tech, f"/work-orders/{number}/labor", {"hours": 1.5}, 201)
    r = await _post(client, tech, f"/work-orders/{number}/complete", expect=422)
    assert "task 2 measurement out of spec" in r["error"]["message"]
    await _post(
        client, tech, f"/work-orders/{number}/tasks/2/complete", {"measurement_value": 0.03}
    )
    await _post(client, tech, f"/work-orders/{number}/complete")

    r = await _post(
        client, sup, f"/work-orders/{number}/verify",
        {"checklist": CHECKLIST, "test_run_passed": True}, 422,
    )  # fmt: skip
    assert "LOTO must be removed by an authorized person" in r["error"]["message"]
    await _post(client, tech, f"/work-orders/{number}/permits/LOTO/remove")
    state = await _post(
        client, sup, f"/work-orders/{number}/verify",
        {"checklist": CHECKLIST, "test_run_passed": False}, 200,
    )  # fmt: skip
    assert state["status"] == "ON_HOLD" and "test run not passed" in state["message"]
    assert "issue a new LOTO permit" in state["message"]  # rework never without lockout
    r = await _post(client, tech, f"/work-orders/{number}/resume", expect=422)
    assert "LOTO permit required" in r["error"]["message"]
    await _post(
        client, tech, f"/work-orders/{number}/permits",
        {"kind": "LOTO", "energy_sources": ["480V main"], "isolation_verified": True}, 201,
    )  # fmt: skip
    r = await _post(client, tech, f"/work-orders/{number}/permits/LOTO/remove", expect=409)
    assert "COMPLETED" in r["error"]["message"]  # not while the work goes on
    await _post(client, tech, f"/work-orders/{number}/resume")
    await _post(client, tech, f"/work-orders/{number}/complete")
    await _post(client, tech, f"/work-orders/{number}/permits/LOTO/remove")
    state = await _post(
        client,
        sup,
        f"/work-orders/{number}/verify",
        {"checklist": CHECKLIST, "test_run_passed": True},
    )
    assert state["status"] == "VERIFIED"
    assert await _asset_status(client, token_for) == "PENDING_RETURN"
    r = await _post(client, sup, f"/work-orders/{number}/close", expect=422)
    assert "evidence missing: CHECKLIST" in r["error"]["message"]
    r = await _post(client, tech, f"/work-orders/{number}/return-to-service", expect=403)
    assert "may not return to service" in r["error"]["message"]
    r = await _post(client, sup, f"/work-orders/{number}/return-to-service", expect=403)
    assert "CORRECTIVE" in r["error"]["message"]


async def test_scenario_3_standard_return_to_service(client, token_for, temporal_client):
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    state = await _finish_work(client, token_for, number)
    assert state["status"] == "VERIFIED"
    state = await _post(client, token_for("manager"), f"/work-orders/{number}/return-to-service")
    assert state["status"] == "CLOSED" and state["return_to_service"] == "DONE"
    assert await _asset_status(client, token_for) == "IN_SERVICE"
    history = (
        await client.get(f"{BASE}/work-orders/{number}/history", headers=token_for("auditor"))
    ).json()
    approval = next(h for h in history if h["action"] == "RTS_APPROVED_MAINTENANCE")
    assert approval["role"] == "MAINT_MANAGER" and approval["by"] == "Marcus Whitfield"

    for workflow_id, name in [(number, "work_order_rts"), ("ASSET-NORDIC-SAW-JKS-001", "asset_wo")]:
        recorded = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
        await Replayer(workflows=registry.WORKFLOWS).replay_workflow(recorded)
        if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
            (HISTORIES / f"{name}.json").write_text(recorded.to_json())


async def test_scenario_3_safety_related_requires_ehs(client, token_for):
    number = await _create(client, token_for, type="SAFETY_RELATED", title="Guard interlock")
    await _to_in_progress(client, token_for, number, loto=True)
    state = await _finish_work(
        client,
        token_for,
        number,
        ("CHECKLIST", "PHOTO_BEFORE", "PHOTO_AFTER", "SIGNATURE"),
        loto=True,
    )
    assert state["approvals_needed"] == ["MAINTENANCE", "EHS"]
    state = await _post(client, token_for("manager"), f"/work-orders/{number}/return-to-service")
    assert state["return_to_service"] == "BLOCKED" and "EHS approval required" in state["message"]
    assert state["status"] == "VERIFIED"
    assert await _asset_status(client, token_for) == "PENDING_RETURN"
    state = await _post(client, token_for("ehs"), f"/work-orders/{number}/return-to-service")
    assert state["status"] == "CLOSED"
    assert await _asset_status(client, token_for) == "IN_SERVICE"
    history = (
        await client.get(f"{BASE}/work-orders/{number}/history", headers=token_for("auditor"))
    ).json()
    assert any(h["action"] == "RTS_APPROVED_EHS" and h["role"] == "EHS" for h in history)


async def test_scenarios_1_and_5_breakdown_dispatch_and_downtime(client, token_for):
    op = token_for("operator")
    ten = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)
    r = await client.get(f"{BASE}/assets/SAW-JKS-001/dispatch", headers=op)
    assert r.json()["canDispatch"] is True
    report = await _post(
        client,
        op,
        "/reports/operator",
        {
            "asset": "SAW-JKS-001", "report_type": "BREAKDOWN", "severity": "HIGH",
            "symptom": "UNUSUAL_VIBRATION", "description": "Saw shakes and stopped",
            "stopped_equipment": True, "safety_hazard": False, "impacted_job": "JOB-001",
            "reported_at": ten.isoformat(),
        },
        201,
    )  # fmt: skip
    assert report["asset_status"] == "OUT_OF_SERVICE" and report["work_order_type"] == "BREAKDOWN"
    mgr = token_for("manager")
    dispatch = (await client.get(f"{BASE}/assets/SAW-JKS-001/dispatch", headers=mgr)).json()
    assert dispatch["canDispatch"] is False
    assert dispatch["blocks"][0] == {
        "type": "ASSET_STATUS",
        "message": "Asset is OUT_OF_SERVICE",
        "reason": f"breakdown reported by Kevin O'Neal ({report['work_order']})",
    }
    events = (await client.get(f"{BASE}/events", headers=mgr)).json()["items"]
    types = [e["type"] for e in events]
    assert types.index("downtime.started") < types.index("asset.status_changed")
    started = next(e for e in events if e["type"] == "downtime.started")
    assert started["payload"]["impacted_jobs"] == ["JOB-001"]
    changed = next(e for e in events if e["type"] == "asset.status_changed")
    assert changed["payload"]["to"] == "OUT_OF_SERVICE" and not changed["payload"]["dispatchable"]
    page = await client.get(f"{BASE}/events", params={"after": events[-1]["id"]}, headers=mgr)
    assert page.json()["items"] == []

    # Scenario 5: the downtime clock from 10:00 to 14:30 is 4.5 hours.
    r = await client.put(
        f"{BASE}/downtime/{report['downtime_id']}",
        json={"end_time": (ten + timedelta(hours=4, minutes=30)).isoformat(),
              "reason_code": "BD-MECH"},
        headers=mgr,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["duration_hours"] == 4.5 and record["reason_code"] == "BD-MECH"
    assert record["impacted_jobs"] == ["JOB-001"] and record["work_order"] == report["work_order"]

    # The breakdown work order through to return to service restores dispatch.
    number = report["work_order"]
    sup, tech = token_for("supervisor"), token_for("tech")
    await _post(client, mgr, f"/work-orders/{number}/approve")
    await _post(client, sup, f"/work-orders/{number}/schedule", {"assignee": "tech"})
    await _post(
        client, tech, f"/work-orders/{number}/permits",
        {"kind": "LOTO", "energy_sources": ["480V"], "isolation_verified": True}, 201,
    )  # fmt: skip
    await _post(client, tech, f"/work-orders/{number}/start")
    await _post(
        client, tech, f"/work-orders/{number}/tasks", {"description": "Replace bearing"}, 201
    )
    await _post(client, tech, f"/work-orders/{number}/tasks/1/complete", {})
    await _post(client, tech, f"/work-orders/{number}/labor", {"hours": 3}, 201)
    for kind in ("PHOTO_BEFORE", "PHOTO_AFTER", "CHECKLIST"):
        await client.post(
            f"{BASE}/work-orders/{number}/attachments", data={"kind": kind},
            files={"file": ("f.png", PNG, "image/png")}, headers=tech,
        )  # fmt: skip
    await _post(client, tech, f"/work-orders/{number}/complete")
    await _post(client, tech, f"/work-orders/{number}/permits/LOTO/remove")
    await _post(
        client,
        sup,
        f"/work-orders/{number}/verify",
        {"checklist": CHECKLIST, "test_run_passed": True},
    )
    state = await _post(client, mgr, f"/work-orders/{number}/return-to-service")
    assert state["status"] == "CLOSED"
    dispatch = (await client.get(f"{BASE}/assets/SAW-JKS-001/dispatch", headers=mgr)).json()
    assert dispatch == {"asset": "SAW-JKS-001", "canDispatch": True, "blocks": []}
    events = (await client.get(f"{BASE}/events", params={"type": "asset.status_changed"},
                               headers=mgr)).json()["items"]  # fmt: skip
    assert events[-1]["payload"]["to"] == "IN_SERVICE" and events[-1]["payload"]["dispatchable"]


async def test_scenario_4_parts_consumption(client, token_for, sessions):
    planner, tech = token_for("planner"), token_for("tech")
    await _post(
        client, planner, "/parts",
        {"part_number": "P-001", "name": "Blade 14in", "category": "MECHANICAL",
         "unit_cost": 80, "quantity_on_hand": 10, "reorder_point": 2},
        201,
    )  # fmt: skip
    await _post(
        client, planner, "/parts",
        {"part_number": "P-002", "name": "Bearing 6204", "category": "MECHANICAL",
         "unit_cost": 12, "quantity_on_hand": 3, "reorder_point": 5, "reorder_quantity": 20},
        201,
    )  # fmt: skip
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    await _post(
        client, tech, f"/work-orders/{number}/parts", {"part_number": "P-001", "quantity": 2}, 201
    )
    r = await _post(client, tech, "/parts/P-001/issue", {"work_order": number, "quantity": 2})
    assert r["part"]["quantity_on_hand"] == 8 and r["used"] == 2 and r["alerts"] == []
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=tech)).json()
    assert wo["parts"][0]["used"] == 2 and wo["parts_cost"] == 160

    r = await _post(client, tech, "/parts/P-002/issue", {"work_order": number, "quantity": 2})
    assert r["part"]["quantity_on_hand"] == 1 and r["alerts"] == ["parts.low_stock"]
    from domain.models import Notification

    with sessions() as s:
        told = {n.recipient_name for n in s.query(Notification).filter_by(event="LOW_STOCK")}
    assert "Priya Raman" in told  # the planner
    low = (await client.get(f"{BASE}/parts/low-stock", headers=planner)).json()["items"]
    assert [p["part_number"] for p in low] == ["P-002"]
    events = (await client.get(f"{BASE}/events", params={"type": "parts.low_stock"},
                               headers=planner)).json()["items"]  # fmt: skip
    assert events[0]["entity_id"] == "P-002" and events[0]["payload"]["reorder_quantity"] == 20
    r = await _post(client, tech, "/parts/P-002/issue", {"work_order": number, "quantity": 5}, 422)
    assert "insufficient stock" in r["error"]["message"]
    part = (await client.get(f"{BASE}/parts/P-002", headers=tech)).json()
    assert part["quantity_on_hand"] == 1  # nothing half-written
    r = await _post(client, planner, "/parts/P-002/receive", {"quantity": 20})
    assert r["quantity_on_hand"] == 21 and not r["low_stock"]


async def test_stop_work_holds_everything_until_ehs_clears(client, token_for):
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    waiting = await _create(client, token_for, title="Not started yet")
    swa = await _post(
        client, token_for("operator"), "/stop-work",
        {"asset": "SAW-JKS-001", "reason": "guard missing on the infeed"}, 201,
    )  # fmt: skip
    assert swa["held_work_orders"] == [number]
    assert await _asset_status(client, token_for) == "SAFETY_HOLD"
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=token_for("tech"))).json()
    assert wo["status"] == "ON_HOLD" and wo["live"]["safety_hold"]
    r = await _post(client, token_for("tech"), f"/work-orders/{number}/resume", expect=422)
    assert "stop-work safety hold" in r["error"]["message"]
    sup = token_for("supervisor")
    await _post(client, sup, f"/work-orders/{waiting}/submit")
    await _post(client, token_for("manager"), f"/work-orders/{waiting}/approve")
    await _post(client, sup, f"/work-orders/{waiting}/schedule", {"assignee": "tech"})
    r = await _post(client, token_for("tech"), f"/work-orders/{waiting}/start", expect=422)
    assert "stop-work safety hold" in r["error"]["message"]  # nothing starts there
    r = await _post(client, sup, f"/stop-work/{swa['stop_work_id']}/clear", {}, 403)
    assert "may not clear stop-work" in r["error"]["message"]
    await _post(
        client, token_for("ehs"), f"/stop-work/{swa['stop_work_id']}/clear",
        {"reason": "guard refitted and checked"},
    )  # fmt: skip
    state = await _post(client, token_for("tech"), f"/work-orders/{number}/resume")
    assert state["status"] == "IN_PROGRESS"
    state = await _finish_work(client, token_for, number)
    assert state["approvals_needed"] == ["MAINTENANCE", "EHS", "OPERATIONS"]
    await _post(client, token_for("ehs"), f"/work-orders/{number}/return-to-service")
    state = await _post(client, token_for("manager"), f"/work-orders/{number}/return-to-service")
    assert state["status"] == "VERIFIED" and "operations approval" in state["message"]
    r = await _post(
        client, token_for("operator"), f"/work-orders/{number}/return-to-service", expect=403
    )
    assert "may not return to service" in r["error"]["message"]
    state = await _post(client, token_for("opsmanager"), f"/work-orders/{number}/return-to-service")
    assert state["status"] == "CLOSED"
    assert await _asset_status(client, token_for) == "IN_SERVICE"


async def test_scenario_7_first_article(client, token_for):
    number = await _create(
        client, token_for, type="QUALITY_RELATED", title="Spindle replacement",
        requires_first_article=True,
    )  # fmt: skip
    await _to_in_progress(client, token_for, number, loto=False)
    await _finish_work(client, token_for, number)
    state = await _post(client, token_for("manager"), f"/work-orders/{number}/return-to-service")
    assert (
        state["status"] == "VERIFIED" and "first-article inspection not passed" in state["message"]
    )
    r = await _post(
        client, token_for("manager"), f"/work-orders/{number}/first-article", {"passed": True}, 403
    )
    assert "performed by QUALITY" in r["error"]["message"]
    state = await _post(
        client, token_for("quality"), f"/work-orders/{number}/first-article",
        {"passed": False, "notes": "bore 0.03 mm oversize"},
    )  # fmt: skip
    assert state["status"] == "IN_PROGRESS" and state["approvals"] == {}
    await _post(client, token_for("tech"), f"/work-orders/{number}/complete")
    await _post(
        client, token_for("supervisor"), f"/work-orders/{number}/verify",
        {"checklist": CHECKLIST, "test_run_passed": True},
    )  # fmt: skip
    await _post(client, token_for("manager"), f"/work-orders/{number}/return-to-service")
    state = await _post(
        client, token_for("quality"), f"/work-orders/{number}/first-article", {"passed": True}
    )
    assert state["status"] == "CLOSED"


async def test_work_order_from_an_anomaly_keeps_photos_notes_and_history(client, token_for):
    from tests.api.test_anomalies_api import REPORT, _live

    op = token_for("operator")
    r = await client.post("/api/v1/anomalies", json=REPORT, headers=op)
    ref = r.json()["reference"]
    body = await _live(client, token_for("supervisor"), ref, "ASSIGNED")
    tech = token_for(body["live"]["assignee"]["username"])
    eta = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
    await client.post(
        f"/api/v1/anomalies/{ref}/accept", json={"eta": eta, "safety_acknowledged": True},
        headers=tech,
    )  # fmt: skip
    await client.post(
        f"/api/v1/anomalies/{ref}/progress",
        json={"note": "Blade flange cracked, needs a shop repair", "loto_acknowledged": True},
        headers=tech,
    )
    await client.post(
        f"/api/v1/anomalies/{ref}/attachments", data={"kind": "BEFORE_PHOTO"},
        files={"file": ("cracked.png", PNG, "image/png")}, headers=tech,
    )  # fmt: skip
    r = await client.post(f"/api/v1/anomalies/{ref}/work-order", headers=op)
    assert r.status_code == 403
    r = await client.post(f"/api/v1/anomalies/{ref}/work-order", headers=tech)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    wo = await _loaded(client, tech, number)
    assert wo["source"] == "ANOMALY" and wo["source_reference"] == ref
    assert "Blade flange cracked" in wo["description"] and wo["requires_loto"]
    assert [(a["kind"], a["filename"], a["source"]) for a in wo["attachments"]] == [
        ("PHOTO_BEFORE", "cracked.png", ref)
    ]
    history = (await client.get(f"{BASE}/work-orders/{number}/history", headers=tech)).json()
    opened = next(h for h in history if h["action"] == "OPENED_FROM_ANOMALY")
    assert [h["action"] for h in opened["after"]["history"]][:2] == [
        "REGISTERED",
        "CRITICALITY_ASSESSED",
    ]
    r = await client.post(f"/api/v1/anomalies/{ref}/work-order", headers=tech)
    assert r.status_code == 409 and number in r.json()["error"]["message"]
    await _post(client, tech, f"/work-orders/{number}/submit")
    anomaly = (await client.get(f"/api/v1/anomalies/{ref}", headers=tech)).json()
    assert anomaly["work_orders"] == [
        {"number": number, "status": "SUBMITTED", "type": "CORRECTIVE"}
    ]


async def test_dispatch_blocks_on_overdue_pm_and_expired_certification(client, token_for, sessions):
    from domain.models import Asset, PmSchedule

    with sessions() as s, s.begin():
        asset = s.query(Asset).filter_by(asset_number="SAW-JKS-002").one()
        s.add(
            PmSchedule(
                organization_id=asset.organization_id, asset_id=asset.id,
                template_code="PM-SAW-M", name="Monthly saw PM",
                next_due_date=datetime.now(UTC) - timedelta(days=20),
                overdue_threshold_days=14, overdue_action="BLOCK",
            )
        )  # fmt: skip
    body = await client.get(f"{BASE}/assets/SAW-JKS-002/dispatch", headers=token_for("manager"))
    body = body.json()
    assert body["canDispatch"] is False
    assert body["blocks"] == [
        {"type": "PM_OVERDUE", "message": "PM overdue - asset blocked", "schedule": "PM-SAW-M",
         "days_overdue": 20}
    ]  # fmt: skip
    forklift = (
        await client.get(f"{BASE}/assets/FORKLIFT-JKS-002/dispatch", headers=token_for("manager"))
    ).json()
    assert [b["type"] for b in forklift["blocks"]] == ["CERTIFICATION_EXPIRED"]


async def test_scenario_7_spc_violation_drafts_a_quality_work_order(client, token_for, sessions):
    from domain.models import Notification

    r = await client.post(
        f"{BASE}/quality/spc-violations",
        json={"asset": "SAW-JKS-001", "violation_id": "SPC-4471", "rule": 4,
              "characteristic": "cut length"},
        headers=token_for("quality"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    wo = r.json()
    assert (wo["status"], wo["type"], wo["source"], wo["source_reference"]) == (
        "DRAFT", "QUALITY_RELATED", "SPC_VIOLATION", "SPC-4471"
    )  # fmt: skip
    with sessions() as s:
        told = {n.recipient_name for n in s.query(Notification).filter_by(event="SPC_VIOLATION")}
    assert {"Dolores Vega", "Wen Li"} <= told  # maintenance and quality


async def test_update_before_approval_only(client, token_for):
    sup = token_for("supervisor")
    number = await _create(client, token_for, description="")
    r = await client.put(
        f"{BASE}/work-orders/{number}", json={"description": "Blade wobbles at 3000 rpm"},
        headers=sup,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    await _post(client, sup, f"/work-orders/{number}/submit")  # the description now passes
    await _post(client, token_for("manager"), f"/work-orders/{number}/approve")
    r = await client.put(f"{BASE}/work-orders/{number}", json={"title": "Other"}, headers=sup)
    assert r.status_code == 409 and "can no longer be edited" in r.json()["error"]["message"]
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=sup)).json()
    assert wo["title"] == "Replace worn blade"  # the refused edit left nothing behind
    await _post(
        client, token_for("planner"), "/parts",
        {"part_number": "P-7", "name": "Gib", "category": "MECHANICAL"}, 201,
    )  # fmt: skip
    r = await client.put(f"{BASE}/parts/P-7", json={"reorder_point": 3}, headers=token_for("tech"))
    assert r.status_code == 403
    r = await client.put(
        f"{BASE}/parts/P-7", json={"reorder_point": 3}, headers=token_for("planner")
    )
    assert r.status_code == 200 and r.json()["reorder_point"] == 3


async def test_asset_returns_to_service_with_the_last_work_on_it(client, token_for):
    first = await _create(client, token_for, title="Replace blade")
    second = await _create(client, token_for, title="Fix the infeed guard")
    await _to_in_progress(client, token_for, first, loto=False)
    await _to_in_progress(client, token_for, second, loto=False)
    await _finish_work(client, token_for, first)
    state = await _post(client, token_for("manager"), f"/work-orders/{first}/return-to-service")
    assert state["status"] == "CLOSED" and second in state["message"]
    assert await _asset_status(client, token_for) != "IN_SERVICE"
    await _finish_work(client, token_for, second)
    state = await _post(client, token_for("manager"), f"/work-orders/{second}/return-to-service")
    assert state["status"] == "CLOSED"
    assert await _asset_status(client, token_for) == "IN_SERVICE"
