"""The last look of a new anomaly's safety watches when they fall due. One transaction
decides every watch due at that moment (is it still due, who is the next level) and queues
its notices in the outbox; the workflow then delivers them. A voice call and an escalation
due together cost one trip to the database and one activity, not one of each per watch."""

from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.anomalies import Person, escalation_person, watch_still_due
from activities.notifier import Notifier, NotifyInput
from domain.db import transaction
from domain.models import Anomaly
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
    fired: bool  # False: acknowledged or accepted before it was due
    target: Person | None = None  # an escalation's new holder
    keys: list[str] = field(default_factory=list)  # queued messages still to deliver


class AlertWatchActivities:
    def __init__(self, sessions: sessionmaker[Session], notifier: Notifier) -> None:
        self.sessions = sessions
        self.notifier = notifier

    @activity.defn
    def decide_watches(self, data: WatchesDueInput) -> list[WatchDecision]:
        """Run again after a failure it decides the same (a message already queued or sent
        keeps its outbox key), unless someone acted meanwhile: then nothing more goes."""
        with transaction(self.sessions) as session:
            loaded: dict[tuple[int, str], Anomaly] = {}
            decisions = []
            for item in data.due:
                w = item.watch
                key = (w.organization_id, w.reference)
                if key not in loaded:
                    loaded[key] = anomaly_service.get_anomaly(
                        session=session, organization_id=w.organization_id, reference=w.reference
                    )
                decisions.append(self._decide(session, loaded[key], item))
            return decisions

    def _decide(self, session: Session, anomaly: Anomaly, item: WatchNotice) -> WatchDecision:
        w = item.watch
        if w.kind == VOICE:
            if not watch_still_due(anomaly, w.kind, w.deadline):
                return WatchDecision(w.kind, False)
            return WatchDecision(
                w.kind, True, keys=self.notifier.queue_in(session, item.notice, anomaly)
            )
        target = escalation_person(session, anomaly, EscalationLevel(w.level))
        if not watch_still_due(anomaly, w.kind, w.deadline):
            return WatchDecision(w.kind, False)
        if target is None:  # nobody at that level: the lifecycle escalates on its own
            return WatchDecision(w.kind, True)
        notice = replace(item.notice, context={**item.notice.context, "assignee": target.full_name})
        return WatchDecision(w.kind, True, target, self.notifier.queue_in(session, notice, anomaly))
