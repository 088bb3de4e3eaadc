"""AlertWatchWorkflow: one safety watch of an anomaly (the H1 voice call, or the escalation
when nobody accepts in time), run as a child on the alert task queue.

A timer that fires wakes its workflow on that workflow's own task queue; a burst of routine
work on the lifecycle queue would hold the parent's timers back by the whole backlog. The
watch runs where only safety alerts run, sleeps until an absolute moment (so a late start
still fires on time), looks at the record once more (an acknowledgement or acceptance that
committed first wins) and tells people itself. The anomaly's state stays the parent's: it
learns what the watch did from its result and writes that as its own step."""

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.alert_watches import (
        AlertWatchActivities,
        WatchDecision,
        WatchesDueInput,
        WatchNotice,
    )
    from activities.anomalies import AnomalyActivities, TargetInput, WatchCheck
    from activities.notifier import Notifier, NotifyInput, Send
    from domain.rules.alerts import Audience, Channel, plan_for
    from domain.rules.anomaly_lifecycle import NEXT_LEVEL, EscalationLevel
    from domain.rules.criticality import Level
    from workflows.alert_watch_types import (
        ESCALATION,
        VOICE,
        WATCH_DONE,
        WATCH_PROBLEMS,
        WATCHES_DONE,
        AlertEvent,
        AlertWatchInput,
        RegistrationWatchInput,
    )
    from workflows.kit import NOTIFY, WRITE, call


# A registration watch's report to an anomaly workflow not started yet: tried again, from 1 s
# doubling to a minute, for up to an hour (the lifecycle escalates itself long before).
REPORT_RETRY_FIRST = timedelta(seconds=1)
REPORT_RETRY_MAX = timedelta(minutes=1)
REPORT_GIVE_UP = timedelta(hours=1)


# A registration's decision is tried until it is made (a database away for a while makes the
# alert late, never lost): the watches due later in the same workflow depend on it. Whatever
# the lifecycle did meanwhile (its own escalation after the grace) is seen by the check.
DECIDE = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
}


# A registration's watches go on up the chain and report together (the input says so; the
# marker keeps a run an older worker began on its older course).
CHAIN = "registration-chain"


def alert_queue(task_queue: str) -> str:
    """The task queue of safety watches beside a lifecycle queue, served by its own worker."""
    return f"{task_queue}-alerts"


def escalation_sends(level: EscalationLevel) -> list[tuple[Channel, Audience]]:
    """The new holder, by every channel: the audience that resolves to the person the
    escalation target activity picks at that level."""
    who = Audience.ON_DUTY_SUPERVISOR if level is EscalationLevel.SUPERVISOR else Audience.MANAGER
    return [(Channel.EMAIL, who), (Channel.SMS, who), (Channel.IN_APP, who)]


def registration_watches(
    reference: str,
    organization_id: int,
    *,
    level: Level,
    registered_at: datetime,
    deadline: datetime,
    voice_after: timedelta,
) -> list[AlertWatchInput]:
    """The first safety watches of a new anomaly, started beside its workflow when it is
    registered: the voice call (G1 only) and the escalation if nobody accepts by the
    deadline, then on up the chain every response time. Their notices are keyed under step 0
    (registration), the next levels' under -1, -2...: steps no lifecycle step uses."""
    watches = []
    if plan_for(level).voice_after is not None:
        watches.append(
            AlertWatchInput(
                reference,
                organization_id,
                VOICE,
                registered_at + voice_after,
                0,
                context={"status": "ASSIGNED"},
                parent=reference,
            )
        )
    watches.append(
        AlertWatchInput(
            reference,
            organization_id,
            ESCALATION,
            deadline,
            0,
            NEXT_LEVEL[EscalationLevel.TECHNICIAN].value,
            deadline,
            {
                "status": "ESCALATED",
                "reason": "no acceptance within the response time",
                "level": level.value,
                "previous": "",
            },
            parent=reference,
            response_seconds=(deadline - registered_at).total_seconds(),
        )
    )
    return watches


def next_level_watch(
    watch: AlertWatchInput, decision: WatchDecision, at: datetime
) -> AlertWatchInput | None:
    """The escalation watch after one that handed the anomaly to a new holder at `at`: the
    level above, due when the new holder's response time is out. The lifecycle computes the
    same deadline from the report (at + response) and leaves that watch to this workflow.
    The chain ends once it reaches the manager (the lifecycle repeats from there), and is
    not followed while the lifecycle has not written its hand-over yet."""
    if (
        watch.kind != ESCALATION
        or not watch.response_seconds
        or watch.level == EscalationLevel.MANAGER.value
        or not decision.fired
        or not decision.settled
        or decision.target is None
    ):
        return None
    due = at + timedelta(seconds=watch.response_seconds)
    holder = decision.target.full_name
    return replace(
        watch,
        due=due,
        step=watch.step - 1,
        level=NEXT_LEVEL[EscalationLevel(watch.level)].value,
        deadline=due,
        holder=decision.target.user_id,
        context={
            **watch.context,
            "status": "ESCALATED",
            "reason": f"no acceptance from {holder} within the response time",
            "previous": holder,
        },
    )


def registration_watch_id(reference: str) -> str:
    """The workflow holding an anomaly's registration watches: asked for twice (at
    registration, then by a resumed lifecycle), it is one workflow."""
    return f"{reference}-watches"


VOICE_SENDS = [(Channel.VOICE, Audience.ON_DUTY_SUPERVISOR)]


def _notify_input(
    watch: AlertWatchInput,
    event: str,
    sends: Sequence[tuple[Channel, Audience]],
    context: dict[str, Any],
) -> NotifyInput:
    """A watch's notice, keyed under its reserved step."""
    return NotifyInput(
        watch.reference,
        watch.organization_id,
        watch.step,
        event,
        [Send(c.value, a.value) for c, a in sends],
        context,
    )


def _notice(watch: AlertWatchInput) -> NotifyInput:
    """What the watch says if it fires."""
    if watch.kind == VOICE:
        return _notify_input(watch, "VOICE_CALL", VOICE_SENDS, watch.context)
    sends = escalation_sends(EscalationLevel(watch.level))
    return _notify_input(watch, "ESCALATED", sends, watch.context)


@workflow.defn
class RegistrationWatchWorkflow:
    """A new anomaly's safety watches (the voice call, the escalation on silence) in one
    workflow on the alert queue, started at registration beside the anomaly's own: it sleeps
    to each moment, decides and queues every watch due then in one local activity, delivers
    their messages side by side and reports each to the anomaly's workflow (WATCH_DONE).
    One workflow and one wake-up per moment, not one workflow per watch: under a burst of
    registrations the due alerts cost the alert worker and Temporal a fraction as much."""

    @workflow.run
    async def run(self, data: RegistrationWatchInput) -> list[AlertEvent]:
        # Runs started before the chain report each watch on its own (their history says so).
        chained = any(w.response_seconds for w in data.watches) and workflow.patched(CHAIN)
        pending = sorted(data.watches, key=lambda w: w.due)  # stable: a call before its peer
        finishing: list[asyncio.Task[list[AlertEvent]]] = []
        while pending:
            wait = pending[0].due - workflow.now()
            if wait > timedelta(0):
                await workflow.sleep(wait)
            at = workflow.now()
            due = [w for w in pending if w.due <= at]
            pending = pending[len(due) :]
            decisions: list[WatchDecision] = await workflow.execute_local_activity_method(
                AlertWatchActivities.decide_watches,
                WatchesDueInput([WatchNotice(w, _notice(w)) for w in due]),
                **DECIDE,
            )
            # Delivered and reported in the background: a provider that fails or hangs (its
            # retries take minutes) never holds the next watch's moment back.
            if not chained:
                finishing.extend(
                    asyncio.create_task(_finish_alone(w, d, at))
                    for w, d in zip(due, decisions, strict=True)
                )
                continue
            after = [next_level_watch(w, d, at) for w, d in zip(due, decisions, strict=True)]
            pending = sorted(pending + [w for w in after if w], key=lambda w: w.due)
            finishing.append(asyncio.create_task(_finish(due, decisions, after, at)))
        return [event for events in await asyncio.gather(*finishing) for event in events]


async def _finish(
    due: list[AlertWatchInput],
    decisions: list[WatchDecision],
    after: list[AlertWatchInput | None],
    at: datetime,
) -> list[AlertEvent]:
    """Every watch of one moment reported in one signal as its messages go out: the decision
    is committed, and a provider's retries (minutes) must not hold the lifecycle's record of
    it back. What could not be delivered is told after, by a second signal."""
    events = [
        AlertEvent(
            d.kind,
            d.fired,
            at,
            d.target,
            d.problems,
            deadline=w.deadline,
            next_due=n.due if n else None,
        )
        for w, d, n in zip(due, decisions, after, strict=True)
    ]
    parent = due[0].parent
    # Every one reported, a later level's that found nothing due too: a lifecycle behind
    # (it has not written the hand-over yet) then goes up from there at once.
    patient = any(w.step == 0 for w in due)
    reported = None
    if parent:
        reported = asyncio.create_task(_report(parent, WATCHES_DONE, events, patient=patient))
    delivered = await asyncio.gather(*(_deliver(d.keys) for d in decisions))
    if reported is not None:
        await reported
    failed = [replace(e, problems=p) for e, p in zip(events, delivered, strict=True) if p]
    if failed and parent:
        await _report(parent, WATCH_PROBLEMS, failed, patient=False)
    return [replace(e, problems=e.problems + p) for e, p in zip(events, delivered, strict=True)]


async def _finish_alone(
    watch: AlertWatchInput, decision: WatchDecision, at: datetime
) -> list[AlertEvent]:
    problems = decision.problems + await _deliver(decision.keys)
    event = AlertEvent(decision.kind, decision.fired, at, decision.target, problems)
    if watch.parent:
        await _report(watch.parent, WATCH_DONE, event)
    return [event]


async def _deliver(keys: list[str]) -> list[str]:
    """A failure is reported, never raised: what was not sent stays in the outbox. (A local
    activity's last failure comes as the activity's own error, not wrapped.)"""
    if not keys:
        return []
    try:
        await workflow.execute_local_activity_method(Notifier.deliver_queued, keys, **NOTIFY)
    except FailureError as err:
        return [str(err.cause or err) if isinstance(err, ActivityError) else str(err)]
    return []


@workflow.defn
class AlertWatchWorkflow:
    @workflow.run
    async def run(self, data: AlertWatchInput) -> AlertEvent:
        event = await self._watch(data)
        if data.parent:
            await _report(data.parent, WATCH_DONE, event)
        return event

    async def _watch(self, data: AlertWatchInput) -> AlertEvent:
        wait = data.due - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait)
        at = workflow.now()
        check = WatchCheck(data.reference, data.organization_id, data.kind, data.deadline)
        if data.kind == VOICE:
            if not await call(AnomalyActivities.watch_still_due, check, **WRITE):
                return AlertEvent(data.kind, False, at)
            problems = await _tell(data, "VOICE_CALL", VOICE_SENDS, data.context)
            return AlertEvent(data.kind, True, at, problems=problems)
        level = EscalationLevel(data.level)
        target = await call(
            AnomalyActivities.escalation_target,
            TargetInput(data.reference, data.organization_id, level.value),
            **WRITE,
        )
        if not await call(AnomalyActivities.watch_still_due, check, **WRITE):
            return AlertEvent(data.kind, False, at)
        problems: list[str] = []
        if target is not None:
            context = {**data.context, "assignee": target.full_name}
            problems = await _tell(data, "ESCALATED", escalation_sends(level), context)
        return AlertEvent(data.kind, True, at, target, problems)


async def _report(
    parent: str, signal: str, report: AlertEvent | list[AlertEvent], *, patient: bool = True
) -> None:
    """Tells the anomaly's workflow what the watch did. The watch is started a moment before
    it (and, when the registering process is busy, longer): until it exists, try again. A
    later level's report is not patient: its lifecycle exists, and one that ended has no use
    for it."""
    pause = REPORT_RETRY_FIRST
    waited = timedelta(0)
    while True:
        try:
            await workflow.get_external_workflow_handle(parent).signal(signal, report)
            return
        except Exception as err:  # noqa: BLE001 - the alert went out; only the report waits
            if waited >= REPORT_GIVE_UP or not patient:
                workflow.logger.warning("%s: report not delivered: %s", parent, err)
                return
        await workflow.sleep(pause)
        waited += pause
        pause = min(pause * 2, REPORT_RETRY_MAX)


async def _tell(
    data: AlertWatchInput,
    event: str,
    sends: Sequence[tuple[Channel, Audience]],
    context: dict[str, Any],
) -> list[str]:
    """Queued in the outbox under the reserved step and delivered, in one local activity:
    no trip through the server between the decision and the provider. A failure is
    reported, never raised: what was not sent stays in the outbox."""
    notice = _notify_input(data, event, sends, context)
    try:
        await workflow.execute_local_activity_method(Notifier.notify, notice, **NOTIFY)
    except ActivityError as err:
        return [str(err.cause or err)]
    return []
