"""The anomaly pages: report from a phone, act on the detail page, board, knowledge, outbox."""

import asyncio
import re

from domain import demo_data
from tests.anomaly_helpers import PNG


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _login(client, username: str) -> str:
    client.cookies.clear()
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={
            "username": username,
            "password": demo_data.DEMO_PASSWORD,
            "csrf_token": _csrf(page.text),
            "next": "/anomalies/new",
        },
    )
    assert r.status_code == 303
    return _csrf((await client.get("/")).text)


FORM = {
    "asset": "SAW-JKS-001",
    "title": "Hydraulic leak under the saw",
    "description": "Oil is dripping from the clamp cylinder onto the floor.",
    "safety_impact": "MINOR",
    "urgency": "SOON",
    "latitude": "32.29880",
    "longitude": "-90.25060",
}


async def _report(client) -> str:
    token = await _login(client, "operator")
    r = await client.post(
        "/anomalies/new",
        data={**FORM, "csrf_token": token},
        files=[("photos", ("leak.png", PNG, "image/png"))],
    )
    assert r.status_code == 303, r.text
    return r.headers["location"].split("?")[0].rsplit("/", 1)[1]


async def _until_assigned(client, ref: str) -> str:
    for _ in range(200):
        page = (await client.get(f"/anomalies/{ref}")).text
        if 'id="anomaly-status">assigned<' in page:
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(page)


async def test_report_form_on_a_phone(client):
    token = await _login(client, "operator")
    page = (await client.get("/anomalies/new?asset=saw-jks-001")).text
    assert 'name="viewport"' in page and 'capture="environment"' in page
    assert '<script src="/static/js/anomaly_new.js"' in page
    assert "navigator.geolocation" in (await client.get("/static/js/anomaly_new.js")).text
    assert 'value="SAW-JKS-001" selected' in page
    r = await client.post(
        "/anomalies/new", data={**FORM, "description": "leak", "csrf_token": token}
    )
    assert r.status_code == 422  # finding 3: a plain message at its field
    assert 'id="description-error">write at least 10 characters' in r.text
    assert 'value="Hydraulic leak under the saw"' in r.text  # what was typed stays


async def test_report_then_accept_on_the_detail_page(client):
    ref = await _report(client)
    page = await _until_assigned(client, ref)
    assert "photo before · leak.png" in page and "32.29880" in page
    await _login(client, "tech")
    page = (await client.get(f"/anomalies/{ref}")).text
    assert "Accept or decline" in page
    token = _csrf(page)
    r = await client.post(
        f"/anomalies/{ref}/accept", data={"eta": "2030-01-01T10:00", "csrf_token": token}
    )
    assert r.status_code == 422 and "safety requirements must be acknowledged" in r.text
    r = await client.post(
        f"/anomalies/{ref}/accept",
        data={"eta": "2030-01-01T10:00", "safety_acknowledged": "on", "csrf_token": token},
    )
    assert r.status_code == 303
    page = (await client.get(r.headers["location"])).text
    assert "accept recorded" in page and "Field work" in page
    r = await client.post(
        f"/anomalies/{ref}/attachments",
        data={"kind": "AFTER_PHOTO", "csrf_token": token},
        files={"file": ("after.png", PNG, "image/png")},
    )
    assert r.status_code == 303
    r = await client.post(f"/anomalies/{ref}/resolve", data={"csrf_token": token})
    assert r.status_code == 422 and "cannot resolve yet, missing: root cause" in r.text


async def test_board_queue_knowledge_and_outbox(client):
    ref = await _report(client)
    await _until_assigned(client, ref)
    board = (await client.get("/anomalies")).text
    assert ref in board and 'http-equiv="refresh"' in board
    assert (await client.get("/knowledge?q=flange")).status_code == 200
    r = await client.get("/outbox")
    assert r.status_code == 403
    await _login(client, "tech")
    queue = (await client.get("/anomalies/queue")).text
    assert ref in queue
    await _login(client, "supervisor")
    outbox = (await client.get("/outbox")).text
    assert f"[{ref}]" in outbox and ">HELD<" in outbox  # no provider in the suite settings


async def test_the_reports_photo_counts_as_the_before_photo(client):
    # The photo taken with the report is stored as the before photo: the technician must
    # not be told to take it again when resolving.
    ref = await _report(client)
    await _until_assigned(client, ref)
    await _login(client, "tech")
    token = _csrf((await client.get(f"/anomalies/{ref}")).text)
    r = await client.post(
        f"/anomalies/{ref}/accept",
        data={"eta": "2030-01-01T10:00", "safety_acknowledged": "on", "csrf_token": token},
    )
    assert r.status_code == 303
    r = await client.post(f"/anomalies/{ref}/resolve", data={"csrf_token": token})
    assert r.status_code == 422 and "missing: root cause" in r.text
    assert "after photo" in r.text and "before photo" not in r.text
