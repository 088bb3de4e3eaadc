"""AnomalyWorkflow: one per anomaly, id = its reference, from registration to REX.

Human actions are updates whose validators apply the pure lifecycle rules, so a refused
action never reaches history; each accepted one is re-checked under the lock (an earlier
update may have changed the state while it waited) and written by an activity."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.anomalies import (
        AnomalyActivities,
        AssessInput,
        AssessOutput,
        AssignInput,
        ClockInput,
        KpiInput,
        Person,
        RecordInput,
        TargetInput,
    )
    from domain.actor import Actor
    from domain.rules import anomaly_lifecycle as rules
    from domain.rules.alerts import Audience, Channel, plan_for
    from domain.rules.anomaly_lifecycle import AnomalyStatus as S
    from domain.rules.anomaly_lifecycle import EscalationLevel, Refusal
    from domain.rules.criticality import Level, is_raise
    from domain.rules.roles import Action, permission_refusal
    from workflows.alert_watch import AlertWatchWorkflow, alert_queue, escalation_sends
    from workflows.alert_watch_types import (
        ESCALATION,
        VOICE,
        WATCH_DONE,
        WATCH_PROBLEMS,
        WATCHES_DONE,
        AlertEvent,
        AlertWatchInput,
    )
    from workflows.anomaly_types import (
        AcceptRequest,
        AcknowledgeRequest,
        AnomalyInput,
        AnomalyState,
        AttachRequest,
        DeclineRequest,
        Event,
        OverrideCriticalityRequest,
        ProgressRequest,
        ReassignRequest,
        ResolveRequest,
        ReviewRequest,
        SensorRuleEvent,
        SubmitRexRequest,
    )
    from workflows.kit import Notice, Record, call, fail, index, system_actor

WRITE = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
SYSTEM = "plantops"
RAISE_RESTARTS_CLOCK = "criticality-raise-restarts-clock"
# The voice call and the escalation on silence are watched by AlertWatchWorkflow children on
# the alert task queue, from deadlines counted from registration. Histories recorded before
# replay the timers this workflow kept itself.
ALERT_WATCHES = "alert-watch-children"
# How long past the deadline the lifecycle waits for the registration's escalation watch to
# report before it escalates itself.
WATCH_REPORT_GRACE = timedelta(minutes=2)
_fail = fail


@workflow.defn
class AnomalyWorkflow:
    @workflow.init
    def __init__(self, data: AnomalyInput) -> None:
        self._in = data
        self._lock = asyncio.Lock()
        self._record = Record("ANOMALY", data.reference, data.organization_id)
        self._status = S.REGISTERED
        self._assessment: AssessOutput | None = None
        self._level: Level | None = None
        self._score: int | None = None
        self._reasons: list[str] = []
        self._acknowledged = False
        self._voice_called = False
        self._watch: asyncio.Task[None] | None = None  # the H1 voice-call timer
        self._watched = False  # the safety watches run as children (ALERT_WATCHES)
        # The first watches were started at registration (data.watches): the deadline their
        # escalation enforces, the level it goes up from (then the next ones, as long as it
        # hands the anomaly on), and the escalations it reported by signal.
        self._registration_deadline: datetime | None = None
        self._registration_level = EscalationLevel.TECHNICIAN
        self._reported: list[AlertEvent] = []
        self._assignee: Person | None = None
        self._declined: list[int] = []
        self._escalation = EscalationLevel.TECHNICIAN
        self._escalated = False
        self._deadline: datetime | None = None
        self._response = timedelta(minutes=15)
        self._handover = 0  # bumps on every new holder or raise, restarting the response clock
        self._eta: datetime | None = None
        self._notes = 0
        self._work_log: dict[str, list[Any]] = {"notes": [], "parts_used": [], "test_results": []}
        self._loto = False
        self._attachments: list[str] = []
        self._resolution: dict[str, Any] = {}
        self._review_rounds = 0
        self._review_rejections = 0
        self._rex_version = 0
        self._rex_author: int | None = None
        self._feedback: str | None = None

    # -- the main line: assessment, alerts, assignment, escalation on silence, closure --

    @workflow.run
    async def run(self, data: AnomalyInput) -> AnomalyState:
        # Asked before the first command: a patch marker placed after a local activity whose
        # result landed in a later task does not replay on a fresh worker.
        self._watched = workflow.patched(ALERT_WATCHES)
        a = await call(
            AnomalyActivities.assess_anomaly,
            AssessInput(data.reference, data.organization_id, self._next_step()),
            **WRITE,
        )
        self._assessment = a
        self._level, self._score, self._reasons = Level(a.level), a.score, a.reasons
        self._attachments.extend(a.attachment_kinds)  # the report's own photos
        # Deadlines run on workflow time, so replays and skipped test clocks agree.
        self._response = timedelta(seconds=a.response_seconds)
        self._deadline = workflow.now() + self._response
        started = workflow.info().workflow_start_time
        if self._watched:
            # From the registration (the workflow's start): a worker that reached this line
            # late, behind a burst, must not push the deadlines back by as much.
            self._deadline = started + self._response
        if self._watched and data.watches:
            # The deadline the registration's escalation watch enforces, to the microsecond.
            self._deadline = self._registration_deadline = a.deadline
        self._log("CRITICALITY_ASSESSED", SYSTEM, "SYSTEM", f"{a.level}, score {a.score}")
        self._index()

        plan = plan_for(self._level)
        if (
            self._watched
            and plan.voice_after is not None
            and not self._acknowledged
            and not data.watches  # else the registration's voice watch reports by signal
        ):
            due = started + timedelta(seconds=data.voice_after_seconds)
            self._watch = asyncio.create_task(self._voice_watch_child(due))
        await self._write("ALERTED", {"dashboard_flag": plan.flag}, self._system(), plan.alert)
        await self._notify(
            "ALERT",
            plan.sends,
            {"alert": plan.alert},
            digest=plan.digest.value if plan.digest.value != "NONE" else None,
            digest_audience=plan.digest_audience,
        )
        if plan.voice_after is not None and not self._watched:
            self._watch = asyncio.create_task(
                self._voice_watch(timedelta(seconds=data.voice_after_seconds))
            )

        async with self._lock:
            await self._assign_best(self._deadline)

        # Acceptance within the response time, else up the escalation chain.
        while self._status in (S.ASSIGNED, S.ESCALATED):
            handover = self._handover
            if self._watched:
                if self._registration_watching():
                    await self._registration_deadline_passed(handover)
                else:
                    await self._watch_deadline(handover)
                continue
            remaining = max(self._deadline - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(
                    lambda h=handover: (
                        self._status not in (S.ASSIGNED, S.ESCALATED) or self._handover != h
                    ),
                    timeout=remaining,
                )
            except TimeoutError:
                async with self._lock:
                    if self._status in (S.ASSIGNED, S.ESCALATED) and self._handover == handover:
                        who = self._assignee.full_name if self._assignee else "nobody"
                        await self._escalate(
                            self._system(), f"no acceptance from {who} within the response time"
                        )

        await workflow.wait_condition(lambda: self._status is S.CLOSED)
        # The closing update is still writing; the KPIs must see the anomaly closed.
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._watch is not None:
            self._watch.cancel()
        # A plain activity: a local one would hold the closing update's answer until the
        # KPIs are recomputed.
        await workflow.execute_activity_method(
            AnomalyActivities.update_kpis,
            KpiInput(data.organization_id, self._assessment.site_code),
            **WRITE,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.get_state()

    async def _voice_watch(self, after: timedelta) -> None:
        """H1: a durable timer that the supervisor's acknowledgement cancels."""
        try:
            await workflow.wait_condition(lambda: self._acknowledged, timeout=after)
        except TimeoutError:
            async with self._lock:
                if self._acknowledged:
                    return
                self._voice_called = True
                self._log("VOICE_CALL", SYSTEM, "SYSTEM", f"unacknowledged after {after}")
                await self._notify("VOICE_CALL", [(Channel.VOICE, Audience.ON_DUTY_SUPERVISOR)], {})
        except asyncio.CancelledError:
            pass

    async def _voice_watch_child(self, due: datetime) -> None:
        """H1 in a child on the alert queue: it calls at `due` unless the acknowledgement
        (in the record, or here first) stops it."""
        watch = AlertWatchInput(
            self._in.reference,
            self._in.organization_id,
            VOICE,
            due,
            self._next_step(),
            context={"status": self._status.value},
        )
        child = asyncio.create_task(self._run_watch(watch))
        try:
            await workflow.wait_condition(lambda: child.done() or self._acknowledged)
        except asyncio.CancelledError:
            child.cancel()
            return
        if not child.done():
            child.cancel()
            return
        after = timedelta(seconds=self._in.voice_after_seconds)
        try:
            event = child.result()
        except (ChildWorkflowError, asyncio.CancelledError):
            # The watch could not do it: the call goes from here, late but not lost.
            async with self._lock:
                if self._acknowledged:
                    return
                self._voice_called = True
                self._log("VOICE_CALL", SYSTEM, "SYSTEM", f"unacknowledged after {after}")
                await self._notify("VOICE_CALL", [(Channel.VOICE, Audience.ON_DUTY_SUPERVISOR)], {})
            return
        if event.fired:
            self._voice_called = True
            self._log("VOICE_CALL", SYSTEM, "SYSTEM", f"unacknowledged after {after}")
            self._log_problems("VOICE_CALL", event)

    async def _watch_deadline(self, handover: int) -> None:
        """Acceptance within the response time, watched by a child on the alert queue that
        tells the next level itself when the deadline passes; the escalation then lands here,
        in the state, the record and the timeline, once."""
        previous = self._assignee
        who = previous.full_name if previous else "nobody"
        reason = f"no acceptance from {who} within the response time"
        level = rules.NEXT_LEVEL[self._escalation]
        watch = AlertWatchInput(
            self._in.reference,
            self._in.organization_id,
            ESCALATION,
            self._deadline,
            self._next_step(),
            level.value,
            self._deadline,
            {
                "status": S.ESCALATED.value,
                "reason": reason,
                "level": self._level.value if self._level else "",
                "previous": who if previous else "",
            },
        )
        child = asyncio.create_task(self._run_watch(watch))
        await workflow.wait_condition(
            lambda: (
                child.done()
                or self._status not in (S.ASSIGNED, S.ESCALATED)
                or self._handover != handover
            )
        )
        async with self._lock:
            if self._status not in (S.ASSIGNED, S.ESCALATED) or self._handover != handover:
                # Someone acted first here; an alert the watch sent meanwhile stays in the
                # outbox as sent.
                child.cancel()
                return
            try:
                event: AlertEvent | None = child.result()
            except (ChildWorkflowError, asyncio.CancelledError):
                event = None  # the watch failed: this workflow escalates itself
            if event is not None and not event.fired:
                event = None  # the record disagrees with this state: escalate from here
            await self._escalate(self._system(), reason, event)

    def _registration_watching(self) -> bool:
        """The first holder's deadline is still the one the registration's watch enforces."""
        return (
            self._registration_deadline is not None
            and self._deadline == self._registration_deadline
            and self._escalation is self._registration_level
        )

    def _registration_report(self) -> AlertEvent | None:
        """The registration watch's report on the current deadline (runs started before the
        chain report one escalation, without its deadline: the last one counts)."""
        for event in reversed(self._reported):
            if event.deadline is None or event.deadline == self._deadline:
                return event
        return None

    async def _registration_deadline_passed(self, handover: int) -> None:
        """The registration's escalation watch tells the next level at the deadline and reports
        here; the escalation lands in the state, the record and the timeline once. A watch
        that could not escalate (the record was not assigned yet when it looked) leaves it to
        this workflow."""
        try:
            await workflow.wait_condition(
                lambda: (
                    self._registration_report() is not None
                    or self._status not in (S.ASSIGNED, S.ESCALATED)
                    or self._handover != handover
                ),
                # A watch that never reports (it could not start, or ended early) does not
                # leave the holder's silence unanswered.
                timeout=max(self._deadline - workflow.now(), timedelta(0)) + WATCH_REPORT_GRACE,
            )
        except TimeoutError:
            pass
        async with self._lock:
            if self._status not in (S.ASSIGNED, S.ESCALATED) or self._handover != handover:
                return
            event = self._registration_report()
            if event is not None:
                # Taken, with any about earlier deadlines; a later level's may be here first.
                self._reported = [
                    e
                    for e in self._reported
                    if e.deadline is not None and e.deadline > self._deadline
                ]
                if not event.fired:
                    # It could not decide, or the record was behind this state: from here.
                    self._log_problems("ESCALATED", event)
                    event = None
            who = self._assignee.full_name if self._assignee else "nobody"
            await self._escalate(
                self._system(), f"no acceptance from {who} within the response time", event
            )
            if event is not None and event.next_due == self._deadline:
                # The watch goes on to the next level at the new holder's deadline.
                self._registration_deadline = self._deadline
                self._registration_level = self._escalation

    @workflow.signal(name=WATCH_DONE)
    def watch_done(self, event: AlertEvent) -> None:
        """A registration watch's report: a voice call lands in the timeline at once; an
        escalation waits for the main line to write it."""
        self._watch_report(event)

    @workflow.signal(name=WATCHES_DONE)
    def watches_done(self, events: list[AlertEvent]) -> None:
        """The reports of every registration watch due at one moment, in one signal."""
        for event in events:
            self._watch_report(event)

    @workflow.signal(name=WATCH_PROBLEMS)
    def watch_problems(self, events: list[AlertEvent]) -> None:
        """Messages a registration watch reported as sent could not be delivered after all:
        on the timeline, as any notice that failed."""
        for event in events:
            self._log_problems("VOICE_CALL" if event.kind == VOICE else "ESCALATED", event)

    def _watch_report(self, event: AlertEvent) -> None:
        if event.kind == VOICE:
            if event.fired and not self._voice_called:
                self._voice_called = True
                after = timedelta(seconds=self._in.voice_after_seconds)
                self._log("VOICE_CALL", SYSTEM, "SYSTEM", f"unacknowledged after {after}")
                self._log_problems("VOICE_CALL", event)
            elif not event.fired:
                self._log_problems("VOICE_CALL", event)  # a watch that could not decide
            return
        self._reported.append(event)

    @workflow.signal
    async def sensor_rule(self, event: SensorRuleEvent) -> None:
        """A sensor rule's change of state (intake channel C2), recorded with its audit row;
        the ingest path sends at most one a minute, never one per reading."""
        async with self._lock:
            if self._status is S.CLOSED:
                return
            action = "SENSOR_NORMAL" if event.change == "NORMAL" else "SENSOR_BREACH"
            await self._write(action, {}, self._system(), event.detail())

    def _run_watch(self, watch: AlertWatchInput) -> Any:
        return workflow.execute_child_workflow(
            AlertWatchWorkflow.run,
            watch,
            # The run in the id: a reset or restarted lifecycle starts watches of its own.
            id=f"{watch.reference}-{watch.kind.lower()}-{watch.step}-{workflow.info().run_id[:8]}",
            task_queue=alert_queue(workflow.info().task_queue),
            cancellation_type=workflow.ChildWorkflowCancellationType.TRY_CANCEL,
            # Ended with the anomaly, even where no alert worker is left to hear a cancel.
            parent_close_policy=workflow.ParentClosePolicy.TERMINATE,
        )

    def _log_problems(self, event: str, watch: AlertEvent) -> None:
        for problem in watch.problems:
            self._log("NOTIFY_FAILED", SYSTEM, "SYSTEM", f"{event}: {problem}")

    async def _assign_best(self, deadline: datetime) -> None:
        pick = await call(
            AnomalyActivities.pick_technician,
            AssignInput(
                self._in.reference, self._in.organization_id, self._next_step(), self._declined
            ),
            **WRITE,
        )
        if pick.person is None:
            await self._escalate(self._system(), "no cleared technician available")
            return
        await self._write(
            "ASSIGNED",
            {
                "status": S.ASSIGNED.value,
                "assignee_id": pick.person.user_id,
                "assignment_score": pick.score,
                "assignment_explanation": pick.explanation,
                "escalation_level": EscalationLevel.TECHNICIAN.value,
                "response_deadline": deadline.isoformat(),
            },
            self._system(),
            pick.explanation[0],
        )
        # Shown by the query only once the record says so too.
        self._assignee = pick.person
        self._status = S.ASSIGNED
        self._escalation = EscalationLevel.TECHNICIAN
        self._deadline = deadline
        self._handover += 1
        self._index()
        await self._notify(
            "ASSIGNED",
            [(Channel.IN_APP, Audience.ASSIGNEE), (Channel.EMAIL, Audience.ASSIGNEE)],
            {"deadline": deadline.isoformat(), "assignee": pick.person.full_name},
        )

    async def _escalate(self, actor: Actor, reason: str, watch: AlertEvent | None = None) -> None:
        """Technician, then supervisor, then manager; the holder may reassign or take it.
        `watch`: a safety watch already picked the new holder and told them, at its time."""
        level = rules.NEXT_LEVEL[self._escalation]
        if watch is None:
            target = await call(
                AnomalyActivities.escalation_target,
                TargetInput(self._in.reference, self._in.organization_id, level.value),
                **WRITE,
            )
            at = workflow.now()
        else:
            target, at = watch.target, watch.at
        previous = self._assignee
        deadline = at + self._response
        await self._write(
            "ESCALATED",
            {
                "status": S.ESCALATED.value,
                "escalation_level": level.value,
                "escalated": True,
                "assignee_id": target.user_id if target else None,
                "response_deadline": deadline.isoformat(),
            },
            actor,
            reason,
        )
        self._escalation, self._escalated = level, True
        self._assignee = target
        self._status = S.ESCALATED
        self._deadline = deadline
        self._handover += 1
        self._index()
        sends = [
            (Channel.EMAIL, Audience.ASSIGNEE),
            (Channel.SMS, Audience.ASSIGNEE),
            (Channel.IN_APP, Audience.ASSIGNEE),
            (Channel.IN_APP, Audience.REPORTER),
        ]
        if level is EscalationLevel.MANAGER:
            sends.append((Channel.IN_APP, Audience.ON_DUTY_SUPERVISOR))
        if watch is not None:
            self._log_problems("ESCALATED", watch)
            if target is not None:  # the watch told them already
                told = escalation_sends(level)
                sends = [s for s in sends if s[1] is not Audience.ASSIGNEE and s not in told]
        await self._notify(
            "ESCALATED",
            sends,
            {
                "reason": reason,
                "level": self._level.value if self._level else "",
                "previous": previous.full_name if previous else "",
                "assignee": target.full_name if target else "",
            },
        )

    # -- updates --

    @workflow.update
    async def acknowledge_alert(self, req: AcknowledgeRequest) -> AnomalyState:
        async with self._lock:
            self._check_acknowledge(req)
            self._acknowledged = True
            await self._write(
                "ALERT_ACKNOWLEDGED",
                {"alert_acknowledged_at": workflow.now().isoformat()},
                req.actor,
                None,
            )
            return self.get_state()

    @acknowledge_alert.validator
    def _check_acknowledge(self, req: AcknowledgeRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.needs_role(req.actor.roles, rules.SUPERVISORS, "acknowledging an alert"))
        if self._acknowledged:
            _fail(Refusal("Conflict", "the alert is already acknowledged"))
        if self._status is S.CLOSED:
            _fail(Refusal("Conflict", "the anomaly is closed"))

    @workflow.update
    async def accept(self, req: AcceptRequest) -> AnomalyState:
        async with self._lock:
            self._check_accept(req)
            self._status, self._eta = S.IN_PROGRESS, req.eta
            await self._write(
                "ACCEPTED",
                {
                    "status": S.IN_PROGRESS.value,
                    "eta": req.eta.isoformat(),
                    "accepted_at": workflow.now().isoformat(),
                },
                req.actor,
                "safety requirements acknowledged",
                notices=[
                    self._notice(
                        "IN_PROGRESS",
                        [
                            (Channel.IN_APP, Audience.REPORTER),
                            (Channel.IN_APP, Audience.ON_DUTY_SUPERVISOR),
                        ],
                        {"eta": req.eta.isoformat(), "assignee": req.actor.full_name},
                    ),
                ],
            )
            return self.get_state()

    @accept.validator
    def _check_accept(self, req: AcceptRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.not_in(self._status, {S.ASSIGNED}, "accept"))
        self._must_be_assignee(req.actor, "accept")
        if not req.safety_acknowledged:
            _fail(
                Refusal(
                    "RuleViolation",
                    "the safety requirements must be acknowledged before accepting",
                    "safety_acknowledged",
                )
            )
        if req.eta < workflow.now() - timedelta(minutes=5):
            _fail(Refusal("RuleViolation", "the ETA cannot be in the past", "eta"))

    @workflow.update
    async def decline(self, req: DeclineRequest) -> AnomalyState:
        async with self._lock:
            self._check_decline(req)
            self._declined.append(req.actor.user_id)
            self._log("DECLINED", req.actor.full_name, req.actor.role, req.reason)
            await self._escalate(req.actor, f"declined by {req.actor.full_name}: {req.reason}")
            return self.get_state()

    @decline.validator
    def _check_decline(self, req: DeclineRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.not_in(self._status, {S.ASSIGNED}, "decline"))
        self._must_be_assignee(req.actor, "decline")

    @workflow.update
    async def reassign(self, req: ReassignRequest) -> AnomalyState:
        async with self._lock:
            self._check_reassign(req)
            if req.assignee is None:
                taker = Person(req.actor.user_id, req.actor.username, req.actor.full_name)
                self._assignee, self._status = taker, S.IN_PROGRESS
                self._handover += 1
                await self._write(
                    "TAKEN",
                    {
                        "status": S.IN_PROGRESS.value,
                        "assignee_id": taker.user_id,
                        "accepted_at": workflow.now().isoformat(),
                    },
                    req.actor,
                    req.reason,
                )
                await self._notify(
                    "IN_PROGRESS",
                    [(Channel.IN_APP, Audience.REPORTER)],
                    {"assignee": taker.full_name, "reason": req.reason},
                )
            else:
                self._assignee, self._status = req.assignee, S.ASSIGNED
                self._escalation = EscalationLevel.TECHNICIAN
                self._deadline = workflow.now() + self._response
                self._handover += 1
                await self._write(
                    "REASSIGNED",
                    {
                        "status": S.ASSIGNED.value,
                        "assignee_id": req.assignee.user_id,
                        "escalation_level": EscalationLevel.TECHNICIAN.value,
                        "response_deadline": self._deadline.isoformat(),
                        "assignment_explanation": [
                            f"reassigned by {req.actor.full_name}: {req.reason}"
                        ],
                    },
                    req.actor,
                    req.reason,
                )
                await self._notify(
                    "ASSIGNED",
                    [
                        (Channel.IN_APP, Audience.ASSIGNEE),
                        (Channel.EMAIL, Audience.ASSIGNEE),
                        (Channel.IN_APP, Audience.REPORTER),
                    ],
                    {"reason": req.reason, "assignee": req.assignee.full_name},
                )
            return self.get_state()

    @reassign.validator
    def _check_reassign(self, req: ReassignRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.not_in(self._status, {S.ASSIGNED, S.ESCALATED, S.IN_PROGRESS}, "reassign"))
        allowed = (
            rules.MANAGERS if self._escalation is EscalationLevel.MANAGER else rules.SUPERVISORS
        )
        _fail(rules.needs_role(req.actor.roles, allowed, "reassigning"))

    @workflow.update
    async def progress(self, req: ProgressRequest) -> AnomalyState:
        async with self._lock:
            self._check_progress(req)
            self._notes += 1
            self._loto = self._loto or req.loto_acknowledged
            stamp = workflow.now().isoformat()
            self._work_log["notes"].append(
                {"at": stamp, "by": req.actor.full_name, "note": req.note}
            )
            self._work_log["parts_used"] += req.parts_used
            self._work_log["test_results"] += req.test_results
            self._work_log["loto_acknowledged"] = self._loto
            await self._write("PROGRESS", {"work_log": self._work_log}, req.actor, req.note)
            return self.get_state()

    @progress.validator
    def _check_progress(self, req: ProgressRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.not_in(self._status, {S.IN_PROGRESS}, "record progress"))
        self._must_work_on_it(req.actor, "recording progress")

    @workflow.update
    async def attachment(self, req: AttachRequest) -> AnomalyState:
        async with self._lock:
            self._check_attachment(req)
            await self._write("ATTACHMENT_ADDED", {}, req.actor, f"{req.kind} {req.filename}")
            self._attachments.append(req.kind)
            return self.get_state()

    @attachment.validator
    def _check_attachment(self, req: AttachRequest) -> None:
        self._guard(req.actor, Action.REPORT_ANOMALY)
        _fail(rules.not_in(self._status, {S.IN_PROGRESS}, "add documentation"))
        self._must_work_on_it(req.actor, "adding documentation")

    @workflow.update
    async def resolve(self, req: ResolveRequest) -> AnomalyState:
        async with self._lock:
            self._check_resolve(req)
            self._status = S.RESOLVED
            self._review_rounds += 1
            self._resolution = {
                "root_cause": req.root_cause,
                "corrective_action": req.corrective_action,
                "verification_test": req.verification_test,
                "safety_restored": req.safety_restored,
            }
            await self._write(
                "RESOLVED",
                {
                    "status": S.RESOLVED.value,
                    "resolution": self._resolution,
                    "resolved_at": workflow.now().isoformat(),
                    "review_rounds": self._review_rounds,
                },
                req.actor,
                req.corrective_action,
                notices=[
                    self._notice("RESOLVED", [(Channel.IN_APP, Audience.ON_DUTY_SUPERVISOR)], {}),
                ],
            )
            return self.get_state()

    @resolve.validator
    def _check_resolve(self, req: ResolveRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.not_in(self._status, {S.IN_PROGRESS}, "resolve"))
        self._must_be_assignee(req.actor, "resolve")
        missing = self._missing(req)
        if missing:
            _fail(Refusal("RuleViolation", "cannot resolve yet, missing: " + ", ".join(missing)))

    @workflow.update
    async def review(self, req: ReviewRequest) -> AnomalyState:
        async with self._lock:
            self._check_review(req)
            if req.approve:
                self._status, self._feedback = S.REX, None
                await self._write(
                    "REVIEW_APPROVED",
                    {"status": S.REX.value, "approved_at": workflow.now().isoformat()},
                    req.actor,
                    req.feedback or None,
                    notices=[
                        self._notice("REX_REQUESTED", [(Channel.IN_APP, Audience.ASSIGNEE)], {}),
                    ],
                )
            else:
                self._status, self._feedback = S.IN_PROGRESS, req.feedback
                self._review_rejections += 1
                await self._write(
                    "REVIEW_REJECTED",
                    {"status": S.IN_PROGRESS.value, "review_rejections": self._review_rejections},
                    req.actor,
                    req.feedback,
                    notices=[
                        self._notice(
                            "REJECTED",
                            [
                                (Channel.IN_APP, Audience.ASSIGNEE),
                                (Channel.EMAIL, Audience.ASSIGNEE),
                            ],
                            {"reason": req.feedback},
                        ),
                        self._notice(
                            "DELAYED",
                            [
                                (Channel.IN_APP, Audience.REPORTER),
                                (Channel.IN_APP, Audience.MANAGER),
                            ],
                            {"reason": req.feedback},
                        ),
                    ],
                )
            return self.get_state()

    @review.validator
    def _check_review(self, req: ReviewRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.not_in(self._status, {S.RESOLVED}, "review"))
        _fail(rules.needs_role(req.actor.roles, rules.SUPERVISORS, "reviewing a resolution"))
        if self._assignee and req.actor.user_id == self._assignee.user_id:
            _fail(Refusal("NotAllowed", "the technician who resolved it cannot review it"))
        if not req.approve and len(req.feedback.strip()) < 5:
            _fail(Refusal("RuleViolation", "a rejection needs feedback", "feedback"))

    @workflow.update
    async def submit_rex(self, req: SubmitRexRequest) -> AnomalyState:
        async with self._lock:
            self._check_rex(req)
            self._status = S.REX_REVIEW
            self._rex_version += 1
            self._rex_author = req.actor.user_id
            content = {
                "root_cause_analysis": req.root_cause_analysis,
                "lessons_learned": req.lessons_learned,
                "preventive_actions": req.preventive_actions,
                "best_practices": req.best_practices,
                "training_needs": req.training_needs,
            }
            await self._write(
                "REX_SUBMITTED",
                {"status": S.REX_REVIEW.value},
                req.actor,
                f"version {self._rex_version}",
                rex=content,
                notices=[
                    self._notice("REX_REVIEW", [(Channel.IN_APP, Audience.SENIOR_TECHNICIANS)], {}),
                ],
            )
            return self.get_state()

    @submit_rex.validator
    def _check_rex(self, req: SubmitRexRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.not_in(self._status, {S.REX}, "submit the REX"))
        self._must_be_assignee(req.actor, "write the REX")
        missing = rules.rex_missing(
            rules.RexContent(
                req.root_cause_analysis,
                req.lessons_learned,
                req.preventive_actions,
                req.best_practices,
                req.training_needs,
            )
        )
        if missing:
            _fail(Refusal("RuleViolation", "the REX is missing: " + ", ".join(missing)))

    @workflow.update
    async def review_rex(self, req: ReviewRequest) -> AnomalyState:
        async with self._lock:
            self._check_rex_review(req)
            if req.approve:
                self._status, self._feedback = S.CLOSED, None
                await self._write(
                    "CLOSED",
                    {"status": S.CLOSED.value, "closed_at": workflow.now().isoformat()},
                    req.actor,
                    req.feedback or "REX approved",
                    rex_review=True,
                    notices=[
                        self._notice(
                            "CLOSED",
                            [
                                (Channel.IN_APP, Audience.REPORTER),
                                (Channel.IN_APP, Audience.ASSIGNEE),
                            ],
                            {},
                        ),
                    ],
                )
            else:
                self._status, self._feedback = S.REX, req.feedback
                await self._write(
                    "REX_NEEDS_REVISION",
                    {"status": S.REX.value},
                    req.actor,
                    req.feedback,
                    rex_review=False,
                    notices=[
                        self._notice(
                            "REX_REVISION",
                            [(Channel.IN_APP, Audience.ASSIGNEE)],
                            {"reason": req.feedback},
                        ),
                    ],
                )
            return self.get_state()

    @review_rex.validator
    def _check_rex_review(self, req: ReviewRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.not_in(self._status, {S.REX_REVIEW}, "review the REX"))
        _fail(rules.needs_role(req.actor.roles, rules.REX_REVIEWERS, "peer review of a REX"))
        if req.actor.user_id == self._rex_author:
            _fail(Refusal("NotAllowed", "the author cannot peer-review their own REX"))
        if not req.approve and len(req.feedback.strip()) < 5:
            _fail(Refusal("RuleViolation", "a revision request needs feedback", "feedback"))

    @workflow.update
    async def override_criticality(self, req: OverrideCriticalityRequest) -> AnomalyState:
        async with self._lock:
            self._check_override(req)
            level = Level(req.level)
            plan = plan_for(level)
            # A raise restarts the response clock at the new level; a lowering keeps the
            # earlier deadline. Histories recorded before this rule replay unchanged.
            restart = (
                self._level is not None
                and is_raise(self._level, level)
                and workflow.patched(RAISE_RESTARTS_CLOCK)
            )
            self._level = level
            self._reasons = [
                *self._reasons,
                f"overridden to {level.value} by {req.actor.full_name}: {req.reason}",
            ]
            changes: dict[str, Any] = {
                "criticality": level.value,
                "criticality_reasons": self._reasons,
                "criticality_overridden_by": req.actor.full_name,
                "dashboard_flag": plan.flag,
            }
            deadline = None
            if restart:
                deadline = await self._restart_clock(level, changes)
                if plan.voice_after is not None:
                    # A new H1 alert: it needs its own acknowledgement.
                    changes["alert_acknowledged_at"] = None
            await self._write("CRITICALITY_OVERRIDDEN", changes, req.actor, req.reason)
            if deadline is not None:
                self._deadline = deadline
                self._handover += 1  # the acceptance wait picks up the new deadline
            if restart and plan.voice_after is not None:
                self._acknowledged = False
                self._watch_voice()
            self._index()
            await self._notify(
                "CRITICALITY_CHANGED",
                plan.sends + [(Channel.IN_APP, Audience.ASSIGNEE)],
                {"reason": req.reason, "level": level.value},
            )
            return self.get_state()

    async def _restart_clock(self, level: Level, changes: dict[str, Any]) -> datetime | None:
        """The new level's response window from now; a new deadline only while the anomaly
        still waits for acceptance (it is pointless once someone works on it)."""
        raised_at = workflow.now()
        seconds = await call(
            AnomalyActivities.response_clock,
            ClockInput(self._in.reference, self._in.organization_id, level.value, raised_at),
            **WRITE,
        )
        self._response = timedelta(seconds=seconds)
        if self._status not in (S.REGISTERED, S.ASSIGNED, S.ESCALATED):
            return None
        deadline = raised_at + self._response
        changes["response_deadline"] = deadline.isoformat()
        return deadline

    def _watch_voice(self) -> None:
        """Starts the H1 voice-call timer unless one is already running."""
        if self._watch is None or self._watch.done():
            after = timedelta(seconds=self._in.voice_after_seconds)
            if self._watched:
                self._watch = asyncio.create_task(self._voice_watch_child(workflow.now() + after))
            else:
                self._watch = asyncio.create_task(self._voice_watch(after))

    @override_criticality.validator
    def _check_override(self, req: OverrideCriticalityRequest) -> None:
        self._guard(req.actor, Action.WORK_ANOMALY)
        _fail(rules.needs_role(req.actor.roles, rules.SUPERVISORS, "overriding criticality"))
        if self._status is S.CLOSED:
            _fail(Refusal("Conflict", "the anomaly is closed"))
        if self._level is None:
            _fail(Refusal("Conflict", "the anomaly is not assessed yet"))
        if req.level not in Level.__members__:
            _fail(Refusal("RuleViolation", f"unknown criticality {req.level}", "level"))
        if self._level is not None and req.level == self._level.value:
            _fail(Refusal("Conflict", f"the criticality is already {req.level}", "level"))
        if len(req.reason.strip()) < 5:
            _fail(Refusal("RuleViolation", "an override needs a reason", "reason"))

    # -- queries --

    @workflow.query
    def get_state(self) -> AnomalyState:
        plan = plan_for(self._level) if self._level else None
        return AnomalyState(
            reference=self._in.reference,
            status=self._status.value,
            criticality=self._level.value if self._level else None,
            score=self._score,
            reasons=list(self._reasons),
            flag=plan.flag if plan else None,
            flashing=bool(plan and plan.flashing and not self._acknowledged)
            and self._status is not S.CLOSED,
            alert_acknowledged=self._acknowledged,
            voice_called=self._voice_called,
            assignee=self._assignee,
            escalation_level=self._escalation.value,
            escalated=self._escalated,
            deadline=self._deadline,
            eta=self._eta,
            progress_notes=self._notes,
            attachment_kinds=list(self._attachments),
            loto_acknowledged=self._loto,
            missing_for_resolution=self._missing(None) if self._status is S.IN_PROGRESS else [],
            review_rounds=self._review_rounds,
            review_rejections=self._review_rejections,
            rex_version=self._rex_version,
            feedback=self._feedback,
            events=list(self._record.events),
        )

    @workflow.query
    def timeline(self) -> list[Event]:
        return list(self._record.events)

    # -- helpers --

    def _missing(self, req: ResolveRequest | None) -> list[str]:
        resolution = rules.Resolution(
            req.root_cause if req else "",
            req.corrective_action if req else "",
            req.verification_test if req else "",
            req.safety_restored if req else False,
        )
        protocols = self._assessment.safety_protocols if self._assessment else []
        missing = rules.resolution_missing(
            resolution, self._attachments, self._notes, self._loto, protocols
        )
        if req is None:  # the live view lists only what the work itself still lacks
            skip = {"root cause", "corrective action", "verification test"}
            missing = [m for m in missing if m not in skip and m != "safety restored confirmation"]
        return missing

    def _must_be_assignee(self, actor: Actor, action: str) -> None:
        if self._assignee is None or actor.user_id != self._assignee.user_id:
            holder = self._assignee.full_name if self._assignee else "nobody"
            _fail(Refusal("NotAllowed", f"only the assignee ({holder}) may {action}"))

    def _must_work_on_it(self, actor: Actor, action: str) -> None:
        if self._assignee and actor.user_id == self._assignee.user_id:
            return
        _fail(rules.needs_role(actor.roles, rules.SUPERVISORS, action))

    def _next_step(self) -> int:
        return self._record.next_step()

    def _system(self) -> Actor:
        return system_actor(self._in.organization_id)

    def _guard(self, actor: Actor, action: Action) -> None:
        """The caller's organisation (another one learns nothing, not even that the anomaly
        exists), then the permission table the API doors use."""
        if actor.organization_id != self._in.organization_id:
            _fail(Refusal("NotFound", f"anomaly {self._in.reference} not found"))
        if "SYSTEM" not in actor.roles:
            why = permission_refusal(tuple(actor.roles), action)
            if why:
                _fail(Refusal("NotAllowed", why))

    def _log(self, action: str, by: str, role: str, detail: str = "") -> None:
        self._record.log(action, by, role, detail)

    async def _write(
        self,
        action: str,
        changes: dict[str, Any],
        actor: Actor,
        reason: str | None,
        rex: dict[str, str] | None = None,
        rex_review: bool | None = None,
        notices: list[Notice] | None = None,
    ) -> None:
        def legacy(step: int) -> Any:
            return workflow.execute_activity_method(
                AnomalyActivities.record_decision,
                RecordInput(
                    self._in.reference,
                    self._in.organization_id,
                    step,
                    action,
                    changes,
                    actor,
                    reason,
                    rex,
                    rex_review,
                ),
                **WRITE,
            )

        await self._record.write(
            action,
            changes,
            actor,
            reason,
            extra={"rex": rex, "rex_review": rex_review},
            notices=notices or [],
            then=self._index if "status" in changes else None,
            legacy=legacy,
        )

    def _notice(
        self, event: str, sends: list[tuple[Channel, Audience]], context: dict[str, Any]
    ) -> Notice:
        """A notice sent with the step that causes it (one activity for both)."""
        return Notice(event, sends, {"status": self._status.value, **context})

    async def _notify(
        self,
        event: str,
        sends: list[tuple[Channel, Audience]],
        context: dict[str, Any],
        digest: str | None = None,
        digest_audience: list[Audience] | None = None,
    ) -> None:
        context = {"status": self._status.value, **context}
        await self._record.notify(event, sends, context, digest, digest_audience or [])

    def _index(self) -> None:
        if self._assessment is None:
            return
        index(
            self._in.indexed,
            "ANOMALY",
            asset=self._assessment.asset_number,
            site=self._assessment.site_code,
            criticality=self._level.value if self._level else "",
            status=self._status.value,
        )
