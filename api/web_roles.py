"""Which buttons a page shows: the API's own permission table (domain/rules/roles.py and
the work-order doors) narrowed by the roles each lifecycle step names. A person sees the
actions they may take; for the others the page says who it waits for."""

from api.web_words import either, role_words
from domain.actor import Actor
from domain.rules import anomaly_lifecycle as anomaly_rules
from domain.rules import work_orders as wo_rules
from domain.rules.roles import Action, Role, Scope, roles_with, scope_for
from domain.rules.work_order_doors import WO_DOORS

R = Role
# The roles each work-order step's own check names (workflows/work_order.py), beside the
# permission table: both must let a person through.
STEP_ROLES: dict[str, set[Role]] = {
    "reject": wo_rules.APPROVERS | {R.EHS},
    "schedule": wo_rules.APPROVERS | {R.MAINT_PLANNER},
    "start": wo_rules.EXECUTORS,
    "resume": wo_rules.EXECUTORS,
    "wait-parts": wo_rules.EXECUTORS,
    "hold": wo_rules.EXECUTORS,
    "escalate": wo_rules.EXECUTORS,
    "complete": wo_rules.EXECUTORS,
    "verify": wo_rules.VERIFIERS,
    "close": wo_rules.VERIFIERS | {R.EHS},
    "cancel": wo_rules.CANCELLERS,
}
CONTENT_SPECS: dict[str, tuple] = {
    "task-add": (Action.CREATE_WO, Scope.FULL),
    "details": (Action.CREATE_WO, Scope.FULL),
    "task-complete": (Action.EXECUTE_WO,),
    "labor": (Action.EXECUTE_WO,),
    "permit": (Action.ISSUE_PERMITS,),
    "permit-remove": (Action.ISSUE_PERMITS,),
    "file": (Action.ADD_EVIDENCE,),
}
# The order names are said in: who usually does it first.
_ORDER = [
    R.MAINT_TECH, R.FIELD_TECHNICIAN, R.SENIOR_TECHNICIAN, R.MAINT_PLANNER, R.MAINT_SUPERVISOR,
    R.MAINT_MANAGER, R.EHS, R.QUALITY, R.OPERATIONS_MANAGER, R.OPERATOR, R.AUDITOR,
    R.MAINT_ADMIN,
]  # fmt: skip


def _spec_roles(spec: tuple) -> set[str]:
    action, *scopes = spec
    return set(roles_with(action, frozenset(scopes) or None))


def step_roles(name: str) -> set[str]:
    """Who may take a work-order step or write a kind of content."""
    spec = WO_DOORS.get(name) or CONTENT_SPECS[name]
    allowed = _spec_roles(spec)
    if name in STEP_ROLES:
        allowed &= {r.value for r in STEP_ROLES[name]}
    if name in ("task-complete", "labor"):
        allowed &= {r.value for r in wo_rules.EXECUTORS}
    return allowed


def waiting_for(roles: set[str]) -> str:
    """'waiting for technician or maintenance supervisor': the admin is named only alone."""
    ordered = [r.value for r in _ORDER if r.value in roles]
    if len(ordered) > 1 and R.MAINT_ADMIN.value in ordered:
        ordered.remove(R.MAINT_ADMIN.value)
    names = [role_words(r) for r in ordered]
    techs = {r.value for r in wo_rules.EXECUTORS} & {
        R.MAINT_TECH.value,
        R.FIELD_TECHNICIAN.value,
        R.SENIOR_TECHNICIAN.value,
    }
    if techs and techs <= set(ordered):  # every kind of technician: one word for them
        names = ["technician"] + [role_words(r) for r in ordered if r not in techs]
    return "waiting for " + either(names) if names else "waiting"


class Steps:
    """For one person: may(step) and, for a step they may not take, who it waits for."""

    def __init__(self, actor: Actor) -> None:
        self.roles = set(actor.roles)

    def may(self, name: str) -> bool:
        return bool(self.roles & step_roles(name))

    def waiting(self, name: str) -> str:
        return waiting_for(step_roles(name))


def approvers(approval: str, wo_type: str, after_stop_work: bool) -> set[str]:
    """Who may give one return-to-service approval (I.3) on this work order."""
    facts = wo_rules.WoFacts(
        type=wo_rules.WoType(wo_type),
        status=wo_rules.WoStatus.VERIFIED,
        after_stop_work=after_stop_work,
    )
    kind = wo_rules.Approval(approval)
    allowed = set(roles_with(Action.RETURN_TO_SERVICE))
    return {
        r.value
        for r in Role
        if r.value in allowed and wo_rules.approval_refusal(facts, kind, [r.value]) is None
    }


# -- anomalies: the lifecycle names who acts at each state --


def anomaly_waiting(status: str) -> str | None:
    """Who an anomaly in this state waits for, said plainly."""
    sup = {r.value for r in anomaly_rules.SUPERVISORS}
    peers = {r.value for r in anomaly_rules.REX_REVIEWERS}
    return {
        "REGISTERED": "waiting for the assessment",
        "ASSIGNED": "waiting for the assigned technician to accept",
        "ESCALATED": waiting_for(sup),
        "IN_PROGRESS": "waiting for the assigned technician",
        "RESOLVED": waiting_for(sup) + " to review",
        "REX": "waiting for the assigned technician's REX",
        "REX_REVIEW": waiting_for(peers) + " (a peer) to review the REX",
    }.get(status)


# -- OEE pages --


def oee_doors(actor: Actor) -> dict[str, bool]:
    """What the OEE page offers a person: logging stops and handling alerts (the floor, an
    operator on its own machines), and the link to the targets (administration)."""
    roles = actor.roles
    return {
        "log": scope_for(roles, Action.LOG_PRODUCTION) is not None,
        "alerts": scope_for(roles, Action.LOG_PRODUCTION) is not None,
        "targets": scope_for(roles, Action.SET_OEE_TARGETS) is not None,
    }


# -- shift reports: the site's supervisor on the shift, or the operations manager --


def shift_report_waiting() -> str:
    """Who a shift report still open waits for, said plainly."""
    return waiting_for(set(roles_with(Action.APPROVE_SHIFT_REPORT))) + " to review"
