"""What a detail reads from the database agrees with its workflow's live state after each
action: the fields both carry are equal, so they can be served from the rows alone. What
only the workflow knows (the event times, the voice call, the work order's next moves)
is still asked of it, and travels in `live`."""

from datetime import UTC, datetime, timedelta

from tests.anomaly_helpers import PNG
from tests.api.test_anomalies_api import BASE, _report
from tests.api.test_work_orders_api import BASE as WO_BASE
from tests.api.test_work_orders_api import _create, _post


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _anomaly_agrees(body: dict) -> None:
    live = body["live"]
    assert live is not None, "the workflow answered"
    assert body["reference"] == live["reference"]
    assert body["status"] == live["status"]
    assert body["criticality"] == live["criticality"]
    assert body["criticality_score"] == live["score"]
    assert body["criticality_reasons"] == live["reasons"]
    assert body["dashboard_flag"] == live["flag"]
    assert (body["alert_acknowledged_at"] is not None) == live["alert_acknowledged"]
    assert body["assignee"] == (live["assignee"] or {}).get("username")
    assert body["escalation_level"] == live["escalation_level"]
    assert _at(body["response_deadline"]) == _at(live["deadline"])
    assert _at(body["eta"]) == _at(live["eta"])
    log = body["work_log"]
    assert len(log.get("notes", [])) == live["progress_notes"]
    assert log.get("loto_acknowledged", False) == live["loto_acknowledged"]
    # Each decision the workflow logged after a write is an audit row; the log also holds
    # events with no row (assessment, a decline, a voice call, a failed notice).
    recorded = {e["action"] for e in live["events"]}
    assert {"ALERTED"} <= recorded


async def test_anomaly_detail_agrees_with_its_live_state(client, token_for):
    ref, body = await _report(client, token_for)
    sup = token_for("supervisor")
    _anomaly_agrees(body)
    tech = token_for(body["assignee"])
    eta = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    r = await client.post(
        f"{BASE}/{ref}/accept", json={"eta": eta, "safety_acknowledged": True}, headers=tech
    )
    assert r.status_code == 200, r.text
    _anomaly_agrees((await client.get(f"{BASE}/{ref}", headers=sup)).json())
    r = await client.post(
        f"{BASE}/{ref}/progress",
        json={"note": "Locked out, flange bolts loose", "loto_acknowledged": True},
        headers=tech,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{BASE}/{ref}/attachments",
        data={"kind": "BEFORE_PHOTO"},
        files={"file": ("b.png", PNG, "image/png")},
        headers=tech,
    )
    assert r.status_code == 201, r.text
    body = (await client.get(f"{BASE}/{ref}", headers=sup)).json()
    _anomaly_agrees(body)
    assert [a["kind"] for a in body["attachments"]] == body["live"]["attachment_kinds"]
    r = await client.post(
        f"{BASE}/{ref}/criticality", json={"level": "G1", "reason": "sparks seen"}, headers=sup
    )
    assert r.status_code == 200, r.text
    _anomaly_agrees((await client.get(f"{BASE}/{ref}", headers=sup)).json())


def _work_order_agrees(body: dict) -> None:
    live = body["live"]
    assert live is not None, "the workflow answered"
    assert body["number"] == live["number"]
    assert body["status"] == live["status"]
    assert body["type"] == live["type"]
    assert body["asset"] == live["asset_number"]
    assert body["after_stop_work"] == live["after_stop_work"]
    assert body["assigned_to_id"] == (live["assignee"] or {}).get("user_id")


async def test_work_order_detail_agrees_with_its_live_state(client, token_for):
    number = await _create(client, token_for)
    sup, tech = token_for("supervisor"), token_for("tech")
    detail = f"{WO_BASE}/work-orders/{number}"
    _work_order_agrees((await client.get(detail, headers=sup)).json())
    await _post(client, sup, f"/work-orders/{number}/submit")
    _work_order_agrees((await client.get(detail, headers=sup)).json())
    await _post(client, token_for("manager"), f"/work-orders/{number}/approve")
    await _post(client, sup, f"/work-orders/{number}/schedule", {"assignee": "tech"})
    _work_order_agrees((await client.get(detail, headers=sup)).json())
    await _post(
        client,
        tech,
        f"/work-orders/{number}/permits",
        {"kind": "LOTO", "energy_sources": ["480V main"], "isolation_verified": True},
        201,
    )
    await _post(client, tech, f"/work-orders/{number}/start")
    body = (await client.get(detail, headers=sup)).json()
    _work_order_agrees(body)
    assert body["status"] == "IN_PROGRESS" and body["permits"][0]["kind"] == "LOTO"
