"""The OEE pages over HTTP: a card per machine with its status and target, charts drawn
server-side as SVG, one big button per reason category that records a stop and starts its
timer, the alerts handled from the page (audited), each person's buttons from the table,
and the OEE card on the main dashboard."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from api.web_oee import pareto_svg, trend_svg
from domain.models import AuditLog
from domain.models.oee_alerts import PerformanceAlert
from domain.models.production import Machine, OeeDailySummary, ProductionDowntime
from domain.services import oee_alerts
from tests.api.test_web_anomalies import _login
from tests.oee_helpers import saw_line


def test_charts_are_svg_with_gaps_targets_and_escaped_labels():
    svg = trend_svg([("06-01", 80.0), ("06-02", None), ("06-03", 60.0), ("06-04", 90.0)], 75.0,
                    "OEE <per day>")  # fmt: skip
    assert svg.startswith("<svg") and "OEE &lt;per day&gt;" in svg
    assert svg.count("<polyline") == 1  # the gap splits the line; a lone point draws none
    assert svg.count("<circle") == 3 and 'class="target"' in svg
    assert len(re.findall(r'<circle[^>]*fill="#c0392b"', svg)) == 1  # the point below target
    rows = [
        {"key": "BD<1>", "events": 2, "hours": 3.0, "cumulative_pct": 75.0},
        {"key": "MT", "events": 1, "hours": 1.0, "cumulative_pct": 100.0},
    ]
    bars = pareto_svg(rows, "P")
    assert bars.count("<rect") == 2 and "BD&lt;1&gt;" in bars and 'class="cumulative"' in bars
    assert "No downtime" in pareto_svg([], "P") and "No figures" in trend_svg([], None, "T")


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def test_the_oee_page_for_an_operator_a_manager_and_an_auditor(client, sessions):
    ids = saw_line(sessions)
    with sessions() as s:
        m = s.get(Machine, ids["SAW-JKS-001"])
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
        s.add(OeeDailySummary(
            organization_id=m.organization_id, machine_id=m.id, day=yesterday,
            planned_s=3600, down_s=600, ideal_s=2400, total=2400, good=2350,
        ))  # fmt: skip
        s.commit()

    await _login(client, "operator")  # work centre SAW-LINE-1: SAW-JKS-001 only
    page = (await client.get("/oee")).text
    assert re.findall(r'data-machine="([^"]+)"', page) == ["SAW-JKS-001"]
    assert 'data-status="down"' not in page and "target 85.0 %" in page
    assert "<svg viewBox" in page and 'class="chart trend"' in page and "<circle" in page
    assert 'value="breakdown"' in page  # a big button per reason category
    assert "/docs#/oee%20alerts" not in page  # targets are not an operator's

    # One tap records the stop (the category's first reason) and starts its timer.
    r = await client.post("/oee/downtime", data={"csrf_token": _csrf(page),
                          "machine": "SAW-JKS-001", "category": "breakdown"})  # fmt: skip
    assert r.status_code == 303, r.text
    page = (await client.get("/oee?machine=SAW-JKS-001")).text
    assert 'data-status="down"' in page and "Machine running again" in page
    with sessions() as s:
        stop = s.scalars(select(ProductionDowntime)).one()
    assert (stop.reason_code, stop.category, stop.end_time) == ("BD-MECH", "breakdown", None)
    # The other line's machine is not the operator's: refused, the page says why.
    r = await client.post("/oee/downtime", data={"csrf_token": _csrf(page),
                          "machine": "SAW-JKS-002", "category": "breakdown"})  # fmt: skip
    assert r.status_code == 404 and 'id="oee-error"' in r.text

    # Its timer fires a quarter hour on: the alert shows, the operator acknowledges it.
    with sessions() as s:
        oee_alerts.downtime_overdue(session=s, downtime_id=stop.id,
                                    now=stop.start_time + timedelta(minutes=15))  # fmt: skip
        s.commit()
        alert_id = s.scalar(select(PerformanceAlert.id))
    page = (await client.get("/oee")).text
    assert f'data-alert="{alert_id}"' in page and "Acknowledge" in page
    r = await client.post(f"/oee/alerts/{alert_id}/acknowledge", data={"csrf_token": _csrf(page)})
    assert r.status_code == 303
    r = await client.post(f"/oee/downtime/{stop.id}/end",
                          data={"csrf_token": _csrf(page), "reason_code": "BD-ELEC"})  # fmt: skip
    assert r.status_code == 303
    page = (await client.get("/oee")).text
    assert 'data-status="down"' not in page and f'data-alert="{alert_id}"' not in page
    with sessions() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.entity_type == "OEE_ALERT")
                          .order_by(AuditLog.id)).all()  # fmt: skip
        ended = s.get(ProductionDowntime, stop.id)
    assert [(a.action, a.user_name, a.user_role) for a in audit] == [
        ("ALERT_RAISED", "plantops alerts", "NONE"),
        ("ALERT_ACKNOWLEDGED", "Kevin O'Neal", "OPERATOR"),
        ("ALERT_RESOLVED", "plantops alerts", "NONE"),
    ]
    assert ended.reason_code == "BD-ELEC" and ended.end_time is not None

    await _login(client, "manager")
    page = (await client.get("/oee")).text
    assert re.findall(r'data-machine="([^"]+)"', page) == ["SAW-JKS-001", "SAW-JKS-002"]
    assert 'class="chart pareto"' in page and "BD-ELEC" in page  # the Pareto of the week
    assert "/docs#/oee%20alerts" in page
    dashboard = (await client.get("/")).text
    assert 'id="oee-card"' in dashboard and ">OEE</a>" in dashboard

    await _login(client, "auditor")  # sees OEE, logs nothing
    page = (await client.get("/oee")).text
    assert "data-machine" in page and 'id="quick-entry"' not in page


async def test_an_operator_enters_a_runs_output_in_site_time(client, sessions):
    """Seed 002: the count at the end of a run, on a phone, in the machine's site time;
    refusals at their field with what was typed; another machine than the operator's
    own is refused; the count lands where the API's does."""
    from domain.models.production import ProductionCount

    saw_line(sessions)
    await _login(client, "operator")
    page = (await client.get("/oee")).text
    assert 'id="output-entry"' in page
    form = {
        "csrf_token": _csrf(page), "machine": "SAW-JKS-001",
        "period_start": "2026-06-01T06:00", "period_end": "2026-06-01T13:00",
        "total": "19271", "good": "19500", "reject": "", "rework": "",
    }  # fmt: skip
    r = await client.post("/oee/output", data=form)
    assert r.status_code == 422 and 'id="good-error"' in r.text
    assert 'value="19271"' in r.text and 'value="2026-06-01T06:00"' in r.text
    r = await client.post("/oee/output", data={**form, "good": "lots"})
    assert r.status_code == 422 and 'id="good-error"' in r.text
    r = await client.post("/oee/output", data={**form, "machine": "SAW-JKS-002", "good": "1"})
    assert r.status_code == 422 and 'id="machine-error"' in r.text
    r = await client.post("/oee/output", data={**form, "good": "18848"})
    assert r.status_code == 303, r.text
    with sessions() as s:
        row = s.scalars(select(ProductionCount)).one()
    # 06:00 Chicago in June is 11:00 UTC.
    assert row.period_start == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
    assert (row.total, row.good, row.reject) == (19271, 18848, 423)
