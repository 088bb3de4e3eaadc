"""Interleavings through the API and the pages, against real PostgreSQL and Temporal: a
breakdown reported while its asset's stop-work is cleared, the same report sent twice,
another organisation's records through the reads built by PostgreSQL and through the
stop-work and report doors, a revoked token on a read, and content posted by a web form
for a role the API refuses. Tests marked xfail name a defect the fix flips."""

import asyncio
import re

from sqlalchemy import func, select

from domain.models import (
    AuditLog,
    DowntimeRecord,
    OperatorReport,
    StopWork,
    WorkOrder,
    WorkOrderTask,
)
from tests.api.test_web_anomalies import _login
from tests.api.test_work_orders_api import BASE, _create, _post, _to_in_progress

ASSET = "SAW-JKS-001"
REPORT = {
    "asset": ASSET,
    "report_type": "BREAKDOWN",
    "severity": "HIGH",
    "symptom": "FLUID_LEAK",
    "description": "Oil under the clamp cylinder",
    "stopped_equipment": True,
    "safety_hazard": False,
}


async def _live(client, headers, number: str) -> dict:
    r = await client.get(f"{BASE}/work-orders/{number}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_breakdown_reported_while_its_stop_work_is_cleared_leaves_nothing_held(
    client, token_for
):
    """Whichever of the clear and the report decides first, the report is whole, its work
    order is not left held by the cleared stop-work, and the asset is not in service."""
    operator, ehs, sup = token_for("operator"), token_for("ehs"), token_for("supervisor")
    raised = await _post(
        client, operator, "/stop-work", {"asset": ASSET, "reason": "Guard missing"}, 201
    )
    swa = raised["stop_work_id"]
    cleared, reported = await asyncio.gather(
        client.post(f"{BASE}/stop-work/{swa}/clear", json={"reason": "Guard refitted"},
                    headers=ehs),
        client.post(f"{BASE}/reports/operator", json=REPORT, headers=operator),
    )  # fmt: skip
    assert cleared.status_code == 200, cleared.text
    assert reported.status_code == 201, reported.text
    number = reported.json()["work_order"]
    body = await _live(client, sup, number)
    assert body["status"] == "SUBMITTED" and body["type"] == "BREAKDOWN"
    if number not in cleared.json()["unreached_work_orders"]:
        assert body["live"]["safety_hold"] is False, body["live"]
    assert body["asset_status"] in ("MAINTENANCE", "OUT_OF_SERVICE")


async def test_the_same_report_sent_twice_with_one_key_opens_one_work_order(
    client, token_for, sessions
):
    keyed = {**token_for("operator"), "Idempotency-Key": "report-twice-1"}
    report = {**REPORT, "description": "Clamp cylinder leaks, twice clicked"}
    answers = await asyncio.gather(
        *(client.post(f"{BASE}/reports/operator", json=report, headers=keyed) for _ in range(3))
    )
    done = [a for a in answers if a.status_code == 201]
    assert done and all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    assert all(a.json() == done[0].json() for a in done)
    with sessions() as s:
        reports = s.scalar(
            select(func.count(OperatorReport.id)).where(
                OperatorReport.description == report["description"]
            )
        )
        orders = s.scalar(
            select(func.count(WorkOrder.id)).where(WorkOrder.description == report["description"])
        )
    assert reports == orders == 1


async def test_a_double_clicked_report_form_reports_once(client, sessions):
    await _login(client, "operator")
    page = (await client.get(f"/report?asset={ASSET}")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    form = {
        "asset": ASSET, "report_type": "BREAKDOWN", "severity": "HIGH",
        "symptom": "FLUID_LEAK", "description": "Hydraulic hose burst, double click",
        "stopped_equipment": "yes", "safety_hazard": "no", "csrf_token": csrf,
        "idempotency_key": key,
    }  # fmt: skip
    first, again = await asyncio.gather(
        client.post("/report", data=form), client.post("/report", data=form)
    )
    assert {first.status_code, again.status_code} <= {303, 409}, (first.text, again.text)
    with sessions() as s:
        count = s.scalar(
            select(func.count(OperatorReport.id)).where(
                OperatorReport.description == form["description"]
            )
        )
    assert count == 1


async def test_another_organisation_reaches_no_stop_work_report_or_read(
    client, token_for, sessions
):
    number = await _create(client, token_for)
    raised = await _post(
        client, token_for("operator"), "/stop-work", {"asset": ASSET, "reason": "Guard off"}, 201
    )
    swa = raised["stop_work_id"]
    harbor_ehs, harbor = token_for("b-ehs"), token_for("b-manager")

    r = await client.post(
        f"{BASE}/stop-work/{swa}/clear", json={"reason": "not mine"}, headers=harbor_ehs
    )
    assert r.status_code == 404, r.text
    r = await client.post(f"{BASE}/stop-work", json={"asset": ASSET, "reason": "mine now"},
                          headers=token_for("b-operator"))  # fmt: skip
    assert r.status_code == 404, r.text
    r = await client.post(f"{BASE}/reports/operator", json=REPORT, headers=token_for("b-operator"))
    assert r.status_code == 404, r.text
    # Reads built by PostgreSQL: the detail is not found, the lists hold none of it.
    r = await client.get(f"{BASE}/work-orders/{number}", headers=harbor)
    assert r.status_code == 404, r.text
    page = (await client.get(f"{BASE}/work-orders?limit=500", headers=harbor)).json()
    assert number not in {i["number"] for i in page["items"]}
    assert all(not i["asset"].startswith("SAW-JKS") for i in page["items"])
    page = (await client.get(f"{BASE}/work-orders?asset={ASSET}", headers=harbor)).json()
    assert page["total"] == 0 and page["items"] == []
    assets = (await client.get(f"{BASE}/assets?limit=500", headers=harbor)).json()
    assert ASSET not in {a["asset_number"] for a in assets["items"]}
    with sessions() as s:
        row = s.get(StopWork, swa)
    assert row.cleared_at is None


async def test_a_revoked_token_reads_nothing(client, sessions):
    r = await client.post(
        "/api/v1/auth/token", data={"username": "supervisor", "password": _password()}
    )
    assert r.status_code == 200, r.text
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get(f"{BASE}/work-orders", headers=bearer)).status_code == 200
    assert (await client.post("/api/v1/auth/revoke", headers=bearer)).status_code == 204
    for path in (f"{BASE}/work-orders", f"{BASE}/assets", "/api/v1/anomalies"):
        r = await client.get(path, headers=bearer)
        assert r.status_code == 401 and "revoked" in r.text, (path, r.text)


def _password() -> str:
    from domain import demo_data

    return demo_data.DEMO_PASSWORD


async def test_content_forms_meet_the_api_doors(client, token_for, sessions):
    """The page's content forms refuse a role the API refuses, and another organisation."""
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    r = await client.post(
        f"{BASE}/work-orders/{number}/tasks/1/complete", json={}, headers=token_for("operator")
    )
    api_status = r.status_code
    assert api_status == 403, r.text
    for who, expected in (("operator", 403), ("auditor", 403), ("b-tech", 404)):
        csrf = await _login(client, who)
        r = await client.post(
            f"/work-orders/{number}/content/task-complete",
            data={"csrf_token": csrf, "sequence": "1", "notes": "done"},
        )
        assert r.status_code == expected, (who, r.status_code, r.text[:300])
        r = await client.post(
            f"/work-orders/{number}/content/permit-remove",
            data={"csrf_token": csrf, "kind": "LOTO"},
        )
        assert r.status_code in (403, 404), (who, r.status_code)
    with sessions() as s:
        wo = s.scalars(select(WorkOrder).where(WorkOrder.number == number)).one()
        done = s.scalars(
            select(WorkOrderTask.completed).where(WorkOrderTask.work_order_id == wo.id)
        ).all()
    assert not any(done)


async def test_a_stop_work_refused_by_the_asset_leaves_nothing_open(client, token_for, sessions):
    manager, operator = token_for("manager"), token_for("operator")
    await _post(
        client, manager, f"/assets/{ASSET}/status",
        {"status": "STORED", "reason": "Mothballed for the season"},
    )  # fmt: skip
    r = await client.post(
        f"{BASE}/stop-work", json={"asset": ASSET, "reason": "Guard missing"}, headers=operator
    )
    with sessions() as s:
        still_open = s.scalars(select(StopWork.id).where(StopWork.cleared_at.is_(None))).all()
    if r.status_code == 201:  # accepted: then it must be clearable
        swa = r.json()["stop_work_id"]
        r = await client.post(
            f"{BASE}/stop-work/{swa}/clear", json={"reason": "Guard refitted"},
            headers=token_for("ehs"),
        )  # fmt: skip
        assert r.status_code == 200, r.text
    else:
        assert 400 <= r.status_code < 500, r.text
        cleared = [
            await client.post(
                f"{BASE}/stop-work/{swa}/clear", json={"reason": "Guard refitted"},
                headers=token_for("ehs"),
            )
            for swa in still_open
        ]  # fmt: skip
        answers = [(c.status_code, c.json()["error"]["message"]) for c in cleared]
        assert still_open == [], f"refused ({r.status_code}) but left open {still_open}: {answers}"


async def test_a_breakdown_the_asset_refuses_is_whole_or_not_at_all(client, token_for, sessions):
    await _post(
        client, token_for("manager"), f"/assets/{ASSET}/status",
        {"status": "STORED", "reason": "Mothballed for the season"},
    )  # fmt: skip
    report = {**REPORT, "description": "Leak found on the stored saw"}
    r = await client.post(f"{BASE}/reports/operator", json=report, headers=token_for("operator"))
    with sessions() as s:
        orders = s.scalars(
            select(WorkOrder.number).where(WorkOrder.description == report["description"])
        ).all()
    if r.status_code != 201:
        assert 400 <= r.status_code < 500, r.text
        assert orders == [], f"refused ({r.status_code}: {r.text}) yet opened {orders}"


async def _breakdown_then_stop_work(client, token_for, sessions) -> tuple[dict, set]:
    operator = token_for("operator")
    report = {**REPORT, "description": "Hose burst on the clamp", "impacted_job": "JOB-9"}
    r = await client.post(f"{BASE}/reports/operator", json=report, headers=operator)
    assert r.status_code == 201, r.text
    raised = await _post(
        client, operator, "/stop-work", {"asset": ASSET, "reason": "Oil mist"}, 201
    )
    await _post(
        client, token_for("ehs"), f"/stop-work/{raised['stop_work_id']}/clear",
        {"reason": "Mist extracted"},
    )  # fmt: skip
    with sessions() as s:
        rows = s.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        for a in rows:
            assert a.user_name and a.user_role and a.occurred_at, (a.entity_type, a.action)
        return r.json(), {(a.entity_type, a.action) for a in rows}


async def test_the_steps_of_a_breakdown_and_a_stop_work_are_audited(client, token_for, sessions):
    """Who, role and when for the report, its work order, the asset's moves and the
    stop-work's raise and clear."""
    out, seen = await _breakdown_then_stop_work(client, token_for, sessions)
    wanted = {
        ("OPERATOR_REPORT", "REPORTED"),
        ("WORK_ORDER", "CREATED"),
        ("WORK_ORDER", "STATUS_SUBMITTED"),
        ("ASSET", "STATUS_CHANGE"),
        ("STOP_WORK", "STOP_WORK_RAISED"),
        ("STOP_WORK", "STOP_WORK_CLEARED"),
    }
    assert wanted <= seen, sorted(seen)
    assert out["downtime_id"] and out["asset_status"] == "OUT_OF_SERVICE"


async def test_the_downtime_a_breakdown_starts_is_audited(client, token_for, sessions):
    _, seen = await _breakdown_then_stop_work(client, token_for, sessions)
    assert "DOWNTIME" in {e for e, _ in seen}, sorted(seen)


async def test_cancelling_a_duplicate_breakdown_keeps_the_other_ones_downtime_running(
    client, token_for, sessions
):
    operator, manager = token_for("operator"), token_for("manager")
    first = await client.post(
        f"{BASE}/reports/operator",
        json={**REPORT, "description": "Clamp cylinder leaks oil"},
        headers=operator,
    )
    second = await client.post(
        f"{BASE}/reports/operator",
        json={**REPORT, "description": "Oil pouring from the clamp"},
        headers=token_for("supervisor"),
    )
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    one, two = first.json(), second.json()
    assert one["downtime_id"] == two["downtime_id"]  # the clock already running
    await _post(
        client, manager, f"/work-orders/{one['work_order']}/cancel",
        {"reason": "duplicate of " + two["work_order"]},
    )  # fmt: skip
    with sessions() as s:
        record = s.get(DowntimeRecord, two["downtime_id"])
        still = s.scalars(select(WorkOrder.status).where(WorkOrder.number == two["work_order"]))
        assert still.one() == "SUBMITTED"
        assert record.end_time is None, f"ended by {record.ended_by} with {two['work_order']} open"
