"""The permission matrix of seed 003 I.2 as data."""

import pytest

from domain.rules.assets import meter_reading_refusal
from domain.rules.roles import PERMISSIONS, Action, Role, Scope, primary_role, scope_for

# The matrix, transcribed: None is "—".
MATRIX = {
    Action.CHANGE_ASSET_STATUS: {
        "MAINT_ADMIN": Scope.FULL,
        "MAINT_MANAGER": Scope.FULL,
        "MAINT_PLANNER": None,
        "MAINT_TECH": None,
        "MAINT_SUPERVISOR": Scope.FULL,
        "OPERATOR": None,
        "EHS": Scope.SAFETY_ONLY,
    },
    Action.EDIT_ASSETS: {
        "MAINT_ADMIN": Scope.FULL,
        "MAINT_MANAGER": Scope.FULL,
        "MAINT_PLANNER": Scope.FULL,
        "MAINT_TECH": None,
        "MAINT_SUPERVISOR": None,
        "OPERATOR": None,
        "EHS": None,
    },
    Action.VIEW_ASSETS: {
        "MAINT_ADMIN": Scope.FULL,
        "MAINT_MANAGER": Scope.FULL,
        "MAINT_PLANNER": Scope.FULL,
        "MAINT_TECH": Scope.FULL,
        "MAINT_SUPERVISOR": Scope.FULL,
        "OPERATOR": Scope.ASSIGNED,
        "EHS": Scope.FULL,
    },
    Action.CONFIGURE_SYSTEM: {
        "MAINT_ADMIN": Scope.FULL,
        "MAINT_MANAGER": None,
        "MAINT_PLANNER": None,
        "MAINT_TECH": None,
        "MAINT_SUPERVISOR": None,
        "OPERATOR": None,
        "EHS": None,
    },
    Action.DECOMMISSION_ASSET: {
        "MAINT_ADMIN": Scope.FULL,
        "MAINT_MANAGER": Scope.FULL,
        "MAINT_PLANNER": None,
        "MAINT_TECH": None,
        "MAINT_SUPERVISOR": None,
        "OPERATOR": None,
        "EHS": None,
    },
    Action.MANAGE_PARTS: {
        "MAINT_ADMIN": Scope.FULL,
        "MAINT_MANAGER": Scope.FULL,
        "MAINT_PLANNER": Scope.FULL,
        "MAINT_TECH": Scope.ISSUE_ONLY,
        "MAINT_SUPERVISOR": None,
        "OPERATOR": None,
        "EHS": None,
    },
}


@pytest.mark.parametrize("action", list(MATRIX), ids=str)
def test_matrix_rows(action):
    for role, expected in MATRIX[action].items():
        assert PERMISSIONS[Role(role)].get(action) == expected, role


def test_every_role_has_a_row():
    assert set(PERMISSIONS) == set(Role)


def test_widest_scope_wins():
    assert scope_for(["OPERATOR", "MAINT_TECH"], Action.VIEW_ASSETS) is Scope.FULL
    assert scope_for(["UNKNOWN"], Action.VIEW_ASSETS) is None


def test_primary_role_is_most_powerful():
    assert primary_role(["OPERATOR", "MAINT_MANAGER"]) == "MAINT_MANAGER"
    assert primary_role([]) == "NONE"


def test_meter_reading_must_not_go_down():
    assert meter_reading_refusal(None, 10) is None
    assert meter_reading_refusal(10, 10) is None
    assert meter_reading_refusal(10, 9.5) == "reading 9.5 is lower than the last reading 10"
    assert meter_reading_refusal(None, -1) == "reading must not be negative"
