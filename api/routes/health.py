"""GET /health: is the database reachable, is Temporal reachable."""

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from api.permissions import public

router = APIRouter(tags=["health"], dependencies=[Depends(public)])


def _check_database(request: Request) -> dict:
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}
    except Exception as err:  # any failure means "down"; the message says why
        return {"status": "down", "error": str(err).splitlines()[0]}


async def _check_temporal(request: Request) -> dict:
    client = request.app.state.temporal
    try:
        await asyncio.wait_for(
            client.workflow_service.get_system_info(GetSystemInfoRequest()), timeout=3
        )
        return {"status": "ok", "namespace": client.namespace}
    except Exception as err:
        return {"status": "down", "error": str(err).splitlines()[0] if str(err) else repr(err)}


@router.get("/health", summary="Database and Temporal connectivity")
async def health(request: Request) -> JSONResponse:
    database = await asyncio.to_thread(_check_database, request)
    temporal = await _check_temporal(request)
    ok = database["status"] == "ok" and temporal["status"] == "ok"
    body = {"status": "ok" if ok else "degraded", "database": database, "temporal": temporal}
    return JSONResponse(body, status_code=200 if ok else 503)
