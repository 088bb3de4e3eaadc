"""Seed 002's `snapshots` and `realtime/{machine}` under /api/v1/oee: a machine's
snapshots over a period, its status now and the running shift's OEE against its target;
refusals naming their field, the permission table, another organisation kept out."""

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.actor import system_actor
from domain.models import Asset, Site
from domain.services import oee_snapshots, production
from tests.oee_helpers import local, saw_line, snapshot_round

BASE = "/api/v1/oee"
CHICAGO = ZoneInfo("America/Chicago")


def _shift_around_now(sessions) -> None:
    """SAW-JKS-001 producing, with one shift from two hours ago to two hours ahead."""
    now = datetime.now(UTC).astimezone(CHICAGO)
    with sessions() as s:
        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        actor = system_actor(site.organization_id, "test")
        asset = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-001")).one()
        production.register_machine(session=s, actor=actor, asset=asset, ideal_cycle_seconds=1.0)
        start, end = now - timedelta(hours=2), now + timedelta(hours=2)
        production.add_shift(session=s, site=site, code="NOW", oee_target_pct=70.0,
                             starts_at=clock(start.hour, start.minute),
                             ends_at=clock(end.hour, end.minute))  # fmt: skip
        s.commit()


async def test_realtime_follows_the_machine_through_the_shift(client, token_for, sessions):
    _shift_around_now(sessions)
    h = token_for("supervisor")
    r = await client.get(f"{BASE}/realtime/saw-jks-001", headers=h)
    assert r.status_code == 200, r.text
    live = r.json()
    assert live["status"] == "running" and live["shift"]["code"] == "NOW"
    assert live["target_pct"] == 85.0 and live["shift"]["target_pct"] == 70.0
    assert live["stoppage"] is None and "NO_OUTPUT" in live["flags"]
    assert live["on_target"] is False and live["planned_minutes"] > 0
    now = datetime.now(UTC)
    r = await client.post(f"{BASE}/production-counts", headers=h, json={
        "machine": "SAW-JKS-001", "period_start": (now - timedelta(minutes=90)).isoformat(),
        "period_end": (now - timedelta(minutes=30)).isoformat(), "total": 3_000, "good": 2_900,
    })  # fmt: skip
    assert r.status_code == 201, r.text
    r = await client.post(f"{BASE}/downtime", headers=h, json={
        "machine": "SAW-JKS-001", "reason_code": "BD-MECH",
        "start_time": (now - timedelta(minutes=20)).isoformat()})  # fmt: skip
    assert r.status_code == 201, r.text
    live = (await client.get(f"{BASE}/realtime/SAW-JKS-001", headers=h)).json()
    assert live["status"] == "down" and live["stoppage"]["reason_code"] == "BD-MECH"
    assert live["stoppage"]["minutes"] >= 20 and live["down_minutes"] >= 20
    assert live["total_count"] == 3_000 and live["good_count"] == 2_900
    assert live["oee_pct"] is not None and live["on_target"] == (live["oee_pct"] >= 85.0)
    # An operator sees the card of a machine of its work centre.
    r = await client.get(f"{BASE}/realtime/SAW-JKS-001", headers=token_for("operator"))
    assert r.status_code == 200 and r.json()["status"] == "down", r.text


async def test_realtime_between_shifts_is_idle(client, token_for, sessions):
    with sessions() as s:
        site = s.scalars(select(Site).where(Site.code == "JKS")).one()
        actor = system_actor(site.organization_id, "test")
        asset = s.scalars(select(Asset).where(Asset.asset_number == "SAW-JKS-001")).one()
        production.register_machine(session=s, actor=actor, asset=asset, ideal_cycle_seconds=1.0)
        s.commit()  # no shift at all
    r = await client.get(f"{BASE}/realtime/SAW-JKS-001", headers=token_for("manager"))
    assert r.status_code == 200, r.text
    live = r.json()
    assert (live["status"], live["shift"], live["oee_pct"], live["on_target"]) == (
        "idle", None, None, None)  # fmt: skip
    assert "NO_PLANNED_TIME" in live["flags"]


async def test_snapshots_of_a_machine_over_a_period(client, token_for, sessions):
    ids = saw_line(sessions)
    h = token_for("supervisor")
    r = await client.post(f"{BASE}/downtime", headers=h, json={
        "machine": "SAW-JKS-001", "reason_code": "BD-MECH", "start_time": local(8).isoformat(),
        "end_time": local(8, 10).isoformat()})  # fmt: skip
    assert r.status_code == 201, r.text
    with sessions() as s:
        for minutes in range(5, 35, 5):
            oee_snapshots.take_snapshots(session=s, taken_at=local(7, 45) + timedelta(
                minutes=minutes))  # fmt: skip
        s.commit()
    assert ids
    params = {"machine": "saw-jks-001", "start": local(7, 45).isoformat(),
              "end": local(8, 15).isoformat()}  # fmt: skip
    r = await client.get(f"{BASE}/snapshots", params=params, headers=token_for("manager"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["machine"] == "SAW-JKS-001" and out["count"] == 6
    taken = [datetime.fromisoformat(x["taken_at"]) for x in out["items"]]
    assert taken == [local(7, 45) + timedelta(minutes=m) for m in range(5, 35, 5)]
    assert [x["down_minutes"] for x in out["items"]] == [0.0, 0.0, 0.0, 5.0, 5.0, 0.0]
    assert [x["availability_pct"] for x in out["items"]][3] == 0.0
    assert out["planned_minutes"] == 30.0 and out["down_minutes"] == 10.0
    # Half open: a snapshot at the start belongs to the period before.
    later = {**params, "start": local(8).isoformat()}
    r = await client.get(f"{BASE}/snapshots", params=later, headers=token_for("manager"))
    assert r.json()["count"] == 3


async def test_refusals_name_the_field(client, token_for, sessions):
    saw_line(sessions)
    m = token_for("manager")
    base = {"machine": "SAW-JKS-001", "start": local(8).isoformat(), "end": local(9).isoformat()}
    cases = [
        ({**base, "end": local(7).isoformat()}, "end"),
        ({**base, "start": "yesterday"}, "start"),
        ({**base, "start": "2026-06-02T08:00:00"}, "start"),  # no offset
        ({**base, "end": (local(8) + timedelta(days=40)).isoformat()}, "end"),
        ({k: v for k, v in base.items() if k != "machine"}, "machine"),
    ]
    for params, field in cases:
        r = await client.get(f"{BASE}/snapshots", params=params, headers=m)
        assert 400 <= r.status_code < 500 and r.json()["error"]["field"] == field, (params, r.text)
    r = await client.get(f"{BASE}/snapshots", params={**base, "machine": "NOPE-1"}, headers=m)
    assert r.status_code == 404 and r.json()["error"]["field"] == "machine"
    r = await client.get(f"{BASE}/realtime/NOPE-1", headers=m)
    assert r.status_code == 404 and r.json()["error"]["field"] == "machine"
    r = await client.get(f"{BASE}/realtime/{'X' * 61}", headers=m)
    assert r.status_code == 422 and r.json()["error"]["field"] == "machine", r.text


async def test_permissions_and_another_organisation(client, token_for, sessions):
    saw_line(sessions)
    params = {"machine": "SAW-JKS-001", "start": local(8).isoformat(),
              "end": local(9).isoformat()}  # fmt: skip
    # Snapshots are analytics: an operator sees its live cards, not the history.
    r = await client.get(f"{BASE}/snapshots", params=params, headers=token_for("operator"))
    assert r.status_code == 403 and r.json()["error"]["type"] == "NotAllowed"
    r = await client.get(f"{BASE}/snapshots", params=params)
    assert r.status_code == 401
    r = await client.get(f"{BASE}/realtime/SAW-JKS-001")
    assert r.status_code == 401
    other = token_for("b-manager")
    r = await client.get(f"{BASE}/snapshots", params=params, headers=other)
    assert r.status_code == 404 and r.json()["error"]["field"] == "machine"
    r = await client.get(f"{BASE}/realtime/SAW-JKS-001", headers=other)
    assert r.status_code == 404 and r.json()["error"]["field"] == "machine"


async def test_mtbf_and_pareto_from_the_stored_sums(client, token_for, sessions):
    saw_line(sessions)
    h = token_for("supervisor")
    for code, start, end in (("BD-MECH", local(8), local(8, 47)), ("MT-WAIT", local(8, 10),
                             local(8, 40)), ("SU-CHNG", local(15), local(15, 30))):  # fmt: skip
        r = await client.post(f"{BASE}/downtime", headers=h, json={
            "machine": "SAW-JKS-001", "reason_code": code, "start_time": start.isoformat(),
            "end_time": end.isoformat()})  # fmt: skip
        assert r.status_code == 201, r.text
    with sessions() as s:
        snapshot_round(s, local(0), local(23))
        s.commit()
    m = token_for("manager")
    params = {"site": "JKS", "start": local(0).isoformat(), "end": local(22, 59).isoformat()}
    for path in ("/analytics/mtbf", "/downtime/analysis"):
        records = await client.get(f"{BASE}{path}", params=params, headers=m)
        kept = await client.get(f"{BASE}{path}", params={**params, "source": "summaries"},
                                headers=m)  # fmt: skip
        assert records.status_code == kept.status_code == 200, kept.text
        assert kept.json() == records.json()
    assert kept.json()["rows"][0]["key"] == "BD-MECH"
    r = await client.get(f"{BASE}/analytics/mtbf", params={**params, "source": "raw"}, headers=m)
    assert r.status_code == 422 and r.json()["error"]["field"] == "source"
