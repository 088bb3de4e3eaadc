"""Each person's queue: what waits on them, from the same rules as the buttons they see
(anomalies, work orders to do, approve, schedule, verify, return to service, permits to
remove, REX peer reviews, the PM work orders assigned to them and, for a technician, the PMs
due that their skills fit) and their unread notices."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api import gateway
from api.deps import DbSession
from api.permissions import web_door
from api.web import render
from api.web_roles import Steps, approvers
from api.web_words import site_zones
from domain.actor import Actor
from domain.models import Anomaly, Asset, Permit, PmSchedule, PmTemplate, User, WorkOrder
from domain.rules import anomaly_lifecycle as anomaly_rules
from domain.rules.roles import Action
from domain.services import outbox
from domain.services import pm_schedules as pm_service
from workflows.work_order import WorkOrderWorkflow

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(web_door(Action.VIEW_DASHBOARD))]
MY_WORK = ["APPROVED", "SCHEDULED", "IN_PROGRESS", "ON_HOLD", "WAITING_PARTS", "ESCALATED"]
LIMIT = 100


def _wos(session, actor: Actor, *conditions) -> list[WorkOrder]:
    return list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.organization_id == actor.organization_id, *conditions)
            .order_by(WorkOrder.scheduled_date.nulls_last(), WorkOrder.id)
            .limit(LIMIT)
        ).all()
    )


def _anomalies(session, actor: Actor, *conditions) -> list[Anomaly]:
    return list(
        session.scalars(
            select(Anomaly)
            .where(Anomaly.organization_id == actor.organization_id, *conditions)
            .order_by(Anomaly.response_deadline.nulls_last(), Anomaly.id)
            .limit(LIMIT)
        ).all()
    )


def _pms_due(session, actor: Actor) -> list[PmSchedule]:
    """For a technician: the PMs due or overdue at their site whose template's skills they
    all hold and that no one else has been given yet."""
    if not set(actor.roles) & {r.value for r in pm_service.TECHNICIANS} or not actor.user_id:
        return []
    user = session.get(User, actor.user_id)
    mine = {s.skill.code for s in user.skills}
    now = datetime.now(UTC)
    due, _ = pm_service.list_schedules(
        session=session, organization_id=actor.organization_id, which="due", limit=LIMIT, now=now
    )
    overdue, _ = pm_service.list_schedules(
        session=session, organization_id=actor.organization_id, which="overdue", limit=LIMIT,
        now=now,
    )  # fmt: skip
    found: dict[int, PmSchedule] = {}
    for row in [*overdue, *due]:
        template = session.get(PmTemplate, row.template_id) if row.template_id else None
        needs = set(template.required_skills if template else [])
        asset = session.get(Asset, row.asset_id)
        if not needs <= mine or user.home_site_id not in (None, asset.site_id):
            continue
        if row.open_work_order:
            taken = session.scalar(
                select(WorkOrder.assigned_to_id).where(
                    WorkOrder.organization_id == actor.organization_id,
                    WorkOrder.number == row.open_work_order,
                )
            )
            if taken is not None and taken != actor.user_id:
                continue
        found.setdefault(row.id, row)
    return sorted(found.values(), key=lambda r: (r.next_due_date is None, r.next_due_date, r.id))


def _stored(session, actor: Actor) -> tuple[dict[str, list], list[tuple[WorkOrder, str, str]]]:
    """What waits on the person, from the database; the verified work orders (with their
    number and type, read now) whose return to service the workflows may still wait for."""
    steps = Steps(actor)
    me = actor.user_id
    roles = actor.roles
    sections: dict[str, list] = {
        "anomalies": _anomalies(
            session, actor, Anomaly.assignee_id == me,
            Anomaly.status.in_(["ASSIGNED", "ESCALATED", "IN_PROGRESS", "REX"]),
        ),  # fmt: skip
        "anomaly_reviews": [],
        "peer_reviews": [],
        "my_work": _wos(
            session, actor, WorkOrder.assigned_to_id == me, WorkOrder.status.in_(MY_WORK),
            WorkOrder.type != "PM",
        ),
        "pm_work": _wos(
            session, actor, WorkOrder.assigned_to_id == me, WorkOrder.status.in_(MY_WORK),
            WorkOrder.type == "PM",
        ),
        "pm_due": _pms_due(session, actor),
        "to_approve": [],
        "to_schedule": [],
        "to_verify": [],
        "to_return": [],
        "permits": [],
    }  # fmt: skip
    if anomaly_rules.has_any(roles, anomaly_rules.SUPERVISORS):
        sections["anomaly_reviews"] = _anomalies(
            session, actor, Anomaly.status.in_(["RESOLVED", "ESCALATED"])
        )
    if anomaly_rules.has_any(roles, anomaly_rules.REX_REVIEWERS):
        sections["peer_reviews"] = _anomalies(
            session, actor, Anomaly.status == "REX_REVIEW", Anomaly.assignee_id != me
        )
    if steps.may("approve"):
        sections["to_approve"] = _wos(session, actor, WorkOrder.status == "SUBMITTED")
    if steps.may("schedule"):
        sections["to_schedule"] = _wos(session, actor, WorkOrder.status == "APPROVED")
    if steps.may("verify"):
        sections["to_verify"] = _wos(session, actor, WorkOrder.status == "COMPLETED")
    if steps.may("permit-remove"):
        sections["permits"] = list(
            session.execute(
                select(Permit, WorkOrder)
                .join(WorkOrder, WorkOrder.id == Permit.work_order_id)
                .where(
                    Permit.organization_id == actor.organization_id,
                    Permit.status == "ACTIVE",
                    (Permit.issued_by_id == me) | (WorkOrder.assigned_to_id == me),
                )
                .order_by(Permit.id)
                .limit(LIMIT)
            ).all()
        )
    verified = [
        (wo, wo.number, wo.type) for wo in _wos(session, actor, WorkOrder.status == "VERIFIED")
    ]
    session.rollback()  # no transaction held across the workflow queries
    return sections, verified


async def waiting_on(request: Request, session, actor: Actor) -> dict[str, list]:
    # The database off the event loop: it serves other requests meanwhile.
    sections, verified = await asyncio.to_thread(_stored, session, actor)
    roles = actor.roles
    client = request.app.state.temporal
    for wo, number, wo_type in verified:
        live = await gateway.live(client, number, WorkOrderWorkflow.get_state) or {}
        after = bool(live.get("after_stop_work"))
        missing = [
            name
            for name in live.get("approvals_needed", [])
            if name not in live.get("approvals", {})
            and set(roles) & approvers(name, wo_type, after)
        ]
        if missing:
            sections["to_return"].append((wo, missing))
    return sections


@router.get("/queue", response_class=HTMLResponse)
@router.get("/anomalies/queue", response_class=HTMLResponse)
async def queue(request: Request, session: DbSession, actor: Viewer) -> HTMLResponse:
    sections = await waiting_on(request, session, actor)

    def page() -> HTMLResponse:
        assets = dict(
            session.execute(
                select(Asset.id, Asset.asset_number).where(
                    Asset.organization_id == actor.organization_id
                )
            ).all()
        )
        sites = dict(
            session.execute(
                select(Asset.id, Asset.site_id).where(
                    Asset.organization_id == actor.organization_id
                )
            ).all()
        )
        notices = outbox.unread(session, actor.user_id) if actor.user_id else []
        return render(
            request,
            "web/queue.html",
            actor=actor,
            notices=notices,
            assets=assets,
            asset_site=sites,
            zones=site_zones(session, actor.organization_id),
            empty=not any(sections.values()),
            **sections,
        )

    return await asyncio.to_thread(page)  # its reads off the event loop too
