"""Seed 000 phases 5-9 on a phone: a work order from creation through lockout/tagout to
return to service, each step by the role the table names, the wrong role refused first."""

import re

from tests.anomaly_helpers import PNG


async def _status(page) -> str:
    return (await page.inner_text("#wo-status")).strip()


async def test_work_order_from_creation_through_loto_to_return_to_service(phone):
    page = phone.page
    # The wrong role first: an operator may report, not plan work (HTML page, with navigation).
    await phone.sign_in("operator")
    answer = await phone.goto("/work-orders/new?asset=SAW-JKS-002")
    assert answer.status == 403
    assert "Not for your role" in await page.inner_text("h1")
    assert await page.is_visible("header .menu summary")
    await phone.shot("operator-refused")

    # A supervisor creates it from the asset, adds a measured task, submits and approves.
    await phone.sign_in("supervisor")
    await phone.goto("/work-orders/new?asset=SAW-JKS-002")
    assert await page.input_value("#asset") == "SAW-JKS-002"
    await page.fill("#title", "Replace the blade guard hinge")
    await page.fill("#description", "The hinge is cracked; replace it and check the clearance.")
    await page.check("input[name=requires_loto]")
    await phone.submit("text=Create the work order")
    number = re.search(r"WO-\d{4}-\d{5}", page.url).group(0)
    assert await _status(page) == "draft"
    await page.click("text=Add a task")
    await page.fill("#task-description", "Hinge pin clearance")
    await page.check("input[name=requires_measurement]")
    await phone.submit("text=Add task")  # no spec: refused at the field, what was typed kept
    assert "spec_min" in await page.inner_text("#spec_min-error") or await page.is_visible(
        ".field-error"
    )
    assert await page.input_value("#task-description") == "Hinge pin clearance"
    await page.fill("#spec_max", "0.5")
    await page.fill("#unit", "mm")
    await phone.submit("text=Add task")
    assert "Hinge pin clearance" in await page.inner_text("#tasks")
    await phone.submit("text=Submit for approval")
    await phone.submit("#actions >> text=Approve")
    await page.select_option("#assignee", "tech")
    await page.fill("#scheduled_date", "2030-03-02T07:30")
    await phone.submit("text=Schedule")
    assert await _status(page) == "scheduled"
    assert "02 Mar 2030 07:30 CST" in await page.inner_text(".card")  # typed in site time
    await phone.shot("scheduled")

    # The technician finds it in the queue; no start before the lockout.
    await phone.sign_in("tech")
    await phone.goto("/queue")
    assert number in await page.inner_text("#my-work")
    await phone.no_sideways_scroll()
    await phone.shot("technician-queue")
    await page.click(f"text={number}")
    assert not await page.is_visible("#actions >> text=Approve")
    await phone.submit("text=Start work")
    assert "LOTO permit required" in await page.inner_text(".error")
    await phone.touch_targets_fit_a_finger()
    await page.fill("#energy_sources", "480V main, hydraulic")
    await page.check("input[name=isolation_verified]")
    await phone.submit("text=Issue permit")
    await phone.submit("text=Start work")
    assert await _status(page) == "in progress"
    await page.fill("#measure-1", "0.3")
    await phone.submit("#tasks >> text=Done")
    await page.fill("#hours", "1.5")
    await phone.submit("text=Log labour")
    await page.select_option("#file-kind", "CHECKLIST")
    await page.set_input_files(
        "#file", files=[{"name": "checklist.png", "mimeType": "image/png", "buffer": PNG}]
    )
    await phone.submit("#evidence >> text=Upload")
    await phone.submit("text=Work complete")
    assert await _status(page) == "completed"
    await phone.submit("text=Remove lockout/tagout")  # off for the test run
    assert "removed by Tyrone Jackson" in await page.inner_text("#permits")
    await phone.no_sideways_scroll()
    await phone.shot("completed")

    # The supervisor verifies: one box left unticked asks first, naming it, ticks kept.
    await phone.sign_in("supervisor")
    await phone.goto(f"/work-orders/{number}/return-to-service")
    boxes = page.locator("#verify input[type=checkbox]")
    assert await boxes.count() == 10  # "Test run passed" once, as one item of the list
    for i in range(10):
        if i != 3:
            await boxes.nth(i).check()
    await phone.submit("text=Record verification")
    assert "Guards/covers reinstalled" in await page.inner_text("#confirm-failed")
    assert await boxes.nth(0).is_checked() and not await boxes.nth(3).is_checked()
    await phone.shot("confirm-failed-verification")
    await boxes.nth(3).check()
    await phone.submit("text=Record verification")
    assert await _status(page) == "verified"
    assert "issue a new LOTO" not in await page.inner_text("main")
    approvals = await page.inner_text("#approvals")
    assert "waiting for maintenance manager" in approvals
    assert not await page.is_visible("text=Approve return to service")
    await phone.shot("verified-waiting")

    # The manager finds the approval in the queue and returns the asset to service.
    await phone.sign_in("manager")
    await phone.goto("/queue")
    assert number in await page.inner_text("#to-return")
    await page.click(f"#to-return >> text={number}")
    await phone.submit("text=Approve return to service")
    await phone.goto(f"/work-orders/{number}")
    assert await _status(page) == "closed"
    record = await page.inner_text("#permits") + await page.inner_text("#evidence")
    assert "applied by Tyrone Jackson" in record and "removed by Tyrone Jackson" in record
    assert "checklist.png" in record
    await phone.no_sideways_scroll()
    await phone.shot("closed-with-safety-record")
