"""Activities of the asset lifecycle: thin wrappers that write the projection."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.actor import Actor
from domain.db import transaction
from domain.errors import DomainError
from domain.rules.asset_status import AssetStatus
from domain.services import assets as asset_service


@dataclass
class ApplyStatusInput:
    asset_id: int
    target: str
    reason: str
    changed_at: datetime
    actor: Actor


@dataclass
class ApplyStatusResult:
    asset_number: str
    previous: str
    status: str


class AssetActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @activity.defn
    def apply_asset_status(self, data: ApplyStatusInput) -> ApplyStatusResult:
        try:
            with transaction(self.sessions) as session:
                applied = asset_service.apply_status_change(
                    session=session,
                    actor=data.actor,
                    asset_id=data.asset_id,
                    target=AssetStatus(data.target),
                    reason=data.reason,
                    changed_at=data.changed_at,
                )
        except DomainError as err:
            # A business refusal will not change on retry.
            raise ApplicationError(err.message, type=err.kind, non_retryable=True) from err
        return ApplyStatusResult(applied.asset_number, applied.previous, applied.status)
