"""Which I.2 action each work-order move and each kind of content needs: one table read
by the API routes, the web form posts and WorkOrderWorkflow's validators alike, so a call
that goes round one door meets the same rule at the next."""

from collections.abc import Sequence

from domain.rules.roles import Action, Scope, permission_refusal

A, S = Action, Scope
Spec = tuple  # (Action, *Scope): the action, then the scopes accepted (none: any)

# Transition name (as in the URL) -> the action, then the scopes accepted (none: any).
WO_DOORS: dict[str, Spec] = {
    "submit": (A.CREATE_WO, S.FULL),  # operators report; their report is submitted for them
    "approve": (A.APPROVE_WO,),
    "reject": (A.APPROVE_WO,),
    "schedule": (A.CREATE_WO, S.FULL),
    "start": (A.EXECUTE_WO,),
    "resume": (A.EXECUTE_WO,),
    "wait-parts": (A.EXECUTE_WO,),
    "hold": (A.EXECUTE_WO,),
    "escalate": (A.EXECUTE_WO,),
    "complete": (A.EXECUTE_WO,),
    "verify": (A.CLOSE_WO,),
    "first-article": (A.ADD_EVIDENCE,),
    "return-to-service": (A.RETURN_TO_SERVICE,),
    "close": (A.CLOSE_WO,),
    "cancel": (A.APPROVE_WO,),
}

# Content the work order is told about -> the actions that may write it (any one).
CONTENT_DOORS: dict[str, list[Spec]] = {
    "TASK_ADDED": [(A.CREATE_WO, S.FULL)],
    "TASK_EDITED": [(A.CREATE_WO, S.FULL)],
    "TASK_REMOVED": [(A.CREATE_WO, S.FULL)],
    "TASK_COMPLETED": [(A.EXECUTE_WO,)],
    "LABOR": [(A.EXECUTE_WO,)],
    "PERMIT_ISSUED": [(A.ISSUE_PERMITS,)],
    "PERMIT_REMOVED": [(A.ISSUE_PERMITS,)],
    "PART": [(A.EXECUTE_WO,), (A.MANAGE_PARTS,)],  # requested by executors, issued from stores
    "FILE": [(A.ADD_EVIDENCE,)],
    "DETAILS": [(A.CREATE_WO, S.FULL)],
}

SYSTEM_ROLES = {"SYSTEM"}  # the platform acting for a process it runs (a report, a stop-work)


def refusal(roles: Sequence[str], specs: Sequence[Spec]) -> str | None:
    """None when one of the specs lets these roles through; else the first refusal."""
    if SYSTEM_ROLES & set(roles):
        return None
    first = None
    for action, *scopes in specs:
        why = permission_refusal(tuple(roles), action, frozenset(scopes) or None)
        if why is None:
            return None
        first = first or why
    return first
