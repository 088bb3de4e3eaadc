"""Dependencies: the database session, the Temporal client, the caller and its roles."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from temporalio.client import Client

from api import tokens
from api.errors import ApiError, unauthorized
from api.read_pool import ReadPool, conninfo, keep_for, limit_for
from api.sign_in import client_address
from domain.actor import Actor
from domain.rules.roles import Action, Scope, scope_for
from domain.services import read_views
from domain.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; write endpoints commit explicitly, anything else rolls back.
    Opening one touches no connection, so it costs no trip to a worker thread; closing
    hands its connection back to the pool. The hot reads (the bearer check, the lists and
    details) take none: they run on `read_pool`'s connections."""
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


DbSession = Annotated[Session, Depends(get_session)]
TemporalClient = Annotated[Client, Depends(get_temporal)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")


def _client_ip(request: Request) -> str | None:
    return client_address(request, request.app.state.settings)  # behind trusted proxies too


def read_pool(request: Request) -> ReadPool:
    """The process's connections for the hot reads, opened on first use on the database
    the app's sessions use."""
    state = request.app.state
    pool = getattr(state, "read_pool", None)
    if pool is None:
        engine = state.sessions.kw["bind"]
        pool = state.read_pool = ReadPool(conninfo(engine), keep_for(engine), limit_for(engine))
    return pool


async def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None:
        raise unauthorized(
            "authentication required: send 'Authorization: Bearer <token>' "
            "from POST /api/v1/auth/token"
        )
    try:
        claims = tokens.read_claims(credentials.credentials, request.app.state.secret_key)
    except tokens.TokenExpired:
        raise unauthorized(
            "token expired: request a new one from POST /api/v1/auth/token"
        ) from None
    except tokens.TokenInvalid:
        raise unauthorized("token invalid: it is malformed or was not issued here") from None
    # Revoked or not, and who, in one prepared statement on the reads' own connections:
    # nothing about either is cached, so a revoked token or a disabled user is refused on
    # the very next request, in every process.
    revoked, user = await read_pool(request).run(
        lambda conn: read_views.bearer_of(conn, user_id=claims.user_id, token_id=claims.token_id)
    )
    if revoked:
        raise unauthorized("token revoked: request a new one from POST /api/v1/auth/token")
    if user is None or not user[5]:  # gone or disabled
        raise unauthorized("token invalid: the user no longer exists or is disabled")
    _, username, full_name, organization_id, roles, _ = user
    return Actor(
        claims.user_id, username, full_name, organization_id, tuple(roles), _client_ip(request)
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(action: Action, *scopes: Scope):
    """The permission matrix check at an API route (see api.permissions)."""
    from api.permissions import door

    return door(action, *scopes)


def scope(actor: Actor, action: Action) -> Scope | None:
    return scope_for(actor.roles, action)


async def own(request: Request, actor: Actor, lifecycle, ref: str) -> str:
    """As api.gateway.own, on the reads' connections: the record's reference if it belongs
    to the caller's organisation (else 404), checked before anything reaches its workflow."""
    found = await read_pool(request).run(
        lambda conn: read_views.owns(
            conn,
            model=lifecycle.model,
            key=lifecycle.key,
            organization_id=actor.organization_id,
            ref=ref,
        )
    )
    if found is None:
        raise ApiError(404, "NotFound", f"{lifecycle.name} {ref} not found", lifecycle.field)
    return found
