"""Login, token expiry, missing tokens and missing roles each get their own answer."""

from datetime import timedelta

from domain import demo_data as demo


async def test_login_returns_a_working_token(client):
    r = await client.post(
        "/api/v1/auth/token", json={"username": "manager", "password": demo.DEMO_PASSWORD}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["username"] == "manager"
    assert me.json()["roles"] == ["MAINT_MANAGER"]


async def test_login_accepts_the_oauth2_form(client):
    r = await client.post(
        "/api/v1/auth/token", data={"username": "tech", "password": demo.DEMO_PASSWORD}
    )
    assert r.status_code == 200


async def test_wrong_password_is_401(client):
    r = await client.post("/api/v1/auth/token", json={"username": "manager", "password": "x"})
    assert r.status_code == 401
    assert r.json()["error"] == {
        "type": "Unauthorized",
        "message": "invalid username or password",
        "field": None,
    }


async def test_missing_username_names_the_field(client):
    r = await client.post("/api/v1/auth/token", json={"password": "x"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "username"


async def test_missing_token_is_401(client):
    r = await client.get("/api/v1/maintenance/assets")
    assert r.status_code == 401
    assert r.json()["error"]["message"].startswith("authentication required")
    assert r.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_401_with_its_own_message(client, token_for):
    r = await client.get(
        "/api/v1/maintenance/assets", headers=token_for("manager", ttl=timedelta(seconds=-1))
    )
    assert r.status_code == 401
    assert r.json()["error"]["message"].startswith("token expired")


async def test_forged_token_is_401(client):
    r = await client.get(
        "/api/v1/maintenance/assets", headers={"Authorization": "Bearer not.a.token"}
    )
    assert r.status_code == 401
    assert r.json()["error"]["message"].startswith("token invalid")


async def test_missing_role_is_403_naming_the_roles(client, token_for):
    r = await client.post(
        "/api/v1/maintenance/assets",
        headers=token_for("tech"),
        json={"asset_number": "X-1", "name": "x", "type_code": "SAW", "site_code": "JKS"},
    )
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["type"] == "NotAllowed"
    assert "MAINT_TECH" in error["message"] and "MAINT_PLANNER" in error["message"]


async def test_health_needs_no_token(client):
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "database": {"status": "ok"},
        "temporal": {"status": "ok", "namespace": "default"},
    }


def test_a_token_read_once_is_still_refused_once_it_expires():
    """Its signature is checked once per token; its expiry at every use."""
    from datetime import UTC, datetime

    from api import tokens

    issued = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    token = tokens.issue(7, "s3cret", timedelta(minutes=10), now=issued)
    assert tokens.read_claims(token, "s3cret", now=issued).user_id == 7
    assert tokens.read_claims(token, "s3cret", now=issued + timedelta(minutes=9)).user_id == 7
    for later in (timedelta(minutes=10), timedelta(days=1)):
        try:
            tokens.read_claims(token, "s3cret", now=issued + later)
        except tokens.TokenExpired:
            continue
        raise AssertionError(f"accepted {later} after issue, past its expiry")
    try:  # the same token under another secret: its signature is not taken as read
        tokens.read_claims(token, "other", now=issued)
    except tokens.TokenInvalid:
        pass
    else:
        raise AssertionError("a token signed with another secret was accepted")
