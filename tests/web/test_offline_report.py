"""Seed 000 C1 on a phone without network: reports (with a photo and the phone's position)
are kept on the phone, still waiting after a reload (the page comes from the service
worker), held while the session has ended, and sent once after the person signs in again;
one the server refuses stays on the phone, marked, to be fixed and sent."""

from sqlalchemy import select

from domain.models import Anomaly, AnomalyAttachment
from tests.anomaly_helpers import PNG

TITLE = "Steam leak at the boiler feed valve"
GONE = "Guard rail loose by the old press"  # made for a machine the server does not know
WHERE = {"latitude": 32.2988, "longitude": -90.2506}
SEND = "/anomalies/new/send"


def _registered(sessions, title: str) -> list[tuple[Anomaly, int]]:
    with sessions() as s:
        rows = s.scalars(select(Anomaly).where(Anomaly.title == title)).all()
        return [
            (a, len(s.scalars(select(AnomalyAttachment.id).where(
                AnomalyAttachment.anomaly_id == a.id)).all()))
            for a in rows
        ]  # fmt: skip


async def _fill(page, title: str, description: str) -> None:
    await page.fill("#title", title)
    await page.fill("#description", description)


async def test_report_made_offline_is_sent_once_after_signing_in_again(phone, sessions):
    page, context = phone.page, phone.page.context
    await context.grant_permissions(["geolocation"], origin=phone.base)
    await context.set_geolocation(WHERE)
    await phone.sign_in("operator")
    await phone.goto("/anomalies/new?asset=SAW-JKS-001")
    await page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    await page.wait_for_function("() => document.getElementById('latitude').value !== ''")
    assert await page.is_visible("#dictate")  # this browser has speech input

    # Offline, the service worker's own requests included (it cannot reach the server).
    await context.set_offline(True)
    reach = "() => fetch('/anomalies/new/ready').then(() => 'reached', () => 'offline')"
    assert await context.service_workers[0].evaluate(reach) == "offline"

    await _fill(page, TITLE, "Steam escapes at the gland, hissing, floor wet around it.")
    await page.set_input_files(
        "#photos", files=[{"name": "valve.png", "mimeType": "image/png", "buffer": PNG}]
    )
    await page.click("#report-form button[type=submit]")
    status = page.locator("#queue-status")
    await status.filter(has_text="Waiting to send: 1 report").wait_for()
    assert await page.input_value("#title") == ""  # the form is free for the next one
    await phone.shot("waiting-to-send")

    # Reloaded without network: the kept page, the report still waiting.
    await page.reload()
    await status.filter(has_text="Waiting to send: 1 report").wait_for()
    assert "waiting to send" in await page.inner_text("#queue-list")
    # A second one, for a machine the server will not know.
    await page.evaluate(
        "() => { const s = document.getElementById('asset');"
        " s.add(new Option('OLD-PRESS-9', 'OLD-PRESS-9')); s.value = 'OLD-PRESS-9'; }"
    )
    await _fill(page, GONE, "The guard rail moves when leaned on, two bolts missing.")
    await page.click("#report-form button[type=submit]")
    await status.filter(has_text="Waiting to send: 2 reports").wait_for()
    assert _registered(sessions, TITLE) == []

    # The session ended meanwhile; the network comes back: they wait for a sign-in.
    await context.clear_cookies()
    await context.set_offline(False)
    await status.filter(has_text="Sign in to send: 2 reports").wait_for()
    assert _registered(sessions, TITLE) == []
    await phone.no_sideways_scroll()
    await phone.shot("sign-in-to-send")

    async with page.expect_navigation():
        await page.click("#queue-signin a")
    await phone.login_here("operator")
    assert page.url.endswith("/anomalies/new"), page.url
    sent = page.locator("#queue-sent a")
    await sent.wait_for()
    ref = (await sent.inner_text()).strip()
    # The refused one stays on the phone with the server's message, to fix.
    await status.filter(has_text="1 report to fix before sending").wait_for()
    refused = page.locator("#queue-list li", has_text=GONE)
    assert "Not sent: asset OLD-PRESS-9 not found" in await refused.inner_text()
    await phone.touch_targets_fit_a_finger()
    await phone.shot("sent-one-to-fix")

    registered = _registered(sessions, TITLE)
    assert [(a.reference, photos) for a, photos in registered] == [(ref, 1)]
    anomaly = registered[0][0]
    assert (round(anomaly.latitude, 4), round(anomaly.longitude, 4)) == (32.2988, -90.2506)

    # Fixed in the form (its words back, the refusal at the field), then sent.
    await refused.locator("button", has_text="Fix it").click()
    assert await page.input_value("#title") == GONE
    assert "asset" in await page.inner_text("#report-form .field-error")
    await page.select_option("#asset", "SAW-JKS-001")
    async with page.expect_navigation():
        await page.click("#report-form button[type=submit]")
    assert "/anomalies/ANO-" in page.url and "Reported as" in await page.inner_text(".notice")
    assert len(_registered(sessions, GONE)) == 1

    # Another visit to the report page sends nothing again; nothing waits.
    await phone.goto("/anomalies/new")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#queue").is_hidden()
    assert len(_registered(sessions, TITLE)) == 1 and len(_registered(sessions, GONE)) == 1
    # The server's refusal of the unknown machine was expected; nothing else went wrong.
    # (its 422 answer and the browser's console line about it).
    expected = [e for e in phone.errors if SEND in e]
    assert len(expected) == 2 and all("422" in e for e in expected), phone.errors
    phone.errors[:] = [e for e in phone.errors if SEND not in e]
