"""Seed 000 C1 (field reports, offline capable): the path the phone's waiting reports are
sent on. JSON answers, 401 for a session that has ended, the Idempotency-Key of the report
honoured across a new sign-in (photos included), refusals naming the field."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from api.app import create_app
from domain.models import Anomaly, AnomalyAttachment
from domain.models.sign_in import WebSession
from tests.anomaly_helpers import PNG
from tests.api.test_web_anomalies import FORM, _login

SEND = "/anomalies/new/send"


async def _ready(client) -> dict:
    r = await client.get("/anomalies/new/ready", headers={"Accept": "application/json"})
    assert r.status_code == 200
    return r.json()


async def _send(client, csrf: str, key: str, **fields) -> httpx.Response:
    return await client.post(
        SEND,
        data={**FORM, **fields, "idempotency_key": key},
        files=[("photos", ("leak.png", PNG, "image/png"))],
        headers={"Accept": "application/json", "X-CSRF-Token": csrf},
    )


def _count(sessions, title: str) -> tuple[int, int]:
    with sessions() as s:
        anomalies = s.scalar(select(func.count()).where(Anomaly.title == title))
        photos = s.scalar(
            select(func.count())
            .select_from(AnomalyAttachment)
            .join(Anomaly, Anomaly.id == AnomalyAttachment.anomaly_id)
            .where(Anomaly.title == title)
        )
    return anomalies, photos


async def test_a_waiting_report_is_registered_once_whatever_the_resends(client, sessions):
    key = "5f0c8e0e-1d8b-4b53-9a55-0c1f6b7e2a10"
    title = "Leak seen on the evening round"

    # Signed out (the cookie gone): the page learns it without a refusal, the send is 401.
    assert await _ready(client) == {"signed_in": False}
    r = await _send(client, "none", key, title=title)
    assert r.status_code == 401 and r.json()["error"]["message"] == "sign in to send"
    assert "location" not in r.headers  # JSON, never the sign-in page

    await _login(client, "operator")
    ready = await _ready(client)
    assert ready["signed_in"] is True and ready["user"] == "operator"
    first = await _send(client, ready["csrf"], key, title=title)
    assert first.status_code == 201, first.text
    ref = first.json()["reference"]
    assert first.json()["url"] == f"/anomalies/{ref}"

    # The answer was lost; the phone sends again: the same answer, nothing new.
    again = await _send(client, ready["csrf"], key, title=title)
    assert again.status_code == 201 and again.json()["reference"] == ref
    assert again.headers["Idempotent-Replayed"] == "true"

    # The session ends on the server (expired): 401, the report waits on the phone.
    with sessions.begin() as s:
        s.execute(update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert await _ready(client) == {"signed_in": False}
    expired = await _send(client, ready["csrf"], key, title=title)
    assert expired.status_code == 401

    # Signed in again (a new session, a new token): the resend is still the same request.
    await _login(client, "operator")
    after = await _send(client, (await _ready(client))["csrf"], key, title=title)
    assert after.status_code == 201 and after.json()["reference"] == ref
    assert _count(sessions, title) == (1, 1)

    # Without the page's token in its header, nothing is registered.
    forged = await _send(client, "forged", "another-key", title=title)
    assert forged.status_code == 403
    assert _count(sessions, title) == (1, 1)

    # Bad input: refused with the field named, for the phone to show where to fix it.
    csrf = (await _ready(client))["csrf"]
    r = await _send(client, csrf, "k-short", title="Short one here", description="leak")
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "description"
    assert error["message"] == "write at least 10 characters"
    r = await _send(client, csrf, "k-asset", title="Unknown machine", asset="NOPE-404")
    assert 400 <= r.status_code < 500 and r.json()["error"]["field"] == "asset", r.text
    assert _count(sessions, "Short one here") == (0, 0)
    assert _count(sessions, "Unknown machine") == (0, 0)


async def test_service_worker_and_page_scripts(settings):
    app = create_app(settings)  # no database needed for these files
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        sw = await c.get("/sw.js")
        assert sw.status_code == 200
        assert sw.headers["content-type"].startswith("text/javascript")
        assert sw.headers["service-worker-allowed"] == "/"
        assert "script-src 'self'" in sw.headers["content-security-policy"]
        assert 'importScripts("/static/js/report_queue.js")' in sw.text
        queue = (await c.get("/static/js/report_queue.js")).text
        assert "idempotency_key" in queue and "randomUUID" in queue
        page = (await c.get("/static/js/anomaly_new.js")).text
        assert "SpeechRecognition" in page and 'register("/sw.js"' in page
