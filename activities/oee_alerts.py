"""Activities of the OEE alerts: judge the round's snapshots, and an open downtime whose
timer fired. Each returns the outbox keys still waiting for a provider, for the notifier's
`deliver_queued`."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.channels import Channels
from domain.db import transaction
from domain.models.oee_alerts import PerformanceAlert
from domain.rules.oee_alerts import AlertType, dedupe_key
from domain.services import oee_alerts
from domain.settings import Settings, get_settings


@dataclass
class DowntimeCheck:
    downtime_id: int
    at: datetime  # the timer's moment, from the workflow's clock


@dataclass
class DowntimeAlertOutcome:
    alert_id: int | None  # the open extended-downtime alert, None if the stop had ended
    keys: list[str] = field(default_factory=list)


class OeeAlertActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings | None = None,
        channels: Channels | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = channels or Channels(settings or get_settings())

    @activity.defn
    def evaluate_oee_alerts(self, taken_at: datetime) -> list[str]:
        with transaction(self.sessions) as session:
            return oee_alerts.evaluate_round(
                session=session, taken_at=taken_at, deliverable=self.channels.configured()
            )

    @activity.defn
    def raise_extended_downtime(self, data: DowntimeCheck) -> DowntimeAlertOutcome:
        with transaction(self.sessions) as session:
            keys = oee_alerts.downtime_overdue(
                session=session,
                downtime_id=data.downtime_id,
                now=data.at,
                deliverable=self.channels.configured(),
            )
            key = dedupe_key(AlertType.EXTENDED_DOWNTIME, "downtime", data.downtime_id)
            alert_id = session.scalar(
                select(PerformanceAlert.id).where(
                    PerformanceAlert.dedupe_key == key, PerformanceAlert.resolved_at.is_(None)
                )
            )
            return DowntimeAlertOutcome(alert_id, keys)
