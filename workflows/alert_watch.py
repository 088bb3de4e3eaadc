"""AlertWatchWorkflow: one safety watch of an anomaly (the H1 voice call, or the escalation
when nobody accepts in time), run as a child on the alert task queue.

A timer that fires wakes its workflow on that workflow's own task queue; a burst of routine
work on the lifecycle queue would hold the parent's timers back by the whole backlog. The
watch runs where only safety alerts run, sleeps until an absolute moment (so a late start
still fires on time), looks at the record once more (an acknowledgement or acceptance that
committed first wins) and tells people itself. The anomaly's state stays the parent's: it
learns what the watch did from its result and writes that as its own step."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.anomalies import AnomalyActivities, TargetInput, WatchCheck
    from activities.notifier import Notifier, NotifyInput, Send
    from domain.rules.alerts import Audience, Channel
    from domain.rules.anomaly_lifecycle import EscalationLevel
    from workflows.alert_watch_types import VOICE, AlertEvent, AlertWatchInput
    from workflows.kit import NOTIFY, WRITE, call


def alert_queue(task_queue: str) -> str:
    """The task queue of safety watches beside a lifecycle queue, served by its own worker."""
    return f"{task_queue}-alerts"


def escalation_sends(level: EscalationLevel) -> list[tuple[Channel, Audience]]:
    """The new holder, by every channel: the audience that resolves to the person the
    escalation target activity picks at that level."""
    who = Audience.ON_DUTY_SUPERVISOR if level is EscalationLevel.SUPERVISOR else Audience.MANAGER
    return [(Channel.EMAIL, who), (Channel.SMS, who), (Channel.IN_APP, who)]


@workflow.defn
class AlertWatchWorkflow:
    @workflow.run
    async def run(self, data: AlertWatchInput) -> AlertEvent:
        wait = data.due - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait)
        at = workflow.now()
        check = WatchCheck(data.reference, data.organization_id, data.kind, data.deadline)
        if data.kind == VOICE:
            if not await call(AnomalyActivities.watch_still_due, check, **WRITE):
                return AlertEvent(data.kind, False, at)
            sends = [(Channel.VOICE, Audience.ON_DUTY_SUPERVISOR)]
            problems = await _tell(data, "VOICE_CALL", sends, data.context)
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


async def _tell(
    data: AlertWatchInput,
    event: str,
    sends: Sequence[tuple[Channel, Audience]],
    context: dict[str, Any],
) -> list[str]:
    """Queued in the outbox under the reserved step and delivered, in one local activity:
    no trip through the server between the decision and the provider. A failure is
    reported, never raised: what was not sent stays in the outbox."""
    notice = NotifyInput(
        data.reference,
        data.organization_id,
        data.step,
        event,
        [Send(c.value, a.value) for c, a in sends],
        context,
    )
    try:
        await workflow.execute_local_activity_method(Notifier.notify, notice, **NOTIFY)
    except ActivityError as err:
        return [str(err.cause or err)]
    return []
