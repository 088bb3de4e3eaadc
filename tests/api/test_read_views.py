"""Lists read as plain columns answer exactly what the records' own answers say: the same
fields and values as building each record (`to_out`) and checking it against the model."""

import pytest
from sqlalchemy import select

from api import work_order_actions as wo_actions
from api.routes.work_orders import _out
from domain.models import Anomaly, Asset, User, WorkOrder
from domain.schemas.anomalies import AnomalyOut
from domain.schemas.assets import AssetOut, Page
from domain.schemas.work_order_out import WorkOrderOut, WorkOrderPage
from domain.services import anomalies, assets
from domain.services import work_orders as wo_service
from domain.services.users import actor_for
from tests.api.test_read_queries import _add_lines
from workers import bench_api

ASSETS = "/api/v1/maintenance/assets"
ANOMALIES = "/api/v1/anomalies"
WORK_ORDERS = "/api/v1/maintenance/work-orders"


@pytest.fixture
def viewer(sessions):
    with sessions() as s, s.begin():
        bench_api.seed(s, rows=30)
    with sessions() as s:
        user = s.scalars(select(User).filter_by(username=bench_api.VIEWER)).one()
        org = user.organization_id
        actor = actor_for(user)
    _add_lines(sessions, org, "ANO-BR-0000029", "WO-BR-0000029", 3)
    with sessions() as s, s.begin():  # a parent, a status reason, an empty area
        child, parent = s.scalars(
            select(Asset).filter_by(organization_id=org).order_by(Asset.id).limit(2)
        ).all()
        child.parent_asset_id, child.status_reason, child.area_id = parent.id, "seen", None
        odd, bare = s.scalars(
            select(Anomaly).filter_by(organization_id=org).order_by(Anomaly.id.desc()).limit(2)
        ).all()
        odd.work_log, odd.resolution, odd.criticality_reasons = None, None, None  # JSON null
        bare.enrichment, bare.assignee_id = {}, None
    return actor


def _as_stored(shape, items, total, limit, offset):
    page = {"items": items, "total": total, "limit": limit, "offset": offset}
    return shape.model_validate(page).model_dump(mode="json")


@pytest.mark.parametrize("query", ["limit=50", "limit=7&offset=3"])
async def test_lists_answer_what_the_records_say(client, sessions, token_for, viewer, query):
    h = token_for(viewer.username)
    limit, offset = 50, 0
    if "offset" in query:
        limit, offset = 7, 3
    with sessions() as s:
        rows, total = assets.list_assets(
            session=s, actor=viewer, filters=assets.AssetFilters(), limit=limit, offset=offset
        )
        want_assets = _as_stored(
            Page[AssetOut], [assets.to_out(s, a) for a in rows], total, limit, offset
        )
        rows, total = anomalies.list_anomalies(
            session=s, actor=viewer, filters=anomalies.AnomalyFilters(), limit=limit, offset=offset
        )
        want_anomalies = _as_stored(
            Page[AnomalyOut], [anomalies.to_out(s, a) for a in rows], total, limit, offset
        )
        wos = s.scalars(
            select(WorkOrder)
            .where(WorkOrder.organization_id == viewer.organization_id)
            .options(*wo_service.SHOWN)
            .order_by(WorkOrder.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        want_wos = _as_stored(WorkOrderPage, [_out(s, w) for w in wos], 30, limit, offset)
    for path, want in ((ASSETS, want_assets), (ANOMALIES, want_anomalies), (WORK_ORDERS, want_wos)):
        r = await client.get(f"{path}?{query}", headers=h)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.json() == want
        assert len(want["items"]) == min(limit, want["total"] - offset) > 0


async def test_filtered_lists_still_join_cleanly(client, token_for, viewer):
    h = token_for(viewer.username)
    for path in (
        f"{ASSETS}?site=BR1&type=PUMP&work_center=WC1&q=pump",
        f"{ANOMALIES}?site=BR1&asset=BR-00001&assignee={viewer.username}",
        f"{WORK_ORDERS}?asset=BR-00001&assignee={viewer.username}",
    ):
        r = await client.get(path, headers=h)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["items"], path


async def test_details_answer_what_the_records_say(client, sessions, token_for, viewer):
    h = token_for(viewer.username)
    org = viewer.organization_id
    with sessions() as s, s.begin():  # two work orders opened from one anomaly
        for number in ("WO-BR-0000003", "WO-BR-0000001"):
            s.scalars(
                select(WorkOrder).filter_by(number=number)
            ).one().source_reference = "ANO-BR-0000029"
    for ref in ("ANO-BR-0000029", "ano-br-0000028", "ANO-BR-0000000"):
        with sessions() as s:
            anomaly = anomalies.get_anomaly(session=s, organization_id=org, reference=ref)
            want = anomalies.to_out(s, anomaly).model_dump(mode="json")
            want["work_orders"] = wo_actions.work_orders_of(s, ref, org)
        r = await client.get(f"{ANOMALIES}/{ref}", headers=h)
        assert r.status_code == 200, r.text
        assert r.json() == want  # no workflow behind a seeded row: live is null in both
    assert len(want["work_orders"]) == 0 and len(r.json()["attachments"]) == 1
    assert [w["number"] for w in (await client.get(f"{ANOMALIES}/ANO-BR-0000029", headers=h))
            .json()["work_orders"]] == ["WO-BR-0000001", "WO-BR-0000003"]  # fmt: skip
    for number in ("WO-BR-0000029", "wo-br-0000002"):
        with sessions() as s:
            want = WorkOrderOut.model_validate(
                _out(s, wo_service.get(s, org, number, shown=True))
            ).model_dump(mode="json")
        r = await client.get(f"{WORK_ORDERS}/{number}", headers=h)
        assert r.status_code == 200, r.text
        assert r.json() == want
    assert (await client.get(f"{ANOMALIES}/ANO-XX-1", headers=h)).status_code == 404
    assert (await client.get(f"{WORK_ORDERS}/WO-XX-1", headers=h)).status_code == 404
