"""Every role against every asset endpoint, as seed 003 I.2 lays it out."""

import pytest

from domain import demo_data

BASE = "/api/v1/maintenance/assets"
ALL = {
    "admin",
    "manager",
    "planner",
    "tech",
    "supervisor",
    "operator",
    "ehs",
    "quality",
    "fieldtech",
    "seniortech",
    "auditor",
}
VIEW = ALL  # the operator sees its own work centre's assets
EDIT = {"admin", "manager", "planner"}
STATUS = {"admin", "manager", "supervisor", "ehs"}
METER = {"admin", "manager", "planner", "tech", "supervisor", "operator", "fieldtech", "seniortech"}

ENDPOINTS = {
    "list": ("GET", "", None, VIEW),
    "detail": ("GET", "/{ref}", None, VIEW),
    "history": ("GET", "/{ref}/history", None, VIEW),
    "meters": ("GET", "/{ref}/meters", None, VIEW),
    "create": (
        "POST",
        "",
        {"asset_number": "NEW-{user}", "name": "n", "type_code": "SAW", "site_code": "JKS"},
        EDIT,
    ),
    "update": ("PUT", "/{ref}", {"description": "checked by {user}"}, EDIT),
    "status": (
        "POST",
        "/{ref}/status",
        {"status": "SAFETY_HOLD", "reason": "guard missing"},
        STATUS,
    ),
    "record meter": ("POST", "/{ref}/meters", {"meter_type": "HOURS", "reading": 1e9}, METER),
}


def test_every_demo_user_is_covered():
    assert {u["username"] for u in demo_data.USERS} >= ALL


@pytest.mark.parametrize("user", sorted(ALL))
async def test_role_against_every_asset_endpoint(client, token_for, user):
    h = token_for(user)
    visible = await client.get(BASE, params={"limit": 500}, headers=h)
    if visible.status_code == 200:
        with_hours = [
            a
            for a in visible.json()["items"]
            if any(m["meter_type"] == "HOURS" for m in a["meters"])
        ]
        ref = with_hours[0]["asset_number"]
    else:
        ref = "SAW-JKS-001"
    outcome = {}
    for name, (method, path, body, allowed) in ENDPOINTS.items():
        json = (
            {k: v.format(user=user.upper()) if isinstance(v, str) else v for k, v in body.items()}
            if body
            else None
        )
        r = await client.request(method, BASE + path.format(ref=ref), json=json, headers=h)
        outcome[name] = r.status_code
        if user in allowed:
            assert r.status_code in (200, 201), (name, r.status_code, r.text)
        else:
            assert r.status_code == 403, (name, r.status_code, r.text)
            assert r.json()["error"]["type"] == "NotAllowed"
