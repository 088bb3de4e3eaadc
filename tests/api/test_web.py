"""The web pages: session cookie, CSRF on every form, errors shown on the form."""

import re

from domain import demo_data


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _login(client, username: str = "supervisor") -> str:
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={
            "username": username,
            "password": demo_data.DEMO_PASSWORD,
            "csrf_token": _csrf(page.text),
            "next": "/assets",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/assets"
    return _csrf((await client.get("/assets")).text)


async def test_pages_need_a_session(client):
    r = await client.get("/assets/SAW-JKS-001")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/assets/SAW-JKS-001"


async def test_wrong_password_reshows_the_form(client):
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"username": "supervisor", "password": "nope", "csrf_token": _csrf(page.text)},
    )
    assert r.status_code == 401
    assert "invalid username or password" in r.text and 'value="supervisor"' in r.text


async def test_form_without_csrf_token_is_refused(client):
    await client.get("/login")
    r = await client.post(
        "/login", data={"username": "supervisor", "password": demo_data.DEMO_PASSWORD}
    )
    assert r.status_code == 403
    assert r.json()["error"]["field"] == "csrf_token"


async def test_status_change_from_the_asset_page(client):
    token = await _login(client)
    r = await client.post(
        "/assets/SAW-JKS-002/status",
        data={"status": "MAINTENANCE", "reason": "hydraulic leak", "csrf_token": token},
    )
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "Status changed to MAINTENANCE" in page.text
    assert "hydraulic leak" in page.text


async def test_refused_change_reshows_the_form_with_the_rule(client):
    token = await _login(client)
    r = await client.post(
        "/assets/SAW-JKS-002/status",
        data={"status": "MAINTENANCE", "reason": "blade change", "csrf_token": token},
    )
    assert r.status_code == 303
    r = await client.post(
        "/assets/SAW-JKS-002/status",
        data={"status": "IN_SERVICE", "reason": "looks fine", "csrf_token": token},
    )
    assert r.status_code == 422
    assert "must pass PENDING_RETURN" in r.text
    assert "looks fine" in r.text  # what was typed is kept


async def test_lower_meter_reading_is_shown_on_the_form(client):
    token = await _login(client, "tech")
    r = await client.post(
        "/assets/SAW-JKS-001/meters",
        data={"meter_type": "HOURS", "reading": "0", "csrf_token": token},
    )
    assert r.status_code == 422
    assert "lower than the last reading" in r.text


async def test_dashboard_counts_assets(client):
    await _login(client)
    page = await client.get("/")
    assert page.status_code == 200
    assert "Maintenance dashboard" in page.text and "JKS" in page.text
