"""The retention round's one activity: each kind of data past its age deleted (the OEE data
and the raw sensor readings), a batch per transaction."""

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from domain.db import transaction
from domain.services import retention
from domain.settings import Settings, get_settings


class RetentionActivities:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings | None = None) -> None:
        self.sessions = sessions
        self.sensor_raw_days = (settings or get_settings()).sensor_raw_retention_days

    @activity.defn
    def apply_retention(self, at: datetime) -> dict[str, int]:
        """Rows deleted per table; a table not there (yet) is left out."""
        deleted: dict[str, int] = {}
        for keep in retention.kinds(sensor_raw_days=self.sensor_raw_days):
            with transaction(self.sessions) as session:
                if not retention.present(session=session, keep=keep):
                    continue
            total = 0
            while True:
                with transaction(self.sessions) as session:
                    n = retention.purge_batch(session=session, keep=keep, now=at)
                total += n
                if n < retention.BATCH:
                    break
                activity.heartbeat(keep.table, total)
            deleted[keep.table] = total
        return deleted
