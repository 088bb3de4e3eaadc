"""POST /api/v1/auth/token: username and password in, bearer token out."""

import json
from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError

from api import tokens
from api.deps import AppSettings, CurrentActor, DbSession
from api.errors import ApiError, unauthorized
from domain.schemas.fields import Label, ShortText
from domain.services.users import authenticate

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


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
    user = authenticate(session=session, username=creds.username, password=creds.password)
    if user is None:
        raise unauthorized("invalid username or password")
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token = tokens.issue(user.id, request.app.state.secret_key, ttl)
    return Token(access_token=token, expires_in=int(ttl.total_seconds()))


@router.get("/me", response_model=Me, summary="Who the token belongs to")
def me(actor: CurrentActor) -> Me:
    return Me(
        user_id=actor.user_id,
        username=actor.username,
        full_name=actor.full_name,
        roles=list(actor.roles),
        organization_id=actor.organization_id,
    )
