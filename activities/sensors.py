"""The sensor upkeep's activities: silent sensors raised as anomalies (through the one
registration service, channel IOT) and rule changes that waited for their minute sent to
their anomaly; raw readings trimmed to the retention setting."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.actor import Actor
from domain.db import transaction
from domain.models import Anomaly, Sensor
from domain.rules.criticality import SafetyImpact, Urgency
from domain.schemas.anomalies import AnomalyReport, IntakeChannel
from domain.services import anomalies
from domain.services import sensor_readings as service
from domain.settings import Settings
from workflows.anomaly_types import AnomalyInput, SensorRuleEvent
from workflows.sensor_upkeep_types import SensorUpkeepInput, SensorUpkeepState


class SensorActivities:
    def __init__(self, sessions: sessionmaker, settings: Settings, client: Client | None) -> None:
        self.sessions, self.settings, self.client = sessions, settings, client

    @activity.defn
    async def sweep_sensors(self, data: SensorUpkeepInput) -> SensorUpkeepState:
        out = SensorUpkeepState(data.kind)
        now = datetime.now(UTC)
        started: list[tuple[str, int]] = []
        with transaction(self.sessions) as s:
            silent, waiting = service.sweep(session=s, now=now)
            for quiet in silent:
                out.stale.append(quiet.code)
                sensor = s.scalars(
                    select(Sensor).where(
                        Sensor.organization_id == quiet.organization_id, Sensor.code == quiet.code
                    )
                ).one()
                if sensor.stale_anomaly and s.scalar(
                    select(Anomaly.id).where(
                        Anomaly.reference == sensor.stale_anomaly, Anomaly.status != "CLOSED"
                    )
                ):
                    continue  # still open from an earlier silence
                report = AnomalyReport(
                    asset=quiet.asset,
                    title=f"Sensor {quiet.code} silent",
                    description=(
                        f"Sensor {quiet.code} ({quiet.name}) on {quiet.asset} has sent nothing "
                        f"since {quiet.since.isoformat()}, longer than its expected interval "
                        f"of {sensor.expected_interval_seconds} s: its rules are blind."
                    ),
                    channel=IntakeChannel.IOT,
                    safety_impact=SafetyImpact.NONE,
                    urgency=Urgency.SOON,
                )
                who = Actor(
                    None, "plantops", "plantops sensors", quiet.organization_id, ("SYSTEM",)
                )
                anomaly = anomalies.register(session=s, actor=who, report=report, now=now)
                sensor.stale_anomaly = anomaly.reference
                started.append((anomaly.reference, quiet.organization_id))
        for reference, org in started:
            if await self._start(reference, org):
                out.registered.append(reference)
        for t in waiting:
            event = SensorRuleEvent(
                t.change, t.sensor, t.rule, t.value, t.at, t.count, t.episodes, t.peak, t.last_seen
            )
            try:
                await self.client.get_workflow_handle(t.reference).signal("sensor_rule", event)
                out.told.append(t.reference)
            except Exception:  # a lifecycle not running: nothing to tell
                continue
        return out

    async def _start(self, reference: str, organization_id: int) -> bool:
        """Its lifecycle, which starts its own safety watches; once only."""
        from workflows.anomaly import AnomalyWorkflow

        try:
            await self.client.start_workflow(
                AnomalyWorkflow.run,
                AnomalyInput(reference, organization_id, self.settings.voice_call_after_seconds),
                id=reference,
                task_queue=self.settings.task_queue,
            )
        except WorkflowAlreadyStartedError:
            pass
        except Exception:  # registered; the worker's resume starts it when Temporal is back
            return False
        return True

    @activity.defn
    def trim_readings(self, data: SensorUpkeepInput) -> SensorUpkeepState:
        with transaction(self.sessions) as s:
            deleted = service.trim(session=s, days=self.settings.sensor_raw_retention_days)
        return SensorUpkeepState(data.kind, deleted=deleted)
