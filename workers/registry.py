"""Every workflow and activity the worker serves, in one place."""

from sqlalchemy.orm import Session, sessionmaker

from activities.assets import AssetActivities
from workflows.asset import AssetWorkflow

WORKFLOWS: list[type] = [AssetWorkflow]


def activities(sessions: sessionmaker[Session]) -> list:
    assets = AssetActivities(sessions)
    return [assets.apply_asset_status]
