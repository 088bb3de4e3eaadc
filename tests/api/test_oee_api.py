"""The OEE endpoints of seed 002 against real PostgreSQL: output and stops in, figures out,
refusals naming their field, the permission table, another organisation kept out."""

from sqlalchemy import select

from domain.models import AuditLog
from tests.oee_helpers import local, saw_line

BASE = "/api/v1/oee"
DAY = {"start": local(0).isoformat(), "end": local(23, 59).isoformat()}


async def _post(client, headers, path, body, status=201):
    r = await client.post(f"{BASE}{path}", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


async def _worked_example(client, h):
    """Seed 002's worked example on the DAY shift (06:00-13:00): one floor stop of 47 min
    overlapped by a second one, 19,271 made, 423 rejected, ideal cycle 1.0 s."""
    await _post(client, h, "/downtime", {
        "machine": "SAW-JKS-001", "reason_code": "BD-MECH", "start_time": local(8).isoformat(),
        "end_time": local(8, 47).isoformat(), "severity": "high",
    })  # fmt: skip
    await _post(client, h, "/downtime", {
        "machine": "SAW-JKS-001", "reason_code": "MT-WAIT",
        "start_time": local(8, 10).isoformat(), "end_time": local(8, 40).isoformat(),
    })  # fmt: skip
    return await _post(client, h, "/production-counts", {
        "machine": "saw-jks-001", "period_start": local(6).isoformat(),
        "period_end": local(13).isoformat(), "total": 19_271, "good": 18_848,
    })  # fmt: skip


async def test_worked_example_through_the_api(client, token_for, sessions):
    saw_line(sessions)
    h = token_for("supervisor")
    count = await _worked_example(client, h)
    assert count["reject"] == 423 and count["ideal_cycle_seconds"] == 1.0
    r = await client.post(f"{BASE}/calculate", headers=token_for("manager"), json={
        "machine": "SAW-JKS-001", "start": local(6).isoformat(), "end": local(13).isoformat(),
        "by_shift": True,
    })  # fmt: skip
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["availability_pct"], out["performance_pct"], out["quality_pct"],
            out["oee_pct"]) == (88.81, 86.11, 97.8, 74.79)  # fmt: skip
    assert out["losses_minutes"]["breakdowns"] == 47.0
    assert [s["shift"] for s in out["shifts"]] == ["DAY"]
    with sessions() as s:
        actions = set(s.scalars(select(AuditLog.action).where(
            AuditLog.entity_type.in_(["PRODUCTION_DOWNTIME", "PRODUCTION_COUNT"]))))  # fmt: skip
    assert actions == {"DOWNTIME_LOGGED", "OUTPUT_RECORDED"}


async def test_record_and_end_a_downtime(client, token_for, sessions):
    saw_line(sessions)
    h = token_for("operator")
    opened = await _post(client, h, "/downtime", {"machine": "SAW-JKS-001",
                                                  "reason_code": "bd-elec"})  # fmt: skip
    assert opened["end_time"] is None and opened["category"] == "breakdown"
    again = await _post(client, h, "/downtime", {"machine": "SAW-JKS-001",
                                                 "reason_code": "BD-ELEC"}, 409)  # fmt: skip
    assert again["error"]["field"] == "machine"
    r = await client.put(f"{BASE}/downtime/{opened['id']}/end", json={"notes": "belt replaced"},
                         headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["end_time"] is not None and r.json()["notes"] == "belt replaced"


async def test_refusals_name_the_field_and_the_rule(client, token_for, sessions):
    saw_line(sessions)
    h = token_for("supervisor")
    bad = {"machine": "SAW-JKS-001", "period_start": local(6).isoformat(),
           "period_end": local(7).isoformat(), "total": 10, "good": 11}  # fmt: skip
    err = (await _post(client, h, "/production-counts", bad, 422))["error"]
    assert err["field"] == "good" and "more than total" in err["message"]
    naive = {**bad, "good": 5, "period_start": "2026-06-02T06:00:00"}
    err = (await _post(client, h, "/production-counts", naive, 422))["error"]
    assert err["field"] == "period_start" and "UTC offset" in err["message"]
    err = (await _post(client, h, "/downtime", {"machine": "SAW-JKS-001",
                                                "reason_code": "NOPE"}, 422))["error"]  # fmt: skip
    assert err["field"] == "reason_code"
    router = {"machine": "ROUTER-JKS-001", "reason_code": "BD-MECH"}
    err = (await _post(client, h, "/downtime", router, 404))["error"]
    assert err["field"] == "machine" and "not a producing machine" in err["message"]
    r = await client.post(f"{BASE}/calculate", headers=h, json={**DAY, "machine": "SAW-JKS-001",
                                                                "site": "JKS"})  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["field"] == "scope"
    r = await client.post(f"{BASE}/calculate", headers=h, json={
        "site": "JKS", "start": "2024-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"})  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["field"] == "end"


async def test_reasons_pareto_mtbf_utilisation_and_comparison(client, token_for, sessions):
    saw_line(sessions)
    h = token_for("supervisor")
    await _worked_example(client, h)
    reasons = (await client.get(f"{BASE}/downtime/reasons", headers=h)).json()["items"]
    assert {"code": "SU-CHNG", "category": "changeover"}.items() <= next(
        r for r in reasons if r["code"] == "SU-CHNG").items()  # fmt: skip
    m = token_for("manager")
    pareto = await client.get(f"{BASE}/downtime/analysis", params={**DAY, "line": "SAW-1"},
                              headers=m)  # fmt: skip
    assert pareto.status_code == 200, pareto.text
    assert [(r["key"], r["events"], r["cumulative_pct"]) for r in pareto.json()["rows"]] == [
        ("BD-MECH", 1, 100.0)
    ]
    params = {**DAY, "site": "JKS", "by": "category"}
    by_cat = await client.get(f"{BASE}/downtime/analysis", params=params, headers=m)
    assert by_cat.json()["rows"][0]["key"] == "breakdown"
    rel = (await client.get(f"{BASE}/analytics/mtbf", params={**DAY, "machine": "SAW-JKS-001"},
                            headers=m)).json()  # fmt: skip
    # 870 planned minutes less 47 stopped, one failure of 47 minutes.
    assert rel["failures"] == 1 and rel["mtbf_hours"] == 13.72 and rel["mttr_hours"] == 0.78
    params = {**DAY, "machine": "SAW-JKS-001"}
    use = (await client.get(f"{BASE}/analytics/utilization", params=params, headers=m)).json()
    assert use["scheduled_hours"] == 14.5 and use["down_hours"] == 0.78
    cmp = await client.get(f"{BASE}/analytics/comparisons",
                           params={**DAY, "machine": "SAW-JKS-001"}, headers=m)  # fmt: skip
    assert cmp.status_code == 200, cmp.text
    failures = next(c for c in cmp.json()["changes"] if c["name"] == "failures")
    assert (failures["current"], failures["previous"], failures["delta"]) == (1, 0, 1)
    slow = await client.get(f"{BASE}/analytics/bottlenecks", params={**DAY, "line": "SAW-1"},
                            headers=m)  # fmt: skip
    assert slow.status_code == 200, slow.text
    rows = slow.json()["machines"]
    assert [r["is_bottleneck"] for r in rows].count(True) == 1
    assert rows[0]["is_bottleneck"] and rows[0]["line"] == "SAW-1"
    paces = [r["seconds_per_good"] for r in rows if not r["made_nothing"]]
    assert paces == sorted(paces, reverse=True)
    r = await client.get(f"{BASE}/analytics/bottlenecks", params={**DAY, "line": "SAW-1"},
                         headers=token_for("b-manager"))  # fmt: skip
    assert r.status_code in (404, 422) and r.json()["error"]["field"] == "line"


async def test_the_permission_table_decides(client, token_for, sessions):
    saw_line(sessions)
    stop = {"machine": "SAW-JKS-001", "reason_code": "BD-MECH"}
    r = await client.post(f"{BASE}/downtime", json=stop, headers=token_for("planner"))
    assert r.status_code == 403 and r.json()["error"]["type"] == "NotAllowed"
    # An operator sees its machines' OEE but not the analytics.
    r = await client.get(f"{BASE}/analytics/mtbf", params={**DAY, "site": "JKS"},
                         headers=token_for("operator"))  # fmt: skip
    assert r.status_code == 403
    r = await client.post(f"{BASE}/calculate", json={**DAY, "site": "JKS"},
                          headers=token_for("operator"))  # fmt: skip
    assert r.status_code == 200, r.text


async def test_another_organisation_gets_404(client, token_for, sessions):
    saw_line(sessions)
    opened = await _post(client, token_for("supervisor"), "/downtime",
                         {"machine": "SAW-JKS-001", "reason_code": "BD-MECH"})  # fmt: skip
    other = token_for("b-manager")
    stop = {"machine": "SAW-JKS-001", "reason_code": "BD-MECH"}
    r = await client.post(f"{BASE}/downtime", json=stop, headers=other)
    assert r.status_code == 404, r.text
    r = await client.put(f"{BASE}/downtime/{opened['id']}/end", json={}, headers=other)
    assert r.status_code == 404, r.text
    r = await client.post(f"{BASE}/calculate", json={**DAY, "machine": "SAW-JKS-001"},
                          headers=other)  # fmt: skip
    assert r.status_code == 404 and r.json()["error"]["field"] == "machine"
    r = await client.get(f"{BASE}/analytics/mtbf", params={**DAY, "site": "JKS"}, headers=other)
    assert r.status_code == 404 and r.json()["error"]["field"] == "site"
    r = await client.post(f"{BASE}/production-counts", headers=other, json={
        "machine": "SAW-JKS-001", "period_start": local(6).isoformat(),
        "period_end": local(7).isoformat(), "total": 1, "good": 1})  # fmt: skip
    assert r.status_code == 404, r.text


async def test_energy_readings_cost_and_baseline(client, token_for, sessions):
    from datetime import date, time

    from domain.models import Site
    from domain.models.production import Machine
    from domain.services import energy

    ids = saw_line(sessions)
    with sessions() as s:
        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        energy.set_rate(session=s, site=site, effective=date(2026, 1, 1), rate_per_kwh=0.08,
                        bands=[(time(7), time(19), 0.15)])  # fmt: skip
        energy.set_baseline(session=s, machine=s.get(Machine, ids["SAW-JKS-001"]),
                            effective=date(2026, 1, 1), kwh_per_unit=0.01)  # fmt: skip
        s.commit()
    h = token_for("supervisor")
    await _worked_example(client, h)
    for at, kwh in ((local(7), 100.0), (local(12), 150.0)):  # 06-07 night, 11-12 day
        reading = {"machine": "SAW-JKS-001", "reading_time": at.isoformat(), "kwh": kwh}
        await _post(client, h, "/energy/readings", reading)
    r = await client.get(f"{BASE}/energy/cost", params={**DAY, "machine": "SAW-JKS-001"},
                         headers=token_for("manager"))  # fmt: skip
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["kwh"] == 250.0 and out["cost"] == 8.0 + 22.5
    # 19,271 made at a baseline of 0.01 kWh each: 192.71 expected, 250 used, a spike.
    [m] = out["machines"]
    assert m["expected_kwh"] == 192.71 and m["spike"] is True


async def test_trends_and_figures_from_the_summaries(client, token_for, sessions):
    from datetime import UTC, datetime

    from domain.services.production_demo import load_production_demo

    now = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
    load_production_demo(sessions, days=7, now=now)
    span = {"start": "2026-11-16T00:00:00-06:00", "end": "2026-11-19T00:00:00-06:00"}
    h = token_for("manager")
    records = await client.post(f"{BASE}/calculate", json={**span, "site": "JKS"}, headers=h)
    summaries = await client.post(f"{BASE}/calculate", headers=h,
                                  json={**span, "site": "JKS", "source": "summaries"})  # fmt: skip
    assert summaries.status_code == 200, summaries.text
    assert summaries.json()["oee_pct"] == records.json()["oee_pct"] is not None
    r = await client.get(f"{BASE}/analytics/trends", params={**span, "site": "JKS"}, headers=h)
    assert r.status_code == 200, r.text
    assert [p["at"] for p in r.json()["points"]] == ["2026-11-16", "2026-11-17", "2026-11-18"]
    assert r.json()["oee_pct"] == records.json()["oee_pct"]
    per_shift = {**span, "site": "JKS", "source": "summaries", "by_shift": True}
    r = await client.post(f"{BASE}/calculate", headers=h, json=per_shift)
    assert r.status_code == 422 and r.json()["error"]["field"] == "by_shift"


async def test_output_per_work_order_lands_on_its_machine(client, token_for, sessions):
    from tests.api.test_work_orders_api import _create

    saw_line(sessions)
    number = await _create(client, token_for)
    h = token_for("supervisor")
    run = {"work_order": number.lower(), "period_start": local(6).isoformat(),
           "period_end": local(7).isoformat(), "total": 3000, "good": 2990,
           "entry_key": "end-of-run-1"}  # fmt: skip
    first = await _post(client, h, "/production-counts", run)
    assert first["machine"] == "SAW-JKS-001" and first["work_order"] == number
    again = await _post(client, h, "/production-counts", run)
    assert again["id"] == first["id"] and again["created"] is False
    elsewhere = {**run, "machine": "SAW-JKS-002", "entry_key": "end-of-run-2"}
    err = (await _post(client, h, "/production-counts", elsewhere, 422))["error"]
    assert err["field"] == "work_order"


async def test_scrap_and_stops_of_a_work_order_are_refused_on_another_machine(
    client, token_for, sessions
):
    # The output door refuses a work order running on another machine; the quality and
    # downtime doors must refuse it too, and write nothing.
    from tests.api.test_work_orders_api import _create

    saw_line(sessions)
    number = await _create(client, token_for)  # on SAW-JKS-001
    h = token_for("supervisor")
    scrap = {"machine": "SAW-JKS-002", "event_type": "scrap", "quantity": 3,
             "occurred_at": local(7).isoformat(), "work_order": number}  # fmt: skip
    err = (await _post(client, h, "/quality-events", scrap, 422))["error"]
    assert err["field"] == "work_order"
    stop = {"machine": "SAW-JKS-002", "reason_code": "BD-MECH", "work_order": number,
            "start_time": local(8).isoformat(), "end_time": local(8, 30).isoformat()}  # fmt: skip
    err = (await _post(client, h, "/downtime", stop, 422))["error"]
    assert err["field"] == "work_order"
    with sessions() as s:
        kinds = set(s.scalars(select(AuditLog.entity_type)))
    assert not kinds & {"QUALITY_EVENT", "PRODUCTION_DOWNTIME"}


async def test_performance_logs_against_the_ideal_cycle(client, token_for, sessions):
    """Seed 002 performance_logs: observed cycle times, the target defaulting to the
    machine's ideal cycle, audited; listed per machine and period; the table decides."""
    saw_line(sessions)
    h = token_for("supervisor")
    at = local(9).isoformat()
    body = {"machine": "SAW-JKS-001", "logged_at": at, "actual_cycle_seconds": 1.25, "units": 40}
    row = await _post(client, h, "/performance-logs", body)
    assert row["target_cycle_seconds"] == 1.0 and row["speed_pct"] == 80.0
    later = {"target_cycle_seconds": 2.5, "logged_at": local(10).isoformat()}
    await _post(client, h, "/performance-logs", body | later)
    listed = await client.get(f"{BASE}/performance-logs", params={**DAY, "machine": "SAW-JKS-001"},
                              headers=token_for("manager"))  # fmt: skip
    assert [r["speed_pct"] for r in listed.json()["items"]] == [80.0, 200.0]
    with sessions() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "PERFORMANCE_LOGGED")).all()
    assert len(audit) == 2 and audit[0].user_role == "MAINT_SUPERVISOR"
    bad = await client.post(f"{BASE}/performance-logs", json=body | {"actual_cycle_seconds": 0},
                            headers=h)  # fmt: skip
    assert bad.status_code == 422 and "actual_cycle_seconds" in bad.json()["error"]["field"]
    other = await client.post(f"{BASE}/performance-logs", json=body,
                              headers=token_for("b-supervisor"))  # fmt: skip
    assert other.status_code in (403, 404)
    auditor = await client.post(f"{BASE}/performance-logs", json=body,
                                headers=token_for("auditor"))  # fmt: skip
    assert auditor.status_code == 403
