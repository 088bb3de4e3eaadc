"""Bad input is refused at the edge with 422 naming the field, before it reaches a
workflow or the database; the lifecycle it aimed at keeps working."""

import asyncio
import json
import time

import pytest
from starlette.responses import JSONResponse

from api.errors import error_body
from domain import demo_data as demo
from domain.schemas.fields import text_problem
from tests.api.test_anomalies_api import REPORT, _report
from tests.api.test_web import _csrf, _login
from tests.api.test_work_orders_api import _create

ANOMALIES = "/api/v1/anomalies"
MAINT = "/api/v1/maintenance"
ASSETS = f"{MAINT}/assets"


def _raw(value: dict) -> dict:
    """A JSON body sent as written (Infinity, lone surrogates), with its header."""
    return {"content": json.dumps(value), "headers": {"Content-Type": "application/json"}}


def _field(r) -> str:
    assert r.status_code == 422, (r.status_code, r.text)
    return r.json()["error"]["field"]


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("pump noise \x00 check", True),
        ("lone \ud800 surrogate", True),
        ("bell \x07 and escape \x1b", True),
        ("delete \x7f and next-line \x85", True),
        ("lines\nand\r\ntabs\tare fine", False),
        ("accents, 漢字 and emoji 🔧 are fine", False),
    ],
)
def test_the_text_rule(text, refused):
    assert (text_problem(text) is not None) is refused


def test_a_refusal_echoing_unencodable_text_still_renders():
    body = JSONResponse(error_body("NotFound", "asset \ud800 not found", "\ud800")).body
    assert json.loads(body)["error"]["field"] == "\\ud800"


async def test_nul_in_a_criticality_reason_is_refused_and_the_anomaly_still_works(
    client, token_for
):
    ref, _ = await _report(client, token_for)
    sup = token_for("supervisor")
    bad = {"level": "G2", "reason": "pump noise \u0000 check"}
    r = await asyncio.wait_for(
        client.post(f"{ANOMALIES}/{ref}/criticality", json=bad, headers=sup), 5
    )
    assert _field(r) == "reason"
    assert "NUL" in r.json()["error"]["message"]
    r = await client.post(
        f"{ANOMALIES}/{ref}/criticality",
        json={"level": "G2", "reason": "pump noise, check it"},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    detail = (await client.get(f"{ANOMALIES}/{ref}", headers=sup)).json()
    assert detail["criticality"] == detail["live"]["criticality"] == "G2"


async def test_reassign_decline_and_progress_refuse_nul_and_control_characters(client, token_for):
    ref, body = await _report(client, token_for)
    sup, tech = token_for("supervisor"), token_for(body["assignee"])
    for path, who, payload, field in [
        ("reassign", sup, {"reason": "closer \x00 tech"}, "reason"),
        ("decline", tech, {"reason": "busy \x1b[31m"}, "reason"),
        ("progress", tech, {"note": "bolts \x00 loose"}, "note"),
        ("reassign", sup, {"assignee": "te\x00ch", "reason": "closer tech"}, "assignee"),
    ]:
        r = await client.post(f"{ANOMALIES}/{ref}/{path}", json=payload, headers=who)
        assert _field(r) == field, path
    live = (await client.get(f"{ANOMALIES}/{ref}", headers=sup)).json()["live"]
    assert live["status"] in ("ASSIGNED", "ESCALATED")


async def test_lone_surrogate_and_overlong_text_are_422(client, token_for):
    op = token_for("operator")
    raw = _raw({**REPORT, "title": "Blade \ud800 wobble"})
    r = await client.post(ANOMALIES, content=raw["content"], headers={**op, **raw["headers"]})
    assert _field(r) == "title"
    raw = _raw({**REPORT, "\ud800": 1})
    r = await client.post(ANOMALIES, content=raw["content"], headers={**op, **raw["headers"]})
    assert _field(r) == "body"
    r = await client.post(ANOMALIES, json={**REPORT, "title": "x" * 201}, headers=op)
    assert _field(r) == "title"
    r = await client.post(ANOMALIES, json={**REPORT, "description": "x" * 10_001}, headers=op)
    assert _field(r) == "description"


async def test_nul_in_a_work_order_edit_is_422_at_once(client, token_for):
    number = await _create(client, token_for)
    sup = token_for("supervisor")
    started = time.monotonic()
    r = await client.put(
        f"{MAINT}/work-orders/{number}", json={"description": "worn \x00 blade"}, headers=sup
    )
    assert _field(r) == "description"
    assert time.monotonic() - started < 5
    assert "SQL" not in r.text
    r = await client.put(
        f"{MAINT}/work-orders/{number}", json={"description": "worn blade, replace"}, headers=sup
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("reading", ["Infinity", "-Infinity", "NaN", "9.7e307"])
async def test_meter_reading_must_be_finite_and_in_range(client, token_for, reading):
    body = '{"meter_type": "HOURS", "reading": ' + reading + "}"
    r = await client.post(
        f"{ASSETS}/SAW-JKS-001/meters",
        content=body,
        headers={**token_for("supervisor"), "Content-Type": "application/json"},
    )
    assert _field(r) == "reading"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity_on_hand": 9.7e307}, "quantity_on_hand"),
        ({"unit_cost": 1e300}, "unit_cost"),
        ({"warehouse_location": "W" * 61}, "warehouse_location"),
        ({"lead_time_days": 2**40}, "lead_time_days"),
        ({"name": "seal\x00kit"}, "name"),
    ],
)
async def test_part_numbers_and_texts_are_bounded(client, token_for, body, field):
    part = {"part_number": "HYG-1", "name": "Seal kit", "category": "MECHANICAL", **body}
    r = await client.post(f"{MAINT}/parts", json=part, headers=token_for("planner"))
    assert _field(r) == field


async def test_part_receive_refuses_infinity(client, token_for):
    r = await client.post(
        f"{MAINT}/parts/FL-220/receive",
        content='{"quantity": Infinity}',
        headers={**token_for("manager"), "Content-Type": "application/json"},
    )
    assert _field(r) == "quantity"


@pytest.mark.parametrize(
    "url",
    [
        f"{ASSETS}?offset={2**64}",
        f"{ANOMALIES}?offset={2**64}",
        f"{MAINT}/work-orders?offset={2**63}",
        f"{MAINT}/events?after={2**64}",
        f"{MAINT}/events?after={2**31}",
        f"{ANOMALIES}/ANO-2026-000001/attachments/{2**64}",
        f"{ANOMALIES}/ANO-2026-000001/attachments/{2**31}",
    ],
)
async def test_offsets_and_ids_stay_within_their_columns(client, token_for, url):
    r = await client.get(url, headers=token_for("manager"))
    assert _field(r) in ("offset", "after", "attachment_id")


async def test_a_row_id_past_32_bits_is_422(client, token_for):
    r = await client.put(f"{MAINT}/downtime/{2**31}", json={}, headers=token_for("manager"))
    assert _field(r) == "downtime_id"


async def test_a_unicode_digit_in_a_path_is_not_found(client, token_for):
    r = await client.get(f"{ASSETS}/%C2%B9", headers=token_for("manager"))
    assert r.status_code == 404
    for digits in ("9" * 30, str(2**31)):
        r = await client.get(f"{ASSETS}/{digits}", headers=token_for("manager"))
        assert r.status_code == 404


async def test_nul_in_a_query_string_or_path_names_the_field(client, token_for):
    r = await client.get(f"{ANOMALIES}?assignee=te%00ch", headers=token_for("manager"))
    assert _field(r) == "assignee"
    r = await client.get(f"{ASSETS}/SAW%00", headers=token_for("manager"))
    assert _field(r) == "path"


async def test_null_for_a_boolean_is_422(client, token_for):
    ref, body = await _report(client, token_for)
    r = await client.post(
        f"{ANOMALIES}/{ref}/accept",
        json={"eta": "2030-01-01T08:00:00Z", "safety_acknowledged": None},
        headers=token_for(body["assignee"]),
    )
    assert _field(r) == "safety_acknowledged"


@pytest.mark.parametrize("content", [b"", b"{", b'{"username": "manager",', b"\xff\xfe"])
async def test_token_endpoint_answers_422_to_malformed_json(client, content):
    r = await client.post(
        "/api/v1/auth/token", content=content, headers={"Content-Type": "application/json"}
    )
    assert _field(r) == "body"


async def test_token_endpoint_refuses_nul_in_json_and_in_the_form(client):
    r = await client.post(
        "/api/v1/auth/token", json={"username": "man\x00ager", "password": demo.DEMO_PASSWORD}
    )
    assert _field(r) == "username"
    r = await client.post(
        "/api/v1/auth/token", data={"username": "man\x00ager", "password": demo.DEMO_PASSWORD}
    )
    assert _field(r) == "username"


async def test_web_login_refuses_nul(client):
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"username": "super\x00visor", "password": "x", "csrf_token": _csrf(page.text)},
    )
    assert _field(r) == "username"


async def test_web_work_order_action_refuses_nul_in_its_reason(client, token_for):
    number = await _create(client, token_for)
    token = await _login(client, "supervisor")
    r = await client.post(
        f"/work-orders/{number}/do/cancel",
        data={"reason": "dup\x00licate", "csrf_token": token},
    )
    assert _field(r) == "reason"


async def test_two_letter_reason_on_a_stop_work_clear_is_422(client, token_for):
    r = await client.post(
        f"{MAINT}/stop-work",
        json={"asset": "SAW-JKS-001", "reason": "guard missing on the saw"},
        headers=token_for("operator"),
    )
    assert r.status_code == 201, r.text
    swa = r.json()["stop_work_id"]
    r = await client.post(
        f"{MAINT}/stop-work/{swa}/clear", json={"reason": "ok"}, headers=token_for("ehs")
    )
    assert _field(r) == "reason"
    r = await client.post(
        f"{MAINT}/stop-work/{swa}/clear",
        json={"reason": "guard refitted"},
        headers=token_for("ehs"),
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1900-01-01T00:00:00Z"]
)
async def test_moments_out_of_range_are_422(client, token_for, when):
    m = token_for("manager")
    reading = {"meter_type": "HOURS", "reading": 1e9, "recorded_at": when}
    r = await client.post(f"{ASSETS}/SAW-JKS-001/meters", json=reading, headers=m)
    assert _field(r) == "recorded_at"
    downtime = {"asset": "SAW-JKS-001", "type": "BREAKDOWN", "reason_code": "BD-MECH"}
    r = await client.post(f"{MAINT}/downtime", json={**downtime, "start_time": when}, headers=m)
    assert _field(r) == "start_time"
