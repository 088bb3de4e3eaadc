"""Dependencies: the database session, the Temporal client, the caller and its roles."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from temporalio.client import Client

from api import tokens
from api.errors import unauthorized
from api.sign_in import client_address
from domain.actor import Actor
from domain.rules.roles import Action, Scope, scope_for
from domain.services import users
from domain.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; write endpoints commit explicitly, anything else rolls back.
    Opening one touches no connection, so it costs no trip to a worker thread; closing
    hands its connection back to the pool."""
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


def current_actor(
    request: Request,
    session: DbSession,
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
    # Revoked or not, and who, in one statement: nothing about either is cached, so a
    # revoked token or a disabled user is refused on the very next request.
    revoked, actor = users.bearer(
        session=session,
        user_id=claims.user_id,
        token_id=claims.token_id,
        ip_address=_client_ip(request),
    )
    if revoked:
        raise unauthorized("token revoked: request a new one from POST /api/v1/auth/token")
    if actor is None:
        raise unauthorized("token invalid: the user no longer exists or is disabled")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(action: Action, *scopes: Scope):
    """The permission matrix check at an API route (see api.permissions)."""
    from api.permissions import door

    return door(action, *scopes)


def scope(actor: Actor, action: Action) -> Scope | None:
    return scope_for(actor.roles, action)
