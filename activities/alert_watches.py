"""The last look of a new anomaly's safety watches when they fall due. One transaction
decides every watch due at that moment (is it still due, who is the next level) and queues
its notices in the outbox; the workflow then delivers them. A voice call and an escalation
due together cost one trip to the database and one activity, not one of each per watch."""

from dataclasses import dataclass, field, replace

from sqlalchemy import Row, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.anomalies import Person, escalation_person, watch_still_due
from activities.notifier import Notifier, NotifyInput
from domain.db import transaction
from domain.models import Anomaly, Notification, User
from domain.rules.anomaly_lifecycle import EscalationLevel
from domain.services import anomalies as anomaly_service
from workflows.alert_watch_types import VOICE, AlertWatchInput


@dataclass
class WatchNotice:
    watch: AlertWatchInput
    # Queued if the watch is still due; an escalation's context gets its new holder's name.
    notice: NotifyInput


@dataclass
class WatchesDueInput:
    due: list[WatchNotice]


@dataclass
class WatchDecision:
    kind: str
    fired: bool  # False: acknowledged or accepted before it was due, or it could not decide
    target: Person | None = None  # an escalation's new holder
    keys: list[str] = field(default_factory=list)  # queued messages still to deliver
    problems: list[str] = field(default_factory=list)  # why this watch could not decide
    # The record showed the hand-over the lifecycle wrote (its holder and deadline): the
    # next level may be watched from here. Not while the lifecycle has not assessed it yet.
    settled: bool = False


class AlertWatchActivities:
    def __init__(self, sessions: sessionmaker[Session], notifier: Notifier) -> None:
        self.sessions = sessions
        self.notifier = notifier

    @activity.defn
    def decide_watches(self, data: WatchesDueInput) -> list[WatchDecision]:
        """A watch that cannot decide on its own (its record gone, a text that does not
        render: all before it writes anything) leaves the others to go out. The database
        itself failing fails them all, and the activity is tried again."""
        with transaction(self.sessions) as session:
            loaded: dict[tuple[int, str], Anomaly] = {}
            earlier = _queued_before(session, data.due)
            decisions = []
            for item in data.due:
                try:
                    decisions.append(self._decide(session, loaded, earlier, item))
                except SQLAlchemyError:
                    raise
                except Exception as err:  # noqa: BLE001 - this watch's own fault, reported
                    problem = f"{type(err).__name__}: {err}"
                    decisions.append(WatchDecision(item.watch.kind, False, problems=[problem]))
            return decisions

    def _decide(
        self,
        session: Session,
        loaded: dict[tuple[int, str], Anomaly],
        earlier: list[Row],
        item: WatchNotice,
    ) -> WatchDecision:
        w = item.watch
        key = (w.organization_id, w.reference)
        if key not in loaded:
            # Not locked: the lifecycle's own steps lock the row, and under a burst its worker
            # yields the CPU to this one; waiting on its lock would make the alert wait for
            # the routine work it must not queue behind. What commits after this look is
            # seen by the lifecycle when the watch reports.
            loaded[key] = anomaly_service.get_anomaly(
                session=session, organization_id=w.organization_id, reference=w.reference
            )
        anomaly = loaded[key]
        made = _made_before(session, earlier, item)
        if made is not None:
            # An earlier attempt (or run) decided and committed: that decision stands, so
            # what it queued is delivered, not left waiting, and nobody is told twice.
            return replace(made, settled=_settled(anomaly))
        if w.kind == VOICE:
            if not watch_still_due(anomaly, w.kind, w.deadline):
                return WatchDecision(w.kind, False)
            return WatchDecision(
                w.kind, True, keys=self.notifier.queue_in(session, item.notice, anomaly)
            )
        target = escalation_person(session, anomaly, EscalationLevel(w.level))
        if not watch_still_due(anomaly, w.kind, w.deadline) or (
            w.holder is not None and anomaly.assignee_id != w.holder
        ):
            return WatchDecision(w.kind, False)
        if target is None:  # nobody at that level: the lifecycle escalates on its own
            return WatchDecision(w.kind, True)
        notice = replace(item.notice, context={**item.notice.context, "assignee": target.full_name})
        keys = self.notifier.queue_in(session, notice, anomaly)
        return WatchDecision(w.kind, True, target, keys, settled=_settled(anomaly))


def _settled(anomaly: Anomaly) -> bool:
    return anomaly.status in ("ASSIGNED", "ESCALATED") and anomaly.response_deadline is not None


def _prefix(notice: NotifyInput) -> str:
    """The start of every outbox key of one watch's messages (reference/step/event/...)."""
    return f"{notice.reference}/{notice.step}/{notice.event}/"


def _queued_before(session: Session, due: list[WatchNotice]) -> list[Row]:
    """The messages earlier attempts (or runs) queued for these watches, in one statement."""
    refs = {item.notice.reference for item in due}
    rows = session.execute(
        select(Notification.key, Notification.status, Notification.recipient_id).where(
            Notification.reference.in_(refs),
            or_(*(Notification.key.startswith(_prefix(item.notice)) for item in due)),
        )
    ).all()
    return list(rows)


def _made_before(session: Session, earlier: list[Row], item: WatchNotice) -> WatchDecision | None:
    """The decision an earlier attempt committed for this watch, read from the messages it
    queued under the watch's keys: None if there are none."""
    prefix = _prefix(item.notice)
    rows = [r for r in earlier if r.key.startswith(prefix)]
    if not rows:
        return None
    target = None
    if item.watch.kind != VOICE:
        user = session.get(User, rows[0].recipient_id)
        target = Person(user.id, user.username, user.full_name) if user else None
    pending = sorted(r.key for r in rows if r.status == "PENDING")
    return WatchDecision(item.watch.kind, True, target, pending)
