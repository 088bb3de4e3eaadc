"""The work-order pages: QR label to operator report, centre, detail, return to service."""

import re

from tests.anomaly_helpers import PNG
from tests.api.test_web_anomalies import _csrf, _login


async def test_qr_label_opens_the_report_form_with_the_asset(client):
    await _login(client, "operator")
    page = (await client.get("/assets/SAW-JKS-001")).text
    assert "/assets/SAW-JKS-001/qr.svg" in page and "/report?asset=SAW-JKS-001" in page
    svg = await client.get("/assets/SAW-JKS-001/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    form = (await client.get("/report?asset=saw-jks-001")).text
    assert 'value="SAW-JKS-001" selected' in form and 'capture="environment"' in form


async def test_operator_report_opens_a_breakdown_work_order(client):
    token = await _login(client, "operator")
    fields = {
        "asset": "SAW-JKS-001", "report_type": "BREAKDOWN", "severity": "HIGH",
        "symptom": "FLUID_LEAK", "description": "", "stopped_equipment": "yes",
        "safety_hazard": "no", "impacted_job": "JOB-7", "csrf_token": token,
    }  # fmt: skip
    r = await client.post("/report", data=fields)
    # Finding 3: the message is plain words, at its field.
    assert r.status_code == 422 and 'id="description-error">write at least 5 characters' in r.text
    assert "String should have" not in r.text
    assert 'value="JOB-7"' in r.text  # kept
    fields["description"] = "Oil under the clamp cylinder"
    r = await client.post(
        "/report", data=fields, files=[("photos", ("leak.png", PNG, "image/png"))]
    )
    assert r.status_code == 303, r.text
    number = re.search(r"/work-orders/(WO-\d{4}-\d{5})", r.headers["location"]).group(1)
    await _login(client, "supervisor")
    page = (await client.get(f"/work-orders/{number}")).text
    assert "breakdown" in page and "photo before · leak.png" in page and "submitted" in page
    asset = (await client.get("/assets/SAW-JKS-001")).text
    assert "OUT_OF_SERVICE" in asset
    centre = (await client.get("/work-orders?status=SUBMITTED")).text
    assert number in centre
    queue = (await client.get("/anomalies/queue")).text
    assert f"[{number}] Breakdown on SAW-JKS-001" in queue


async def test_detail_refusal_and_return_to_service_screen(client, token_for):
    r = await client.post(
        "/api/v1/maintenance/work-orders",
        json={"asset": "SAW-JKS-002", "type": "PM", "title": "Weekly PM",
              "description": "Lubricate and inspect", "requires_loto": True},
        headers=token_for("supervisor"),
    )  # fmt: skip
    number = r.json()["number"]
    token = await _login(client, "manager")
    for action in ("submit", "approve"):
        r = await client.post(f"/work-orders/{number}/do/{action}", data={"csrf_token": token})
        assert r.status_code == 303, r.text
    r = await client.post(f"/work-orders/{number}/do/schedule", data={"csrf_token": token})
    assert r.status_code == 303
    r = await client.post(f"/work-orders/{number}/do/start", data={"csrf_token": token})
    assert r.status_code == 422 and "LOTO permit required" in r.text
    page = (await client.get(f"/work-orders/{number}/return-to-service")).text
    assert "Return to service" in page and number in page
    assert _csrf(page)
