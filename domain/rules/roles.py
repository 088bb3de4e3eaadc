"""Roles (seed 003 I.1 plus the field roles) and the permission matrix of seed 003 I.2."""

from enum import StrEnum


class Role(StrEnum):
    MAINT_ADMIN = "MAINT_ADMIN"
    MAINT_MANAGER = "MAINT_MANAGER"
    MAINT_PLANNER = "MAINT_PLANNER"
    MAINT_TECH = "MAINT_TECH"
    MAINT_SUPERVISOR = "MAINT_SUPERVISOR"
    OPERATOR = "OPERATOR"
    EHS = "EHS"
    QUALITY = "QUALITY"
    FIELD_TECHNICIAN = "FIELD_TECHNICIAN"
    SENIOR_TECHNICIAN = "SENIOR_TECHNICIAN"
    AUDITOR = "AUDITOR"


class Action(StrEnum):
    VIEW_DASHBOARD = "View Dashboard"
    CREATE_WO = "Create WO"
    APPROVE_WO = "Approve WO"
    EXECUTE_WO = "Execute WO"
    CLOSE_WO = "Close WO"
    RETURN_TO_SERVICE = "Return to Service"
    CHANGE_ASSET_STATUS = "Change Asset Status"
    MANAGE_PM_SCHEDULES = "Manage PM Schedules"
    MANAGE_PM_TEMPLATES = "Manage PM Templates"
    MANAGE_PARTS = "Manage Parts Inventory"
    VIEW_ASSETS = "View All Assets"
    EDIT_ASSETS = "Edit Asset Details"
    DECOMMISSION_ASSET = "Decommission Asset"
    RECORD_METER = "Record Meter Reading"
    VIEW_REPORTS = "View Reports"
    VIEW_AUDIT = "View Audit Log"
    CONFIGURE_SYSTEM = "Configure System"


class Scope(StrEnum):
    """How much of an action a role holds; the matrix's qualified cells."""

    FULL = "FULL"
    LIMITED = "LIMITED"  # operator dashboard
    REPORT_ONLY = "REPORT_ONLY"  # operator creates breakdown reports, not work orders
    SAFETY_ONLY = "SAFETY_ONLY"  # EHS: safety holds, safety work orders
    ISSUE_ONLY = "ISSUE_ONLY"  # technician issues parts, does not manage stock
    ASSIGNED = "ASSIGNED"  # operator sees the assets of its work centre


R, A, S = Role, Action, Scope
_TECH = {
    A.VIEW_DASHBOARD: S.FULL,
    A.CREATE_WO: S.FULL,
    A.EXECUTE_WO: S.FULL,
    A.MANAGE_PARTS: S.ISSUE_ONLY,
    A.VIEW_ASSETS: S.FULL,
    A.RECORD_METER: S.FULL,
    A.VIEW_REPORTS: S.FULL,
}

# Rows of seed 003 I.2, one dict per role. Roles the matrix does not list
# (QUALITY, the field roles, AUDITOR) get what their description implies.
PERMISSIONS: dict[Role, dict[Action, Scope]] = {
    R.MAINT_ADMIN: {action: S.FULL for action in A},
    R.MAINT_MANAGER: {action: S.FULL for action in A if action is not A.CONFIGURE_SYSTEM},
    R.MAINT_PLANNER: {
        A.VIEW_DASHBOARD: S.FULL,
        A.CREATE_WO: S.FULL,
        A.MANAGE_PM_SCHEDULES: S.FULL,
        A.MANAGE_PM_TEMPLATES: S.FULL,
        A.MANAGE_PARTS: S.FULL,
        A.VIEW_ASSETS: S.FULL,
        A.EDIT_ASSETS: S.FULL,
        A.RECORD_METER: S.FULL,
        A.VIEW_REPORTS: S.FULL,
    },
    R.MAINT_TECH: dict(_TECH),
    R.FIELD_TECHNICIAN: dict(_TECH),
    R.SENIOR_TECHNICIAN: dict(_TECH),
    R.MAINT_SUPERVISOR: {
        A.VIEW_DASHBOARD: S.FULL,
        A.CREATE_WO: S.FULL,
        A.APPROVE_WO: S.FULL,
        A.EXECUTE_WO: S.FULL,
        A.CLOSE_WO: S.FULL,
        A.CHANGE_ASSET_STATUS: S.FULL,
        A.VIEW_ASSETS: S.FULL,
        A.RECORD_METER: S.FULL,
        A.VIEW_REPORTS: S.FULL,
    },
    R.OPERATOR: {
        A.VIEW_DASHBOARD: S.LIMITED,
        A.CREATE_WO: S.REPORT_ONLY,
        A.VIEW_ASSETS: S.ASSIGNED,
        A.RECORD_METER: S.ASSIGNED,
    },
    R.EHS: {
        A.VIEW_DASHBOARD: S.FULL,
        A.CREATE_WO: S.FULL,
        A.APPROVE_WO: S.SAFETY_ONLY,
        A.RETURN_TO_SERVICE: S.SAFETY_ONLY,
        A.CHANGE_ASSET_STATUS: S.SAFETY_ONLY,
        A.VIEW_ASSETS: S.FULL,
        A.VIEW_REPORTS: S.FULL,
    },
    R.QUALITY: {
        A.VIEW_DASHBOARD: S.FULL,
        A.CREATE_WO: S.FULL,
        A.VIEW_ASSETS: S.FULL,
        A.VIEW_REPORTS: S.FULL,
    },
    R.AUDITOR: {
        A.VIEW_DASHBOARD: S.FULL,
        A.VIEW_ASSETS: S.FULL,
        A.VIEW_REPORTS: S.FULL,
        A.VIEW_AUDIT: S.FULL,
    },
}

# When a user holds several roles, the widest scope wins.
_BREADTH = [S.FULL, S.SAFETY_ONLY, S.ISSUE_ONLY, S.ASSIGNED, S.LIMITED, S.REPORT_ONLY]


def scope_for(roles: list[str] | tuple[str, ...], action: Action) -> Scope | None:
    """The widest scope any of the roles holds for the action, or None."""
    scopes = {PERMISSIONS[Role(r)].get(action) for r in roles if r in Role.__members__}
    scopes.discard(None)
    for scope in _BREADTH:
        if scope in scopes:
            return scope
    return None


def primary_role(roles: list[str] | tuple[str, ...]) -> str:
    """The role named in audit rows: the most powerful one the user holds."""
    order = list(Role)
    known = sorted((Role(r) for r in roles if r in Role.__members__), key=order.index)
    return known[0].value if known else "NONE"
