"""Lists and details load what they show in a fixed number of SQL statements: a page of 50
costs what a page of 5 costs, and a record with many lines what a record with one costs."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from domain.models import (
    Anomaly,
    AnomalyAttachment,
    Permit,
    SparePart,
    User,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderPart,
    WorkOrderTask,
)
from domain.services import read_views
from workers import bench_api

ASSETS = "/api/v1/maintenance/assets"
ANOMALIES = "/api/v1/anomalies"
WORK_ORDERS = "/api/v1/maintenance/work-orders"


@contextmanager
def counting(engine) -> Iterator[list[str]]:
    """The statements run through the engine and on the reads' own connections."""
    statements: list[str] = []

    def count(conn, cursor, statement, *_):
        statements.append(statement)

    own = read_views._one

    async def one(conn, key, build, values):
        statements.append(read_views._sql(key, build)[0])
        return await own(conn, key, build, values)

    event.listen(engine, "before_cursor_execute", count)
    read_views._one = one
    try:
        yield statements
    finally:
        read_views._one = own
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def seeded(sessions):
    """The bench's scratch organisation, 60 anomalies and 60 work orders, and its viewer."""
    with sessions() as s, s.begin():
        bench_api.seed(s, rows=60)
    return bench_api.VIEWER


async def _statements(client, engine, path: str, headers) -> int:
    with counting(engine) as statements:
        r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return len(statements)


@pytest.mark.parametrize("path", [ASSETS, ANOMALIES, WORK_ORDERS])
async def test_a_page_of_50_costs_what_a_page_of_5_costs(client, engine, token_for, seeded, path):
    h = token_for(seeded)
    page = (await client.get(path, params={"limit": 50}, headers=h)).json()
    assert len(page["items"]) == 50  # every row has lines to show: the case that multiplies
    small = await _statements(client, engine, f"{path}?limit=5", h)
    large = await _statements(client, engine, f"{path}?limit=50", h)
    assert large == small
    assert large <= 2  # the bearer check, then the count and the page in one statement


def _add_lines(sessions, organization_id: int, reference: str, number: str, n: int) -> None:
    """n attachments on the anomaly; n tasks, parts, permits and files on the work order."""
    with sessions() as s, s.begin():
        anomaly = s.scalars(select(Anomaly).filter_by(reference=reference)).one()
        wo = s.scalars(select(WorkOrder).filter_by(number=number)).one()
        part = SparePart(
            organization_id=organization_id,
            part_number=f"P-{number}",
            name="bearing",
            category="MECHANICAL",
        )
        s.add(part)
        s.flush()
        for i in range(n):
            s.add(
                AnomalyAttachment(
                    anomaly_id=anomaly.id,
                    kind="PHOTO",
                    filename=f"{i}.png",
                    content_type="image/png",
                    size=1,
                    content=b"x",
                    uploaded_by="test",
                )
            )
            s.add(WorkOrderTask(work_order_id=wo.id, sequence=10 + i, description=f"t{i}"))
            s.add(
                WorkOrderPart(
                    work_order_id=wo.id, part_id=part.id, quantity_required=1, requested_by="t"
                )
            )
            s.add(
                Permit(
                    organization_id=organization_id,
                    number=f"PRM-{number}-{i}",
                    kind="LOTO",
                    work_order_id=wo.id,
                    asset_id=wo.asset_id,
                    issued_by="test",
                )
            )
            s.add(
                WorkOrderAttachment(
                    work_order_id=wo.id,
                    kind="PHOTO",
                    filename=f"{i}.png",
                    content_type="image/png",
                    size=1,
                    content=b"x",
                    uploaded_by="test",
                )
            )


async def test_a_detail_costs_the_same_whatever_it_holds(
    client, engine, sessions, token_for, seeded
):
    h = token_for(seeded)
    with sessions() as s:
        org = s.scalars(select(User.organization_id).filter_by(username=seeded)).one()
    _add_lines(sessions, org, "ANO-BR-0000001", "WO-BR-0000001", 1)
    _add_lines(sessions, org, "ANO-BR-0000002", "WO-BR-0000002", 8)
    one = await _statements(client, engine, f"{ANOMALIES}/ANO-BR-0000001", h)
    many = await _statements(client, engine, f"{ANOMALIES}/ANO-BR-0000002", h)
    assert one == many and many <= 3  # the bearer check, the owner, the record
    one = await _statements(client, engine, f"{WORK_ORDERS}/WO-BR-0000001", h)
    many = await _statements(client, engine, f"{WORK_ORDERS}/WO-BR-0000002", h)
    assert one == many and many <= 3
    detail = (await client.get(f"{WORK_ORDERS}/WO-BR-0000002", headers=h)).json()
    assert len(detail["permits"]) == 8 and len(detail["parts"]) == 8
    assert len(detail["attachments"]) == 8 and len(detail["tasks"]) == 10
