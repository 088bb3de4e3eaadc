"""Work orders (seed 003 C): types, the state machine of C.2, the checks of C.3, the
evidence of K.3 and the return-to-service approvals of I.3, as pure rules.

Each check returns the reasons that block a move, worded for the person who must fix
them; an empty list means the move may go ahead."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from domain.rules.roles import Role


class WoType(StrEnum):
    PM = "PM"
    CORRECTIVE = "CORRECTIVE"
    BREAKDOWN = "BREAKDOWN"
    INSPECTION = "INSPECTION"
    SAFETY_RELATED = "SAFETY_RELATED"
    QUALITY_RELATED = "QUALITY_RELATED"
    PROJECT = "PROJECT"
    CALIBRATION = "CALIBRATION"


class WoPriority(StrEnum):
    EMERGENCY = "EMERGENCY"  # drop everything
    HIGH = "HIGH"  # same shift
    NORMAL = "NORMAL"  # within 24 to 48 hours
    LOW = "LOW"  # when convenient
    PLANNED = "PLANNED"  # scheduled


class WoSource(StrEnum):
    PM_SCHEDULE = "PM_SCHEDULE"
    OPERATOR_REPORT = "OPERATOR_REPORT"
    INSPECTION = "INSPECTION"
    SAFETY_INCIDENT = "SAFETY_INCIDENT"
    QUALITY_NCR = "QUALITY_NCR"
    SPC_VIOLATION = "SPC_VIOLATION"
    BREAKDOWN = "BREAKDOWN"
    SUPERVISOR_REQUEST = "SUPERVISOR_REQUEST"
    PROJECT = "PROJECT"
    AUDIT_FINDING = "AUDIT_FINDING"
    ANOMALY = "ANOMALY"  # opened from an anomaly in progress


class WoStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_PARTS = "WAITING_PARTS"
    ON_HOLD = "ON_HOLD"
    COMPLETED = "COMPLETED"
    VERIFIED = "VERIFIED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    ESCALATED = "ESCALATED"


class PermitKind(StrEnum):
    LOTO = "LOTO"
    HOT_WORK = "HOT_WORK"
    CONFINED_SPACE = "CONFINED_SPACE"


class Evidence(StrEnum):
    PHOTO_BEFORE = "PHOTO_BEFORE"
    PHOTO_AFTER = "PHOTO_AFTER"
    DOCUMENT = "DOCUMENT"
    CHECKLIST = "CHECKLIST"
    PERMIT = "PERMIT"
    TEST_RESULT = "TEST_RESULT"
    SIGNATURE = "SIGNATURE"


W = WoStatus
FINAL = frozenset({W.CLOSED, W.CANCELLED, W.REJECTED})

# C.2; CANCELLED is reachable from every state that is not final.
TRANSITIONS: dict[WoStatus, frozenset[WoStatus]] = {
    W.DRAFT: frozenset({W.SUBMITTED}),
    W.SUBMITTED: frozenset({W.APPROVED, W.REJECTED}),
    W.APPROVED: frozenset({W.SCHEDULED}),
    W.SCHEDULED: frozenset({W.IN_PROGRESS}),
    W.IN_PROGRESS: frozenset({W.WAITING_PARTS, W.ON_HOLD, W.COMPLETED, W.ESCALATED}),
    W.WAITING_PARTS: frozenset({W.IN_PROGRESS, W.ON_HOLD}),
    W.ON_HOLD: frozenset({W.IN_PROGRESS}),
    W.ESCALATED: frozenset({W.IN_PROGRESS, W.ON_HOLD}),
    # A failed check returns the work; under lockout it waits ON_HOLD for a new permit.
    W.COMPLETED: frozenset({W.VERIFIED, W.IN_PROGRESS, W.ON_HOLD}),
    W.VERIFIED: frozenset({W.CLOSED, W.IN_PROGRESS, W.ON_HOLD}),
    W.REJECTED: frozenset(),
    W.CLOSED: frozenset(),
    W.CANCELLED: frozenset(),
}

# K.3; the other types need the checklist, as corrective work does.
EVIDENCE: dict[WoType, frozenset[Evidence]] = {
    WoType.BREAKDOWN: frozenset({Evidence.PHOTO_BEFORE, Evidence.PHOTO_AFTER, Evidence.CHECKLIST}),
    WoType.PM: frozenset({Evidence.CHECKLIST}),
    WoType.SAFETY_RELATED: frozenset(
        {
            Evidence.PERMIT,
            Evidence.CHECKLIST,
            Evidence.PHOTO_BEFORE,
            Evidence.PHOTO_AFTER,
            Evidence.SIGNATURE,
        }
    ),
    WoType.CORRECTIVE: frozenset({Evidence.CHECKLIST}),
}
DEFAULT_EVIDENCE = frozenset({Evidence.CHECKLIST})

# The C.5 verification checklist, in the order it is walked.
VERIFICATION_CHECKLIST = (
    "Work performed as specified",
    "All tasks completed",
    "Parts properly installed",
    "Guards/covers reinstalled",
    "LOTO removed by authorized person",
    "Test run performed",
    "Test run passed",
    "No abnormal noise/vibration/heat",
    "Safety devices functional",
    "Documentation complete",
)

R = Role
APPROVERS = {R.MAINT_ADMIN, R.MAINT_MANAGER, R.MAINT_SUPERVISOR}
# The base labour rate per hour when none is given, for the API and the pages alike.
STANDARD_HOURLY_RATE = 45.0
EXECUTORS = {
    R.MAINT_ADMIN,
    R.MAINT_MANAGER,
    R.MAINT_SUPERVISOR,
    R.MAINT_TECH,
    R.FIELD_TECHNICIAN,
    R.SENIOR_TECHNICIAN,
}
VERIFIERS = {R.MAINT_ADMIN, R.MAINT_MANAGER, R.MAINT_SUPERVISOR}
CANCELLERS = {R.MAINT_ADMIN, R.MAINT_MANAGER}
# Supervisors approve work up to this estimated cost; above it, a manager (C.3 "budget").
SUPERVISOR_APPROVAL_LIMIT = 10_000.0
AUTOMATED_ROLES = {"SYSTEM", "AI"}  # G.2 guardrail 2: never an RTS approver


class Approval(StrEnum):
    """The approvals a return to service may need (I.3)."""

    MAINTENANCE = "MAINTENANCE"  # supervisor or manager, by type
    EHS = "EHS"
    OPERATIONS = "OPERATIONS"


OPERATIONS_ROLES = {R.OPERATIONS_MANAGER}


@dataclass(frozen=True)
class Task:
    sequence: int
    description: str
    required: bool = True
    completed: bool = False
    requires_measurement: bool = False
    measurement_passed: bool | None = None


@dataclass(frozen=True)
class Permit:
    kind: PermitKind
    active: bool  # issued and not yet removed
    energy_isolation_verified: bool
    removed: bool = False
    removed_by_authorized: bool = False


@dataclass
class WoFacts:
    """What the checks need to know about one work order."""

    type: WoType
    status: WoStatus
    has_asset: bool = True
    title: str = ""
    description: str = ""
    estimated_cost: float = 0.0
    requires_loto: bool = False
    requires_hot_work: bool = False
    requires_confined_space: bool = False
    requires_first_article: bool = False
    first_article_passed: bool | None = None
    tasks: list[Task] = field(default_factory=list)
    labor_hours: float = 0.0
    permits: list[Permit] = field(default_factory=list)
    evidence: set[str] = field(default_factory=set)
    checklist: dict[str, bool] = field(default_factory=dict)
    test_run_passed: bool | None = None
    safety_hold: bool = False  # stop-work authority on the asset
    after_stop_work: bool = False
    approvals: dict[str, str] = field(default_factory=dict)  # Approval -> approver name


def has_any(roles: Sequence[str], allowed: set[Role]) -> bool:
    return any(r in allowed for r in roles)


def names(roles: set[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles))


def move_refusal(current: WoStatus, target: WoStatus) -> str | None:
    if target is W.CANCELLED:
        return f"a {current.value} work order cannot be cancelled" if current in FINAL else None
    if target in TRANSITIONS[current]:
        return None
    allowed = ", ".join(sorted(t.value for t in TRANSITIONS[current])) or "nothing (final)"
    return f"cannot go from {current.value} to {target.value}; allowed: {allowed}"


def required_permits(f: WoFacts) -> list[PermitKind]:
    kinds = []
    if f.requires_loto or f.type is WoType.SAFETY_RELATED:  # C.1: mandatory LOTO
        kinds.append(PermitKind.LOTO)
    if f.requires_hot_work:
        kinds.append(PermitKind.HOT_WORK)
    if f.requires_confined_space:
        kinds.append(PermitKind.CONFINED_SPACE)
    return kinds


def submit_blocks(f: WoFacts) -> list[str]:
    blocks = []
    if not f.has_asset:
        blocks.append("asset is required")
    if len(f.title.strip()) < 3:
        blocks.append("title is required")
    if len(f.description.strip()) < 5:
        blocks.append("description is required")
    return blocks


def approve_blocks(f: WoFacts, roles: Sequence[str]) -> list[str]:
    if has_any(roles, {R.MAINT_ADMIN, R.MAINT_MANAGER}):
        return []
    if R.MAINT_SUPERVISOR in roles:
        if f.estimated_cost > SUPERVISOR_APPROVAL_LIMIT:
            return [
                f"estimated cost {f.estimated_cost:,.0f} exceeds the supervisor's approval "
                f"limit of {SUPERVISOR_APPROVAL_LIMIT:,.0f}: a manager must approve"
            ]
        return []
    if R.EHS in roles:
        if f.type is WoType.SAFETY_RELATED:
            return []
        return ["EHS approves safety-related work orders only"]
    return [f"approving a work order needs one of {names(APPROVERS | {R.EHS})}"]


def start_blocks(f: WoFacts) -> list[str]:
    """SCHEDULED (or a paused state) to IN_PROGRESS: permits in place, no stop-work."""
    blocks = []
    if f.safety_hold:
        blocks.append(SAFETY_HOLD_BLOCK)
    for kind in required_permits(f):
        permit = next((p for p in f.permits if p.kind is kind and p.active), None)
        label = kind.value.replace("_", "-") if kind is not PermitKind.LOTO else "LOTO"
        if permit is None:
            blocks.append(f"{label} permit required")
        elif not permit.energy_isolation_verified and kind is PermitKind.LOTO:
            blocks.append("LOTO permit: energy isolation not verified")
    return blocks


def complete_blocks(f: WoFacts) -> list[str]:
    blocks = []
    for t in sorted(f.tasks, key=lambda t: t.sequence):
        if t.required and not t.completed:
            blocks.append(f"task {t.sequence} not completed: {t.description}")
        elif t.required and t.requires_measurement and t.measurement_passed is False:
            blocks.append(f"task {t.sequence} measurement out of spec: {t.description}")
    if f.labor_hours <= 0:
        blocks.append("no labour time logged")
    return blocks


SAFETY_HOLD_BLOCK = "the asset is under a stop-work safety hold: EHS must clear it first"


def verify_blocks(f: WoFacts) -> list[str]:
    blocks = [SAFETY_HOLD_BLOCK] if f.safety_hold else []
    missing = [item for item in VERIFICATION_CHECKLIST if not f.checklist.get(item)]
    if f.test_run_passed is not True:
        blocks.append("test run not passed" if f.test_run_passed is False else "no test run")
    if f.requires_loto and not any(p.removed and p.removed_by_authorized for p in f.permits):
        blocks.append("LOTO not removed by an authorized person")
    blocks += [f"checklist: {item}" for item in missing]
    return blocks


def evidence_blocks(f: WoFacts) -> list[str]:
    required = EVIDENCE.get(f.type, DEFAULT_EVIDENCE)
    return [f"evidence missing: {e.value}" for e in sorted(required) if e not in f.evidence]


def approvals_needed(f: WoFacts) -> list[Approval]:
    """I.3: who must sign the return to service."""
    needed = [Approval.MAINTENANCE]
    if f.type is WoType.SAFETY_RELATED or f.after_stop_work:
        needed.append(Approval.EHS)
    if f.after_stop_work:
        needed.append(Approval.OPERATIONS)
    return needed


def approval_refusal(f: WoFacts, approval: Approval, roles: Sequence[str]) -> str | None:
    """May these roles give this approval for this work order?"""
    if set(roles) & AUTOMATED_ROLES or not roles:
        return "an automated or AI actor can never approve a return to service"
    if approval is Approval.MAINTENANCE:
        # I.3: a supervisor may return an asset after PM, never after a stop-work.
        allowed = (
            {R.MAINT_SUPERVISOR, R.MAINT_MANAGER, R.MAINT_ADMIN}
            if f.type is WoType.PM and not f.after_stop_work
            else {R.MAINT_MANAGER, R.MAINT_ADMIN}
        )
        if not has_any(roles, allowed):
            return f"return to service of a {f.type.value} work order needs {names(allowed)}"
    elif approval is Approval.EHS and R.EHS not in roles:
        return "EHS approval required"
    elif approval is Approval.OPERATIONS and not has_any(roles, OPERATIONS_ROLES):
        return f"operations approval needs one of {names(OPERATIONS_ROLES)}"
    if approval.value in f.approvals:
        return f"{approval.value} approval already given by {f.approvals[approval.value]}"
    return None


def approval_for(f: WoFacts, roles: Sequence[str]) -> Approval | None:
    """The first still-missing approval these roles can give (EHS before the rest, so an
    EHS officer signing never uses up the maintenance approval)."""
    for approval in sorted(approvals_needed(f), key=lambda a: a is not Approval.EHS):
        if approval.value not in f.approvals and approval_refusal(f, approval, roles) is None:
            return approval
    return None


def close_blocks(f: WoFacts) -> list[str]:
    blocks = ([SAFETY_HOLD_BLOCK] if f.safety_hold else []) + evidence_blocks(f)
    missing = [a for a in approvals_needed(f) if a.value not in f.approvals]
    for a in missing:
        blocks.append(
            "EHS approval required"
            if a is Approval.EHS
            else f"{a.value.lower()} approval of the return to service required"
        )
    if f.requires_first_article and f.first_article_passed is not True:
        blocks.append("first-article inspection not passed")
    return blocks
