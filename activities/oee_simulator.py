"""The demo simulator's activity: one minute of the floor, and the extended-downtime watch
of each stop it opens (cancelled for each it ends), as the API does for a person's stop."""

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client

from domain.db import transaction
from domain.services import oee_simulator
from domain.settings import Settings


class SimulatorActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: Client | None,
        task_queue: str,
        settings: Settings,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.task_queue = task_queue
        self.settings = settings

    @activity.defn
    async def simulate_minute(self, at: datetime) -> oee_simulator.Tick:
        """Nothing outside demo mode, whatever started it."""
        import asyncio

        from workflows.oee_alert import end_watch, start_watch
        from workflows.oee_alert_types import DowntimeWatchInput

        if not self.settings.demo:
            return oee_simulator.Tick(at)

        def run() -> oee_simulator.Tick:
            with transaction(self.sessions) as session:
                return oee_simulator.simulate_minute(session=session, at=at)

        tick = await asyncio.to_thread(run)
        if self.client is not None:
            for stop in tick.opened:
                watch = DowntimeWatchInput(stop.downtime_id, stop.organization_id, stop.start_time)
                await start_watch(self.client, self.task_queue, watch)
            for stop in tick.ended:
                await end_watch(self.client, stop.downtime_id, stop.start_time)
        return tick
