"""Activities of the OEE snapshot round: take the slot's snapshots, roll them up."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from domain.db import transaction
from domain.services import oee_snapshots


class OeeActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @activity.defn
    def take_oee_snapshots(self, taken_at: datetime) -> int:
        """The slot's snapshots, and again the earlier slots that records made since the
        last slot have changed."""
        with transaction(self.sessions) as session:
            taken = oee_snapshots.take_snapshots(session=session, taken_at=taken_at)
            oee_snapshots.retake_late(session=session, taken_at=taken_at)
            return taken

    @activity.defn
    def roll_up_oee(self, taken_at: datetime) -> list[int]:
        """The hour and the site days the slot ending at `taken_at` falls in."""
        with transaction(self.sessions) as session:
            hours = oee_snapshots.roll_up_hour(
                session=session, hour_start=taken_at - timedelta(microseconds=1)
            )
            days = oee_snapshots.roll_up_days(session=session, at=taken_at)
        return [hours, days]
