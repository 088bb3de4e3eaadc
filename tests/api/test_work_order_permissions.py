"""Every role against the work-order and parts endpoints, as seed 003 I.2 lays it out."""

import pytest

from tests.api.test_permission_matrix import ALL

BASE = "/api/v1/maintenance"
CREATE = ALL - {"operator", "auditor"}  # operators report through /reports/operator
APPROVE = {"admin", "manager", "supervisor"}  # EHS: safety-related only
CREATE_PART = {"admin", "manager", "planner"}
ISSUE_PART = CREATE_PART | {"tech", "fieldtech", "seniortech"}  # technicians: issue only


@pytest.mark.parametrize("user", sorted(ALL))
async def test_role_against_work_order_endpoints(client, token_for, user):
    h = token_for(user)
    body = {"asset": "SAW-JKS-001", "type": "CORRECTIVE", "title": "Check guard",
            "description": "Guard rattles at speed"}  # fmt: skip
    r = await client.post(f"{BASE}/work-orders", json=body, headers=h)
    assert r.status_code == (201 if user in CREATE else 403), (user, r.text)
    if r.status_code == 403:
        assert r.json()["error"]["type"] == "NotAllowed"

    r = await client.post(f"{BASE}/work-orders", json=body, headers=token_for("supervisor"))
    number = r.json()["number"]
    r = await client.post(f"{BASE}/work-orders/{number}/submit", headers=token_for("supervisor"))
    assert r.status_code == 200, r.text
    r = await client.post(f"{BASE}/work-orders/{number}/approve", json={}, headers=h)
    assert r.status_code == (200 if user in APPROVE else 403), (user, r.text)
    if user == "ehs":
        assert "safety-related" in r.json()["error"]["message"]

    part = {"part_number": f"P-{user.upper()}", "name": "Seal kit", "category": "HYDRAULIC",
            "quantity_on_hand": 5}  # fmt: skip
    r = await client.post(f"{BASE}/parts", json=part, headers=h)
    assert r.status_code == (201 if user in CREATE_PART else 403), (user, r.text)
    r = await client.get(f"{BASE}/work-orders", headers=h)
    assert r.status_code == 200  # everyone with a dashboard sees the work orders


@pytest.mark.parametrize("user", sorted(ALL))
async def test_role_against_part_issue(client, token_for, user):
    manager = token_for("manager")
    await client.post(
        f"{BASE}/parts",
        json={"part_number": "P-9", "name": "Belt", "category": "MECHANICAL",
              "quantity_on_hand": 4},
        headers=manager,
    )  # fmt: skip
    r = await client.post(
        f"{BASE}/work-orders",
        json={"asset": "SAW-JKS-001", "type": "CORRECTIVE", "title": "Belt",
              "description": "Belt slipping"},
        headers=manager,
    )  # fmt: skip
    number = r.json()["number"]
    r = await client.post(
        f"{BASE}/parts/P-9/issue",
        json={"work_order": number, "quantity": 1},
        headers=token_for(user),
    )
    assert r.status_code == (200 if user in ISSUE_PART else 403), (user, r.text)
