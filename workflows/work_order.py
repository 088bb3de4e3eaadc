"""WorkOrderWorkflow: one per work order, id = its number WO-YYYY-NNNNN, owner of the
state machine of seed 003 C.2.

Every transition is an update whose validator runs the pure checks of C.3 against the
workflow's facts, refusing with what blocks it. What the API stores on the work order
(tasks, labour, permits, parts, files) is announced as a ContentNotice so the facts stay
whole. The asset's status moves through the asset's own workflow."""

import asyncio
from dataclasses import replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.asset_gateway import AssetChange, AssetGateway
    from activities.work_orders import ContentKey, DowntimeEnd, WoRecord, WorkOrderActivities
    from domain.actor import Actor
    from domain.rules import work_orders as rules
    from domain.rules.roles import Action, Role
    from domain.rules.work_order_doors import CONTENT_DOORS, WO_DOORS
    from domain.rules.work_order_doors import refusal as door_refusal
    from domain.rules.work_orders import Approval, WoStatus, WoType
    from workflows.kit import WRITE, Record, call, index, passed_on, refuse, system_actor
    from workflows.work_order_types import (
        AddTaskRequest,
        AttachFileRequest,
        CompleteTaskRequest,
        ContentNotice,
        ContentState,
        EditTaskRequest,
        FirstArticleRequest,
        IssuePartRequest,
        IssuePermitRequest,
        LogLaborRequest,
        MoveRequest,
        RemovePermitRequest,
        RemoveTaskRequest,
        RequestPartsRequest,
        ScheduleRequest,
        StopWorkRequest,
        UpdateDetailsRequest,
        VerifyRequest,
        WorkOrderInput,
        WorkOrderState,
    )

W = WoStatus
PAUSED = {W.WAITING_PARTS, W.ON_HOLD, W.ESCALATED}
# Typed content (tasks, parts, labour, files...) written as local activities from here on.
LOCAL_CONTENT = "content-local-steps"
# Moves still open while a stop-work holds the asset: none of them touches the machine.
# Starting (IN_PROGRESS) is refused by the start checks themselves, naming the hold.
UNDER_STOP_WORK = {
    W.SUBMITTED, W.APPROVED, W.REJECTED, W.SCHEDULED, W.ON_HOLD, W.CANCELLED, W.IN_PROGRESS
}  # fmt: skip
# What each content notice must carry, checked before the handler runs.
CONTENT_KEYS: dict[str, set[str]] = {
    "TASK_ADDED": {"sequence", "description", "required", "completed",
                   "requires_measurement", "measurement_passed"},
    "TASK_COMPLETED": {"sequence", "description", "required", "completed",
                       "requires_measurement", "measurement_passed"},
    "LABOR": {"hours"},
    "PERMIT_ISSUED": {"kind", "isolation_verified"},
    "PERMIT_REMOVED": {"kind"},
    "PART": set(),
    "FILE": {"kind"},
    "DETAILS": set(),
}  # fmt: skip
# J.2 events per status reached.
# The ends a PM schedule waits for before counting its next due or opening another.
PM_ENDS = {W.CLOSED, W.CANCELLED, W.REJECTED}
EVENTS = {
    W.APPROVED: "wo.approved",
    W.IN_PROGRESS: "wo.started",
    W.COMPLETED: "wo.completed",
    W.VERIFIED: "wo.verified",
    W.CLOSED: "wo.closed",
    W.WAITING_PARTS: "wo.waiting_parts",
}
# What a work order's details may still change (in DRAFT or SUBMITTED).
DETAILS = {"title", "description", "priority", "estimated_hours", "estimated_cost"}
# Tasks are edited or removed only before approval: the approver approved these tasks.
TASKS_OPEN = {W.DRAFT, W.SUBMITTED}
# Runs that took a task edit or removal carry this marker (the updates came with it).
TASK_EDITS = "task-edits"
# Start and verify answer once the work order's own step is committed; the asset's move
# that goes with them (an update of the asset's own workflow) follows right after, still
# durable here and in order. Nothing reads the asset's MAINTENANCE or PENDING_RETURN as a
# condition, and every later move of this order waits for it. Runs recorded before moved
# the asset before answering.
ASSET_AFTER_ANSWER = "asset-move-after-answer"
# The return to service asks the asset once: to IN_SERVICE, through PENDING_RETURN when a
# cleared stop-work left it in MAINTENANCE. Runs recorded before asked twice.
RETURN_IN_ONE_CALL = "return-in-one-asset-call"
# Where an asset waits before PENDING_RETURN, once the work on it is verified.
BEFORE_RETURN = ["MAINTENANCE", "OUT_OF_SERVICE", "QUALITY_HOLD"]


_fail = refuse


def _task(detail: dict[str, Any]) -> "rules.Task":
    return rules.Task(
        detail["sequence"],
        detail["description"],
        detail["required"],
        detail["completed"],
        detail["requires_measurement"],
        detail["measurement_passed"],
    )


def _refuse_blocks(blocks: list[str], action: str) -> None:
    if blocks:
        _fail("RuleViolation", f"cannot {action}: " + "; ".join(blocks))


@workflow.defn
class WorkOrderWorkflow:
    @workflow.init
    def __init__(self, data: WorkOrderInput) -> None:
        self._in = data
        self._lock = asyncio.Lock()
        snap = data.snapshot
        # A restarted lifecycle continues the record's steps.
        self._record = Record("WORK_ORDER", data.number, data.organization_id, snap.last_step)
        self._snap = snap
        self._facts = rules.WoFacts(
            type=WoType(snap.type),
            status=W(snap.status),
            title=snap.title,
            description=snap.description,
            estimated_cost=snap.estimated_cost,
            requires_loto=snap.requires_loto,
            requires_hot_work=snap.requires_hot_work,
            requires_confined_space=snap.requires_confined_space,
            requires_first_article=snap.requires_first_article,
            tasks=[_task(t) for t in snap.tasks],
            labor_hours=snap.labor_hours,
            permits=[
                rules.Permit(
                    rules.PermitKind(p["kind"]),
                    p["active"],
                    p["energy_isolation_verified"],
                    p["removed"],
                    p["removed_by_authorized"],
                )
                for p in snap.permits
            ],
            evidence=set(snap.evidence),
            safety_hold=snap.safety_hold,
            after_stop_work=snap.after_stop_work,
        )
        self._assignee = None
        self._rts = "NOT_YET"
        self._message = ""
        self._approver_actors: dict[str, Actor] = {}
        self._approval_times: dict[str, dict[str, str]] = {}
        # The stop-work whose tell held this order, when one did (see _check_stop_work).
        self._held_by_stop_work: int | None = None
        # Asset moves sent after the answer (ASSET_AFTER_ANSWER), one at a time, in order.
        self._asset_lock = asyncio.Lock()
        self._moving = 0
        self._moves: list[asyncio.Task[None]] = []  # held, so none is collected mid-way

    @workflow.run
    async def run(self, data: WorkOrderInput) -> WorkOrderState:
        self._index()
        await workflow.wait_condition(lambda: self._facts.status in rules.FINAL)
        if self._moving:  # a cancelled order still leaves the asset where its work put it
            await workflow.wait_condition(lambda: self._moving == 0)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.get_state()

    # -- the transitions of C.2, one update each --

    @workflow.update
    async def submit(self, req: MoveRequest) -> WorkOrderState:
        return await self._move(W.SUBMITTED, req, "submitted for approval", self._check_submit)

    @submit.validator
    def _check_submit(self, req: MoveRequest) -> None:
        self._guard(req.actor, "submit")
        self._allowed(W.SUBMITTED, req.actor)
        _refuse_blocks(rules.submit_blocks(self._facts), "submit")

    @workflow.update
    async def approve(self, req: MoveRequest) -> WorkOrderState:
        return await self._move(W.APPROVED, req, "approved", self._check_approve)

    @approve.validator
    def _check_approve(self, req: MoveRequest) -> None:
        self._guard(req.actor, "approve")
        self._allowed(W.APPROVED, req.actor)
        blocks = rules.approve_blocks(self._facts, req.actor.roles)
        if blocks:
            _fail("NotAllowed", "cannot approve: " + "; ".join(blocks))

    @workflow.update
    async def reject(self, req: MoveRequest) -> WorkOrderState:
        return await self._move(W.REJECTED, req, "", self._check_reject)

    @reject.validator
    def _check_reject(self, req: MoveRequest) -> None:
        self._guard(req.actor, "reject")
        self._allowed(W.REJECTED, req.actor)
        self._need_role(req.actor, rules.APPROVERS | {Role.EHS}, "rejecting a work order")
        if not rules.has_any(req.actor.roles, rules.APPROVERS) and (
            self._facts.type is not WoType.SAFETY_RELATED
        ):
            _fail("NotAllowed", "EHS rejects safety-related work orders only")
        self._need_reason(req.reason, "a rejection")

    @workflow.update
    async def schedule(self, req: ScheduleRequest) -> WorkOrderState:
        async with self._lock:
            self._check_schedule(req)
            self._assignee = req.assignee
            changes: dict[str, Any] = {
                "assigned_to_id": req.assignee.user_id if req.assignee else None,
                "scheduled_date": req.scheduled_date.isoformat() if req.scheduled_date else None,
                "scheduled_shift": req.shift,
            }
            who = req.assignee.full_name if req.assignee else "the team"
            return await self._apply(W.SCHEDULED, req.actor, f"scheduled for {who}", changes)

    @schedule.validator
    def _check_schedule(self, req: ScheduleRequest) -> None:
        self._guard(req.actor, "schedule")
        self._allowed(W.SCHEDULED, req.actor)
        self._need_role(
            req.actor, rules.APPROVERS | {Role.MAINT_PLANNER}, "scheduling a work order"
        )

    @workflow.update
    async def start(self, req: MoveRequest) -> WorkOrderState:
        async with self._lock:
            self._check_start(req)
            after = workflow.patched(ASSET_AFTER_ANSWER)  # before any command of this update
            state = await self._apply(
                W.IN_PROGRESS,
                req.actor,
                req.reason or "work started",
                {"started_at": workflow.now().isoformat()},
            )
            await self._side_move(
                after,
                "MAINTENANCE",
                f"{self._in.number} in progress",
                self._system(),
                ["IN_SERVICE", "OUT_OF_SERVICE"],
            )
            return self.get_state() if after else state  # after: saying the move follows

    @start.validator
    def _check_start(self, req: MoveRequest) -> None:
        self._guard(req.actor, "start")
        self._refuse_reopening("start work")
        current = self._facts.status
        if current not in PAUSED:
            self._allowed(W.IN_PROGRESS, req.actor)
        self._need_role(req.actor, rules.EXECUTORS, "executing a work order")
        _refuse_blocks(rules.start_blocks(self._facts), "start work")

    @workflow.update
    async def wait_parts(self, req: MoveRequest) -> WorkOrderState:
        return await self._move(W.WAITING_PARTS, req, "waiting for parts", self._check_wait_parts)

    @wait_parts.validator
    def _check_wait_parts(self, req: MoveRequest) -> None:
        self._guard(req.actor, "wait-parts")
        self._allowed(W.WAITING_PARTS, req.actor)
        self._need_role(req.actor, rules.EXECUTORS, "pausing a work order")

    @workflow.update
    async def hold(self, req: MoveRequest) -> WorkOrderState:
        return await self._move(W.ON_HOLD, req, "", self._check_hold)

    @hold.validator
    def _check_hold(self, req: MoveRequest) -> None:
        self._guard(req.actor, "hold")
        self._refuse_reopening("hold")
        self._allowed(W.ON_HOLD, req.actor)
        self._need_role(req.actor, rules.EXECUTORS, "putting a work order on hold")
        self._need_reason(req.reason, "a hold")

    @workflow.update
    async def escalate(self, req: MoveRequest) -> WorkOrderState:
        return await self._move(W.ESCALATED, req, "", self._check_escalate)

    @escalate.validator
    def _check_escalate(self, req: MoveRequest) -> None:
        self._guard(req.actor, "escalate")
        self._allowed(W.ESCALATED, req.actor)
        self._need_role(req.actor, rules.EXECUTORS, "escalating a work order")
        self._need_reason(req.reason, "an escalation (what expertise is needed)")

    @workflow.update
    async def complete(self, req: MoveRequest) -> WorkOrderState:
        async with self._lock:
            self._check_complete(req)
            return await self._apply(
                W.COMPLETED,
                req.actor,
                req.reason or "work complete",
                {"completed_at": workflow.now().isoformat()},
                extra_events=[["return_to_service.requested", {}]],
            )

    @complete.validator
    def _check_complete(self, req: MoveRequest) -> None:
        self._guard(req.actor, "complete")
        self._allowed(W.COMPLETED, req.actor)
        self._need_role(req.actor, rules.EXECUTORS, "completing a work order")
        _refuse_blocks(rules.complete_blocks(self._facts), "complete")

    @workflow.update
    async def verify(self, req: VerifyRequest) -> WorkOrderState:
        """C.5: the checklist and the test run; any failure returns the work to IN_PROGRESS."""
        async with self._lock:
            self._check_verify(req)
            after = workflow.patched(ASSET_AFTER_ANSWER)  # before any command of this update
            f = self._facts
            checked = replace(f, checklist=dict(req.checklist), test_run_passed=req.test_run_passed)
            verification = {"checklist": checked.checklist, "notes": req.notes}
            failed = [b for b in rules.verify_blocks(checked) if "LOTO" not in b]
            if failed:
                state = await self._rework(
                    req.actor,
                    "verification failed: " + "; ".join(failed),
                    {"verification": verification, "test_run_passed": req.test_run_passed},
                )
                f.checklist, f.test_run_passed = checked.checklist, checked.test_run_passed
                return state
            state = await self._apply(
                W.VERIFIED,
                req.actor,
                req.notes or "verified: checklist complete, test run passed",
                {
                    "verification": verification,
                    "test_run_passed": True,
                    "verified_at": workflow.now().isoformat(),
                    "verified_by": req.actor.full_name,
                },
            )
            f.checklist, f.test_run_passed = checked.checklist, True
            await self._side_move(
                after,
                "PENDING_RETURN",
                f"{self._in.number} verified, awaiting return-to-service approval",
                self._system(),
                ["MAINTENANCE", "OUT_OF_SERVICE", "QUALITY_HOLD"],
            )
            return self.get_state() if after else state

    @verify.validator
    def _check_verify(self, req: VerifyRequest) -> None:
        self._guard(req.actor, "verify")
        self._allowed(W.VERIFIED, req.actor)
        self._need_role(req.actor, rules.VERIFIERS, "verifying a work order")
        f = self._facts
        if f.requires_loto and not any(p.removed and p.removed_by_authorized for p in f.permits):
            _fail(
                "RuleViolation",
                "cannot verify: LOTO must be removed by an authorized person before the test run",
            )

    @workflow.update
    async def approve_return(self, req: MoveRequest) -> WorkOrderState:
        """I.3: one approval per call; the last one returns the asset and closes the WO."""
        async with self._lock:
            self._check_approve_return(req)
            f = self._facts
            approval = rules.approval_for(f, req.actor.roles)
            stamps = {
                **self._approval_times,
                approval.value: {"by": req.actor.full_name, "at": workflow.now().isoformat()},
            }
            await self._write(
                f"RTS_APPROVED_{approval.value}",
                {"approvals": stamps},
                req.actor,
                req.reason or f"{approval.value.lower()} approval of the return to service",
            )
            f.approvals[approval.value] = req.actor.full_name
            self._approval_times = stamps
            return await self._finish_return(req.actor)

    @approve_return.validator
    def _check_approve_return(self, req: MoveRequest) -> None:
        self._guard(req.actor, "return-to-service")
        f = self._facts
        if f.safety_hold:
            _fail("Conflict", f"cannot approve the return to service: {rules.SAFETY_HOLD_BLOCK}")
        if f.status is not W.VERIFIED:
            _fail(
                "Conflict",
                f"return to service needs a VERIFIED work order; this one is {f.status.value}",
            )
        if any(a.user_id == req.actor.user_id for a in self._approver_actors.values()):
            _fail("NotAllowed", "one person gives one approval: another approver must sign")
        if rules.approval_for(f, req.actor.roles) is None:
            missing = [a for a in rules.approvals_needed(f) if a.value not in f.approvals]
            reasons = [rules.approval_refusal(f, a, req.actor.roles) for a in missing]
            _fail("NotAllowed", next((r for r in reasons if r), "no approval is missing"))

    @workflow.update
    async def first_article(self, req: FirstArticleRequest) -> WorkOrderState:
        async with self._lock:
            self._check_first_article(req)
            f = self._facts
            if not req.passed:
                await self._rework(
                    req.actor,
                    f"first article failed: {req.notes}",
                    {"first_article_passed": False, "approvals": {}},
                )
                f.first_article_passed = False
                f.approvals.clear()
                self._approver_actors.clear()
                self._approval_times = {}
                await self._asset(
                    "MAINTENANCE", "first article failed", self._system(), ["PENDING_RETURN"]
                )
                return self.get_state()
            await self._write(
                "FIRST_ARTICLE_PASSED", {"first_article_passed": True}, req.actor, req.notes
            )
            f.first_article_passed = True
            return await self._finish_return(req.actor)

    @first_article.validator
    def _check_first_article(self, req: FirstArticleRequest) -> None:
        self._guard(req.actor, "first-article")
        if self._facts.safety_hold:
            _fail("Conflict", f"cannot record a first article: {rules.SAFETY_HOLD_BLOCK}")
        if self._facts.status is not W.VERIFIED:
            _fail("Conflict", "first-article inspection comes after verification")
        if not self._facts.requires_first_article:
            _fail("Conflict", "this work order needs no first-article inspection")
        if Role.QUALITY not in req.actor.roles:
            _fail("NotAllowed", "first-article inspection is performed by QUALITY")
        if not req.passed and len(req.notes.strip()) < 3:
            _fail("RuleViolation", "say what failed", "notes")

    @workflow.update
    async def close(self, req: MoveRequest) -> WorkOrderState:
        async with self._lock:
            self._check_close(req)
            return await self._finish_return(req.actor)

    @close.validator
    def _check_close(self, req: MoveRequest) -> None:
        self._guard(req.actor, "close")
        self._allowed(W.CLOSED, req.actor)
        self._need_role(req.actor, rules.VERIFIERS | {Role.EHS}, "closing a work order")
        _refuse_blocks(rules.close_blocks(self._facts), "close")

    @workflow.update
    async def cancel(self, req: MoveRequest) -> WorkOrderState:
        async with self._lock:
            self._check_cancel(req)
            state = await self._apply(
                W.CANCELLED,
                req.actor,
                req.reason,
                {"cancel_reason": req.reason, "closed_at": workflow.now().isoformat()},
            )
            await call(
                WorkOrderActivities.end_work_order_downtime,
                DowntimeEnd(self._in.number, self._in.organization_id, req.actor),
                **WRITE,
            )
            return state

    @cancel.validator
    def _check_cancel(self, req: MoveRequest) -> None:
        self._guard(req.actor, "cancel")
        self._allowed(W.CANCELLED, req.actor)
        active = [p.kind.value for p in self._facts.permits if p.active]
        if active:
            _fail("Conflict", f"remove the active {', '.join(active)} permit before cancelling")
        self._need_role(req.actor, rules.CANCELLERS, "cancelling (it needs a manager's approval)")
        self._need_reason(req.reason, "a cancellation")

    # -- what the API stored, and stop-work --

    # Kept for the runs recorded while the API wrote content itself and announced it here;
    # content now arrives as the typed updates below and their activities write it.
    @workflow.update
    async def content(self, notice: ContentNotice) -> WorkOrderState:
        async with self._lock:
            self._check_content(notice)
            f, d = self._facts, notice.detail
            if notice.kind == "TASK_ADDED":
                f.tasks.append(_task(d))
            elif notice.kind == "TASK_COMPLETED":
                f.tasks = [_task(d) if t.sequence == d["sequence"] else t for t in f.tasks]
            elif notice.kind == "LABOR":
                f.labor_hours += float(d["hours"])
            elif notice.kind == "PERMIT_ISSUED":
                f.permits.append(
                    rules.Permit(rules.PermitKind(d["kind"]), True, d["isolation_verified"])
                )
                f.evidence.add(rules.Evidence.PERMIT.value)
            elif notice.kind == "PERMIT_REMOVED":
                kind = rules.PermitKind(d["kind"])
                f.permits = [
                    rules.Permit(p.kind, False, p.energy_isolation_verified, True, True)
                    if p.kind is kind and p.active
                    else p
                    for p in f.permits
                ]
            elif notice.kind == "FILE":
                f.evidence.add(d["kind"])
            elif notice.kind == "DETAILS":
                await self._write("DETAILS_UPDATED", dict(d), notice.actor, "details edited")
                f.title = d.get("title", f.title)
                f.description = d.get("description", f.description)
                f.estimated_cost = float(d.get("estimated_cost", f.estimated_cost))
            self._log(notice.kind, notice.actor, str(d.get("summary", "")))
            return self.get_state()

    @content.validator
    def _refuse_legacy_content(self, notice: ContentNotice) -> None:
        # New content goes through the typed updates, whose activities write it; a notice
        # here would change the facts with nothing written. The handler stays for replay.
        self._same_organization(notice.actor)
        _fail(
            "Conflict",
            f"content is no longer taken as a notice ({notice.kind}); "
            "use the update that writes it",
        )

    def _check_content(self, notice: ContentNotice) -> None:
        self._same_organization(notice.actor)
        if notice.kind in CONTENT_DOORS:
            why = door_refusal(notice.actor.roles, CONTENT_DOORS[notice.kind])
            if why:
                _fail("NotAllowed", why)
        if notice.kind not in CONTENT_KEYS:
            _fail("RuleViolation", f"unknown content {notice.kind}", "kind")
        missing = CONTENT_KEYS[notice.kind] - set(notice.detail)
        if missing:
            _fail("RuleViolation", f"{notice.kind} lacks {', '.join(sorted(missing))}", "detail")
        self._content_rules(notice.kind, notice.detail.get("kind"))

    def _content_rules(self, kind: str, permit: str | None = None) -> None:
        """The state rules every kind of content meets, whichever update brings it."""
        if self._facts.status in rules.FINAL:
            _fail("Conflict", f"the work order is {self._facts.status.value}")
        if self._facts.safety_hold and kind in ("TASK_COMPLETED", "PART"):
            # F.3: no work is done on the asset, nor parts drawn for it, under a stop-work.
            _fail("Conflict", f"cannot record {kind.lower()}: {rules.SAFETY_HOLD_BLOCK}")
        if kind == "PERMIT_REMOVED" and self._facts.status not in (W.COMPLETED, W.CANCELLED):
            _fail(
                "Conflict",
                "permits come off once the work is COMPLETED, for the test run; "
                f"this work order is {self._facts.status.value}",
            )
        if kind == "DETAILS" and self._facts.status not in (W.DRAFT, W.SUBMITTED):
            _fail(
                "Conflict",
                f"a {self._facts.status.value} work order can no longer be edited; "
                "details change only in DRAFT or SUBMITTED",
            )
        if kind in ("TASK_EDITED", "TASK_REMOVED") and self._facts.status not in TASKS_OPEN:
            _fail(
                "Conflict",
                f"tasks change only before approval (DRAFT or SUBMITTED); this work order "
                f"is {self._facts.status.value}",
                "task",
            )
        if kind == "PERMIT_REMOVED" and not any(
            p.active and p.kind.value == permit for p in self._facts.permits
        ):
            _fail("Conflict", f"no active {permit} permit to remove")

    def _check_typed(self, actor: Actor, kind: str, permit: str | None = None) -> None:
        """The caller's organisation, the content's doors, then its state rules."""
        self._same_organization(actor)
        why = door_refusal(actor.roles, CONTENT_DOORS[kind])
        if why:
            _fail("NotAllowed", why)
        self._content_rules(kind, permit)

    async def _store(self, kind: str, activity: Any, req: Any, check: Any) -> dict[str, Any]:
        """Under the lock: check again, have the activity write it at the next step, and
        log it; the facts are the caller's to update from what was written."""
        check(req)
        step = self._record.next_step()
        key = ContentKey(self._in.number, self._in.organization_id, step)
        try:
            # Local in new runs, like the kit's steps; histories recorded before replay
            # the plain activity.
            result = await call(activity, key, req, patch=LOCAL_CONTENT, **WRITE)
        except ActivityError as err:
            refusal = passed_on(err)
            if refusal is err:
                raise
            raise refusal from err
        self._log(kind, req.actor, str(result.get("summary", "")))
        return result

    def _answer(self, result: dict[str, Any]) -> ContentState:
        return ContentState(self.get_state(), {k: v for k, v in result.items() if k != "summary"})

    @workflow.update
    async def add_task(self, req: AddTaskRequest) -> ContentState:
        async with self._lock:
            done = await self._store(
                "TASK_ADDED", WorkOrderActivities.add_task, req, self._check_add_task
            )
            self._facts.tasks.append(_task(done["task"]))
            return self._answer(done)

    @add_task.validator
    def _check_add_task(self, req: AddTaskRequest) -> None:
        self._check_typed(req.actor, "TASK_ADDED")

    @workflow.update
    async def edit_task(self, req: EditTaskRequest) -> ContentState:
        async with self._lock:
            workflow.patched(TASK_EDITS)
            done = await self._store(
                "TASK_EDITED", WorkOrderActivities.edit_task, req, self._check_edit_task
            )
            t = _task(done["task"])
            f = self._facts
            f.tasks = sorted(
                [t if x.sequence == done["was"] else x for x in f.tasks], key=lambda x: x.sequence
            )
            return self._answer(done)

    @edit_task.validator
    def _check_edit_task(self, req: EditTaskRequest) -> None:
        self._check_typed(req.actor, "TASK_EDITED")
        self._known_task(req.sequence)
        if len(req.description.strip()) < 3:
            _fail("RuleViolation", "description: at least 3 characters", "description")
        if req.requires_measurement and req.spec_min is None and req.spec_max is None:
            _fail("RuleViolation", "spec_min: a measured task needs spec_min and/or spec_max",
                  "spec_min")  # fmt: skip
        if req.spec_min is not None and req.spec_max is not None and req.spec_min > req.spec_max:
            _fail("RuleViolation", "spec_min cannot exceed spec_max", "spec_min")
        moved = req.new_sequence
        if moved is not None and moved != req.sequence:
            if moved < 1:
                _fail("RuleViolation", "sequence: 1 or more", "sequence")
            if any(t.sequence == moved for t in self._facts.tasks):
                _fail("Conflict", f"sequence {moved} is taken by another task", "sequence")

    @workflow.update
    async def remove_task(self, req: RemoveTaskRequest) -> ContentState:
        async with self._lock:
            workflow.patched(TASK_EDITS)
            done = await self._store(
                "TASK_REMOVED", WorkOrderActivities.remove_task, req, self._check_remove_task
            )
            self._facts.tasks = [t for t in self._facts.tasks if t.sequence != done["removed"]]
            return self._answer(done)

    @remove_task.validator
    def _check_remove_task(self, req: RemoveTaskRequest) -> None:
        self._check_typed(req.actor, "TASK_REMOVED")
        self._known_task(req.sequence)

    def _known_task(self, sequence: int) -> None:
        if not any(t.sequence == sequence for t in self._facts.tasks):
            _fail("NotFound", f"task {sequence} not found", "task")

    @workflow.update
    async def complete_task(self, req: CompleteTaskRequest) -> ContentState:
        async with self._lock:
            done = await self._store(
                "TASK_COMPLETED", WorkOrderActivities.complete_task, req, self._check_task_done
            )
            t = _task(done["task"])
            f = self._facts
            f.tasks = [t if x.sequence == t.sequence else x for x in f.tasks]
            return self._answer(done)

    @complete_task.validator
    def _check_task_done(self, req: CompleteTaskRequest) -> None:
        self._check_typed(req.actor, "TASK_COMPLETED")

    @workflow.update
    async def log_labor(self, req: LogLaborRequest) -> ContentState:
        async with self._lock:
            done = await self._store("LABOR", WorkOrderActivities.log_labor, req, self._check_labor)
            self._facts.labor_hours += float(done["hours"])
            return self._answer(done)

    @log_labor.validator
    def _check_labor(self, req: LogLaborRequest) -> None:
        self._check_typed(req.actor, "LABOR")
        if not 0 < req.hours <= 24:
            _fail("RuleViolation", "hours: between 0 and 24", "hours")

    @workflow.update
    async def issue_permit(self, req: IssuePermitRequest) -> ContentState:
        async with self._lock:
            done = await self._store(
                "PERMIT_ISSUED", WorkOrderActivities.issue_permit, req, self._check_permit
            )
            f = self._facts
            f.permits.append(
                rules.Permit(rules.PermitKind(done["kind"]), True, done["isolation_verified"])
            )
            f.evidence.add(rules.Evidence.PERMIT.value)
            return self._answer(done)

    @issue_permit.validator
    def _check_permit(self, req: IssuePermitRequest) -> None:
        self._check_typed(req.actor, "PERMIT_ISSUED")

    @workflow.update
    async def remove_permit(self, req: RemovePermitRequest) -> ContentState:
        async with self._lock:
            done = await self._store(
                "PERMIT_REMOVED", WorkOrderActivities.remove_permit, req, self._check_unlock
            )
            kind = rules.PermitKind(req.kind)
            self._facts.permits = [
                rules.Permit(p.kind, False, p.energy_isolation_verified, True, True)
                if p.kind is kind and p.active
                else p
                for p in self._facts.permits
            ]
            return self._answer(done)

    @remove_permit.validator
    def _check_unlock(self, req: RemovePermitRequest) -> None:
        self._check_typed(req.actor, "PERMIT_REMOVED", req.kind)

    @workflow.update
    async def request_parts(self, req: RequestPartsRequest) -> ContentState:
        async with self._lock:
            done = await self._store(
                "PART", WorkOrderActivities.request_parts, req, self._check_part_request
            )
            return self._answer(done)

    @request_parts.validator
    def _check_part_request(self, req: RequestPartsRequest) -> None:
        self._check_typed(req.actor, "PART")

    @workflow.update
    async def issue_part(self, req: IssuePartRequest) -> ContentState:
        async with self._lock:
            done = await self._store(
                "PART", WorkOrderActivities.issue_part, req, self._check_part_issue
            )
            return self._answer(done)

    @issue_part.validator
    def _check_part_issue(self, req: IssuePartRequest) -> None:
        self._check_typed(req.actor, "PART")

    @workflow.update
    async def attach_file(self, req: AttachFileRequest) -> ContentState:
        async with self._lock:
            done = await self._store("FILE", WorkOrderActivities.attach_file, req, self._check_file)
            self._facts.evidence.add(done["kind"])
            return self._answer(done)

    @attach_file.validator
    def _check_file(self, req: AttachFileRequest) -> None:
        self._check_typed(req.actor, "FILE")

    @workflow.update
    async def update_details(self, req: UpdateDetailsRequest) -> WorkOrderState:
        async with self._lock:
            self._check_details(req)
            d = req.changes
            await self._write("DETAILS_UPDATED", dict(d), req.actor, "details edited")
            f = self._facts
            f.title = d.get("title", f.title)
            f.description = d.get("description", f.description)
            f.estimated_cost = float(d.get("estimated_cost", f.estimated_cost))
            self._log("DETAILS", req.actor, "")
            return self.get_state()

    @update_details.validator
    def _check_details(self, req: UpdateDetailsRequest) -> None:
        self._check_typed(req.actor, "DETAILS")
        unknown = sorted(set(req.changes) - DETAILS)
        if unknown:
            _fail("RuleViolation", f"not editable: {', '.join(unknown)}", unknown[0])
        if not req.changes:
            _fail("RuleViolation", "nothing to change", "body")

    @workflow.update
    async def stop_work(self, notice: StopWorkRequest) -> WorkOrderState:
        """F.3: stop-work authority holds active work; clearing lets it resume (EHS)."""
        async with self._lock:
            self._check_stop_work(notice)
            f = self._facts
            if notice.cleared:
                was_held = f.safety_hold
                f.safety_hold = False
                self._held_by_stop_work = None
                if was_held and workflow.patched("stop-work-hold-audited"):
                    # Written with its audit row, which also enters it in the timeline.
                    await self._write("STOP_WORK_CLEARED", {}, notice.actor, notice.reason)
                else:
                    self._log("STOP_WORK_CLEARED", notice.actor, notice.reason)
                return self.get_state()
            if notice.swa_id is not None:
                self._held_by_stop_work = notice.swa_id
            was_held, audited = f.safety_hold, False
            if f.status in rules.FINAL:
                return self.get_state()
            under_way = f.status in (W.IN_PROGRESS, W.WAITING_PARTS, W.ESCALATED, W.ON_HOLD)
            if under_way and not f.after_stop_work:
                # Work that was under way returns to service only with the I.3 "after SWA"
                # approvals; orders not started yet simply cannot start until cleared.
                await self._write(
                    "STOP_WORK", {"after_stop_work": True}, notice.actor, notice.reason
                )
                f.after_stop_work = True
                audited = True
            if (
                f.status in (W.COMPLETED, W.VERIFIED)
                and not f.after_stop_work
                and workflow.patched("stop-work-after-completion")
            ):
                # Finished work met by a stop-work returns only with every I.3 "after SWA"
                # signature given after it; earlier approvals no longer count.
                await self._write(
                    "STOP_WORK",
                    {"after_stop_work": True, "approvals": {}},
                    notice.actor,
                    notice.reason,
                )
                f.after_stop_work = True
                audited = True
                f.approvals.clear()
                self._approver_actors.clear()
                self._approval_times = {}
            moves = f.status in (W.IN_PROGRESS, W.WAITING_PARTS, W.ESCALATED)
            if not (was_held or audited or moves) and workflow.patched("stop-work-hold-audited"):
                # Nothing else records this hold (no status move, no after-stop-work mark).
                await self._write("STOP_WORK_HELD", {}, notice.actor, notice.reason)
            f.safety_hold = True
            if moves:
                return await self._apply(
                    W.ON_HOLD, notice.actor, f"stop-work: {notice.reason}", {}, check=False
                )
            return self.get_state()

    @stop_work.validator
    def _check_stop_work(self, notice: StopWorkRequest) -> None:
        self._same_organization(notice.actor)
        # F.3, the API's doors: anyone on the floor raises a stop-work, EHS clears it.
        action = Action.CLEAR_STOP_WORK if notice.cleared else Action.STOP_WORK
        why = door_refusal(notice.actor.roles, [(action,)])
        if why:
            _fail("NotAllowed", why)
        held_by = self._held_by_stop_work
        if notice.cleared and held_by is not None and notice.swa_id is None:
            # Only the stop-work's own clear releases what it held: it checks that no other
            # stop-work still holds the asset. Checked here only (validators do not replay).
            _fail(
                "Conflict",
                f"held by stop-work {held_by}: the work order is released when the "
                "stop-work is cleared",
            )

    # -- queries --

    @workflow.query
    def get_state(self) -> WorkOrderState:
        f = self._facts
        blocks = {
            "submit": rules.submit_blocks(f) if f.status is W.DRAFT else [],
            "start": rules.start_blocks(f) if f.status in ({W.SCHEDULED} | PAUSED) else [],
            "complete": rules.complete_blocks(f) if f.status is W.IN_PROGRESS else [],
            "verify": rules.verify_blocks(f) if f.status is W.COMPLETED else [],
            "close": rules.close_blocks(f) if f.status is W.VERIFIED else [],
        }
        return WorkOrderState(
            number=self._in.number,
            status=f.status.value,
            type=f.type.value,
            asset_number=self._snap.asset_number if self._snap else "",
            assignee=self._assignee,
            safety_hold=f.safety_hold,
            after_stop_work=f.after_stop_work,
            blocks={k: v for k, v in blocks.items() if v},
            approvals=dict(f.approvals),
            approvals_needed=[a.value for a in rules.approvals_needed(f)],
            return_to_service=self._rts,
            message=self._message,
            events=list(self._record.events),
            asset_moving=self._moving > 0,
        )

    # -- helpers --

    async def _finish_return(self, actor: Actor) -> WorkOrderState:
        """Close once every approval, the evidence and any first article are in."""
        f = self._facts
        blocks = rules.close_blocks(f)
        if blocks:
            self._rts = "BLOCKED"
            self._message = "; ".join(blocks)
            return self.get_state()
        others: list[str] = []
        # Patched: work orders recorded before this check replay without it.
        if workflow.patched("asset-waits-for-other-work"):
            others = await call(
                WorkOrderActivities.other_active_work_orders, self._in.number, **WRITE
            )
        if others:
            # The asset returns to service with the last work under way on it, not before.
            self._rts = "DONE"
            self._message = f"closed; the asset stays out of service for {', '.join(others)}"
        else:
            via_pm = f.type is WoType.PM and not f.after_stop_work
            # The asset's own rules want the maintenance approver for the final move.
            approver = self._approver_actors.get(Approval.MAINTENANCE.value, actor)
            reason = f"{self._in.number}: return to service approved by " + ", ".join(
                f"{k.lower()} {v}" for k, v in f.approvals.items()
            )
            if workflow.patched("closed-only-in-service"):
                # A stop-work cleared meanwhile left the asset in MAINTENANCE: it passes
                # PENDING_RETURN again, and the order closes only once the asset is back.
                signed = f"{self._in.number}: verified work, return to service signed"
                if workflow.patched(RETURN_IN_ONE_CALL):
                    now_status = await self._asset(
                        "IN_SERVICE",
                        reason,
                        approver,
                        only_from=["PENDING_RETURN"],
                        via_pm=via_pm,
                        through=("PENDING_RETURN", BEFORE_RETURN, signed),
                    )
                else:
                    await self._asset("PENDING_RETURN", signed, self._system(), BEFORE_RETURN)
                    now_status = await self._asset(
                        "IN_SERVICE", reason, approver, only_from=["PENDING_RETURN"], via_pm=via_pm
                    )
                if now_status != "IN_SERVICE":
                    self._rts = "BLOCKED"
                    self._message = (
                        f"asset {self._snap.asset_number} is {now_status}, not back in "
                        "service: the work order stays open until it is"
                    )
                    return self.get_state()
            else:
                await self._asset(
                    "IN_SERVICE", reason, approver, only_from=["PENDING_RETURN"], via_pm=via_pm
                )
            self._rts, self._message = "DONE", "returned to service"
        await call(
            WorkOrderActivities.end_work_order_downtime,
            DowntimeEnd(self._in.number, self._in.organization_id, actor),
            **WRITE,
        )
        return await self._apply(
            W.CLOSED,
            actor,
            "return to service approved; work order closed",
            {"closed_at": workflow.now().isoformat()},
            extra_events=[["return_to_service.approved", {"approvals": dict(f.approvals)}]],
            check=False,
        )

    async def _rework(self, actor: Actor, reason: str, changes: dict[str, Any]) -> WorkOrderState:
        """Failed checks send the work back (C.5). Under lockout it waits ON_HOLD: the LOTO
        came off for the test run, so nobody works again before a new permit and resume."""
        if self._facts.requires_loto:
            self._message = f"{reason}; issue a new LOTO permit, then resume"
            return await self._apply(W.ON_HOLD, actor, self._message, changes)
        self._message = f"{reason}; back to work"
        return await self._apply(W.IN_PROGRESS, actor, self._message, changes)

    async def _move(
        self, target: WoStatus, req: MoveRequest, default_reason: str, validate
    ) -> WorkOrderState:
        async with self._lock:
            validate(req)  # again, under the lock: an earlier update may have changed things
            return await self._apply(target, req.actor, req.reason or default_reason, {})

    async def _apply(
        self,
        target: WoStatus,
        actor: Actor,
        reason: str,
        changes: dict[str, Any],
        extra_events: list[list[Any]] | None = None,
        check: bool = True,
    ) -> WorkOrderState:
        if check:
            self._allowed(target, actor)  # again, under the lock
        events = [[EVENTS[target], {"status": target.value}]] if target in EVENTS else []
        await self._write(
            f"STATUS_{target.value}",
            {
                "status": target.value,
                "status_changed_at": workflow.now().isoformat(),
                "status_changed_by": actor.full_name,
                **changes,
            },
            actor,
            reason,
            events + (extra_events or []),
        )
        self._facts.status = target
        self._index()
        if target in PM_ENDS and self._snap.pm_schedule_id is not None:
            await self._tell_pm_schedule()
        return self.get_state()

    async def _tell_pm_schedule(self) -> None:
        """The PM schedule learns at once that its work order ended, rather than at its
        next hourly look (which stays, should this signal be lost). Patched: work orders
        recorded before replay without it."""
        if not workflow.patched("pm-told-when-ended"):
            return
        schedule = workflow.get_external_workflow_handle(f"PMS-{self._snap.pm_schedule_id}")
        try:
            await schedule.signal("work_order_changed", self._in.number)
        except FailureError:
            pass  # the schedule's poll finds the end anyway

    async def _write(
        self,
        action: str,
        changes: dict[str, Any],
        actor: Actor,
        reason: str | None,
        events: list[list[Any]] | None = None,
    ) -> None:
        def legacy(step: int) -> Any:
            return workflow.execute_activity_method(
                WorkOrderActivities.record_work_order,
                WoRecord(
                    self._in.number,
                    self._in.organization_id,
                    step,
                    action,
                    changes,
                    actor,
                    reason,
                    events or [],
                ),
                **WRITE,
            )

        await self._record.write(
            action, changes, actor, reason, extra={"events": events or []}, legacy=legacy
        )
        if action.startswith("RTS_APPROVED_"):
            self._approver_actors[action.removeprefix("RTS_APPROVED_")] = actor

    async def _side_move(
        self, after: bool, status: str, reason: str, actor: Actor, only_from: list[str]
    ) -> None:
        """Start's and verify's asset move: after the answer (ASSET_AFTER_ANSWER), else
        before it, as runs recorded before did."""
        if not after:
            await self._asset_best_effort(status, reason, actor, only_from)
            return
        self._moving += 1
        self._moves = [t for t in self._moves if not t.done()]
        self._moves.append(
            asyncio.create_task(self._move_after_answer(status, reason, actor, only_from))
        )

    async def _move_after_answer(
        self, status: str, reason: str, actor: Actor, only_from: list[str]
    ) -> None:
        """A plain activity, not a local one: the workflow task (and with it the update's
        answer) completes while a local activity still runs only once it is done."""
        try:
            async with self._asset_lock:
                change = AssetChange(self._snap.asset_id, status, reason, actor, False, only_from)
                try:
                    await workflow.execute_activity_method(
                        AssetGateway.change_asset_status, change, **WRITE
                    )
                except ActivityError as err:
                    cause = passed_on(err, f"asset {self._snap.asset_number}: ")
                    self._message = f"the asset did not move to {status}: {cause}"
                    self._log("ASSET_NOT_MOVED", actor, self._message)
        finally:
            self._moving -= 1

    async def _asset_best_effort(
        self, status: str, reason: str, actor: Actor, only_from: list[str]
    ) -> None:
        """A side move (start: MAINTENANCE, verify: PENDING_RETURN) whose refusal must not
        undo the work order's own, already recorded move: it is noted instead."""
        try:
            await self._asset(status, reason, actor, only_from)
        except (ApplicationError, ActivityError) as err:
            self._message = f"the asset did not move to {status}: {err}"
            self._log("ASSET_NOT_MOVED", actor, self._message)

    async def _asset(
        self,
        status: str,
        reason: str,
        actor: Actor,
        only_from: list[str] | None = None,
        via_pm: bool = False,
        through: tuple[str, list[str], str] | None = None,  # (status, from, reason)
    ) -> str:
        if self._moving:  # a move sent after an earlier answer goes first
            await workflow.wait_condition(lambda: self._moving == 0)
        try:
            # The asset's workflow answers once its row is written: run beside this
            # workflow's task (local), except in histories recorded before.
            return await call(
                AssetGateway.change_asset_status,
                AssetChange(
                    self._snap.asset_id, status, reason, actor, via_pm, only_from, *(through or ())
                ),
                **WRITE,
            )
        except ActivityError as err:
            refusal = passed_on(err, f"asset {self._snap.asset_number}: ")
            if refusal is err:
                raise
            raise refusal from err

    def _allowed(self, target: WoStatus, actor: Actor) -> None:
        refusal = rules.move_refusal(self._facts.status, target)
        if refusal:
            _fail("Conflict", refusal)
        # F.3: under a stop-work no work goes ahead; only planning it, holding or cancelling.
        if self._facts.safety_hold and target not in UNDER_STOP_WORK:
            _fail("Conflict", f"cannot move to {target.value}: {rules.SAFETY_HOLD_BLOCK}")

    def _refuse_reopening(self, move: str) -> None:
        """C.5: finished work goes back to work only through a failed verification or first
        article. A person's start or hold would skip the verifier and keep the return-to-
        service approvals already given for the work as verified."""
        status = self._facts.status
        if status not in (W.COMPLETED, W.VERIFIED):
            return
        # Validators always refuse; a handler re-checking under the lock does so only in
        # runs recorded with this check, so older histories replay as they ran.
        if workflow.unsafe.is_read_only() or workflow.patched("finished-work-reopens-by-rework"):
            _fail(
                "Conflict",
                f"cannot {move}: a {status.value} work order goes back to work only through "
                "a failed verification or first-article inspection",
            )

    def _same_organization(self, actor: Actor) -> None:
        # Another organisation's caller learns nothing, not even that the order exists.
        if actor.organization_id != self._in.organization_id:
            _fail("NotFound", f"work order {self._in.number} not found")

    def _guard(self, actor: Actor, move: str) -> None:
        """The caller's organisation, then the permission table the API doors use."""
        self._same_organization(actor)
        why = door_refusal(actor.roles, [WO_DOORS[move]])
        if why:
            _fail("NotAllowed", why)

    def _need_role(self, actor: Actor, roles: set[Role], action: str) -> None:
        if not rules.has_any(actor.roles, roles):
            _fail("NotAllowed", f"{action} needs one of the roles {rules.names(roles)}")

    def _need_reason(self, reason: str, what: str) -> None:
        if len(reason.strip()) < 3:
            _fail("RuleViolation", f"{what} needs a reason", "reason")

    def _system(self) -> Actor:
        return system_actor(self._in.organization_id)

    def _log(self, action: str, actor: Actor, detail: str) -> None:
        self._record.log(action, actor.full_name, actor.role, detail)

    def _index(self) -> None:
        if self._snap is None:
            return
        index(
            self._in.indexed,
            "WORK_ORDER",
            asset=self._snap.asset_number,
            site=self._snap.site_code,
            status=self._facts.status.value,
        )
