"""Idempotent retries: a write repeated with its key is performed once, through the API
and through the web forms."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from domain.models import Anomaly, IdempotencyKey
from tests.anomaly_helpers import PNG
from tests.api.test_anomalies_api import BASE, REPORT, _live, _report
from tests.api.test_web_anomalies import FORM, _login


async def _in_progress(client, token_for) -> tuple[str, dict[str, str]]:
    ref, body = await _report(client, token_for)
    tech = token_for(body["assignee"])
    eta = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    r = await client.post(
        f"{BASE}/{ref}/accept", json={"eta": eta, "safety_acknowledged": True}, headers=tech
    )
    assert r.status_code == 200, r.text
    return ref, tech


async def test_a_retried_progress_note_is_recorded_once(client, token_for, sessions):
    ref, tech = await _in_progress(client, token_for)
    keyed = {**tech, "Idempotency-Key": "retry-3f1c9a"}
    note = {"note": "Locked out, flange bolts loose", "loto_acknowledged": True}
    first = await client.post(f"{BASE}/{ref}/progress", json=note, headers=keyed)
    again = await client.post(f"{BASE}/{ref}/progress", json=note, headers=keyed)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and first.json()["progress_notes"] == 1
    assert again.headers["idempotent-replayed"] == "true"
    live = (await _live(client, tech, ref, "IN_PROGRESS"))["live"]
    assert live["progress_notes"] == 1

    other = await client.post(
        f"{BASE}/{ref}/progress", json={**note, "note": "Another note"}, headers=keyed
    )
    assert other.status_code == 422
    assert other.json()["error"]["field"] == "Idempotency-Key"

    # Without a key every call acts, as before.
    r = await client.post(f"{BASE}/{ref}/progress", json=note, headers=tech)
    assert r.json()["progress_notes"] == 2
    with sessions() as s:
        row = s.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "retry-3f1c9a")).one()
        assert row.status_code == 200
        assert timedelta(hours=23) < row.expires_at - row.created_at <= timedelta(hours=24)
        # A day later the key is forgotten: the same request acts again.
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.commit()
    r = await client.post(f"{BASE}/{ref}/progress", json=note, headers=keyed)
    assert r.status_code == 200 and r.json()["progress_notes"] == 3


async def test_concurrent_duplicates_perform_once(client, token_for):
    ref, tech = await _in_progress(client, token_for)
    keyed = {**tech, "Idempotency-Key": "dup-77b2"}
    note = {"note": "Bearing housing warm, checking grease"}
    answers = await asyncio.gather(
        *(client.post(f"{BASE}/{ref}/progress", json=note, headers=keyed) for _ in range(4))
    )
    done = [a for a in answers if a.status_code == 200]
    assert done and all(a.status_code in (200, 409) for a in answers)
    assert all(a.json() == done[0].json() for a in done)
    live = (await _live(client, tech, ref, "IN_PROGRESS"))["live"]
    assert live["progress_notes"] == 1


async def test_a_key_is_per_user(client, token_for):
    r1 = await client.post(
        BASE,
        json={**REPORT, "title": "Chip conveyor jams"},
        headers={**token_for("operator"), "Idempotency-Key": "shared-key"},
    )
    r2 = await client.post(
        BASE,
        json={**REPORT, "title": "Guard rattles on the saw"},
        headers={**token_for("supervisor"), "Idempotency-Key": "shared-key"},
    )
    assert r1.status_code == r2.status_code == 201, r2.text
    assert r1.json()["reference"] != r2.json()["reference"]


async def test_a_double_submitted_form_reports_once(client, sessions):
    await _login(client, "operator")
    page = (await client.get("/anomalies/new")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    form = {**FORM, "title": "Clamp cylinder leaks oil", "csrf_token": csrf, "idempotency_key": key}
    photo = [("photos", ("leak.png", PNG, "image/png"))]
    first = await client.post("/anomalies/new", data=form, files=photo)
    again = await client.post("/anomalies/new", data=form, files=photo)
    assert first.status_code == again.status_code == 303, again.text
    assert first.headers["location"] == again.headers["location"]
    with sessions() as s:
        count = s.scalar(
            select(func.count(Anomaly.id)).where(Anomaly.title == "Clamp cylinder leaks oil")
        )
    assert count == 1
    # Every rendered form carries its own key.
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', page)
    fresh = re.findall(
        r'name="idempotency_key" value="([^"]+)"', (await client.get("/anomalies/new")).text
    )
    assert keys and fresh and set(keys).isdisjoint(fresh)


async def test_a_revoked_token_gets_no_stored_answer(client, token_for):
    ref, tech = await _in_progress(client, token_for)
    keyed = {**tech, "Idempotency-Key": "revoked-then-replayed"}
    note = {"note": "Checked the coupling", "loto_acknowledged": True}
    first = await client.post(f"{BASE}/{ref}/progress", json=note, headers=keyed)
    assert first.status_code == 200, first.text
    r = await client.post("/api/v1/auth/revoke", headers=tech)
    assert r.status_code < 300, r.text
    again = await client.post(f"{BASE}/{ref}/progress", json=note, headers=keyed)
    assert again.status_code == 401 and "idempotent-replayed" not in again.headers
