"""Sign-in limits per (user, client address), unlocking, and sessions that end on sign-out,
through both doors: the token endpoint and the web form."""

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import func, select, text, update

from api.app import create_app
from domain import demo_data
from domain.models import AuditLog, SignInFailure, SignInLock, User, WebSession
from domain.settings import Settings, get_settings
from workers.cli import main
from workers.embedded import free_port, wait_for_port

TOKEN = "/api/v1/auth/token"
PROXY = "10.0.0.1"
FAST = {"sign_in_first_wait_seconds": 0.01}  # waits of milliseconds: the lock comes quickly


@pytest.fixture
def client_for(settings: Settings, sessions, temporal_client):
    """A client of an app with these settings, connecting from this socket address."""

    @asynccontextmanager
    async def make(
        peer: str = "127.0.0.1", base_url: str = "http://testserver", **overrides
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(
            settings.model_copy(update=overrides), sessions=sessions, temporal=temporal_client
        )
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
            yield c

    return make


def _creds(password: str = "wrong-password", username: str = "manager") -> dict[str, str]:
    return {"username": username, "password": password}


async def _fail_until_locked(client: httpx.AsyncClient, headers=None, tries: int = 30) -> list:
    """Wrong passwords, waiting out each slow-down (FAST settings), until the lock; then the
    rest of the tries. Returns every status."""
    statuses = []
    for _ in range(tries):
        r = await client.post(TOKEN, json=_creds(), headers=headers)
        statuses.append(r.status_code)
        if r.status_code == 401 and len(statuses) >= 5:
            await asyncio.sleep(0.2)  # past the longest FAST wait (0.16 s before the lock)
    return statuses


def _audit(sessions, action: str) -> list[AuditLog]:
    with sessions() as s:
        return list(
            s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()
        )


async def test_thirty_wrong_passwords_then_the_right_one_is_refused(client_for, sessions):
    async with client_for(**FAST) as client:
        statuses = await _fail_until_locked(client)
        assert statuses == [401] * 9 + [429] * 21
        r = await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD))
    assert r.status_code == 429
    assert 800 < int(r.headers["retry-after"]) <= 900
    assert r.json()["error"]["type"] == "TooManyAttempts"
    assert "locked" in r.json()["error"]["message"]
    (lock,) = _audit(sessions, "SIGN_IN_LOCKED")  # once, not again for each refused try
    assert (lock.entity_type, lock.entity_id, lock.user_role) == ("user", "manager", "SYSTEM")
    assert lock.ip_address == "127.0.0.1" and lock.user_name == "plantops sign-in"
    assert lock.previous_state["locked"] is False and lock.new_state["locked"] is True
    assert lock.reason == "10 failed sign-ins within 15 minutes from 127.0.0.1"
    with sessions() as s:
        manager = s.scalars(select(User).where(User.username == "manager")).one()
        assert lock.organization_id == manager.organization_id


async def test_after_five_failures_the_next_try_waits(client_for):
    async with client_for(sign_in_first_wait_seconds=2) as client:
        for _ in range(5):
            assert (await client.post(TOKEN, json=_creds())).status_code == 401
        early = await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD))
        assert early.status_code == 429 and early.headers["retry-after"] in ("1", "2")
        assert "before trying again" in early.json()["error"]["message"]
        await asyncio.sleep(2.1)
        late = await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD))
        assert late.status_code == 200  # a slow-down, not a lock


async def test_parallel_tries_cannot_slip_past_the_count(client_for, sessions):
    # A long wait, so that on a slow machine no try comes after it and is rightly counted.
    async with client_for(sign_in_first_wait_seconds=600) as client:
        answers = await asyncio.gather(*(client.post(TOKEN, json=_creds()) for _ in range(20)))
    assert sorted(r.status_code for r in answers) == [401] * 5 + [429] * 15
    with sessions() as s:
        assert s.scalar(select(func.count(SignInFailure.id))) == 5


async def test_behind_a_trusted_proxy_another_address_still_signs_in(client_for, sessions):
    async with client_for(peer=PROXY, trusted_proxies=f"{PROXY}, 10.9.0.0/16", **FAST) as proxy:
        attacker = {"X-Forwarded-For": "203.0.113.7, 10.9.0.4"}  # through two proxies
        assert 429 in await _fail_until_locked(proxy, attacker, tries=10)
        refused = await proxy.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD), headers=attacker)
        assert refused.status_code == 429
        office = {"X-Forwarded-For": "198.51.100.20"}
        r = await proxy.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD), headers=office)
        assert r.status_code == 200
    with sessions() as s:
        assert s.scalars(select(SignInLock.address)).all() == ["203.0.113.7"]
    assert _audit(sessions, "SIGN_IN_LOCKED")[0].ip_address == "203.0.113.7"


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(client_for, sessions):
    async with client_for(peer="192.0.2.50", trusted_proxies=PROXY, **FAST) as client:
        spoofed = {"X-Forwarded-For": "203.0.113.7"}
        assert 429 in await _fail_until_locked(client, spoofed, tries=10)
        other_spoof = {"X-Forwarded-For": "198.51.100.99"}
        r = await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD), headers=other_spoof)
        assert r.status_code == 429  # a new header does not make a new address
    async with client_for(peer="192.0.2.51", trusted_proxies=PROXY, **FAST) as neighbour:
        r = await neighbour.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD))
        assert r.status_code == 200
    with sessions() as s:
        assert s.scalars(select(SignInLock.address)).all() == ["192.0.2.50"]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _form_login(client: httpx.AsyncClient, password: str) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={
            "username": "ehs",
            "password": password,
            "csrf_token": _csrf(page.text),
            "next": "/assets",
        },
    )


async def test_web_form_reshows_with_the_lock(client_for):
    async with client_for(**FAST) as client:
        for attempt in range(10):
            r = await _form_login(client, "wrong-password")
            if attempt >= 4:
                await asyncio.sleep(0.2)
        assert r.status_code == 429  # the tenth failure locks
        r = await _form_login(client, demo_data.DEMO_PASSWORD)
        assert r.status_code == 429
        assert 800 < int(r.headers["retry-after"]) <= 900
        assert "sign-in is locked here, try again in 15 minutes" in r.text
        assert 'value="ehs"' in r.text and 'name="password"' in r.text
        # Both doors count the same pair.
        api = await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD, "ehs"))
        assert api.status_code == 429


async def test_unlock_clears_the_lock_and_is_audited(
    client_for, sessions, db_url, monkeypatch, capsys
):
    async with client_for(**FAST) as client:
        assert 429 in await _fail_until_locked(client, tries=10)
        monkeypatch.setenv("PLANTOPS_DATABASE_URL", db_url)
        get_settings.cache_clear()
        try:
            main(["unlock", "Manager", "--reason", "locked out at shift change"])
            with pytest.raises(SystemExit):
                main(["unlock", "nobody-by-that-name"])
        finally:
            get_settings.cache_clear()
        out = capsys.readouterr()
        assert out.out.startswith("manager: unlocked (was locked from 127.0.0.1")
        assert "no user named 'nobody-by-that-name'" in out.err
        r = await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD))
        assert r.status_code == 200
    (row,) = _audit(sessions, "SIGN_IN_UNLOCKED")
    assert (row.entity_type, row.entity_id, row.user_role) == ("user", "manager", "SYSTEM")
    assert row.user_name.endswith("(plantops unlock)")
    assert row.previous_state["locked_addresses"] == ["127.0.0.1"]
    assert row.new_state == {"locked_addresses": [], "failures": 0}
    assert row.reason == "locked out at shift change"


async def test_old_cookie_is_refused_after_sign_out(client_for):
    async with client_for() as client:
        r = await _form_login(client, demo_data.DEMO_PASSWORD)
        assert r.status_code == 303
        page = await client.get("/assets")
        assert page.status_code == 200
        stolen = client.cookies["plantops_session"]
        r = await client.post("/logout", data={"csrf_token": _csrf(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
    async with client_for() as replay:
        replay.cookies.set("plantops_session", stolen)
        r = await replay.get("/assets")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/assets"


@pytest.mark.parametrize(
    ("public_url", "secure"), [("https://plantops.example", True), (None, False)]
)
async def test_session_cookie_flags_and_server_record(client_for, sessions, public_url, secure):
    base_url = "https://testserver" if secure else "http://testserver"
    async with client_for(public_url=public_url, base_url=base_url) as client:
        r = await _form_login(client, demo_data.DEMO_PASSWORD)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("plantops_session=")
    flags = {part.strip() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags
    assert ("secure" in flags) is secure
    with sessions() as s:
        live = s.scalars(select(WebSession).join(User).where(User.username == "ehs")).all()
    assert len(live) == 1 and live[0].revoked_at is None


async def test_an_api_client_can_revoke_its_token(client_for):
    async with client_for() as client:
        first = (await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD))).json()
        second = (await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD))).json()
        bearer = {"Authorization": f"Bearer {first['access_token']}"}
        assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 200
        assert (await client.post("/api/v1/auth/revoke", headers=bearer)).status_code == 204
        r = await client.get("/api/v1/auth/me", headers=bearer)
        assert r.status_code == 401 and r.json()["error"]["message"].startswith("token revoked")
        other = {"Authorization": f"Bearer {second['access_token']}"}
        assert (await client.get("/api/v1/auth/me", headers=other)).status_code == 200


async def test_a_name_with_a_nul_is_refused_at_both_doors(client_for):
    # Raw text: the JSON escape reaches the server as written.
    body = f'{{"username": "man\\u0000ager", "password": "{demo_data.DEMO_PASSWORD}"}}'
    async with client_for() as client:
        r = await client.post(TOKEN, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "username"
        page = await client.get("/login")
        r = await client.post(
            "/login",
            data={"username": "man\x00ager", "password": "x", "csrf_token": _csrf(page.text)},
        )
        assert r.status_code == 422


async def test_the_real_server_believes_no_forwarded_for_of_its_own(db_url, dev_env, tmp_path):
    """`plantops api` under uvicorn: a local client cannot pick a fresh address for each
    try with X-Forwarded-For (uvicorn alone would believe it from 127.0.0.1)."""
    port = free_port()
    env = {
        **os.environ,
        "PLANTOPS_DATABASE_URL": db_url,
        "PLANTOPS_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PLANTOPS_DATA_DIR": str(tmp_path),
        "PLANTOPS_API_PORT": str(port),
        "PLANTOPS_TRUSTED_PROXIES": "10.0.0.1, 10.9.0.0/16",
        "PLANTOPS_SIGN_IN_FIRST_WAIT_SECONDS": "0.01",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "api"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.to_thread(wait_for_port, port, 60, "the API")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            statuses = []
            for n in range(10):
                spoofed = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
                r = await client.post(TOKEN, json=_creds(), headers=spoofed)
                statuses.append(r.status_code)
                await asyncio.sleep(0.2)
            assert statuses == [401] * 9 + [429]
            fresh = {"X-Forwarded-For": "198.51.100.1"}
            r = await client.post(TOKEN, json=_creds(demo_data.DEMO_PASSWORD), headers=fresh)
            assert r.status_code == 429
    finally:
        proc.terminate()
        proc.wait(30)


async def test_failures_past_the_window_are_forgotten(client_for, sessions):
    async with client_for(sign_in_window_minutes=1) as client:
        await client.post(TOKEN, json=_creds(username="someone-else"))
        with sessions() as s, s.begin():  # as if that failure were two minutes old
            two_minutes_ago = func.now() - text("interval '2 minutes'")
            s.execute(update(SignInFailure).values(failed_at=two_minutes_ago))
        await client.post(TOKEN, json=_creds())
    with sessions() as s:
        assert s.scalars(select(SignInFailure.username)).all() == ["manager"]
