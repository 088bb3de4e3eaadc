"""An operator report's and a stop-work's steps as people see them: the report's status in
the API's answer and on its work order's page, and every step in the audit log an auditor
reads (page and export), each step once with who, role, before and after."""

import csv
import io

from tests.api.test_web_anomalies import _login
from tests.api.test_work_orders_api import _post

ASSET = "SAW-JKS-001"
REPORT = {
    "asset": ASSET, "report_type": "BREAKDOWN", "severity": "HIGH", "symptom": "FLUID_LEAK",
    "description": "Hose burst on the clamp", "stopped_equipment": True,
    "safety_hazard": False, "impacted_job": "JOB-9",
}  # fmt: skip
REPORT_STEPS = [
    "REPORTED", "WORK_ORDER_OPENED", "DOWNTIME_STARTED", "ROLES_NOTIFIED",
    "WORK_ORDER_SUBMITTED", "ASSET_DOWN",
]  # fmt: skip


async def _audit_rows(client, reference: str) -> list[list[str]]:
    answer = await client.get(f"/audit?record={reference}&format=csv")
    assert answer.status_code == 200, answer.text
    rows = list(csv.reader(io.StringIO(answer.text)))
    # Newest first on the page and in the export: oldest first here.
    return [r for r in reversed(rows[1:]) if r[3] == reference]


async def test_report_and_stop_work_steps_are_shown_and_audited(client, token_for):
    report = await _post(client, token_for("operator"), "/reports/operator", REPORT, 201)
    assert report["status"] == "ASSET_DOWN" and report["asset_status"] == "OUT_OF_SERVICE"
    reference, number = f"OPR-{report['report_id']}", report["work_order"]
    raised = await _post(
        client, token_for("operator"), "/stop-work", {"asset": ASSET, "reason": "Oil mist"}, 201
    )
    await _post(
        client, token_for("ehs"), f"/stop-work/{raised['stop_work_id']}/clear",
        {"reason": "Mist extracted"},
    )  # fmt: skip

    # The work order's origin line names the report and the last step it did.
    await _login(client, "supervisor")
    page = (await client.get(f"/work-orders/{number}")).text
    assert reference in page and 'id="report-status">report: asset down<' in page.lower()

    await _login(client, "auditor")
    steps = await _audit_rows(client, reference)
    assert [r[4] for r in steps] == REPORT_STEPS  # each step once, in the order done
    operator = steps[0][5]
    assert operator and {(r[2], r[5]) for r in steps} == {("OPERATOR_REPORT", operator)}
    assert all(r[6] for r in steps)  # the role
    assert (steps[0][7], steps[0][8], steps[0][9]) == (
        REPORT["description"], '{"status": null}', '{"status": "REPORTED"}',
    )  # fmt: skip
    assert steps[-1][8] == '{"status": "WORK_ORDER_SUBMITTED"}'
    page = (await client.get(f"/audit?record={reference}")).text
    assert all(step.replace("_", " ").lower() in page.lower() for step in REPORT_STEPS)

    swa = f"SWA-{raised['stop_work_id']}"
    decisions = await _audit_rows(client, swa)
    actions = [r[4] for r in decisions]
    assert actions[:2] == ["STOP_WORK_RAISED", "ASSET_HELD"]
    assert "STOP_WORK_CLEARED" in actions and actions.count("STOP_WORK_CLEARED") == 1
    assert actions[actions.index("STOP_WORK_CLEARED") + 1] == "ASSET_RELEASED"
    told = [r[7] for r in decisions if r[4] == "WORK_ORDER_TOLD"]
    assert told.count(number) == 2  # told of the hold, then of the release; once each
    cleared = decisions[actions.index("STOP_WORK_CLEARED")]
    assert cleared[7] == "Mist extracted" and '"cleared_by"' in cleared[9]
    assert len({tuple(r) for r in decisions}) == len(decisions)
