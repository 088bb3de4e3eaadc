"""The sensor pages: the sensors of each asset with their rules, a form that keeps its input
and shows each error at its field (a rule's at its row), edits, and other organisations."""

from tests.api.test_web_anomalies import _login

FORM = {
    "asset": "SAW-JKS-001",
    "code": "TT-101",
    "name": "Saw 1 main bearing",
    "kind": "TEMPERATURE",
    "unit": "°C",
    "expected_interval_seconds": "60",
    "is_active": "on",
    "rules.0.kind": "HIGH",
    "rules.0.threshold": "80",
    "rules.0.deadband": "2",
    "rules.0.for_seconds": "30",
    "rules.0.safety_impact": "SERIOUS",
    "rules.0.urgency": "URGENT",
}


async def test_sensor_pages_list_create_and_edit(client):
    token = await _login(client, "planner")
    page = await client.get("/sensors/new?asset=SAW-JKS-001")
    assert page.status_code == 200 and 'value="SAW-JKS-001" selected' in page.text
    bad = FORM | {"rules.1.kind": "RATE", "rules.1.threshold": "0", "csrf_token": token}
    r = await client.post("/sensors/new", data=bad)
    assert r.status_code == 422
    assert 'id="rules.1.threshold-error"' in r.text and "rate-of-change threshold" in r.text
    assert 'value="Saw 1 main bearing"' in r.text  # the input is kept
    r = await client.post("/sensors/new", data=FORM | {"meter_type": "MILES", "csrf_token": token})
    assert r.status_code == 422 and 'id="meter_type-error"' in r.text
    r = await client.post("/sensors/new", data=FORM | {"csrf_token": token})
    assert r.status_code == 303, r.text
    listed = await client.get("/sensors")
    assert "TT-101" in listed.text and "above 80 °C for at least 30 s" in listed.text
    edit = await client.get("/sensors/TT-101")
    assert edit.status_code == 200 and 'name="rules.0.id" value="' in edit.text
    changed = FORM | {"name": "Saw 1 bearing, drive end", "rules.0.kind": "", "csrf_token": token}
    r = await client.post("/sensors/TT-101", data=changed)
    assert r.status_code == 303
    listed = await client.get("/sensors?asset=SAW-JKS-001")
    assert "drive end" in listed.text and "no rules" in listed.text
    await _login(client, "tech")
    assert (await client.get("/sensors/new")).status_code == 403
    assert "TT-101" in (await client.get("/sensors")).text
    await _login(client, "b-planner")
    other = await client.get("/sensors")
    assert other.status_code == 200 and "TT-101" not in other.text
    assert (await client.get("/sensors/TT-101")).status_code == 404
