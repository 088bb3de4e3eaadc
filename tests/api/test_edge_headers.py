"""Security headers on pages and API answers; uploaded files never run in the app's origin."""

import re

import pytest

from domain.rules.uploads import safe_content_type, safe_filename
from domain.settings import PROJECT_ROOT
from tests.anomaly_helpers import PNG
from tests.api.test_anomalies_api import _report
from tests.api.test_web import _login

ANOMALIES = "/api/v1/anomalies"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _assert_secure(r) -> None:
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"]
    policy = dict(
        (part.split(" ", 1) + [""])[:2] for part in h["content-security-policy"].split("; ")
    )
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "frame-ancestors" in policy


async def test_headers_on_pages_api_answers_and_refusals(client, token_for):
    _assert_secure(await client.get("/login"))
    _assert_secure(await client.get("/api/v1/auth/me", headers=token_for("manager")))
    _assert_secure(await client.get("/api/v1/auth/me"))  # 401
    _assert_secure(await client.get("/api/v1/nothing-here"))  # 404
    _assert_secure(await client.get("/api/v1/anomalies?q=%00", headers=token_for("manager")))
    await _login(client, "operator")
    page = await client.get("/anomalies/new")
    assert page.status_code == 200
    _assert_secure(page)


async def test_docs_page_allows_only_its_own_script(client):
    r = await client.get("/docs")
    assert r.status_code == 200
    _assert_secure(r)
    assert "'sha256-" in r.headers["content-security-policy"]


def test_no_template_holds_inline_script_or_event_handlers():
    for template in (PROJECT_ROOT / "templates").rglob("*.html"):
        html = template.read_text()
        assert not INLINE_SCRIPT.search(html), template.name
        assert not EVENT_HANDLER.search(html), template.name


async def test_page_script_is_served_from_static(client):
    await _login(client, "operator")
    page = (await client.get("/anomalies/new")).text
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sorted(sources) == [
        "/static/js/anomaly_new.js",
        "/static/js/pages.js",
        "/static/js/report_queue.js",
    ]
    r = await client.get("/static/js/anomaly_new.js")
    assert r.status_code == 200 and "geolocation" in r.text
    assert "javascript" in r.headers["content-type"]
    _assert_secure(r)


@pytest.mark.parametrize(
    ("name", "content_type", "body"),
    [
        ("evil.html", "text/html", b"<script>alert(document.cookie)</script>"),
        ("evil.svg", "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>'),
        ("data.bin", "application/octet-stream", b"<html><script>x()</script>"),
    ],
)
async def test_active_uploads_are_downloads_never_sniffed(
    client, token_for, name, content_type, body
):
    ref, detail = await _report(client, token_for)
    tech = token_for(detail["assignee"])
    accept = {"eta": "2030-01-01T08:00:00Z", "safety_acknowledged": True}
    assert (await client.post(f"{ANOMALIES}/{ref}/accept", json=accept, headers=tech)).is_success
    r = await client.post(
        f"{ANOMALIES}/{ref}/attachments",
        data={"kind": "DOCUMENT"},
        files={"file": (name, body, content_type)},
        headers=tech,
    )
    assert r.status_code == 201, r.text
    attachment = r.json()["attachment_id"]
    for url in (f"{ANOMALIES}/{ref}/attachments/{attachment}",):
        got = await client.get(url, headers=tech)
        assert got.status_code == 200 and got.content == body
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]
    await _login(client, detail["assignee"])
    page_file = await client.get(f"/anomalies/{ref}/files/{attachment}")
    assert page_file.headers["content-disposition"].startswith("attachment;")
    assert page_file.headers["x-content-type-options"] == "nosniff"


async def test_raster_images_show_inline_with_a_sanitised_name(client, token_for):
    ref, detail = await _report(client, token_for)
    tech = token_for(detail["assignee"])
    accept = {"eta": "2030-01-01T08:00:00Z", "safety_acknowledged": True}
    await client.post(f"{ANOMALIES}/{ref}/accept", json=accept, headers=tech)
    r = await client.post(
        f"{ANOMALIES}/{ref}/attachments",
        data={"kind": "BEFORE_PHOTO"},
        files={"file": ('../../etc/"pump";\r\nX-Evil: 1 é.png', PNG, "image/png")},
        headers=tech,
    )
    assert r.status_code == 201, r.text
    got = await client.get(
        f"{ANOMALIES}/{ref}/attachments/{r.json()['attachment_id']}", headers=tech
    )
    assert got.headers["content-type"] == "image/png"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("inline;") and "X-Evil" not in got.headers
    fallback = re.fullmatch(r'inline; filename="([^"]*)"; filename\*=UTF-8\'\'(\S+)', disposition)
    assert fallback and "/" not in fallback.group(1) + fallback.group(2), disposition
    stored = (await client.get(f"{ANOMALIES}/{ref}", headers=tech)).json()["attachments"][-1]
    assert stored["filename"].endswith(".png") and "pump" in stored["filename"]
    assert not set('/\\";\r\n') & set(stored["filename"])


async def test_nul_in_an_attachment_caption_is_422(client, token_for):
    ref, detail = await _report(client, token_for)
    tech = token_for(detail["assignee"])
    accept = {"eta": "2030-01-01T08:00:00Z", "safety_acknowledged": True}
    await client.post(f"{ANOMALIES}/{ref}/accept", json=accept, headers=tech)
    r = await client.post(
        f"{ANOMALIES}/{ref}/attachments",
        data={"kind": "BEFORE_PHOTO", "caption": "before \x00"},
        files={"file": ("a.png", PNG, "image/png")},
        headers=tech,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "caption"


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("../../passwd", "passwd"),
        ("a\x00b\u202e.png", "ab.png"),
        ("...", "upload"),
        ("x" * 300 + ".jpeg", "x" * 195 + ".jpeg"),
    ],
)
def test_stored_file_names(name, stored):
    assert safe_filename(name) == stored


def test_stored_content_types():
    assert safe_content_type("image/PNG; charset=x") == "image/png"
    assert safe_content_type("text/html\x00") == "application/octet-stream"
    assert safe_content_type("a/" + "b" * 200) == "application/octet-stream"
