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
    # The production manager of seed 002: signs the operations part of a return to service
    # (I.3 "after SWA") and nothing else in maintenance.
    OPERATIONS_MANAGER = "OPERATIONS_MANAGER"
    # Seed 002's read-only role: the OEE dashboard, nothing else.
    VIEWER = "VIEWER"


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
    # Beyond the I.2 rows: a due PM skipped or deferred, by supervision (BR-MAINT-002).
    DEFER_PM = "Skip or Defer PM"
    MANAGE_PARTS = "Manage Parts Inventory"
    VIEW_ASSETS = "View All Assets"
    EDIT_ASSETS = "Edit Asset Details"
    DECOMMISSION_ASSET = "Decommission Asset"
    RECORD_METER = "Record Meter Reading"
    VIEW_REPORTS = "View Reports"
    VIEW_AUDIT = "View Audit Log"
    CONFIGURE_SYSTEM = "Configure System"
    # Beyond the I.2 rows: anomalies are reported by anyone on the floor and worked by
    # the people their lifecycle names (its workflow decides who, case by case).
    REPORT_ANOMALY = "Report Anomaly"
    WORK_ANOMALY = "Work Anomaly"
    # Work-order content beyond the I.2 rows: permits (LOTO is issued by those who do the
    # work and by EHS) and evidence (from those who do the work, EHS and QUALITY).
    ISSUE_PERMITS = "Issue Permits"
    # F.3: anyone on the floor may stop work on an asset; only EHS (or the admin) clears it.
    STOP_WORK = "Raise Stop-Work"
    CLEAR_STOP_WORK = "Clear Stop-Work"
    VIEW_OUTBOX = "View Notification Outbox"  # what was sent to whom, and what failed
    ADD_EVIDENCE = "Add Evidence"
    # Seed 002's role table: who sees OEE, and who logs downtime and output on the floor.
    VIEW_OEE = "View OEE"
    LOG_PRODUCTION = "Log Downtime and Output"
    SET_OEE_TARGETS = "Set OEE Targets"  # seed 002 "Configure": admin, production manager
    # Seed 002's "Approve Reports": review and approve a shift report, start a correction.
    APPROVE_SHIFT_REPORT = "Approve Shift Reports"
    # Handover notes between shifts: written and acknowledged by the floor.
    HANDOVER = "Write Handover Notes"
    # Seed 000 C4: supervisors and administrators upload anomalies in bulk from a workbook.
    IMPORT_ANOMALIES = "Import Anomalies"
    # Seed 000 C3: the Maximo intake's configuration, mapping tables and imports belong to
    # the admins; managers read them.
    MAXIMO_INTEGRATION = "Maximo Integration"


class Scope(StrEnum):
    """How much of an action a role holds; the matrix's qualified cells."""

    FULL = "FULL"
    LIMITED = "LIMITED"  # operator dashboard
    REPORT_ONLY = "REPORT_ONLY"  # operator creates breakdown reports, not work orders
    SAFETY_ONLY = "SAFETY_ONLY"  # EHS: safety holds, safety work orders
    ISSUE_ONLY = "ISSUE_ONLY"  # technician issues parts, does not manage stock
    ASSIGNED = "ASSIGNED"  # operator sees the assets of its work centre
    PM_ONLY = "PM_ONLY"  # supervisor returns an asset to service after PM only (I.3)
    OPERATIONS_ONLY = "OPERATIONS_ONLY"  # operations part of a return to service
    ON_SHIFT = "ON_SHIFT"  # a supervisor approves the reports of the shifts they ran
    READ_ONLY = "READ_ONLY"  # manager reads the Maximo intake's tables and runs


R, A, S = Role, Action, Scope
_TECH = {
    A.VIEW_DASHBOARD: S.FULL,
    A.CREATE_WO: S.FULL,
    A.EXECUTE_WO: S.FULL,
    A.MANAGE_PARTS: S.ISSUE_ONLY,
    A.VIEW_ASSETS: S.FULL,
    A.RECORD_METER: S.FULL,
    A.VIEW_REPORTS: S.FULL,
    A.REPORT_ANOMALY: S.FULL,
    A.WORK_ANOMALY: S.FULL,
    A.ISSUE_PERMITS: S.FULL,
    A.ADD_EVIDENCE: S.FULL,
}

# Rows of seed 003 I.2, one dict per role. Roles the matrix does not list
# (QUALITY, the field roles, AUDITOR) get what their description implies.
PERMISSIONS: dict[Role, dict[Action, Scope]] = {
    R.MAINT_ADMIN: {action: S.FULL for action in A},
    R.MAINT_MANAGER: {
        **{
            action: S.FULL
            for action in A
            if action not in (A.CONFIGURE_SYSTEM, A.CLEAR_STOP_WORK, A.MAXIMO_INTEGRATION)
        },
        A.MAXIMO_INTEGRATION: S.READ_ONLY,
    },
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
        A.REPORT_ANOMALY: S.FULL,
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
        A.RETURN_TO_SERVICE: S.PM_ONLY,
        A.DEFER_PM: S.FULL,
        A.VIEW_OUTBOX: S.FULL,
        A.CHANGE_ASSET_STATUS: S.FULL,
        A.VIEW_ASSETS: S.FULL,
        A.RECORD_METER: S.FULL,
        A.VIEW_REPORTS: S.FULL,
        A.REPORT_ANOMALY: S.FULL,
        A.WORK_ANOMALY: S.FULL,
        A.ISSUE_PERMITS: S.FULL,
        A.ADD_EVIDENCE: S.FULL,
        A.IMPORT_ANOMALIES: S.FULL,
    },
    R.OPERATOR: {
        A.VIEW_DASHBOARD: S.LIMITED,
        A.CREATE_WO: S.REPORT_ONLY,
        A.VIEW_ASSETS: S.ASSIGNED,
        A.RECORD_METER: S.ASSIGNED,
        A.REPORT_ANOMALY: S.ASSIGNED,
    },
    R.EHS: {
        A.VIEW_DASHBOARD: S.FULL,
        A.CREATE_WO: S.FULL,
        A.APPROVE_WO: S.SAFETY_ONLY,
        A.RETURN_TO_SERVICE: S.SAFETY_ONLY,
        A.CHANGE_ASSET_STATUS: S.SAFETY_ONLY,
        A.VIEW_ASSETS: S.FULL,
        A.VIEW_REPORTS: S.FULL,
        A.REPORT_ANOMALY: S.FULL,
        A.ISSUE_PERMITS: S.FULL,
        A.ADD_EVIDENCE: S.FULL,
        A.CLEAR_STOP_WORK: S.FULL,
    },
    R.QUALITY: {
        A.VIEW_DASHBOARD: S.FULL,
        A.CREATE_WO: S.FULL,
        A.VIEW_ASSETS: S.FULL,
        A.VIEW_REPORTS: S.FULL,
        A.REPORT_ANOMALY: S.FULL,
        A.ADD_EVIDENCE: S.FULL,
    },
    R.OPERATIONS_MANAGER: {
        A.VIEW_DASHBOARD: S.FULL,
        A.RETURN_TO_SERVICE: S.OPERATIONS_ONLY,
        A.VIEW_ASSETS: S.FULL,
        A.VIEW_REPORTS: S.FULL,
        A.REPORT_ANOMALY: S.FULL,
    },
    R.AUDITOR: {
        A.VIEW_DASHBOARD: S.FULL,
        A.VIEW_ASSETS: S.FULL,
        A.VIEW_REPORTS: S.FULL,
        A.VIEW_AUDIT: S.FULL,
    },
    R.VIEWER: {A.VIEW_DASHBOARD: S.LIMITED},
}

# Seed 002: everyone who sees the dashboard sees OEE (an operator its own cards); the floor
# (operators for their work centre, supervisors, technicians, quality) logs stops and output.
for _role, _grants in PERMISSIONS.items():
    if A.VIEW_DASHBOARD in _grants:
        _grants.setdefault(A.VIEW_OEE, _grants[A.VIEW_DASHBOARD])
for _role in (R.MAINT_SUPERVISOR, R.MAINT_TECH, R.FIELD_TECHNICIAN, R.SENIOR_TECHNICIAN,
              R.QUALITY, R.OPERATIONS_MANAGER):  # fmt: skip
    PERMISSIONS[_role].setdefault(A.LOG_PRODUCTION, S.FULL)
PERMISSIONS[R.OPERATOR].setdefault(A.LOG_PRODUCTION, S.ASSIGNED)
PERMISSIONS[R.OPERATIONS_MANAGER].setdefault(A.SET_OEE_TARGETS, S.FULL)
# Seed 002's role table: the production manager (OPERATIONS_MANAGER) approves reports and
# configures a little; the supervisor approves the reports of the shifts they ran. Whoever
# logs on the floor writes and acknowledges handover notes.
PERMISSIONS[R.OPERATIONS_MANAGER].update(
    {A.APPROVE_SHIFT_REPORT: S.FULL, A.CONFIGURE_SYSTEM: S.LIMITED}
)
PERMISSIONS[R.MAINT_SUPERVISOR][A.APPROVE_SHIFT_REPORT] = S.ON_SHIFT
for _grants in PERMISSIONS.values():
    if A.LOG_PRODUCTION in _grants:
        _grants.setdefault(A.HANDOVER, _grants[A.LOG_PRODUCTION])

# Stop-work authority goes with reporting: everyone on the floor but the auditor.
for _grants in PERMISSIONS.values():
    if A.REPORT_ANOMALY in _grants:
        _grants.setdefault(A.STOP_WORK, _grants[A.REPORT_ANOMALY])

# When a user holds several roles, the widest scope wins.
_BREADTH = [
    S.FULL,
    S.SAFETY_ONLY,
    S.PM_ONLY,
    S.OPERATIONS_ONLY,
    S.ON_SHIFT,
    S.READ_ONLY,
    S.ISSUE_ONLY,
    S.ASSIGNED,
    S.LIMITED,
    S.REPORT_ONLY,
]


def scope_for(roles: list[str] | tuple[str, ...], action: Action) -> Scope | None:
    """The widest scope any of the roles holds for the action, or None."""
    scopes = {PERMISSIONS[Role(r)].get(action) for r in roles if r in Role.__members__}
    scopes.discard(None)
    for scope in _BREADTH:
        if scope in scopes:
            return scope
    return None


def roles_with(action: Action, scopes: frozenset[Scope] | None = None) -> list[str]:
    return [
        role.value
        for role, grants in PERMISSIONS.items()
        if action in grants and (scopes is None or grants[action] in scopes)
    ]


def permission_refusal(
    roles: list[str] | tuple[str, ...], action: Action, scopes: frozenset[Scope] | None = None
) -> str | None:
    """Why these roles may not take the action (None when they may). `scopes` narrows the
    qualified cells a door accepts: receiving stock wants FULL, not a technician's ISSUE_ONLY.
    The one check behind every API route, web form post and workflow update."""
    held = scope_for(roles, action)
    if held is not None and (scopes is None or held in scopes):
        return None
    who = primary_role(roles)
    return (
        f"role {who} may not {action.value.lower()}; "
        f"requires one of {', '.join(roles_with(action, scopes))}"
    )


def primary_role(roles: list[str] | tuple[str, ...]) -> str:
    """The role named in audit rows: the most powerful one the user holds."""
    order = list(Role)
    known = sorted((Role(r) for r in roles if r in Role.__members__), key=order.index)
    return known[0].value if known else "NONE"
