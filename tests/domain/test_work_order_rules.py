"""The pure work-order rules: C.2 moves, C.3 checks, K.3 evidence, I.3 approvals."""

import pytest

from domain.rules import work_orders as r
from domain.rules.work_orders import Approval, WoStatus, WoType

W = WoStatus


def _facts(**kw) -> r.WoFacts:
    return r.WoFacts(**{"type": WoType.CORRECTIVE, "status": W.DRAFT, "title": "Fix it",
                        "description": "What is wrong", **kw})  # fmt: skip


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c, targets in r.TRANSITIONS.items() for t in targets],
)
def test_every_allowed_move(current, target):
    assert r.move_refusal(current, target) is None


@pytest.mark.parametrize(
    ("current", "target"),
    [(W.DRAFT, W.APPROVED), (W.SCHEDULED, W.COMPLETED), (W.CLOSED, W.IN_PROGRESS),
     (W.APPROVED, W.IN_PROGRESS), (W.SUBMITTED, W.SCHEDULED)],
)  # fmt: skip
def test_refused_moves_name_what_is_allowed(current, target):
    message = r.move_refusal(current, target)
    assert message.startswith(f"cannot go from {current.value} to {target.value}")


def test_cancel_from_anything_not_final():
    assert all(r.move_refusal(s, W.CANCELLED) is None for s in W if s not in r.FINAL)
    assert r.move_refusal(W.CLOSED, W.CANCELLED) == "a CLOSED work order cannot be cancelled"


def test_submit_and_approve():
    assert r.submit_blocks(_facts(description="")) == ["description is required"]
    assert r.submit_blocks(_facts(has_asset=False)) == ["asset is required"]
    dear = _facts(estimated_cost=20_000)
    assert "approval limit" in r.approve_blocks(dear, ["MAINT_SUPERVISOR"])[0]
    assert r.approve_blocks(dear, ["MAINT_MANAGER"]) == []
    assert r.approve_blocks(_facts(), ["EHS"]) == ["EHS approves safety-related work orders only"]
    assert r.approve_blocks(_facts(type=WoType.SAFETY_RELATED), ["EHS"]) == []


def test_start_needs_every_permit_and_no_stop_work():
    f = _facts(requires_loto=True, requires_hot_work=True, safety_hold=True)
    assert r.start_blocks(f) == [
        "the asset is under a stop-work safety hold: EHS must clear it first",
        "LOTO permit required",
        "HOT-WORK permit required",
    ]
    f = _facts(requires_loto=True, permits=[r.Permit(r.PermitKind.LOTO, True, False)])
    assert r.start_blocks(f) == ["LOTO permit: energy isolation not verified"]


def test_complete_and_verify():
    f = _facts(tasks=[r.Task(1, "a"), r.Task(2, "b", required=False),
                      r.Task(3, "c", completed=True, requires_measurement=True,
                             measurement_passed=False)])  # fmt: skip
    assert r.complete_blocks(f) == [
        "task 1 not completed: a",
        "task 3 measurement out of spec: c",
        "no labour time logged",
    ]
    f = _facts(requires_loto=True, test_run_passed=False)
    blocks = r.verify_blocks(f)
    assert blocks[:2] == ["test run not passed", "LOTO not removed by an authorized person"]
    assert len(blocks) == 2 + len(r.VERIFICATION_CHECKLIST)


def test_evidence_per_type():
    assert r.evidence_blocks(_facts(type=WoType.PM)) == ["evidence missing: CHECKLIST"]
    safety = r.evidence_blocks(_facts(type=WoType.SAFETY_RELATED, evidence={"CHECKLIST"}))
    assert {b.split(": ")[1] for b in safety} == {
        "PERMIT", "PHOTO_BEFORE", "PHOTO_AFTER", "SIGNATURE"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("type_", "after_swa", "needed"),
    [
        (WoType.PM, False, [Approval.MAINTENANCE]),
        (WoType.CORRECTIVE, False, [Approval.MAINTENANCE]),
        (WoType.BREAKDOWN, False, [Approval.MAINTENANCE]),
        (WoType.SAFETY_RELATED, False, [Approval.MAINTENANCE, Approval.EHS]),
        (WoType.QUALITY_RELATED, False, [Approval.MAINTENANCE]),
        (WoType.CORRECTIVE, True, [Approval.MAINTENANCE, Approval.EHS, Approval.OPERATIONS]),
    ],
)
def test_i3_approvals(type_, after_swa, needed):
    assert r.approvals_needed(_facts(type=type_, after_stop_work=after_swa)) == needed


def test_who_may_approve_a_return_to_service():
    pm, corrective = _facts(type=WoType.PM), _facts()
    assert r.approval_refusal(pm, Approval.MAINTENANCE, ["MAINT_SUPERVISOR"]) is None
    assert "MAINT_MANAGER" in r.approval_refusal(
        corrective, Approval.MAINTENANCE, ["MAINT_SUPERVISOR"]
    )
    assert (
        r.approval_refusal(corrective, Approval.EHS, ["MAINT_MANAGER"]) == "EHS approval required"
    )
    assert "automated" in r.approval_refusal(corrective, Approval.MAINTENANCE, ["SYSTEM"])
    assert "automated" in r.approval_refusal(corrective, Approval.MAINTENANCE, ["AI"])
    safety = _facts(type=WoType.SAFETY_RELATED)
    assert r.approval_for(safety, ["EHS"]) is Approval.EHS
    assert r.approval_for(safety, ["MAINT_MANAGER"]) is Approval.MAINTENANCE
    safety.approvals = {"MAINTENANCE": "M", "EHS": "E"}
    assert r.close_blocks(safety)[0].startswith("evidence missing")


def test_no_automated_path_returns_an_asset_to_service():
    from domain.rules.asset_status import AssetStatus as A
    from domain.rules.asset_status import status_change_refusal

    kind, message = status_change_refusal(("SYSTEM",), A.PENDING_RETURN, A.IN_SERVICE, "auto")
    assert kind == "NotAllowed" and "a person must approve" in message
    assert status_change_refusal(("SYSTEM",), A.IN_SERVICE, A.OUT_OF_SERVICE, "breakdown") is None
    assert status_change_refusal(("SYSTEM",), A.SAFETY_HOLD, A.MAINTENANCE, "x")[0] == "NotAllowed"
    pm = status_change_refusal(
        ("MAINT_SUPERVISOR",), A.PENDING_RETURN, A.IN_SERVICE, "PM done", via_pm_work_order=True
    )
    assert pm is None
