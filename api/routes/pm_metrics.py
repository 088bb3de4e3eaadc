"""GET /api/v1/maintenance/metrics: the PM dashboard metrics (seed 003 D.4)."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import DbSession, require
from api.errors import ApiError
from api.jsonable import jsonable
from domain.actor import Actor
from domain.rules.roles import Action
from domain.schemas.fields import Moment
from domain.services import pm_metrics

router = APIRouter(prefix="/api/v1/maintenance", tags=["preventive maintenance"])
Reader = Annotated[Actor, Depends(require(Action.VIEW_REPORTS))]


@router.get("/metrics", summary="PM compliance, backlog, completion time, effectiveness, cost")
def maintenance_metrics(
    session: DbSession,
    actor: Reader,
    site: str | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
) -> dict:
    now = datetime.now(UTC)
    end = end or now
    start = start or end - timedelta(days=30)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    if start >= end:
        raise ApiError(422, "RuleViolation", "start must be before end", "start")
    found = pm_metrics.metrics(
        session=session,
        organization_id=actor.organization_id,
        start=start,
        end=end,
        now=now,
        site=site,
    )
    return jsonable(asdict(found))
