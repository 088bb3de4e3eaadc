"""Editing and removing a work order's tasks before approval, through the API and the
work-order page alike: written by the workflow's activity with its audit row (before and
after), refused once the work order is approved (409 naming the rule), and on the page the
refusal comes back at the task's form with what was typed."""

from sqlalchemy import select

from domain.models import AuditLog, WorkOrder, WorkOrderTask
from tests.api.test_web_anomalies import _login
from tests.api.test_work_orders_api import BASE, _create, _post


def _tasks(sessions, number: str) -> list[tuple]:
    with sessions() as s:
        wo = s.scalars(select(WorkOrder).filter_by(number=number)).one()
        rows = s.scalars(
            select(WorkOrderTask).filter_by(work_order_id=wo.id).order_by(WorkOrderTask.sequence)
        ).all()
        return [(t.sequence, t.description, t.spec_max, t.measurement_unit, t.requires_photo)
                for t in rows]  # fmt: skip


def _audit(sessions, number: str, action: str) -> list[AuditLog]:
    with sessions() as s:
        return list(s.scalars(select(AuditLog).filter_by(entity_id=number, action=action)).all())


async def test_tasks_edited_and_removed_before_approval_refused_after(client, token_for, sessions):
    sup, operator = token_for("supervisor"), token_for("operator")
    number = await _create(client, token_for)
    path = f"{BASE}/work-orders/{number}/tasks"
    edit = {"description": "Check blade run-out at the flange", "requires_measurement": True,
            "unit": "mm", "spec_max": 0.04, "requires_photo": True, "sequence": 5}  # fmt: skip
    r = await client.put(f"{path}/2", json=edit, headers=operator)
    assert r.status_code == 403, r.text  # an operator reports, does not plan the work
    r = await client.put(f"{path}/2", json=edit | {"spec_min": 1}, headers=sup)
    assert r.status_code == 422 and "spec_min" in r.text
    r = await client.put(f"{path}/2", json=edit, headers=sup)
    assert r.status_code == 200, r.text
    assert _tasks(sessions, number) == [
        (1, "Replace the blade", None, None, False),
        (5, "Check blade run-out at the flange", 0.04, "mm", True),
    ]
    shown = (await client.get(f"{BASE}/work-orders/{number}", headers=sup)).json()["tasks"]
    assert [(t["sequence"], t["requires_photo"]) for t in shown] == [(1, False), (5, True)]
    (row,) = _audit(sessions, number, "TASK_EDITED")
    assert row.previous_state["spec_max"] == 0.05 and row.previous_state["sequence"] == 2
    assert row.new_state["result"]["after"]["requires_photo"] is True
    assert row.user_name and row.user_role == "MAINT_SUPERVISOR"
    r = await client.put(f"{path}/9", json=edit | {"sequence": None}, headers=sup)
    assert r.status_code == 404 and r.json()["error"]["field"] == "task"
    r = await client.put(f"{path}/1", json=edit, headers=sup)  # 5 is taken
    assert r.status_code == 409 and r.json()["error"]["field"] == "sequence"

    await _post(client, sup, f"/work-orders/{number}/submit")
    r = await client.delete(f"{path}/1", params={"reason": "covered by 5"}, headers=sup)
    assert r.status_code == 200, r.text
    assert [t[0] for t in _tasks(sessions, number)] == [5]
    (gone,) = _audit(sessions, number, "TASK_REMOVED")
    assert (
        gone.previous_state["description"] == "Replace the blade" and "covered by 5" in gone.reason
    )

    await _post(client, token_for("manager"), f"/work-orders/{number}/approve")
    r = await client.put(f"{path}/5", json=edit | {"sequence": None}, headers=sup)
    assert r.status_code == 409, r.text
    assert (
        "only before approval" in r.json()["error"]["message"]
        and "APPROVED" in r.json()["error"]["message"]
    )
    r = await client.delete(f"{path}/5", headers=sup)
    assert r.status_code == 409 and "only before approval" in r.json()["error"]["message"]
    assert [t[0] for t in _tasks(sessions, number)] == [5]

    # The page: the edit form is gone once approved; a post refused shows the rule at the
    # task's form with the typed text kept.
    token = await _login(client, "supervisor")
    page = (await client.get(f"/work-orders/{number}")).text
    assert "/content/task-edit" not in page and "photo</span>" in page
    r = await client.post(
        f"/work-orders/{number}/content/task-edit",
        data={"csrf_token": token, "task": "5", "description": "Typed after approval",
              "requires_measurement": "on", "spec_max": "0.04", "unit": "mm"},
    )  # fmt: skip
    assert r.status_code == 409
    assert 'id="task-error"' in r.text and "only before approval" in r.text
    assert 'value="Typed after approval"' in r.text


async def test_task_edited_and_removed_on_the_page(client, token_for, sessions):
    number = await _create(client, token_for)
    await _login(client, "operator")
    page = (await client.get(f"/work-orders/{number}")).text
    assert "/content/task-edit" not in page  # who may not plan sees no edit form
    token = await _login(client, "planner")
    page = (await client.get(f"/work-orders/{number}")).text
    assert "/content/task-edit" in page and "Edit or remove task 2" in page
    form = {"csrf_token": token, "task": "2", "description": "ok", "sequence": "2",
            "requires_measurement": "on", "unit": "mm", "spec_max": "0.05"}  # fmt: skip
    r = await client.post(f"/work-orders/{number}/content/task-edit", data=form)
    assert r.status_code == 422 and 'id="description-error"' in r.text
    assert 'value="mm"' in r.text and 'value="ok"' in r.text  # kept
    form |= {"description": "Check run-out with the dial gauge", "requires_photo": "on"}
    r = await client.post(f"/work-orders/{number}/content/task-edit", data=form)
    assert r.status_code == 303, r.text
    r = await client.post(
        f"/work-orders/{number}/content/task-remove", data={"csrf_token": token, "task": "1"}
    )
    assert r.status_code == 303, r.text
    assert _tasks(sessions, number) == [(2, "Check run-out with the dial gauge", 0.05, "mm", True)]
