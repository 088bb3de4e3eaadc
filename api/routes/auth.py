"""POST /api/v1/auth/token: username and password in, bearer token out."""

import json
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, Field, ValidationError

from api import sign_in, tokens
from api.deps import AppSettings, CurrentActor, DbSession
from api.errors import ApiError, unauthorized
from api.permissions import public
from domain.schemas.fields import Label, ShortText
from domain.services import revoked_tokens

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], dependencies=[Depends(public)])


class Credentials(BaseModel):
    username: Label = Field(min_length=1)
    password: ShortText = Field(min_length=1)


# Read by hand (JSON or form), so documented by hand: clients and fuzzers see the body.
CREDENTIALS_BODY = {
    "required": True,
    "content": {
        media: {"schema": Credentials.model_json_schema()}
        for media in ("application/json", "application/x-www-form-urlencoded")
    },
}


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    user_id: int | None
    username: str
    full_name: str
    roles: list[str]
    organization_id: int


@router.post(
    "/token",
    response_model=Token,
    summary="Exchange username and password for a token",
    responses={429: {"description": "Too many failed sign-ins from this address: see Retry-After"}},
    openapi_extra={"requestBody": CREDENTIALS_BODY},
)
async def issue_token(request: Request, session: DbSession, settings: AppSettings) -> Token:
    """Takes a JSON body or an OAuth2 password form (so the Authorize button of /docs works)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            raw = json.loads(await request.body())
        except ValueError:  # malformed, empty, or not UTF-8
            raise ApiError(422, "ValidationError", "body: not valid JSON", "body") from None
    else:
        raw = dict(await request.form())
    try:
        creds = Credentials.model_validate(raw if isinstance(raw, dict) else {})
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ApiError(422, "ValidationError", f"{field}: {first['msg']}", field) from None
    # In a thread: the try may wait on the advisory lock of a parallel try of the same pair.
    outcome = await run_in_threadpool(
        sign_in.attempt, request, session, settings, creds.username, creds.password
    )
    if outcome.refusal is not None:
        raise ApiError(
            429,
            "TooManyAttempts",
            sign_in.refusal_message(outcome.refusal),
            headers=sign_in.retry_after_header(outcome.refusal),
        )
    user = outcome.user
    if user is None:
        raise unauthorized("invalid username or password")
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token = tokens.issue(user.id, request.app.state.secret_key, ttl)
    return Token(access_token=token, expires_in=int(ttl.total_seconds()))


@router.post(
    "/revoke",
    status_code=204,
    summary="Revoke the token this request carries (sign out of the API)",
    responses={422: {"description": "The token carries no id, so it cannot be revoked"}},
)
def revoke(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    # CurrentActor has checked the header and the token; read its claims for the id.
    _, token = get_authorization_scheme_param(request.headers.get("authorization"))
    claims = tokens.read_claims(token, request.app.state.secret_key)
    if claims.token_id is None:
        raise ApiError(
            422,
            "RuleViolation",
            f"this token has no id and cannot be revoked: it expires at "
            f"{claims.expires_at.isoformat()}",
        )
    revoked_tokens.revoke(
        session=session,
        token_id=claims.token_id,
        user_id=claims.user_id,
        expires_at=claims.expires_at,
        now=datetime.now(UTC),
    )
    session.commit()
    return Response(status_code=204)


@router.get("/me", response_model=Me, summary="Who the token belongs to")
def me(actor: CurrentActor) -> Me:
    return Me(
        user_id=actor.user_id,
        username=actor.username,
        full_name=actor.full_name,
        roles=list(actor.roles),
        organization_id=actor.organization_id,
    )
