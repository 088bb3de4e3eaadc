"""The one record-a-step activity every lifecycle uses: a workflow decision written to its
row with its audit row, idempotent by the workflow's step number. Each lifecycle describes
its record once (a StepTarget); nothing else about writing a step is lifecycle-specific."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifier import Notifier, NotifyInput
from domain.actor import Actor
from domain.db import transaction
from domain.errors import DomainError
from domain.services.steps import parse_datetimes, write_step


@dataclass
class StepInput:
    entity: str  # the StepTarget's entity: ANOMALY, WORK_ORDER…
    key: str  # the record's reference, which is also its workflow id
    organization_id: int
    step: int
    action: str
    changes: dict[str, Any]
    actor: Actor
    reason: str | None = None
    # What this lifecycle writes beside the row in the same transaction (a REX, events).
    extra: dict[str, Any] = field(default_factory=dict)
    # The notices this step sends, queued in the outbox once the step is committed.
    notices: list[NotifyInput] = field(default_factory=list)


@dataclass
class StepOutput:
    written: bool  # False: a retry of a step already committed
    deliver: list[str] = field(default_factory=list)  # outbox keys waiting for a provider
    notice_error: str | None = None  # the notices could not be queued; the step stands
    # Echoed so a history shows who decided what: a local activity's marker keeps only
    # its result (`plantops replay` reads them).
    action: str = ""
    actor: Actor | None = None
    reason: str | None = None
    notices: list[str] = field(default_factory=list)  # the notices' events


@dataclass(frozen=True)
class StepTarget:
    """How one lifecycle's record is written: which row (loaded locked), which fields the
    workflow may write, which of them are datetimes, and what else goes with a step."""

    entity: str
    load: Callable[[Session, int, str], Any]  # (session, organization id, key) -> locked row
    writable: frozenset[str]
    datetimes: frozenset[str] = frozenset()
    # Called once, only when the step was written now (not on a retry after its commit).
    alongside: Callable[[Session, Any, StepInput], None] | None = None


def refusal(err: DomainError) -> ApplicationError:
    """A business refusal will not change on retry: non-retryable, its field as detail."""
    details = [err.field] if err.field else []
    return ApplicationError(err.message, *details, type=err.kind, non_retryable=True)


@contextmanager
def refusing(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for an activity: committed on success; a business refusal reaches
    the workflow as a typed, non-retryable error (it will not change on retry), any other
    error is retried as usual."""
    try:
        with transaction(sessions) as session:
            yield session
    except DomainError as err:
        raise refusal(err) from err


def record(sessions: sessionmaker[Session], target: StepTarget, data: StepInput) -> bool:
    """True when written now, False when this step was already written."""
    return write(sessions, target, data).written


def write(
    sessions: sessionmaker[Session],
    target: StepTarget,
    data: StepInput,
    notifier: Notifier | None = None,
) -> StepOutput:
    """The step and its notices in one transaction: one connection, one commit. Notices
    go in a savepoint, so failing to queue them never undoes the step."""
    changes = parse_datetimes(data.changes, set(target.datetimes))
    events = [n.event for n in data.notices]
    try:
        with transaction(sessions) as session:
            row = target.load(session, data.organization_id, data.key)
            written = write_step(
                session=session,
                row=row,
                entity_type=target.entity,
                entity_id=data.key,
                writable=set(target.writable),
                step=data.step,
                action=data.action,
                changes=changes,
                actor=data.actor,
                reason=data.reason,
            )
            if written and target.alongside is not None:
                target.alongside(session, row, data)
            out = StepOutput(written, [], None, data.action, data.actor, data.reason, events)
            if data.notices and notifier is not None:
                out.deliver, out.notice_error = _queue(session, notifier, data, row)
            return out
    except DomainError as err:
        raise refusal(err) from err


def _queue(
    session: Session, notifier: Notifier, data: StepInput, row: Any
) -> tuple[list[str], str | None]:
    """Queue the step's notices (the row already loaded serves their own record); what
    waits for a provider, or why none could be queued."""
    deliver: list[str] = []
    try:
        with session.begin_nested():
            for notice in data.notices:
                same = notice.entity == data.entity and notice.reference == data.key
                deliver += notifier.queue_in(session, notice, row if same else None)
    except Exception as err:  # undelivered notices never undo the step
        return [], f"{type(err).__name__}: {err}"
    return deliver, None


class StepActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        targets: list[StepTarget],
        notifier: Notifier | None = None,
    ) -> None:
        self.sessions = sessions
        self.targets = {t.entity: t for t in targets}
        self.notifier = notifier

    @activity.defn
    def record_step(self, data: StepInput) -> StepOutput:
        """The step, then its notices: one activity, so a person's action that tells
        someone costs one call, not two."""
        target = self.targets.get(data.entity)
        if target is None:
            raise ApplicationError(
                f"no step target for {data.entity}", type="RuleViolation", non_retryable=True
            )
        return write(self.sessions, target, data, self.notifier)
