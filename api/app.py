"""The FastAPI application: JSON API under /api/v1, web pages under /, health, docs."""

import asyncio
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from api import (
    answer_cache,
    edge,
    errors,
    idempotency,
    outage,
    web,
    web_anomalies,
    web_imports,
    web_oee,
    web_pm,
    web_queue,
    web_records,
    web_sensors,
    web_shift_reports,
    web_work_orders,
)
from api.read_pool import conninfo
from api.routes import (
    anomalies,
    assets,
    auth,
    health,
    imports,
    maximo,
    oee,
    oee_alerts,
    pm,
    pm_metrics,
    sensors,
    shift_reports,
    work_orders,
)
from domain.db import make_engine, make_sessionmaker
from domain.settings import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    *,
    sessions: sessionmaker[Session] | None = None,
    temporal: Client | None = None,
) -> FastAPI:
    """Builds the app. Tests pass their own sessionmaker and client; otherwise the lifespan
    opens them from the settings."""
    settings = settings or get_settings()
    secret = settings.resolved_secret_key()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = None
        if app.state.sessions is None:
            engine = make_engine(settings.database_url, pool_size=10, max_overflow=20)
            app.state.sessions = make_sessionmaker(engine)
        if app.state.temporal is None:
            app.state.temporal = await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace
            )
        feed = asyncio.create_task(
            answer_cache.follow(answer_cache.cache_of(app), conninfo(app.state.sessions.kw["bind"]))
        )
        yield
        feed.cancel()
        read_pool = getattr(app.state, "read_pool", None)
        if read_pool is not None:
            await read_pool.close()
        if engine is not None:
            engine.dispose()

    app = FastAPI(
        title="plantops",
        version="0.1.0",
        description="Maintenance and reliability: assets, anomalies, work orders, PM, OEE.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.secret_key = secret
    app.state.sessions = sessions
    app.state.temporal = temporal
    idempotency.install(app)  # inside the session middleware: web forms key by user
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="plantops_session",
        max_age=settings.session_ttl_minutes * 60,
        same_site="lax",
        https_only=settings.web_url.startswith("https://"),
    )
    app.add_middleware(answer_cache.WritesDropAnswers)
    errors.install(app)
    app.state.error_page = web.error_page
    outage.install(app)

    @app.exception_handler(web.LoginRequired)
    async def _login(request, _exc):
        # The query travels too: a QR label's /report?asset=... keeps its asset.
        return RedirectResponse(f"/login?next={quote(web.back_to(request), safe='/')}", 303)

    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(assets.router)
    app.include_router(imports.router)  # /anomalies/imports before /anomalies/{ref}
    app.include_router(anomalies.router)
    app.include_router(work_orders.router)
    app.include_router(pm.router)
    app.include_router(pm_metrics.router)
    app.include_router(oee.router)
    app.include_router(oee_alerts.router)
    app.include_router(shift_reports.router)
    app.include_router(sensors.router)
    app.include_router(maximo.router)
    app.include_router(web.router)
    app.include_router(web_queue.router)  # /anomalies/queue before /anomalies/{ref}
    app.include_router(web_records.router)
    app.include_router(web_anomalies.router)
    app.include_router(web_work_orders.router)
    app.include_router(web_pm.router)
    app.include_router(web_oee.router)
    app.include_router(web_shift_reports.router)
    app.include_router(web_sensors.router)
    app.include_router(web_imports.router)
    edge.install(app)
    return app
