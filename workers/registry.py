"""Every workflow and activity the worker serves, in one place."""

from sqlalchemy.orm import Session, sessionmaker

from activities.anomalies import AnomalyActivities
from activities.assets import AssetActivities
from activities.channels import Channels
from domain.settings import Settings, get_settings
from workflows.anomaly import AnomalyWorkflow
from workflows.asset import AssetWorkflow
from workflows.digest import DigestWorkflow

WORKFLOWS: list[type] = [AssetWorkflow, AnomalyWorkflow, DigestWorkflow]


def activities(
    sessions: sessionmaker[Session],
    settings: Settings | None = None,
    channels: Channels | None = None,
) -> list:
    settings = settings or get_settings()
    assets = AssetActivities(sessions)
    anomalies = AnomalyActivities(sessions, settings, channels)
    return [
        assets.apply_asset_status,
        anomalies.assess_anomaly,
        anomalies.pick_technician,
        anomalies.escalation_target,
        anomalies.record_decision,
        anomalies.notify,
        anomalies.update_kpis,
        anomalies.send_digest,
    ]
