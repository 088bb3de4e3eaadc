"""ShiftReportWorkflow: one per shift report, id SHR-<site>-<shift date>-<shift> (a
correction adds -V<n>), seed 002 "Shift Report Generation".

A site's Temporal Schedule fires 15 minutes after each shift's end; that run finds the
shift that ended and starts the shift's own report under its id, so a second fire for the
same shift starts nothing. The report collects the shift's output, stops, quality,
energy, work orders and anomalies, stores the draft and tells the shift's supervisors; it
reminds them (durable timers, the operations manager joining later) until the report is
approved by one of them or the operations manager. Approval sends it to management,
archives its PDF and locks it: nothing is edited after, a correction is a new version."""

import asyncio
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.shift_reports import ShiftReportActivities
    from domain.actor import Actor
    from domain.rules import shift_reports as rules
    from domain.rules.alerts import Audience, Channel
    from workflows.kit import (
        CONFLICT,
        NOT_FOUND,
        Notice,
        Record,
        fail,
        index,
        refuse,
        system_actor,
    )
    from workflows.shift_report_types import (
        ApproveRequest,
        ArchiveRequest,
        ReviewRequest,
        ShiftReportFacts,
        ShiftReportInput,
        ShiftReportState,
    )

ENTITY = "SHIFT_REPORT"
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
S = rules.Status
COLLECT = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_attempts=8, maximum_interval=timedelta(minutes=1)),
}
# An approval stands once written: its archive and lock are retried until they are done.
UNTIL_DONE = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=5)),
}
ON_SHIFT = Audience.ON_DUTY_SUPERVISOR
SUPERVISOR = [(Channel.IN_APP, ON_SHIFT), (Channel.EMAIL, ON_SHIFT)]
MANAGEMENT = [(Channel.EMAIL, Audience.MANAGER), (Channel.IN_APP, Audience.MANAGER)]


@workflow.defn
class ShiftReportWorkflow:
    @workflow.init
    def __init__(self, data: ShiftReportInput) -> None:
        self._in = data
        self._ref = (
            rules.reference(data.site_code, _date(data.day), data.shift_code, data.version)
            if data.shift_code and data.day
            else workflow.info().workflow_id
        )
        self._status = "COLLECTING"
        self._facts: ShiftReportFacts | None = None
        self._lock = asyncio.Lock()
        self._approval: ApproveRequest | None = None
        self._notes: str | None = None
        self._reviewed_by: str | None = None
        self._reminders = 0
        self._archive_key: str | None = None
        self._archive_owed = False  # approved, but the archive could not be made yet
        self._record = Record(ENTITY, self._ref, data.organization_id)

    @workflow.run
    async def run(self, data: ShiftReportInput) -> ShiftReportState:
        if not (data.shift_code and data.day):
            return await self._fire(data)
        self._facts = await workflow.execute_activity_method(
            ShiftReportActivities.draft_shift_report, data, **COLLECT
        )
        facts = self._facts
        self._record.step = facts.last_step
        self._status, self._notes = facts.status, facts.notes
        self._reminders = facts.reminders
        self._index()
        if facts.status == S.LOCKED:  # reported and locked before: nothing more to do
            return self.get_state()
        if facts.status == S.APPROVED:  # approved and sent before a restart: finish it
            async with self._lock:
                await self._archive_and_lock()
            return self.get_state()
        if facts.created:
            await self._record.notify("SHIFT_REPORT_READY", SUPERVISOR, self._context())
        while self._approval is None:
            try:
                await workflow.wait_condition(
                    lambda: self._approval is not None, timeout=rules.REMIND_EVERY
                )
            except TimeoutError:
                if self._reminders >= rules.MAX_REMINDERS:
                    await workflow.wait_condition(lambda: self._approval is not None)
                    break
                async with self._lock:
                    if self._approval is None:
                        await self._remind()
        await workflow.wait_condition(lambda: self._status == S.LOCKED or self._archive_owed)
        if self._status != S.LOCKED:
            async with self._lock:
                await self._archive_and_lock(UNTIL_DONE)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.get_state()

    async def _fire(self, data: ShiftReportInput) -> ShiftReportState:
        """A Schedule's fire: the shift that ended, its report started under its own id
        (a report already started, running or done, is left as it is)."""
        at = data.fired_at or workflow.info().typed_search_attributes.get(SCHEDULED_AT)
        fired = await workflow.execute_activity_method(
            ShiftReportActivities.shift_ended,
            args=[data.organization_id, data.site_code, at or workflow.now()],
            **COLLECT,
        )
        if not fired.shift_code:
            self._status = "NO_SHIFT"
            return self.get_state()
        report = ShiftReportInput(
            data.organization_id, data.site_code, fired.shift_code, fired.day,
            indexed=data.indexed,
        )  # fmt: skip
        self._ref = rules.reference(data.site_code, _date(fired.day), fired.shift_code)
        try:
            await workflow.start_child_workflow(
                ShiftReportWorkflow.run,
                report,
                id=self._ref,
                # A report whose run completed is never started again; one that failed or was
                # terminated is taken up by the next fire (its stored draft carries on).
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
            self._status = "FIRED"
        except WorkflowAlreadyStartedError:
            self._status = "ALREADY_STARTED"
        return self.get_state()

    async def _remind(self) -> None:
        self._reminders += 1
        sends = SUPERVISOR + (MANAGEMENT if self._reminders > rules.ESCALATE_AFTER else [])
        context = {**self._context(), "reminder": self._reminders}
        await self._write("REMINDED", {"reminders": self._reminders},
                          system_actor(self._in.organization_id),
                          f"reminder {self._reminders}: waiting for review",
                          notices=[Notice("SHIFT_REPORT_REMINDER", sends, context)])  # fmt: skip

    # -- updates --

    @workflow.update
    async def review(self, req: ReviewRequest) -> ShiftReportState:
        async with self._lock:
            self._check_review(req)
            now = workflow.now().isoformat()
            changes = {"status": S.IN_REVIEW.value, "notes": req.notes.strip() or self._notes,
                       "reviewed_by": req.actor.full_name, "reviewed_at": now}  # fmt: skip
            extra = {"handover": [vars(h) for h in req.handover]} if req.handover else None
            await self._write("REVIEWED", changes, req.actor, req.notes or "reviewed", extra=extra)
            self._status, self._notes = S.IN_REVIEW.value, changes["notes"]
            self._reviewed_by = req.actor.full_name
            return self.get_state()

    @review.validator
    def _check_review(self, req: ReviewRequest) -> None:
        self._guard(req.actor)
        if len(req.notes) > 5000:
            refuse("RuleViolation", "notes: at most 5000 characters", "notes")
        for item in req.handover:
            fail(rules.note_refusal(note_type=item.note_type, priority=item.priority,
                                    message=item.message))  # fmt: skip

    @workflow.update
    async def approve(self, req: ApproveRequest) -> ShiftReportState:
        """Approved, sent to management, archived and locked; the answer comes once locked."""
        async with self._lock:
            self._check_approve(req)
            self._approval = req
            now = workflow.now().isoformat()
            notes = (req.notes or "").strip() or self._notes
            changes = {"status": S.APPROVED.value, "notes": notes,
                       "approved_by": req.actor.full_name, "approved_by_id": req.actor.user_id,
                       "approved_at": now}  # fmt: skip
            self._notes = notes
            context = {**self._context(), "approved_by": req.actor.full_name}
            sent = Notice("SHIFT_REPORT_APPROVED", MANAGEMENT, context)
            try:
                await self._write(
                    "APPROVED", changes, req.actor, req.notes or "approved", notices=[sent]
                )
            except ActivityError:
                self._approval = None  # not written: the report is still open for review
                raise
            self._status = S.APPROVED.value
            try:
                await self._archive_and_lock()
            except ActivityError:
                self._archive_owed = True  # the run archives and locks it once it can
            return self.get_state()

    @approve.validator
    def _check_approve(self, req: ApproveRequest) -> None:
        self._guard(req.actor)
        if req.notes and len(req.notes) > 5000:
            refuse("RuleViolation", "notes: at most 5000 characters", "notes")

    async def _archive_and_lock(self, options: dict | None = None) -> None:
        key = await workflow.execute_activity_method(
            ShiftReportActivities.archive_shift_report,
            ArchiveRequest(self._in.organization_id, self._ref),
            **(options or COLLECT),
        )
        self._archive_key = key
        at = workflow.now().isoformat()
        await self._write("LOCKED", {"status": S.LOCKED.value, "archive_key": key,
                                     "archived_at": at, "locked_at": at},
                          system_actor(self._in.organization_id),
                          "sent to management and archived; locked")  # fmt: skip
        self._status = S.LOCKED.value

    # -- queries --

    @workflow.query
    def get_state(self) -> ShiftReportState:
        d = self._in
        return ShiftReportState(
            reference=self._ref,
            status=self._status,
            site=d.site_code,
            shift=d.shift_code,
            day=d.day,
            version=d.version,
            notes=self._notes,
            reviewed_by=self._reviewed_by,
            approved_by=self._approval.actor.full_name if self._approval else None,
            reminders=self._reminders,
            supervisor_ids=list(self._facts.supervisor_ids) if self._facts else [],
            archive_key=self._archive_key,
            events=list(self._record.events),
        )

    # -- helpers --

    def _guard(self, actor: Actor) -> None:
        """The caller's organisation first (another one learns nothing), then who may
        review, then whether the report is still open."""
        if actor.organization_id != self._in.organization_id or self._facts is None:
            refuse(NOT_FOUND, f"shift report {self._ref} not found", "reference")
        fail(rules.review_refusal(roles=actor.roles, user_id=actor.user_id,
                                  supervisors=self._facts.supervisor_ids))  # fmt: skip
        if self._approval is not None:
            refuse(CONFLICT, f"shift report {self._ref} is approved and locked; a correction "
                   "is a new version", "status")  # fmt: skip
        fail(rules.edit_refusal(self._status, self._ref))

    async def _write(self, action, changes, actor, reason, *, extra=None, notices=()) -> None:
        await self._record.write(action, changes, actor, reason, extra=extra, notices=notices)
        self._index()

    def _context(self) -> dict:
        d = self._in
        return {"reference": self._ref, "site": d.site_code, "shift": d.shift_code, "day": d.day}

    def _index(self) -> None:
        d = self._in
        index(d.indexed, ENTITY, asset="", site=d.site_code, status=self._status)


def _date(text: str) -> date:
    return date.fromisoformat(text)
