"""PMScheduleWorkflow: one per PM schedule, id PMS-<schedule id> (seed 003 D.3, seed 004
BR-MAINT-001/002, L.1 scenario 2).

It sleeps on a durable timer until the due date less the lead time, and wakes on meter
readings; then opens the PM work order (APPROVED, through the work order's own lifecycle)
and follows it until CLOSED, when the next due is counted from the completion. One loop
decides everything, so a timer and a reading arriving together open one work order.
The work order's end is read from its record, on a timer (and at once when told): a
work order's workflow restarted or replaced cannot leave the schedule waiting forever.
Overdue PMs tell the team and the manager, and under BLOCK take the asset out of service.
Edit, pause, resume, skip and defer are updates; a new run every few cycles keeps the
history short, the schedule's row carrying everything over."""

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.pm import PmActivities
    from domain.actor import Actor
    from domain.rules import pm as rules
    from domain.rules.alerts import Audience, Channel
    from domain.rules.pm import Interval, OverdueAction, ScheduleType
    from domain.rules.roles import Action, scope_for
    from workflows.kit import (
        NOT_ALLOWED,
        NOT_FOUND,
        WRITE,
        Notice,
        Record,
        call,
        fail,
        index,
        passed_on,
        refuse,
        system_actor,
    )
    from workflows.pm_schedule_types import (
        TASK_TIMEOUT,
        BlockRequest,
        CancelPmRequest,
        CertificateRequest,
        ConditionRequest,
        DeferRequest,
        EditRequest,
        MeterReadingEvent,
        OpenPmRequest,
        PauseRequest,
        PMScheduleInput,
        PMScheduleState,
        ScheduleFacts,
        SkipRequest,
        WorkOrderOutcome,
        WorkOrderQuery,
    )

# Steps that wait on another lifecycle (the work order's start, the asset's status).
CALL = {**WRITE, "start_to_close_timeout": timedelta(seconds=60)}
TEAM = [(Channel.IN_APP, Audience.TEAM_LEAD), (Channel.IN_APP, Audience.RELEVANT_TECHNICIANS)]
MANAGER = [(Channel.IN_APP, Audience.MANAGER), (Channel.EMAIL, Audience.MANAGER)]
QUALITY = [(Channel.IN_APP, Audience.QUALITY)]
EDITABLE = {
    "schedule_type",
    "interval_days",
    "interval_hours",
    "interval_cycles",
    "anchor",
    "next_due_date",
    "alert_days_before",
    "alert_hours_before",
    "overdue_threshold_days",
    "overdue_action",
    "template_id",
}
# The work order opened beside the schedule's workflow task (a local activity): at a due
# minute shared by thousands, no round trip through the server per open. Histories
# recorded before replay the plain activity.
OPEN_LOCAL = "pm-open-local"
FINISHED = {"CLOSED", "CANCELLED", "REJECTED"}
# Wakes per run: a work order open for months (polled hourly) still keeps runs short.
MAX_TIMERS_PER_RUN = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# An SPC condition's draft is told to the quality roles too, in the opening step's notices;
# runs before told the team alone.
QUALITY_TOLD = "pm-spc-quality-told"


# A block the asset refused (held by a stop-work) is not recorded as done; runs before
# recorded it whatever the asset answered.
BLOCK_CHECKED = "pm-block-checked"


@workflow.defn
class PMScheduleWorkflow:
    @workflow.init
    def __init__(self, data: PMScheduleInput) -> None:
        self._in = data
        self._f: ScheduleFacts | None = None
        self._lock = asyncio.Lock()
        self._wake = False
        self._poll_at: datetime | None = None
        self._cycles = 0
        self._timers = 0
        self._record = Record("PM_SCHEDULE", f"PMS-{data.schedule_id}", data.organization_id)

    @workflow.run
    async def run(self, data: PMScheduleInput) -> PMScheduleState:
        self._f = await call(PmActivities.load_schedule, data.schedule_id, **WRITE)
        self._record.step = self._f.last_step
        self._index()
        while True:
            async with self._lock:
                await self._tick()
            f = self._f
            if not f.is_active:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self.get_state()
            wake_at = self._next_wake()
            self._wake = False
            if wake_at is not None and wake_at <= workflow.now():
                continue
            timeout = None if wake_at is None else wake_at - workflow.now()
            try:
                await workflow.wait_condition(lambda: self._wake, timeout=timeout)
            except TimeoutError:
                # Woken by its own timer: a quiet moment to start afresh. The row carries
                # everything over, an open work order included.
                self._timers += 1
                if not self._wake and (
                    self._cycles >= data.cycles_per_run
                    or self._timers >= MAX_TIMERS_PER_RUN
                    or workflow.info().is_continue_as_new_suggested()
                ):
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(data, task_timeout=TASK_TIMEOUT)

    # -- the one place that decides --

    async def _tick(self) -> None:
        f = self._f
        now = workflow.now()
        if f.open_work_order and (self._poll_at is None or now >= self._poll_at):
            await self._follow_work_order()
        if f.meter_due_at is None and self._meter_at_due():
            await self._write(
                "METER_DUE",
                {"meter_due_at": _iso(f.current_reading_at or now)},
                f"meter {f.current_reading:g} reached {f.next_due_meter:g}",
            )
            f.meter_due_at = f.current_reading_at or now
        if f.is_paused or not f.is_active:
            return
        if f.open_work_order is None and self._due(now):
            await self._open(now)
        await self._overdue(now)

    def _due(self, now: datetime) -> bool:
        f = self._f
        return rules.is_due(
            ScheduleType(f.schedule_type),
            now=now,
            due=f.next_due_date,
            due_meter=f.next_due_meter,
            reading=f.current_reading,
            alert_days_before=f.alert_days_before,
            alert_hours_before=f.alert_hours_before,
        )

    def _meter_at_due(self) -> bool:
        f = self._f
        return ScheduleType(f.schedule_type) in rules.USES_METER and rules.meter_reached(
            f.current_reading, f.next_due_meter, 0.0
        )

    async def _open(
        self, now: datetime, trigger: str = "METER", also: Sequence[Notice] = ()
    ) -> None:
        f = self._f
        if trigger != "CONDITION" and ScheduleType(f.schedule_type) in rules.USES_CALENDAR:
            at = rules.opens_at(f.next_due_date, f.alert_days_before)
            if at is not None and now >= at:
                trigger = "TIME"
        request = OpenPmRequest(f.schedule_id, self._in.organization_id, trigger, self._in.indexed)
        if workflow.patched(OPEN_LOCAL):
            opened = await workflow.execute_local_activity_method(
                PmActivities.open_pm_work_order, request, **CALL
            )
        else:
            opened = await workflow.execute_activity_method(
                PmActivities.open_pm_work_order, request, **CALL
            )
        context = {"work_order": opened.number, "due": _iso(f.next_due_date)}
        await self._write(
            "WORK_ORDER_OPENED",
            {"open_work_order": opened.number},
            f"{opened.number} opened ({trigger.lower()})",
            notices=[
                Notice("PM_DUE", TEAM, context),
                *(Notice(n.event, n.sends, {**context, **n.context}) for n in also),
            ],
        )
        f.open_work_order = opened.number
        self._poll_at = now + timedelta(seconds=self._in.poll_seconds)

    async def _follow_work_order(self) -> None:
        f = self._f
        number = f.open_work_order
        outcome: WorkOrderOutcome = await call(
            PmActivities.work_order_outcome, WorkOrderQuery(f.schedule_id, number), **WRITE
        )
        self._poll_at = workflow.now() + timedelta(seconds=self._in.poll_seconds)
        if outcome.status == "CLOSED":
            await self._completed(number, outcome)
        elif outcome.status in FINISHED:
            # Cancelled or rejected: the PM is still due, and the next tick opens another.
            await self._write(
                "WORK_ORDER_ENDED",
                {"open_work_order": None},
                f"{number} {outcome.status.lower()}: the PM is still due",
            )
            f.open_work_order = None

    async def _completed(self, number: str, outcome: WorkOrderOutcome) -> None:
        """BR-MAINT-002: the next due from the completion (and the meter then)."""
        f = self._f
        done = outcome.completed_at or workflow.now()
        interval = self._interval()
        due = rules.next_due_date(interval, completed_at=done, last_due=f.next_due_date)
        reading = outcome.reading if outcome.reading is not None else f.current_reading
        due_meter = rules.next_due_meter(interval, reading_at_completion=reading)
        changes = {
            "last_executed_at": _iso(done),
            "last_executed_wo": number,
            "last_meter_reading": reading,
            "next_due_date": _iso(due),
            "next_due_meter": due_meter,
            "meter_due_at": None,
            "open_work_order": None,
            "overdue_told": {},
            "blocked_at": None,
            "cycles": f.cycles + 1,
        }
        await self._write(
            "PM_COMPLETED",
            changes,
            f"{number} closed",
            extra={"asset_last_maintenance": _iso(done)},
        )
        f.last_executed_at, f.last_executed_wo, f.last_meter_reading = done, number, reading
        f.next_due_date, f.next_due_meter, f.meter_due_at = due, due_meter, None
        f.open_work_order, f.overdue_told, f.blocked_at = None, {}, None
        f.cycles += 1
        self._cycles += 1

    def _interval(self) -> Interval:
        f = self._f
        return Interval(
            ScheduleType(f.schedule_type), f.interval_days, f.interval_hours, rules.Anchor(f.anchor)
        )

    async def _overdue(self, now: datetime) -> None:
        f = self._f
        since = rules.overdue_since(due=f.next_due_date, meter_due_at=f.meter_due_at)
        days = rules.days_overdue(since, now)
        if days is None:
            return
        told = f.overdue_told
        action = OverdueAction(f.overdue_action)
        step = rules.overdue_step(
            action,
            days,
            threshold_days=f.overdue_threshold_days,
            team_told="team" in told,
            manager_told="manager" in told,
            told_today=told.get("day") == days,
            blocked=f.blocked_at is not None,
        )
        if step.tell_team or step.tell_manager:
            after = dict(told, day=days)
            sends: list[Any] = []
            if step.tell_team:
                after["team"] = days
                sends += TEAM
            if step.tell_manager:
                after["manager"] = days
                sends += MANAGER
            context = {"work_order": f.open_work_order, "due": _iso(since), "days_overdue": days}
            event = "PM_OVERDUE_ESCALATED" if step.tell_manager else "PM_OVERDUE"
            await self._write(
                "PM_OVERDUE",
                {"overdue_told": after},
                f"{days} day(s) overdue ({action.value})",
                notices=[Notice(event, sends, context)],
            )
            f.overdue_told = after
        if step.block:
            status = await workflow.execute_activity_method(
                PmActivities.block_asset,
                BlockRequest(f.schedule_id, f.asset_id, self._in.organization_id),
                **CALL,
            )
            if workflow.patched(BLOCK_CHECKED) and status != "OUT_OF_SERVICE":
                # The asset could not be moved (a stop-work holds it): not blocked, so the
                # next overdue wake tries again once the hold is lifted.
                return
            context = {"work_order": f.open_work_order, "days_overdue": days}
            await self._write(
                "ASSET_BLOCKED",
                {"blocked_at": _iso(now)},
                rules.BLOCK_REASON,
                notices=[Notice("PM_BLOCKED", TEAM + MANAGER, context)],
            )
            f.blocked_at = now

    def _next_wake(self) -> datetime | None:
        """The earliest moment something is to be done without being told."""
        f = self._f
        now = workflow.now()
        times: list[datetime] = []
        if f.open_work_order and self._poll_at is not None:
            times.append(self._poll_at)
        if not f.is_paused:
            if f.open_work_order is None and ScheduleType(f.schedule_type) in rules.USES_CALENDAR:
                at = rules.opens_at(f.next_due_date, f.alert_days_before)
                if at is not None:
                    times.append(at)
            since = rules.overdue_since(due=f.next_due_date, meter_due_at=f.meter_due_at)
            days = rules.days_overdue(since, now)
            if since is not None and days is None:
                times.append(since)
            elif since is not None:
                check = rules.next_overdue_check(
                    OverdueAction(f.overdue_action),
                    since,
                    days,
                    threshold_days=f.overdue_threshold_days,
                    manager_told="manager" in f.overdue_told,
                )
                if check is not None:
                    times.append(check)
        return min(times) if times else None

    async def _write(
        self,
        action: str,
        changes: dict[str, Any],
        reason: str,
        *,
        actor: Actor | None = None,
        extra: dict[str, Any] | None = None,
        notices: list[Notice] | None = None,
    ) -> None:
        await self._record.write(
            action,
            changes,
            actor or system_actor(self._in.organization_id),
            reason,
            extra=extra,
            notices=notices or [],
        )
        self._index()

    # -- messages --

    @workflow.signal
    def meter_reading(self, event: MeterReadingEvent) -> None:
        f = self._f
        if f is None or event.meter_type != (f.meter_type or event.meter_type):
            return
        if f.current_reading is None or event.reading >= f.current_reading:
            f.current_reading, f.current_reading_at = event.reading, event.recorded_at
            self._wake = True

    @workflow.signal
    def work_order_changed(self, number: str) -> None:
        """A hint from the work order's side: look at it now rather than at the next poll."""
        if self._f is not None and self._f.open_work_order == number:
            self._poll_at = None
            self._wake = True

    @workflow.update
    async def condition(self, req: ConditionRequest) -> PMScheduleState:
        """A CONDITION_BASED schedule's work: a draft work order for review, unless one is
        open already (BR-MAINT-001), when the condition is noted on the schedule instead."""
        async with self._lock:
            self._check_condition(req)
            f = self._f
            what = f"{req.source} condition: {req.detail}"
            if f.open_work_order is None:
                self._record.log("CONDITION", req.actor.full_name, req.actor.role, what)
                also = []
                if req.source == "SPC" and workflow.patched(QUALITY_TOLD):
                    also.append(Notice("SPC_CONDITION", QUALITY, {"condition": what}))
                await self._open(workflow.now(), "CONDITION", also)
            else:  # written with its audit row: the condition is on record, not only here
                detail = f"{what}; {f.open_work_order} already open"
                await self._write("CONDITION_NOTED", {}, detail, actor=req.actor)
            return self.get_state()

    @condition.validator
    def _check_condition(self, req: ConditionRequest) -> None:
        if req.actor.organization_id != self._in.organization_id or self._f is None:
            refuse(NOT_FOUND, f"PM schedule PMS-{self._in.schedule_id} not found", "pm_schedule")
        f = self._f
        if ScheduleType(f.schedule_type) is not ScheduleType.CONDITION_BASED:
            refuse(
                "RuleViolation",
                f"PM schedule {f.code} is {f.schedule_type}, not CONDITION_BASED",
                "pm_schedule",
            )
        if not f.is_active or f.is_paused:
            refuse("Conflict", f"PM schedule {f.code} is {'paused' if f.is_paused else 'inactive'}")

    @workflow.update
    async def certificate_changed(self, req: CertificateRequest) -> PMScheduleState:
        async with self._lock:
            self._check_certificate(req)
            f = self._f
            due = _iso(req.next_due)
            await self._write(
                "EDITED",
                {"next_due_date": due, "overdue_told": {}},
                f"certificate now expires {req.next_due:%Y-%m-%d}",
                actor=req.actor,
            )
            f.next_due_date, f.overdue_told = req.next_due, {}
            self._wake = True
            return self.get_state()

    @certificate_changed.validator
    def _check_certificate(self, req: CertificateRequest) -> None:
        self._guard(req.actor, Action.EDIT_ASSETS)
        if self._f.code.split("@")[0] != rules.CERTIFICATION:
            refuse("RuleViolation", f"{self._f.code} is not a certification schedule")

    @workflow.update
    async def edit(self, req: EditRequest) -> PMScheduleState:
        async with self._lock:
            self._check_edit(req)
            f = self._f
            changes = dict(req.changes)
            intervals = {"interval_days", "interval_hours", "interval_cycles", "schedule_type"}
            if "next_due_date" not in changes and intervals & set(changes) and f.last_executed_at:
                # New intervals count from the last PM, as if they had always applied.
                days = changes.get("interval_days", f.interval_days)
                kind = ScheduleType(changes.get("schedule_type", f.schedule_type))
                if kind in rules.USES_CALENDAR and days:
                    changes["next_due_date"] = _iso(f.last_executed_at + timedelta(days=days))
            hours = rules.meter_interval(
                changes.get("interval_hours", f.interval_hours),
                changes.get("interval_cycles", f.interval_cycles),
            )
            kind = ScheduleType(changes.get("schedule_type", f.schedule_type))
            if kind in rules.USES_METER and intervals & set(changes) and hours:
                changes["next_due_meter"] = (f.last_meter_reading or 0.0) + hours
            await self._write("EDITED", changes, req.reason or "schedule edited", actor=req.actor)
            reading, at = self._f.current_reading, self._f.current_reading_at
            self._f = await call(PmActivities.load_schedule, self._in.schedule_id, **WRITE)
            if reading is not None and (self._f.current_reading or 0) <= reading:
                self._f.current_reading, self._f.current_reading_at = reading, at
            self._wake = True
            return self.get_state()

    @edit.validator
    def _check_edit(self, req: EditRequest) -> None:
        self._guard(req.actor, Action.MANAGE_PM_SCHEDULES)
        unknown = set(req.changes) - EDITABLE
        if unknown:
            refuse(
                "RuleViolation", f"not editable: {', '.join(sorted(unknown))}", sorted(unknown)[0]
            )
        f = self._f
        merged = {
            k: req.changes.get(k, getattr(f, k))
            for k in ("schedule_type", "interval_days", "interval_hours", "interval_cycles")
        }
        fail(
            rules.interval_refusal(
                merged["schedule_type"],
                merged["interval_days"],
                merged["interval_hours"],
                merged["interval_cycles"],
            )
        )
        kind = ScheduleType(merged["schedule_type"])
        if kind in rules.USES_METER and not f.meter_type:
            refuse(
                "RuleViolation",
                "a schedule without a meter cannot become meter-based",
                "schedule_type",
            )

    @workflow.update
    async def pause(self, req: PauseRequest) -> PMScheduleState:
        async with self._lock:
            self._check_pause(req)
            await self._write(
                "PAUSED",
                {"is_paused": True, "paused_reason": req.reason},
                req.reason,
                actor=req.actor,
            )
            self._f.is_paused, self._f.paused_reason = True, req.reason
            self._wake = True
            return self.get_state()

    @pause.validator
    def _check_pause(self, req: PauseRequest) -> None:
        self._guard(req.actor, Action.MANAGE_PM_SCHEDULES)
        if self._f.is_paused:
            refuse("Conflict", "the schedule is paused already")
        if len(req.reason.strip()) < 3:
            refuse("RuleViolation", "a pause needs a reason", "reason")

    @workflow.update
    async def resume(self, req: PauseRequest) -> PMScheduleState:
        async with self._lock:
            self._check_resume(req)
            await self._write(
                "RESUMED",
                {"is_paused": False, "paused_reason": None},
                req.reason or "resumed",
                actor=req.actor,
            )
            self._f.is_paused, self._f.paused_reason = False, None
            self._wake = True
            return self.get_state()

    @resume.validator
    def _check_resume(self, req: PauseRequest) -> None:
        self._guard(req.actor, Action.MANAGE_PM_SCHEDULES)
        if not self._f.is_paused:
            refuse("Conflict", "the schedule is not paused")

    @workflow.update
    async def skip(self, req: SkipRequest) -> PMScheduleState:
        """The due PM not done: its work order cancelled, the next due counted from the one
        skipped."""
        async with self._lock:
            self._check_skip(req)
            f = self._f
            number = f.open_work_order
            if number:
                try:
                    await workflow.execute_activity_method(
                        PmActivities.cancel_pm_work_order,
                        CancelPmRequest(number, req.actor, f"PM skipped: {req.reason}"),
                        **CALL,
                    )
                except ActivityError as err:
                    raise passed_on(err) from err
            due, due_meter = rules.skipped_due(
                self._interval(), due=f.next_due_date, due_meter=f.next_due_meter
            )
            changes = {
                "next_due_date": _iso(due),
                "next_due_meter": due_meter,
                "meter_due_at": None,
                "open_work_order": None,
                "overdue_told": {},
            }
            await self._write("SKIPPED", changes, req.reason, actor=req.actor)
            f.next_due_date, f.next_due_meter, f.meter_due_at = due, due_meter, None
            f.open_work_order, f.overdue_told = None, {}
            self._wake = True
            return self.get_state()

    @skip.validator
    def _check_skip(self, req: SkipRequest) -> None:
        self._guard(req.actor, Action.DEFER_PM)
        fail(rules.skip_refusal(req.actor.roles, req.reason))
        if not self._due(workflow.now()) and not self._f.open_work_order:
            refuse("Conflict", "only a due PM can be skipped")

    @workflow.update
    async def defer(self, req: DeferRequest) -> PMScheduleState:
        """The due date moved later; the work order stays open, the overdue clock restarts."""
        async with self._lock:
            self._check_defer(req)
            f = self._f
            changes = {"next_due_date": _iso(req.until), "meter_due_at": None, "overdue_told": {}}
            await self._write("DEFERRED", changes, req.reason, actor=req.actor)
            f.next_due_date, f.meter_due_at, f.overdue_told = req.until, None, {}
            self._wake = True
            return self.get_state()

    @defer.validator
    def _check_defer(self, req: DeferRequest) -> None:
        self._guard(req.actor, Action.DEFER_PM)
        fail(rules.skip_refusal(req.actor.roles, req.reason))
        if req.until <= workflow.now():
            refuse("RuleViolation", "a PM is deferred to a later date", "until")
        if self._f.next_due_date and req.until <= self._f.next_due_date:
            refuse("RuleViolation", "until must be after the current due date", "until")

    @workflow.query
    def get_state(self) -> PMScheduleState:
        f = self._f
        ref = f"PMS-{self._in.schedule_id}"
        if f is None:
            return PMScheduleState(ref, "STARTING")
        now = workflow.now()
        since = rules.overdue_since(due=f.next_due_date, meter_due_at=f.meter_due_at)
        days = None if f.is_paused else rules.days_overdue(since, now)
        return PMScheduleState(ref, self._status(days), f, days, list(self._record.events))

    def _status(self, days: int | None) -> str:
        f = self._f
        if not f.is_active:
            return "INACTIVE"
        if f.is_paused:
            return "PAUSED"
        if days is not None:
            return "OVERDUE"
        if f.open_work_order:
            return "OPEN"
        return "DUE" if self._due(workflow.now()) else "WAITING"

    def _guard(self, actor: Actor, action: Action) -> None:
        """The caller's organisation first (another one learns nothing), then the table."""
        if actor.organization_id != self._in.organization_id or self._f is None:
            refuse(NOT_FOUND, f"PM schedule PMS-{self._in.schedule_id} not found", "id")
        if scope_for(actor.roles, action) is None:
            refuse(NOT_ALLOWED, f"{action.value} is not among your permissions")

    def _index(self) -> None:
        f = self._f
        if f is None:
            return
        index(
            self._in.indexed,
            "PM_SCHEDULE",
            asset=f.asset_number,
            site=f.site_code,
            status=self._status(None),
        )
