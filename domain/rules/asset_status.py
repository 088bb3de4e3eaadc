"""The asset status state machine of seed 003 B.4, as a table and one pure check."""

from collections.abc import Sequence
from enum import StrEnum

from domain.rules.roles import Action, Scope, scope_for


class AssetStatus(StrEnum):
    IN_SERVICE = "IN_SERVICE"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"
    MAINTENANCE = "MAINTENANCE"
    SAFETY_HOLD = "SAFETY_HOLD"
    QUALITY_HOLD = "QUALITY_HOLD"
    PENDING_RETURN = "PENDING_RETURN"
    DECOMMISSIONED = "DECOMMISSIONED"
    STORED = "STORED"
    TRANSFERRED = "TRANSFERRED"


S = AssetStatus

# Every legal move. IN_SERVICE is reached only through PENDING_RETURN, so no asset
# goes back to work without the return-to-service approval; DECOMMISSIONED is final.
TRANSITIONS: dict[AssetStatus, frozenset[AssetStatus]] = {
    S.IN_SERVICE: frozenset(
        {
            S.MAINTENANCE,
            S.SAFETY_HOLD,
            S.QUALITY_HOLD,
            S.OUT_OF_SERVICE,
            S.STORED,
            S.TRANSFERRED,
            S.DECOMMISSIONED,
        }
    ),
    S.MAINTENANCE: frozenset({S.OUT_OF_SERVICE, S.SAFETY_HOLD, S.QUALITY_HOLD, S.PENDING_RETURN}),
    S.SAFETY_HOLD: frozenset({S.OUT_OF_SERVICE, S.MAINTENANCE, S.PENDING_RETURN}),
    S.QUALITY_HOLD: frozenset({S.OUT_OF_SERVICE, S.MAINTENANCE, S.SAFETY_HOLD, S.PENDING_RETURN}),
    S.OUT_OF_SERVICE: frozenset(
        {S.MAINTENANCE, S.SAFETY_HOLD, S.QUALITY_HOLD, S.PENDING_RETURN, S.STORED, S.DECOMMISSIONED}
    ),
    S.PENDING_RETURN: frozenset({S.IN_SERVICE, S.MAINTENANCE, S.SAFETY_HOLD, S.OUT_OF_SERVICE}),
    S.STORED: frozenset({S.PENDING_RETURN, S.TRANSFERRED, S.DECOMMISSIONED}),
    S.TRANSFERRED: frozenset({S.STORED, S.PENDING_RETURN}),
    S.DECOMMISSIONED: frozenset(),
}

DISPATCHABLE = frozenset({S.IN_SERVICE})


def origins(target: AssetStatus) -> frozenset[AssetStatus]:
    """The statuses from which the table allows a move to `target`."""
    return frozenset(s for s, reachable in TRANSITIONS.items() if target in reachable)


def unreachable(current: AssetStatus, *targets: AssetStatus) -> str | None:
    """Why an asset in `current` can be in none of `targets` (neither is it there nor
    may it move there), or None when one of them is reachable."""
    if any(current is t or t in TRANSITIONS[current] for t in targets):
        return None
    names = " or ".join(t.value for t in targets)
    return f"asset is {current.value}, which cannot go to {names}"


def transition_refusal(current: AssetStatus, target: AssetStatus) -> str | None:
    """Why the move is illegal, or None when the table allows it."""
    if current == target:
        return f"asset is already {current.value}"
    if target in TRANSITIONS[current]:
        return None
    if current is S.DECOMMISSIONED:
        return "a DECOMMISSIONED asset is permanently removed from service and cannot change status"
    if target is S.IN_SERVICE:
        return (
            f"cannot go from {current.value} to IN_SERVICE: the asset must pass "
            "PENDING_RETURN and its return-to-service approval first"
        )
    allowed = ", ".join(sorted(t.value for t in TRANSITIONS[current]))
    return (
        f"cannot go from {current.value} to {target.value}; allowed from {current.value}: {allowed}"
    )


def permission_refusal(
    roles: list[str] | tuple[str, ...],
    current: AssetStatus,
    target: AssetStatus,
    via_pm_work_order: bool = False,
) -> str | None:
    """The case rules on who may make this particular move (seed 003 I.2, I.3)."""
    if tuple(roles) == ("SYSTEM",):
        # The platform acting on an authorised event (a breakdown report, a work order
        # starting): never a return to service (G.2 guardrail 2), never out of a safety
        # hold, never a decommissioning.
        if target is S.IN_SERVICE:
            return "no automated path can return an asset to service: a person must approve"
        if current is S.SAFETY_HOLD or target is S.DECOMMISSIONED:
            return "only a person may lift a safety hold or decommission an asset"
        return None
    if target is S.DECOMMISSIONED and scope_for(roles, Action.DECOMMISSION_ASSET) is None:
        return "decommissioning an asset requires MAINT_MANAGER or MAINT_ADMIN"
    if current is S.PENDING_RETURN and target is S.IN_SERVICE:
        if via_pm_work_order and "MAINT_SUPERVISOR" in roles:
            return None  # I.3: a supervisor may return an asset after preventive work
        if scope_for(roles, Action.RETURN_TO_SERVICE) is not Scope.FULL:
            return "return to service requires approval by MAINT_MANAGER or MAINT_ADMIN"
    scope = scope_for(roles, Action.CHANGE_ASSET_STATUS)
    if scope is None:
        return "changing asset status requires MAINT_SUPERVISOR, MAINT_MANAGER, MAINT_ADMIN or EHS"
    if scope is Scope.SAFETY_ONLY and S.SAFETY_HOLD not in (current, target):
        return "EHS may only place an asset in SAFETY_HOLD or release it from SAFETY_HOLD"
    if current is S.SAFETY_HOLD and scope is not Scope.SAFETY_ONLY:
        # Only the safety function (or the system administrator) lifts a safety hold.
        if "MAINT_ADMIN" not in roles:
            return "EHS approval required to release an asset from SAFETY_HOLD"
    return None


def status_change_refusal(
    roles: list[str] | tuple[str, ...],
    current: AssetStatus,
    target: AssetStatus,
    reason: str,
    via_pm_work_order: bool = False,
) -> tuple[str, str] | None:
    """(kind, message) of the first rule the change breaks, kind being RuleViolation or
    NotAllowed; None when the change may go ahead."""
    if not reason or not reason.strip():
        return ("RuleViolation", "reason is required for every asset status change")
    refusal = transition_refusal(current, target)
    if refusal:
        return ("RuleViolation", refusal)
    refusal = permission_refusal(roles, current, target, via_pm_work_order)
    if refusal:
        return ("NotAllowed", refusal)
    return None


def manual_change_refusal(
    current: AssetStatus,
    target: AssetStatus,
    open_stop_work: bool,
    work_under_way: list[str],
    pm_blocks: Sequence[str] = (),
) -> str | None:
    """A person moving the status by hand (the status form or endpoint) must not get round
    a stop-work (F.3) or a work order's return-to-service approvals (I.3): those moves
    belong to the stop-work and to the work order, which hold and tell everything else.
    (A hold asked for by hand is raised as a stop-work by the caller, not checked here.)"""
    if open_stop_work:
        return "the asset is under a stop-work: EHS releases it by clearing the stop-work"
    if target in (S.PENDING_RETURN, S.IN_SERVICE) and work_under_way:
        return (
            "the asset returns to service through the return-to-service approval of "
            + ", ".join(work_under_way)
        )
    if target in (S.PENDING_RETURN, S.IN_SERVICE) and pm_blocks:
        # L.1 scenario 2: BLOCK keeps the asset out until the overdue PM is done.
        return (
            "the asset is blocked by overdue preventive maintenance ("
            + ", ".join(pm_blocks)
            + "): it returns to service when that PM's work order closes"
        )
    return None
