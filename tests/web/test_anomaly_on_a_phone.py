"""Seed 000 phases 5-9 on a phone: an anomaly from the operator's report to a closed REX,
by the technician, the supervisor and a peer; the page follows the assessment live."""

import re

from tests.anomaly_helpers import PNG

PHOTO = {"mimeType": "image/png", "buffer": PNG}
REX = {
    "root_cause_analysis": "Clamp cylinder seal worn past its service life",
    "lessons_learned": "Seals on this saw age faster in the cold season",
    "preventive_actions": "Add a seal check to the monthly PM",
    "best_practices": "Clean the rod before fitting a new seal",
    "training_needs": "Seal fitting for the second shift",
}


async def _status(page) -> str:
    return (await page.inner_text("#anomaly-status")).strip()


async def test_anomaly_from_report_to_closed_rex(phone):
    page = phone.page
    await phone.sign_in("operator")
    await phone.goto("/anomalies/new?asset=SAW-JKS-001")
    await page.fill("#title", "Hydraulic leak under the saw")
    await page.fill("#description", "Oil drips from the clamp cylinder onto the floor.")
    await page.select_option("#safety_impact", "MINOR")
    await page.set_input_files("#photos", files=[{"name": "leak.png", **PHOTO}])
    await phone.press("Report")
    ref = re.search(r"ANO-[\w-]+", page.url).group(0)
    await phone.shot("reported")
    # Assessment and assignment arrive without a reload: the page asks and refreshes itself.
    await page.wait_for_function(
        "document.querySelector('#anomaly-status').textContent.trim() == 'assigned'",
        timeout=30_000,
    )
    assert await page.inner_text("#criticality") != "assessing…"
    assert "technician" in await page.inner_text("#waiting")
    await phone.no_sideways_scroll()
    await phone.shot("assigned-live")

    # The technician accepts (ETA in the site's time), works, resolves.
    await phone.sign_in("tech")
    await phone.goto(f"/anomalies/{ref}")
    assert "America/Chicago" in await page.inner_text("label[for=eta]")
    await page.check("input[name=safety_acknowledged]")
    await phone.press("Accept")
    assert await _status(page) == "in progress"
    await page.fill("#note", "Isolated the hydraulics, replacing the clamp seal")
    await page.check("input[name=loto_acknowledged]")
    await phone.press("Save progress")
    for kind in ("BEFORE_PHOTO", "AFTER_PHOTO"):  # the technician's own, before and after
        await page.select_option("#kind", kind)
        await page.set_input_files("#anomaly-file", files=[{"name": f"{kind}.png", **PHOTO}])
        await phone.press("Upload")
    await page.fill("#root_cause", "Worn seal")
    await page.fill("#corrective_action", "Replaced the clamp seal")
    await phone.press("Mark resolved")  # no verification test yet: refused, kept
    assert await page.input_value("#root_cause") == "Worn seal"
    assert "verification test" in await page.inner_text(".error, .field-error")
    in_view = await page.evaluate(
        "(() => { const r = document.querySelector('.error, .field-error')"
        ".getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })()"
    )
    assert in_view, "the refusal is out of sight"
    await phone.shot("resolve-refused-in-view")
    await page.fill("#verification_test", "Ran 20 cycles, no drip")
    await page.check("input[name=safety_restored]")
    await phone.press("Mark resolved")
    assert await _status(page) == "resolved"

    # The supervisor rejects; the technician finds the resolution to amend, not a blank form.
    await phone.sign_in("supervisor")
    await phone.goto(f"/anomalies/{ref}")
    assert "Replaced the clamp seal" in await page.inner_text("main")
    await page.fill("#review-feedback", "Say which seal kit was used")
    await phone.press("Reject, back to field work")
    await phone.sign_in("tech")
    await phone.goto(f"/anomalies/{ref}")
    assert await page.input_value("#root_cause") == "Worn seal"
    assert await page.input_value("#verification_test") == "Ran 20 cycles, no drip"
    await page.fill("#corrective_action", "Replaced the clamp seal with kit SK-40")
    await page.check("input[name=safety_restored]")
    await phone.press("Mark resolved")
    await phone.sign_in("supervisor")
    await phone.goto(f"/anomalies/{ref}")
    await phone.press("Approve")
    assert await _status(page) == "lessons learned (REX)"

    # The technician writes the REX; the peer reads it, asks for a revision, then closes it.
    await phone.sign_in("tech")
    await phone.goto(f"/anomalies/{ref}")
    for name, text in REX.items():
        await page.fill(f"#{name}", text)
    await phone.press("Submit for peer review")
    assert await _status(page) == "REX peer review"
    await phone.sign_in("seniortech")
    await phone.goto("/queue")
    assert ref in await page.inner_text("#peer-reviews")
    await phone.goto(f"/anomalies/{ref}")
    under_review = await page.inner_text("#rex-under-review")
    assert REX["lessons_learned"] in under_review and REX["training_needs"] in under_review
    await phone.shot("peer-reads-the-rex")
    await page.fill("#rex-feedback", "Name the PM task to add")
    await phone.press("Needs revision")
    await phone.sign_in("tech")
    await phone.goto(f"/anomalies/{ref}")
    assert await page.input_value("#lessons_learned") == REX["lessons_learned"]
    await page.fill("#preventive_actions", "Add 'clamp seal check' to the monthly saw PM")
    await phone.press("Submit for peer review")
    await phone.sign_in("seniortech")
    await phone.goto(f"/anomalies/{ref}")
    await phone.press("Approve and close")
    assert await _status(page) == "closed"
    await phone.no_sideways_scroll()
    await phone.shot("closed")
