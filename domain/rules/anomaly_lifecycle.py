"""The anomaly lifecycle (seed 000 phases 5 to 9): states, who may act, what is missing.

Pure rules: the workflow's update validators call them, so a refusal names its reason
before anything is written."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.rules.roles import Role


class AnomalyStatus(StrEnum):
    REGISTERED = "REGISTERED"
    ASSIGNED = "ASSIGNED"  # waiting for the technician to accept
    ESCALATED = "ESCALATED"  # with the supervisor, then the manager, to reassign or take
    IN_PROGRESS = "IN_PROGRESS"  # field work and documentation
    RESOLVED = "RESOLVED"  # waiting for the supervisor's review
    REX = "REX"  # approved; the return of experience is being written
    REX_REVIEW = "REX_REVIEW"  # with a senior technician
    CLOSED = "CLOSED"


class EscalationLevel(StrEnum):
    TECHNICIAN = "TECHNICIAN"
    SUPERVISOR = "SUPERVISOR"
    MANAGER = "MANAGER"


NEXT_LEVEL = {
    EscalationLevel.TECHNICIAN: EscalationLevel.SUPERVISOR,
    EscalationLevel.SUPERVISOR: EscalationLevel.MANAGER,
    EscalationLevel.MANAGER: EscalationLevel.MANAGER,
}

SUPERVISORS = {Role.MAINT_SUPERVISOR, Role.MAINT_MANAGER, Role.MAINT_ADMIN}
MANAGERS = {Role.MAINT_MANAGER, Role.MAINT_ADMIN}
TECHNICIANS = {Role.MAINT_TECH, Role.FIELD_TECHNICIAN, Role.SENIOR_TECHNICIAN}
REX_REVIEWERS = {Role.SENIOR_TECHNICIAN}
# Anyone who works on site may report; the auditor only reads.
REPORTERS = set(Role) - {Role.AUDITOR}


class AttachmentKind(StrEnum):
    BEFORE_PHOTO = "BEFORE_PHOTO"
    AFTER_PHOTO = "AFTER_PHOTO"
    PHOTO = "PHOTO"
    VIDEO = "VIDEO"
    TEST_RESULT = "TEST_RESULT"
    DOCUMENT = "DOCUMENT"


@dataclass(frozen=True)
class Refusal:
    kind: str  # NotAllowed, Conflict or RuleViolation: the API's 403, 409 and 422
    message: str
    field: str | None = None


def has_any(roles: Sequence[str], allowed: set[Role]) -> bool:
    return any(r in allowed for r in roles)


def names(roles: set[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles))


def not_in(status: AnomalyStatus, expected: set[AnomalyStatus], action: str) -> Refusal | None:
    if status in expected:
        return None
    wanted = " or ".join(sorted(s.value for s in expected))
    return Refusal("Conflict", f"cannot {action}: the anomaly is {status.value}, not {wanted}")


def needs_role(roles: Sequence[str], allowed: set[Role], action: str) -> Refusal | None:
    if has_any(roles, allowed):
        return None
    return Refusal("NotAllowed", f"{action} needs one of the roles {names(allowed)}")


@dataclass(frozen=True)
class Resolution:
    root_cause: str
    corrective_action: str
    verification_test: str
    safety_restored: bool


def resolution_missing(
    resolution: Resolution,
    attachment_kinds: Sequence[str],
    progress_notes: int,
    loto_acknowledged: bool,
    safety_protocols: Sequence[str],
) -> list[str]:
    """What stands between the work and 'resolved' (phase 7), in the order a technician fixes it."""
    missing = []
    if not resolution.root_cause.strip():
        missing.append("root cause")
    if not resolution.corrective_action.strip():
        missing.append("corrective action")
    if not resolution.verification_test.strip():
        missing.append("verification test")
    if not resolution.safety_restored:
        missing.append("safety restored confirmation")
    if any("LOTO" in p.upper() for p in safety_protocols) and not loto_acknowledged:
        missing.append("LOTO acknowledgement")
    kinds = set(attachment_kinds)
    if AttachmentKind.BEFORE_PHOTO not in kinds:
        missing.append("before photo")
    if AttachmentKind.AFTER_PHOTO not in kinds:
        missing.append("after photo")
    if progress_notes == 0:
        missing.append("at least one progress note")
    return missing


@dataclass(frozen=True)
class RexContent:
    root_cause_analysis: str
    lessons_learned: str
    preventive_actions: str
    best_practices: str
    training_needs: str


def rex_missing(rex: RexContent) -> list[str]:
    labels = {
        "root_cause_analysis": "root cause analysis",
        "lessons_learned": "lessons learned",
        "preventive_actions": "preventive actions",
        "best_practices": "best practices",
        "training_needs": "training needs",
    }
    return [label for name, label in labels.items() if len(getattr(rex, name).strip()) < 3]
