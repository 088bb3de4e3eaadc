"""Every API route and every web form post, as every role, against the one permission
table (seed 003 I.2): a real request each, the answer compared with what the table says.
A route that declares no door fails here, so a new one cannot slip past the table."""

import asyncio
import re
from typing import Any

from fastapi.routing import APIRoute

from api.app import create_app
from api.permissions import Door
from domain import demo_data
from domain.actor import Actor
from domain.rules.roles import Role
from tests.api.test_web_anomalies import _login

# One demo user per role, of the first organisation.
USER_BY_ROLE = {u["roles"][0]: u["username"] for u in reversed(demo_data.USERS)}
# Dummy values for path parameters: nothing by these names exists, so a caller the table
# lets through meets a 404 or a 422 and changes nothing.
DUMMY = {"kind": "LOTO", "sequence": "999999"}


def _doors(route: Any) -> list[tuple[dict[str, str], Door]]:
    """(path parameters to fill in, door) for each door the route declares."""
    param_table = getattr(route.endpoint, "doors", None)
    if param_table:
        param, table = param_table
        return [({param: value}, door) for value, door in table.items()]
    found: list[Door] = []

    def walk(dependant) -> None:
        door = getattr(dependant.call, "door", None)
        if door is not None:
            found.append(door)
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return [({}, door) for door in found]


def _path(route: Any, fixed: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1).split(":")[0]
        if name in fixed:
            return fixed[name]
        if name in DUMMY:
            return DUMMY[name]
        return "999999" if name.endswith("_id") else "NOPE-1"

    return re.sub(r"{([^}]+)}", fill, route.path)


def _routes(settings) -> list[Any]:
    """Every route with an endpoint, also those of included routers (which newer FastAPI
    keeps as route contexts carrying the same path, methods, endpoint and dependant)."""
    found: list[Any] = []
    for r in create_app(settings).routes:
        if isinstance(r, APIRoute):
            found.append(r)
        elif hasattr(r, "effective_route_contexts"):
            found += [c for c in r.effective_route_contexts() if c.methods]
    return found


def test_every_route_declares_its_door(settings):
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in _routes(settings) if not _doors(r)]
    assert undeclared == []


def _expected_refusal(door: Door, role: str) -> bool:
    probe = Actor(1, "probe", "probe", 1, (role,))
    return door.refusal(probe) is not None


def _refused(response) -> bool:
    if response.status_code != 403:
        return False
    try:
        body: Any = response.json()
    except ValueError:
        return False
    return body.get("error", {}).get("type") == "NotAllowed"


async def test_every_door_answers_every_role_as_the_table_says(client, token_for, settings):
    mismatches: list[str] = []
    checked = 0
    routes = _routes(settings)
    # A role's requests go out several at a time (none changes anything); roles one by
    # one, as each signs in on the client's own cookies.
    at_once = asyncio.Semaphore(8)

    async def knock(role: str, method: str, url: str, door: Door, web: bool, csrf, bearer):
        nonlocal checked
        async with at_once:
            if web:
                kwargs = {"data": {"csrf_token": csrf}} if method == "POST" else {}
                r = await client.request(method, url, **kwargs)
            else:
                kwargs = {"json": {}} if method in ("POST", "PUT") else {}
                r = await client.request(method, url, headers=bearer, **kwargs)
        checked += 1
        expected = _expected_refusal(door, role)
        if r.status_code >= 500 or _refused(r) != expected:
            mismatches.append(
                f"{role} {method} {url}: {r.status_code} "
                f"(table says {'refuse' if expected else 'let through'}) "
                f"{r.text[:160]}"
            )

    for role in Role:
        username = USER_BY_ROLE[role.value]
        bearer = token_for(username)
        csrf = await _login(client, username)
        knocks = []
        for route in routes:
            web = not route.path.startswith("/api/") and route.path != "/health"
            for method in sorted(route.methods - {"HEAD"}):
                if route.path in ("/logout", "/login", "/api/v1/auth/revoke", "/health"):
                    # Open to all: signing out would end this role's session, and the
                    # health check answers for the servers (503 while one is slow), not
                    # for the table.
                    continue
                for fixed, door in _doors(route):
                    url = _path(route, fixed)
                    knocks.append(knock(role.value, method, url, door, web, csrf, bearer))
        await asyncio.gather(*knocks)
    assert checked > 12 * 60
    assert mismatches == [], "\n".join(mismatches)
