"""Seed 003 E.4: an operator scans a machine's QR label while signed out, signs in and
lands on the report with that machine chosen."""


async def test_qr_label_signed_out_keeps_the_asset_through_sign_in(phone):
    page = phone.page
    await phone.goto("/report?asset=SAW-JKS-001")
    assert "/login" in page.url and "asset%3DSAW-JKS-001" in page.url
    await phone.shot("sign-in")
    await phone.login_here("operator")
    assert page.url.endswith("/report?asset=SAW-JKS-001"), page.url
    assert await page.input_value("#asset") == "SAW-JKS-001"
    await phone.no_sideways_scroll()
    await phone.touch_targets_fit_a_finger()
    await phone.shot("report-form")
    await page.select_option("#report_type", "BREAKDOWN")
    await page.fill("#description", "Blade guard rattles and the saw stopped")
    await page.check("input[name=stopped_equipment][value=yes]")
    await page.check("input[name=safety_hazard][value=no]")
    await phone.submit("form[action='/report'] button[type=submit]")
    assert "/work-orders/WO-" in page.url
    assert "opened" in await page.inner_text(".notice")
    await phone.shot("work-order-opened")
