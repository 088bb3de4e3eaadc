"""The lifecycle kit: what every lifecycle workflow shares, written once. Search attributes,
typed refusals, the timeline's Event, and a Record that numbers the steps, writes each one
(row and audit row, by the one generic activity) and sends notices through the outbox.

Imported by workflow modules through `imports_passed_through`; everything here that runs
in a workflow goes through `temporalio.workflow`, so it stays deterministic."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

from activities.notifier import Notifier, NotifyInput, Send
from activities.steps import StepActivities, StepInput, StepOutput
from domain.actor import Actor

# -- search attributes: the Temporal UI filters every lifecycle by these --

ENTITY = SearchAttributeKey.for_keyword("PlantopsEntity")
ASSET = SearchAttributeKey.for_keyword("PlantopsAsset")
SITE = SearchAttributeKey.for_keyword("PlantopsSite")
CRITICALITY = SearchAttributeKey.for_keyword("PlantopsCriticality")
STATUS = SearchAttributeKey.for_keyword("PlantopsStatus")


def index(
    indexed: bool,
    entity: str,
    *,
    asset: str,
    site: str,
    status: str,
    criticality: str | None = None,
) -> None:
    """Upsert the lifecycle's search attributes; off only where they cannot be registered
    (the time-skipping test server)."""
    if not indexed:
        return
    pairs = [ENTITY.value_set(entity), ASSET.value_set(asset), SITE.value_set(site)]
    if criticality is not None:
        pairs.append(CRITICALITY.value_set(criticality))
    pairs.append(STATUS.value_set(status))
    workflow.upsert_search_attributes(pairs)


# -- typed refusals: the API maps the type (never the message) to its status code --

NOT_FOUND, NOT_ALLOWED, CONFLICT, RULE_VIOLATION = (
    "NotFound",
    "NotAllowed",
    "Conflict",
    "RuleViolation",
)


class Refusal(Protocol):
    kind: str
    message: str
    field: str | None


def refuse(kind: str, message: str, field: str | None = None) -> NoReturn:
    """A business refusal: non-retryable, the field that is wrong as the error's detail."""
    details = [field] if field else []
    raise ApplicationError(message, *details, type=kind, non_retryable=True)


def fail(refusal: Refusal | None) -> None:
    """Refuse with a pure rule's refusal, if it gave one."""
    if refusal:
        refuse(refusal.kind, refusal.message, refusal.field)


def passed_on(err: ActivityError, prefix: str = "") -> Exception:
    """An activity's refusal handed to the caller as the workflow's own, typed the same
    (not the activity wrapper); anything else stays the activity error it was."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return ApplicationError(
            f"{prefix}{cause.message}", *cause.details, type=cause.type, non_retryable=True
        )
    return err


# -- the timeline --


@dataclass
class Event:
    at: datetime
    action: str
    by: str
    role: str
    detail: str = ""


def system_actor(organization_id: int) -> Actor:
    return Actor(None, "plantops", "plantops workflow", organization_id, ("SYSTEM",))


# -- activity options --

WRITE = {
    "start_to_close_timeout": timedelta(seconds=30),
    # Bounded: a write that keeps failing fails its update instead of holding the lock.
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=8),
}
NOTIFY = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_attempts=8, maximum_interval=timedelta(minutes=2)),
}
# Steps and outbox rows are written as local activities: the worker runs them inside the
# workflow task, so a person's action answers after its commit without a round trip
# through the server per write. Histories recorded before replay their activities.
LOCAL_STEPS = "kit-local-steps"

Legacy = Callable[[int], Awaitable[Any]]


@dataclass
class Notice:
    """A notification a step sends: the event (its template), to whom on which channel,
    what the text needs; a digest audience gets it in the next digest instead."""

    event: str
    sends: Sequence[tuple[Any, Any]]  # (Channel, Audience)
    context: dict[str, Any]
    digest: str | None = None
    digest_audience: Sequence[Any] = ()


def call(activity: Any, *args: Any, patch: str = LOCAL_STEPS, **options: Any) -> Awaitable[Any]:
    """A short database activity: local (inside the workflow task, no round trip through
    the server) in runs recorded with the kit, a plain activity in histories from before.
    `patch` names the change that made it local, for activities that became local later."""
    if workflow.patched(patch):
        return workflow.execute_local_activity_method(activity, args=list(args), **options)
    return workflow.execute_activity_method(activity, args=list(args), **options)


class Record:
    """One lifecycle's record as its workflow sees it: the step counter shared by writes and
    notices (the idempotency key of both), the timeline, and the two side effects."""

    def __init__(self, entity: str, key: str, organization_id: int, step: int = 0) -> None:
        self.entity, self.key, self.organization_id = entity, key, organization_id
        self.step = step
        self.events: list[Event] = []

    def next_step(self) -> int:
        self.step += 1
        return self.step

    def log(self, action: str, by: str, role: str, detail: str = "") -> None:
        self.events.append(Event(workflow.now(), action, by, role, detail))

    async def write(
        self,
        action: str,
        changes: dict[str, Any],
        actor: Actor,
        reason: str | None,
        *,
        extra: dict[str, Any] | None = None,
        notices: Sequence[Notice] = (),
        then: Callable[[], None] | None = None,
        legacy: Legacy | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        """Write one decision (row and audit row), put it on the timeline, then send its
        notices. `legacy` is the lifecycle's own activity, which histories recorded before
        the kit replay (with each notice its own activity after it); `then` runs once the
        step is written, before the notices go (as it always has)."""
        step = self.next_step()
        output: StepOutput | None = None
        try:
            if legacy is not None and not workflow.patched(LOCAL_STEPS):
                await legacy(step)
            else:
                # Steps are numbered as before: the write, then each notice in turn.
                inputs = [self._notify_input(n) for n in notices if n.sends or n.digest_audience]
                output = await workflow.execute_local_activity_method(
                    StepActivities.record_step,
                    StepInput(
                        self.entity,
                        self.key,
                        self.organization_id,
                        step,
                        action,
                        changes,
                        actor,
                        reason,
                        extra or {},
                        inputs,
                    ),
                    **(options or WRITE),
                )
        except ActivityError as err:
            refusal = passed_on(err)
            if refusal is err:
                raise
            raise refusal from err
        self.log(action, actor.full_name, actor.role, reason or "")
        if then is not None:
            then()
        if output is None:
            for n in notices:
                await self.notify(n.event, n.sends, n.context, n.digest, n.digest_audience)
            return
        events = ", ".join(n.event for n in notices)
        if output.notice_error:
            self.log("NOTIFY_FAILED", "plantops", "SYSTEM", f"{events}: {output.notice_error}")
        elif output.deliver:
            await self._deliver(events, output.deliver)

    def _notify_input(self, n: Notice) -> NotifyInput:
        return NotifyInput(
            self.key,
            self.organization_id,
            self.next_step(),
            n.event,
            [Send(c.value, a.value) for c, a in n.sends],
            n.context,
            n.digest,
            [a.value for a in n.digest_audience],
            self.entity,
        )

    async def _deliver(self, event: str, keys: list[str]) -> None:
        try:
            await workflow.execute_activity_method(Notifier.deliver_queued, keys, **NOTIFY)
        except ActivityError as err:
            self.log("NOTIFY_FAILED", "plantops", "SYSTEM", f"{event}: {err.cause or err}")

    async def notify(
        self,
        event: str,
        sends: Sequence[tuple[Any, Any]],
        context: dict[str, Any],
        digest: str | None = None,
        digest_audience: Sequence[Any] = (),
    ) -> None:
        """Queue the notices in the outbox and deliver what needs a provider. A failure is
        logged, never raised: undelivered messages stay in the outbox, the lifecycle goes on."""
        if not sends and not digest_audience:
            return
        data = self._notify_input(Notice(event, sends, context, digest, digest_audience))
        try:
            if not workflow.patched(LOCAL_STEPS):
                await workflow.execute_activity_method(Notifier.notify, data, **NOTIFY)
                return
            keys = await workflow.execute_local_activity_method(Notifier.queue, data, **WRITE)
        except ActivityError as err:
            self.log("NOTIFY_FAILED", "plantops", "SYSTEM", f"{event}: {err.cause or err}")
            return
        if keys:
            await self._deliver(event, keys)
