"""Safety, tenancy and the permission table at every door (seed 003 F.3, I.2, I.3, B):
the interleavings found by trying the product from outside, each one a regression test."""

import os

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Replayer

from domain.models import AuditLog, WorkOrder
from tests.anomaly_helpers import PNG, actor
from tests.api.test_web_anomalies import _login
from tests.api.test_work_orders_api import (
    BASE,
    CHECKLIST,
    HISTORIES,
    _asset_status,
    _create,
    _finish_work,
    _post,
    _to_in_progress,
)
from workers import registry
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import OverrideCriticalityRequest
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import MoveRequest


async def _stop_work(client, token_for, who="operator", asset="SAW-JKS-001"):
    return await _post(
        client, token_for(who), "/stop-work", {"asset": asset, "reason": "guard missing"}, 201
    )


async def _completed(client, token_for) -> str:
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    tech = token_for("tech")
    await _post(client, tech, f"/work-orders/{number}/tasks/1/complete", {})
    await _post(
        client, tech, f"/work-orders/{number}/tasks/2/complete", {"measurement_value": 0.02}
    )
    await _post(client, tech, f"/work-orders/{number}/labor", {"hours": 1.0}, 201)
    state = await _post(client, tech, f"/work-orders/{number}/complete")
    assert state["status"] == "COMPLETED"
    return number


async def test_verify_is_refused_while_a_stop_work_holds_the_asset(client, token_for):
    number = await _completed(client, token_for)
    await _stop_work(client, token_for)
    r = await _post(
        client,
        token_for("supervisor"),
        f"/work-orders/{number}/verify",
        {"checklist": CHECKLIST, "test_run_passed": True},
        409,
    )
    assert "stop-work safety hold" in r["error"]["message"]
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=token_for("tech"))).json()
    assert wo["status"] == "COMPLETED" and wo["live"]["safety_hold"]
    assert await _asset_status(client, token_for) == "SAFETY_HOLD"
    # A failed checklist cannot send the work back to the machine either.
    await _post(
        client,
        token_for("supervisor"),
        f"/work-orders/{number}/verify",
        {"checklist": {}, "test_run_passed": False},
        409,
    )
    # Holding and cancelling remain possible.
    r = await _post(client, token_for("manager"), f"/work-orders/{number}/close", expect=409)


async def test_return_to_service_after_a_cleared_stop_work_needs_all_three_and_the_asset(
    client, token_for, temporal_client
):
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    state = await _finish_work(client, token_for, number)
    assert state["status"] == "VERIFIED"
    swa = await _stop_work(client, token_for)
    r = await _post(
        client, token_for("manager"), f"/work-orders/{number}/return-to-service", expect=409
    )
    assert "stop-work" in r["error"]["message"]
    await _post(
        client,
        token_for("ehs"),
        f"/stop-work/{swa['stop_work_id']}/clear",
        {"reason": "guard refitted and checked"},
    )
    assert await _asset_status(client, token_for) == "MAINTENANCE"
    state = await _post(client, token_for("manager"), f"/work-orders/{number}/return-to-service")
    assert state["status"] == "VERIFIED"
    assert state["approvals_needed"] == ["MAINTENANCE", "EHS", "OPERATIONS"]
    # The operator is no longer the operations signature; the operations manager is.
    await _post(
        client, token_for("operator"), f"/work-orders/{number}/return-to-service", expect=403
    )
    state = await _post(client, token_for("ehs"), f"/work-orders/{number}/return-to-service")
    assert state["status"] == "VERIFIED"
    state = await _post(client, token_for("opsmanager"), f"/work-orders/{number}/return-to-service")
    assert state["status"] == "CLOSED" and state["return_to_service"] == "DONE"
    assert await _asset_status(client, token_for) == "IN_SERVICE"
    recorded = await temporal_client.get_workflow_handle(number).fetch_history()
    await Replayer(workflows=registry.WORKFLOWS).replay_workflow(recorded)
    if os.environ.get("PLANTOPS_RECORD_HISTORIES"):
        (HISTORIES / "work_order_stop_work_after_verify.json").write_text(recorded.to_json())


async def test_operations_manager_signs_nothing_else(client, token_for):
    number = await _create(client, token_for)
    ops = token_for("opsmanager")
    for move in ("submit", "approve", "start", "complete", "close", "cancel"):
        r = await _post(client, ops, f"/work-orders/{number}/{move}", {"reason": "x" * 5}, 403)
        assert r["error"]["type"] == "NotAllowed", move
    await _post(client, ops, f"/work-orders/{number}/labor", {"hours": 1}, 403)
    await _post(client, ops, "/work-orders", {"asset": "SAW-JKS-001", "type": "CORRECTIVE"}, 403)


async def test_another_organisation_reaches_nothing(
    client, token_for, sessions, temporal_client, settings
):
    number = await _create(client, token_for)
    await _post(client, token_for("supervisor"), f"/work-orders/{number}/submit")
    b_manager = token_for("b-manager")
    r = await client.get(f"{BASE}/work-orders/{number}", headers=b_manager)
    assert r.status_code == 404
    for move in ("approve", "reject", "cancel"):
        r = await _post(client, b_manager, f"/work-orders/{number}/{move}", {"reason": "no!"}, 404)
    await _post(client, b_manager, f"/work-orders/{number}/tasks", {"description": "Check it"}, 404)
    # Past the API, straight to the workflow: the workflow refuses it too.
    handle = temporal_client.get_workflow_handle(number)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(
            WorkOrderWorkflow.approve, MoveRequest(actor(sessions, "b-manager"), "")
        )
    assert err.value.cause.type == "NotFound"
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=token_for("manager"))).json()
    assert wo["status"] == "SUBMITTED"

    # An anomaly of the first organisation: the other's manager cannot override it.
    r = await client.post(
        "/api/v1/anomalies",
        json={"asset": "SAW-JKS-001", "title": "Blade wobble", "description": "Wobbles a lot"},
        headers=token_for("operator"),
    )
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    r = await client.post(
        f"/api/v1/anomalies/{ref}/criticality",
        json={"level": "G4", "reason": "not ours to judge"},
        headers=b_manager,
    )
    assert r.status_code == 404, r.text
    assert (await client.get(f"/api/v1/anomalies/{ref}", headers=b_manager)).status_code == 404
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await temporal_client.get_workflow_handle(ref).execute_update(
            AnomalyWorkflow.override_criticality,
            OverrideCriticalityRequest(actor(sessions, "b-manager"), "G4", "not ours to judge"),
        )
    assert err.value.cause.type == "NotFound"
    lists = (await client.get(f"{BASE}/work-orders", headers=b_manager)).json()
    assert lists["total"] == 0
    anomalies = (await client.get("/api/v1/anomalies", headers=b_manager)).json()
    assert all(a["reference"] != ref for a in anomalies["items"])
    events = (await client.get(f"{BASE}/events", headers=b_manager)).json()
    assert events["items"] == []
    # Files: the first organisation's evidence is not served to the other.
    r = await client.post(
        f"{BASE}/work-orders/{number}/attachments",
        data={"kind": "PHOTO_BEFORE"},
        files={"file": ("before.png", PNG, "image/png")},
        headers=b_manager,
    )
    assert r.status_code == 404, r.text
    kpis = (await client.get("/api/v1/anomalies/kpis", headers=b_manager)).json()
    assert ref not in str(kpis) and "JKS" not in str(kpis)
    # Pages: neither the anomaly's page nor its forms reach it for the other organisation.
    csrf = await _login(client, "b-manager")
    assert (await client.get(f"/anomalies/{ref}")).status_code == 404
    r = await client.post(
        f"/anomalies/{ref}/criticality",
        data={"level": "G4", "reason": "not ours to judge", "csrf_token": csrf},
    )
    assert r.status_code == 404
    with sessions() as s:
        b_org = actor(sessions, "b-manager").organization_id
        assert not s.scalars(select(WorkOrder).where(WorkOrder.organization_id == b_org)).all()
        assert not s.scalars(
            select(AuditLog).where(AuditLog.entity_id == number, AuditLog.user_name.like("%Trem%"))
        ).all()


async def test_doors_that_skipped_the_table(client, token_for):
    number = await _create(client, token_for)
    # An operator reports; it does not submit work orders.
    r = await _post(client, token_for("operator"), f"/work-orders/{number}/submit", expect=403)
    assert "OPERATOR" in r["error"]["message"]
    # Technicians issue parts; they do not receive stock.
    await _post(
        client, token_for("planner"), "/parts",
        {"part_number": "P-002", "name": "Bearing 6204", "category": "MECHANICAL",
         "unit_cost": 12, "quantity_on_hand": 3, "reorder_point": 1}, 201,
    )  # fmt: skip
    for who in ("tech", "fieldtech", "seniortech"):
        await _post(client, token_for(who), "/parts/P-002/receive", {"quantity": 5}, 403)
    await _post(client, token_for("planner"), "/parts/P-002/receive", {"quantity": 5})
    # An operator of saw line 1 writes nothing on the power station's generator.
    op = token_for("operator")
    await _post(client, op, "/stop-work", {"asset": "PP-GEN-001", "reason": "looks odd"}, 404)
    await _post(
        client, op, "/downtime", {"asset": "PP-GEN-001", "type": "BREAKDOWN",
                                  "reason_code": "BD-MECH"}, 404,
    )  # fmt: skip
    r = await client.post(
        "/api/v1/anomalies",
        json={"asset": "PP-GEN-001", "title": "Odd noise", "description": "Odd noise there"},
        headers=op,
    )
    assert r.status_code == 404, r.text
    await _post(
        client, op, "/reports/operator",
        {"asset": "PP-GEN-001", "report_type": "BREAKDOWN", "severity": "HIGH",
         "symptom": "OVERHEATING", "description": "Smoke from the generator",
         "stopped_equipment": True, "safety_hazard": False}, 404,
    )  # fmt: skip
    assert await _asset_status(client, token_for, "PP-GEN-001") == "IN_SERVICE"


async def test_web_forms_meet_the_same_table(client, token_for):
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    # An auditor's report form post opens nothing and moves no asset.
    csrf = await _login(client, "auditor")
    r = await client.post(
        "/report",
        data={"asset": "SAW-JKS-001", "report_type": "BREAKDOWN", "severity": "HIGH",
              "symptom": "FLUID_LEAK", "description": "Oil under the clamp",
              "stopped_equipment": "yes", "csrf_token": csrf},
    )  # fmt: skip
    assert r.status_code == 403
    assert await _asset_status(client, token_for) == "MAINTENANCE"
    # An operator cannot log labour through the page.
    csrf = await _login(client, "operator")
    r = await client.post(
        f"/work-orders/{number}/content/labor", data={"hours": "2", "csrf_token": csrf}
    )
    assert r.status_code == 403
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=token_for("tech"))).json()
    assert wo["labor"] == []
    r = await client.post(
        f"/work-orders/{number}/do/complete", data={"reason": "", "csrf_token": csrf}
    )
    assert r.status_code == 403
    # The technician list on the work-order page holds this organisation's people only.
    await _login(client, "supervisor")
    page = (await client.get(f"/work-orders/{number}")).text
    assert "Tyrone Jackson" in page and "Liam Roy" not in page
    # Another organisation's signed-in user gets nothing from the page or its forms.
    csrf = await _login(client, "b-manager")
    assert (await client.get(f"/work-orders/{number}")).status_code == 404
    r = await client.post(
        f"/work-orders/{number}/do/hold", data={"reason": "not ours", "csrf_token": csrf}
    )
    assert r.status_code == 404


async def test_the_asset_status_door_gets_round_no_stop_work_and_no_approval(client, token_for):
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    # A hold set by hand on the status door is a stop-work: the work under way is held.
    r = await client.post(
        "/api/v1/maintenance/assets/SAW-JKS-001/status",
        json={"status": "SAFETY_HOLD", "reason": "guard interlock bypassed"},
        headers=token_for("ehs"),
    )
    assert r.status_code == 200 and r.json()["status"] == "SAFETY_HOLD"
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=token_for("tech"))).json()
    assert wo["status"] == "ON_HOLD" and wo["live"]["safety_hold"]
    # No task is done and no part drawn under the hold; time already spent may be logged.
    r = await _post(client, token_for("tech"), f"/work-orders/{number}/tasks/1/complete", {}, 409)
    assert "stop-work" in r["error"]["message"]
    await _post(client, token_for("tech"), f"/work-orders/{number}/labor", {"hours": 0.5}, 201)
    r = await _post(
        client, token_for("tech"), f"/work-orders/{number}/labor",
        {"hours": 0.5, "technician": "operator"}, 422,
    )  # fmt: skip
    assert r["error"]["field"] == "technician"
    # Only clearing the stop-work releases the asset, not the status door.
    r = await client.post(
        "/api/v1/maintenance/assets/SAW-JKS-001/status",
        json={"status": "PENDING_RETURN", "reason": "looks fine now"},
        headers=token_for("ehs"),
    )
    assert r.status_code == 409 and "stop-work" in r.json()["error"]["message"]
    swa = (
        await client.post(
            f"{BASE}/stop-work", json={"asset": "SAW-JKS-001", "reason": "second look"},
            headers=token_for("operator"),
        )
    ).json()  # fmt: skip
    for swa_id in range(1, swa["stop_work_id"] + 1):
        await client.post(
            f"{BASE}/stop-work/{swa_id}/clear", json={"reason": "interlock refitted"},
            headers=token_for("ehs"),
        )  # fmt: skip
    assert await _asset_status(client, token_for) == "MAINTENANCE"
    # Work under way returns the asset through its own approvals, not by hand.
    for status in ("PENDING_RETURN", "IN_SERVICE"):
        r = await client.post(
            "/api/v1/maintenance/assets/SAW-JKS-001/status",
            json={"status": status, "reason": "manager says fine"},
            headers=token_for("manager"),
        )
        assert r.status_code == 409 and number in r.json()["error"]["message"]


async def test_no_link_to_another_organisations_anomaly(client, token_for):
    r = await client.post(
        "/api/v1/anomalies",
        json={"asset": "SAW-JKS-001", "title": "Blade wobble", "description": "Wobbles a lot"},
        headers=token_for("operator"),
    )
    ref = r.json()["reference"]
    r = await client.post(
        f"{BASE}/work-orders",
        json={"asset": "HBR-SAW-001", "type": "CORRECTIVE", "source": "ANOMALY",
              "source_reference": ref, "title": "Squat on their anomaly",
              "description": "Blocks the other organisation"},
        headers=token_for("b-planner"),
    )  # fmt: skip
    assert r.status_code == 404, r.text
    detail = (await client.get(f"/api/v1/anomalies/{ref}", headers=token_for("manager"))).json()
    assert detail["work_orders"] == []
    # An operator reads the dispatch state of its own work centre's assets only.
    r = await client.get(f"{BASE}/assets/PP-GEN-001/dispatch", headers=token_for("operator"))
    assert r.status_code == 404
    r = await client.get(f"{BASE}/assets/SAW-JKS-001/dispatch", headers=token_for("operator"))
    assert r.status_code == 200


async def test_a_breakdown_reported_on_a_held_or_stopped_asset_is_whole(client, token_for):
    report = {
        "asset": "SAW-JKS-001", "report_type": "BREAKDOWN", "severity": "HIGH",
        "symptom": "FLUID_LEAK", "description": "Oil under the clamp cylinder",
        "stopped_equipment": True, "safety_hazard": False,
    }  # fmt: skip
    await _stop_work(client, token_for)
    first = await _post(client, token_for("operator"), "/reports/operator", report, 201)
    assert first["asset_status"] == "SAFETY_HOLD" and first["downtime_id"]
    wo = (await client.get(f"{BASE}/work-orders/{first['work_order']}",
                           headers=token_for("tech"))).json()  # fmt: skip
    assert wo["status"] == "SUBMITTED" and wo["live"]["safety_hold"]
    assert await _asset_status(client, token_for) == "SAFETY_HOLD"
    # On an asset already out of service, a second report is recorded the same way.
    other = {**report, "asset": "SAW-JKS-002"}
    await _post(client, token_for("supervisor"), "/reports/operator", other, 201)
    again = await _post(client, token_for("supervisor"), "/reports/operator", other, 201)
    assert again["asset_status"] == "OUT_OF_SERVICE"
