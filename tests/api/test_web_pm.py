"""The PM pages: schedules (all, due, overdue) and the calendar by month and week, in the
site's time; another organisation's schedules never show."""

from datetime import UTC, datetime, timedelta

from tests.api.test_web_anomalies import _login


async def test_schedules_and_calendar_pages(client):
    await _login(client, "planner")
    page = await client.get("/pm")
    assert page.status_code == 200
    # The demo programme: the blocked air handler and the daily forklift inspections.
    assert "HVAC-LUBE-M@HVAC-JKS-001" in page.text and "FL-DAILY-INSP@FORKLIFT-JKS-001" in page.text
    overdue = await client.get("/pm", params={"which": "overdue"})
    assert "HVAC-LUBE-M@HVAC-JKS-001" in overdue.text
    assert "COMP-LUBE-M@COMP-JKS-001" not in overdue.text  # due in ten days
    month = await client.get("/pm/calendar", params={"site": "JKS"})
    assert month.status_code == 200
    assert "FL-DAILY-INSP@FORKLIFT-JKS-001" in month.text  # daily: on every day from today
    later = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    week = await client.get("/pm/calendar", params={"site": "JKS", "view": "week", "day": later})
    assert week.status_code == 200 and "COMP-LUBE-M@COMP-JKS-001" in week.text
    await _login(client, "b-planner")
    other = await client.get("/pm")
    assert other.status_code == 200 and "HVAC-JKS-001" not in other.text
