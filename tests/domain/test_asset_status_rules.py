"""The asset status table of seed 003 B.4: every allowed move, and the refusals."""

import pytest

from domain.rules.asset_status import (
    TRANSITIONS,
    AssetStatus,
    permission_refusal,
    status_change_refusal,
    transition_refusal,
)

S = AssetStatus
ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
REFUSED = [(a, b) for a in S for b in S if b not in TRANSITIONS[a]]


def test_every_status_has_a_row():
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: s.value)
def test_allowed_transition_passes(current, target):
    assert transition_refusal(current, target) is None


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda s: s.value)
def test_refused_transition_names_both_states(current, target):
    message = transition_refusal(current, target)
    assert message
    assert current.value in message


def test_in_service_only_through_pending_return():
    sources = {a for a, targets in TRANSITIONS.items() if S.IN_SERVICE in targets}
    assert sources == {S.PENDING_RETURN}
    message = transition_refusal(S.OUT_OF_SERVICE, S.IN_SERVICE)
    assert "PENDING_RETURN" in message and "return-to-service" in message


def test_decommissioned_is_final():
    assert TRANSITIONS[S.DECOMMISSIONED] == frozenset()
    assert "permanently" in transition_refusal(S.DECOMMISSIONED, S.STORED)


def test_same_status_is_refused():
    assert transition_refusal(S.MAINTENANCE, S.MAINTENANCE) == "asset is already MAINTENANCE"


@pytest.mark.parametrize(
    ("roles", "current", "target", "fragment"),
    [
        (["MAINT_TECH"], S.IN_SERVICE, S.MAINTENANCE, "requires MAINT_SUPERVISOR"),
        (["OPERATOR"], S.IN_SERVICE, S.OUT_OF_SERVICE, "requires MAINT_SUPERVISOR"),
        (["EHS"], S.IN_SERVICE, S.MAINTENANCE, "EHS may only"),
        (["MAINT_SUPERVISOR"], S.IN_SERVICE, S.DECOMMISSIONED, "decommissioning"),
        (["MAINT_SUPERVISOR"], S.PENDING_RETURN, S.IN_SERVICE, "return to service"),
        (["MAINT_MANAGER"], S.SAFETY_HOLD, S.MAINTENANCE, "EHS approval required"),
    ],
)
def test_role_refusals(roles, current, target, fragment):
    assert fragment in permission_refusal(roles, current, target)


@pytest.mark.parametrize(
    ("roles", "current", "target"),
    [
        (["EHS"], S.IN_SERVICE, S.SAFETY_HOLD),
        (["EHS"], S.SAFETY_HOLD, S.MAINTENANCE),
        (["MAINT_SUPERVISOR"], S.IN_SERVICE, S.MAINTENANCE),
        (["MAINT_MANAGER"], S.PENDING_RETURN, S.IN_SERVICE),
        (["MAINT_MANAGER"], S.OUT_OF_SERVICE, S.DECOMMISSIONED),
        (["MAINT_ADMIN"], S.SAFETY_HOLD, S.PENDING_RETURN),
    ],
)
def test_role_may(roles, current, target):
    assert permission_refusal(roles, current, target) is None


def test_reason_is_required_first():
    assert status_change_refusal(["MAINT_ADMIN"], S.IN_SERVICE, S.MAINTENANCE, " ") == (
        "RuleViolation",
        "reason is required for every asset status change",
    )


def test_kinds_distinguish_rule_from_permission():
    assert (
        status_change_refusal(["MAINT_ADMIN"], S.OUT_OF_SERVICE, S.IN_SERVICE, "x")[0]
        == "RuleViolation"
    )
    assert (
        status_change_refusal(["MAINT_TECH"], S.IN_SERVICE, S.MAINTENANCE, "x")[0] == "NotAllowed"
    )
