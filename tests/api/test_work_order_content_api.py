"""Content through the API: no transaction or row lock of the API spans the workflow's
answer, the refusals keep their field, and an uploaded file is stored once by its hash."""

import asyncio

from sqlalchemy import func, select, text

from domain.models import StoredFile, WorkOrderAttachment
from tests.anomaly_helpers import PNG
from tests.api.test_work_orders_api import BASE, _create, _post, _to_in_progress

# Backends of this database in a transaction but doing nothing: a transaction held open.
IDLE_IN_TRANSACTION = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND state LIKE 'idle in transaction%' AND pid <> ALL(:mine)"
)
WAITING_ON = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND :holder = ANY(pg_blocking_pids(pid))"
)


async def test_the_api_holds_no_transaction_while_the_workflow_writes_a_part(
    client, token_for, engine
):
    """The work order's row is held here, so the issue's activity waits inside the update;
    meanwhile the part's row is free (NOWAIT succeeds) and no API transaction is open."""
    planner, tech = token_for("planner"), token_for("tech")
    await _post(
        client, planner, "/parts",
        {"part_number": "P-LOCK", "name": "Blade 14in", "category": "MECHANICAL",
         "unit_cost": 80, "quantity_on_hand": 10},
        201,
    )  # fmt: skip
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)

    with engine.connect() as holder, engine.connect() as other, engine.connect() as watch:
        # NO KEY UPDATE: the row may still be referenced (a new part line's foreign key),
        # but the workflow's write, which locks it FOR UPDATE, waits.
        holder.execute(
            text("SELECT id FROM work_orders WHERE number = :n FOR NO KEY UPDATE"), {"n": number}
        )
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        other_pid = other.execute(text("SELECT pg_backend_pid()")).scalar_one()
        watch.commit()
        issue = asyncio.create_task(
            client.post(
                f"{BASE}/parts/P-LOCK/issue",
                json={"work_order": number, "quantity": 3},
                headers=tech,
            )
        )
        waiting = 0
        for _ in range(600):  # until the activity waits on the held row, inside the update
            waiting = watch.execute(WAITING_ON, {"holder": holder_pid}).scalar_one()
            watch.commit()
            if waiting or issue.done():
                break
            await asyncio.sleep(0.05)
        assert waiting, "the issue never reached the workflow's write while the row was held"
        assert not issue.done()
        # The update is in flight: the part's row is free, and no API transaction is open.
        locked = other.execute(
            text("SELECT id FROM spare_parts WHERE part_number = 'P-LOCK' FOR UPDATE NOWAIT")
        ).all()
        assert len(locked) == 1
        other.commit()
        idle = watch.execute(IDLE_IN_TRANSACTION, {"mine": [holder_pid, other_pid]}).all()
        watch.commit()
        assert idle == []
        holder.rollback()
        r = await asyncio.wait_for(issue, 30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["part"]["quantity_on_hand"] == 7 and body["used"] == 3
    assert body["work_order"]["number"] == number and body["alerts"] == []


async def test_a_file_uploaded_twice_is_stored_once(client, token_for, sessions):
    number = await _create(client, token_for)
    tech = token_for("tech")
    ids = []
    for kind in ("CHECKLIST", "PHOTO_AFTER"):
        r = await client.post(
            f"{BASE}/work-orders/{number}/attachments",
            data={"kind": kind},
            files={"file": (f"{kind.lower()}.png", PNG, "image/png")},
            headers=tech,
        )
        assert r.status_code == 201, r.text
        assert r.json()["number"] == number and r.json()["status"] == "DRAFT"
        ids.append(r.json()["attachment_id"])
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 1
        rows = s.scalars(select(WorkOrderAttachment).where(WorkOrderAttachment.id.in_(ids))).all()
        assert len({r.sha256 for r in rows}) == 1 and all(r.content is None for r in rows)
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=tech)).json()
    assert [a["kind"] for a in wo["attachments"]] == ["CHECKLIST", "PHOTO_AFTER"]
    # Refused before anything is stored: a photo that is not an image.
    r = await client.post(
        f"{BASE}/work-orders/{number}/attachments",
        data={"kind": "PHOTO_BEFORE"},
        files={"file": ("notes.txt", b"not a photo", "text/plain")},
        headers=tech,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 1


async def test_a_refusal_from_the_write_keeps_its_status_message_and_field(client, token_for):
    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    tech = token_for("tech")
    r = await _post(client, tech, f"/work-orders/{number}/tasks/2/complete", {}, 422)
    assert r["error"] == {
        "type": "RuleViolation",
        "message": "task 2 needs a measurement in mm",
        "field": "measurement_value",
    }
    r = await _post(client, tech, f"/work-orders/{number}/labor", {"technician": "operator",
                                                                    "hours": 1}, 422)  # fmt: skip
    assert r["error"]["field"] == "technician"
    assert r["error"]["message"] == "technician: operator does not execute work orders"
    r = await _post(client, tech, "/parts/NOPE/issue", {"work_order": number, "quantity": 1}, 404)
    assert r["error"] == {"type": "NotFound", "message": "part NOPE not found",
                          "field": "part_number"}  # fmt: skip


async def test_the_page_forms_write_through_the_same_path(client, token_for, sessions):
    """Labour and a file from the detail page: the same typed updates, the same standard
    rate as the API, the same file store."""
    from domain.rules.work_orders import STANDARD_HOURLY_RATE
    from tests.api.test_web_anomalies import _login

    number = await _create(client, token_for)
    await _to_in_progress(client, token_for, number, loto=False)
    tech = token_for("tech")
    await _post(client, tech, f"/work-orders/{number}/labor", {"hours": 1}, 201)
    r = await client.post(
        f"{BASE}/work-orders/{number}/attachments",
        data={"kind": "CHECKLIST"},
        files={"file": ("checklist.png", PNG, "image/png")},
        headers=tech,
    )
    assert r.status_code == 201, r.text
    csrf = await _login(client, "tech")
    r = await client.post(
        f"/work-orders/{number}/content/labor", data={"hours": "2", "csrf_token": csrf}
    )
    assert r.status_code == 303, r.text
    r = await client.post(
        f"/work-orders/{number}/content/file",
        data={"kind": "PHOTO_AFTER", "csrf_token": csrf},
        files={"file": ("after.png", PNG, "image/png")},
    )
    assert r.status_code == 303, r.text
    r = await client.post(
        f"/work-orders/{number}/content/labor", data={"hours": "30", "csrf_token": csrf}
    )
    assert r.status_code == 422 and "hours: between 0 and 24" in r.text
    wo = (await client.get(f"{BASE}/work-orders/{number}", headers=tech)).json()
    assert [(e["hours"], e["cost"]) for e in wo["labor"]] == [
        (1, STANDARD_HOURLY_RATE),
        (2, 2 * STANDARD_HOURLY_RATE),
    ]
    assert [a["kind"] for a in wo["attachments"]] == ["CHECKLIST", "PHOTO_AFTER"]
    history = (await client.get(f"{BASE}/work-orders/{number}/history", headers=tech)).json()
    assert [h["action"] for h in history].count("LABOR") == 2
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 1
